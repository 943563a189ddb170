import CZint

/// libzint, which draws the case number as Code 128 and QR code.
public enum Zint {
    /// The library's version, `major.minor.release`.
    public static var version: String {
        let value = Int(ZBarcode_Version())
        return "\(value / 10000).\(value / 100 % 100).\(value % 100)"
    }

    /// The symbologies Tongban prints.
    public enum Symbology: String, Sendable, Codable {
        case qrCode = "qr"
        case code128

        var zintValue: Int32 {
            switch self {
            case .qrCode: return BARCODE_QRCODE
            case .code128: return BARCODE_CODE128
            }
        }
    }

    /// `data` as a vector symbol: dark modules as rectangles in module units, origin top left, no human-readable
    /// text and no quiet zone (the caller leaves white space around it).
    public static func symbol(_ symbology: Symbology, data: String) throws(ZintError) -> BarcodeSymbol {
        guard let symbol = ZBarcode_Create() else {
            throw ZintError(call: "ZBarcode_Create", code: -1, message: "out of memory")
        }
        defer { ZBarcode_Delete(symbol) }
        symbol.pointee.symbology = symbology.zintValue
        symbol.pointee.input_mode = UNICODE_MODE
        symbol.pointee.show_hrt = 0
        symbol.pointee.scale = 1
        if symbology == .qrCode { symbol.pointee.option_1 = 2 }  // error correction level M
        let bytes = Array(data.utf8)
        let encoded = ZBarcode_Encode(symbol, bytes, Int32(bytes.count))
        if encoded >= ZINT_ERROR { throw ZintError.last(symbol, "ZBarcode_Encode", encoded) }
        let buffered = ZBarcode_Buffer_Vector(symbol, 0)
        if buffered >= ZINT_ERROR { throw ZintError.last(symbol, "ZBarcode_Buffer_Vector", buffered) }
        guard let vector = symbol.pointee.vector else {
            throw ZintError(call: "ZBarcode_Buffer_Vector", code: Int(buffered), message: "no vector output")
        }
        var rectangles: [BarcodeSymbol.Module] = []
        var next = vector.pointee.rectangles
        while let rectangle = next {
            let r = rectangle.pointee
            if r.colour == -1 || r.colour == 7 {
                rectangles.append(.init(x: Double(r.x), y: Double(r.y), width: Double(r.width), height: Double(r.height)))
            }
            next = r.next
        }
        return BarcodeSymbol(width: Double(vector.pointee.width), height: Double(vector.pointee.height),
                             modules: rectangles)
    }
}

/// A barcode as dark rectangles in libzint's vector units.
public struct BarcodeSymbol: Sendable, Equatable {
    public struct Module: Sendable, Equatable {
        public var x: Double, y: Double, width: Double, height: Double
    }

    public var width: Double
    public var height: Double
    public var modules: [Module]
}

/// A failed libzint call with zint's own message (e.g. a character Code 128 cannot carry).
public struct ZintError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var code: Int
    public var message: String

    public var description: String { "\(call) failed (\(code)): \(message)" }

    static func last(_ symbol: UnsafeMutablePointer<zint_symbol>, _ call: String, _ code: Int32) -> ZintError {
        let message = withUnsafeBytes(of: symbol.pointee.errtxt) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return ZintError(call: call, code: Int(code), message: message)
    }
}
