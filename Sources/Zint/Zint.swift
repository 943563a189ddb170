import CZint

/// libzint, which draws the case number as Code 128 and QR code.
public enum Zint {
    /// The library's version, `major.minor.release`.
    public static var version: String {
        let value = Int(ZBarcode_Version())
        return "\(value / 10000).\(value / 100 % 100).\(value % 100)"
    }
}
