import CZBar
import TongbanCore

/// A barcode found on a picture.
public struct FoundBarcode: Sendable, Codable, Equatable, Hashable {
    /// zbar's name for the symbology: `QR-Code`, `CODE-128`, `EAN-13`, …
    public var type: String
    /// The decoded text (QR codes as UTF-8).
    public var text: String

    /// A barcode as zbar read it.
    public init(type: String, text: String) {
        self.type = type
        self.text = text
    }
}

/// A failed call into libzbar, named.
public typealias ZBarError = LibraryCallError

/// zbar's image scanner: reads every QR code and linear barcode on an 8-bit grey picture. Each call makes its own
/// scanner, so any thread may call it.
public enum BarcodeReader {
    /// The library's version, `major.minor`.
    public static var version: String {
        var major: UInt32 = 0, minor: UInt32 = 0, patch: UInt32 = 0
        _ = zbar_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// Every symbol on the picture (`stride` bytes per row), each text once, in the order zbar reports them.
    public static func barcodes(gray pixels: [UInt8], width: Int, height: Int, stride: Int) throws(ZBarError) -> [FoundBarcode] {
        guard width > 0, height > 0, stride >= width, pixels.count >= stride * height else {
            throw ZBarError(call: "zbar_image_set_data", message: "picture of \(width)×\(height) does not match its \(pixels.count) bytes")
        }
        // zbar wants rows packed tightly.
        var packed: [UInt8]
        if stride == width {
            packed = Array(pixels.prefix(width * height))
        } else {
            packed = []
            packed.reserveCapacity(width * height)
            for row in 0..<height { packed += pixels[row * stride..<(row * stride + width)] }
        }
        guard let scanner = zbar_image_scanner_create() else {
            throw ZBarError(call: "zbar_image_scanner_create", message: "out of memory")
        }
        defer { zbar_image_scanner_destroy(scanner) }
        _ = zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 1)
        guard let image = zbar_image_create() else { throw ZBarError(call: "zbar_image_create", message: "out of memory") }
        defer { zbar_image_destroy(image) }
        // The FOURCC 'Y800': 8-bit grey.
        let grey = UInt(UInt8(ascii: "Y")) | UInt(UInt8(ascii: "8")) << 8 | UInt(UInt8(ascii: "0")) << 16 | UInt(UInt8(ascii: "0")) << 24
        zbar_image_set_format(image, grey)
        zbar_image_set_size(image, UInt32(width), UInt32(height))
        var found: [FoundBarcode] = []
        let status = packed.withUnsafeBufferPointer { buffer -> Int32 in
            zbar_image_set_data(image, buffer.baseAddress, UInt(buffer.count), nil)
            let status = zbar_scan_image(scanner, image)
            var symbol = zbar_image_first_symbol(image)
            while let current = symbol {
                let type = zbar_symbol_get_type(current)
                let name = zbar_get_symbol_name(type).map { String(cString: $0) } ?? "unknown"
                let length = Int(zbar_symbol_get_data_length(current))
                let text = zbar_symbol_get_data(current).map { data in
                    data.withMemoryRebound(to: UInt8.self, capacity: length) { String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self) }
                } ?? ""
                let barcode = FoundBarcode(type: name, text: text)
                if !found.contains(barcode) { found.append(barcode) }
                symbol = zbar_symbol_next(current)
            }
            // The data belongs to this buffer: detach it before the buffer goes.
            zbar_image_set_data(image, nil, 0, nil)
            return status
        }
        guard status >= 0 else { throw ZBarError(call: "zbar_scan_image", message: "the picture could not be scanned") }
        return found
    }
}
