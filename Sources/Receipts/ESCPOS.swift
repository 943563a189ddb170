import Foundation

/// A failure to turn text into the printer's encoding.
public struct TextEncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var text: String
    public var errno: Int32

    public var description: String { "\(call) could not encode “\(text)” as GB18030 (errno \(errno))" }
}

/// GB18030, the encoding Chinese receipt printers take in their Chinese character mode (`FS &`).
public enum GB18030 {
    /// Encodes through glibc's iconv; every Unicode character has a GB18030 form, so a failure is a broken iconv.
    public static func encode(_ text: String) throws(TextEncodingError) -> [UInt8] {
        guard !text.isEmpty else { return [] }
        let converter = iconv_open("GB18030", "UTF-8")
        guard converter != iconv_t(bitPattern: -1) else { throw TextEncodingError(call: "iconv_open", text: text, errno: errno) }
        defer { iconv_close(converter) }
        var input = Array(text.utf8).map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: input.count * 2 + 8)
        let result = input.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer -> (Int, Int) in
                var inPointer: UnsafeMutablePointer<CChar>? = inputBuffer.baseAddress
                var inLeft = inputBuffer.count
                var outPointer: UnsafeMutablePointer<CChar>? = outputBuffer.baseAddress
                var outLeft = outputBuffer.count
                let status = iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
                return (status == -1 ? -1 : outputBuffer.count - outLeft, Int(errno))
            }
        }
        guard result.0 >= 0 else { throw TextEncodingError(call: "iconv", text: text, errno: Int32(result.1)) }
        return output.prefix(result.0).map { UInt8(bitPattern: $0) }
    }
}

/// An ESC/POS document for 80 mm thermal printers (576 dots a line at 203 dpi): text in GB18030, QR codes drawn by
/// the printer, raster images, paper cut. Building is pure; sending is `RawPrinterConnection`'s job.
public struct ESCPOSDocument: Sendable, Equatable {
    public enum Alignment: UInt8, Sendable { case left = 0, centre = 1, right = 2 }

    /// The printable width in dots.
    public static let dotsPerLine = 576

    public private(set) var bytes: [UInt8]

    /// Starts with `ESC @` (reset) and `FS &` (Chinese character mode, so GB18030 double bytes print as hanzi).
    public init() {
        bytes = [0x1B, 0x40, 0x1C, 0x26]
    }

    /// One line of text, then a line feed.
    public mutating func line(_ text: String, alignment: Alignment = .left, bold: Bool = false,
                              doubleSize: Bool = false) throws(TextEncodingError) {
        bytes += [0x1B, 0x61, alignment.rawValue]
        bytes += [0x1B, 0x45, bold ? 1 : 0]
        bytes += [0x1D, 0x21, doubleSize ? 0x11 : 0x00]
        // FS ! sets the Chinese characters' size to match.
        bytes += [0x1C, 0x21, doubleSize ? 0x0C : 0x00]
        bytes += try GB18030.encode(text)
        bytes += [0x0A]
        bytes += [0x1B, 0x45, 0, 0x1D, 0x21, 0, 0x1C, 0x21, 0]
    }

    /// A label and a value on one line, the value right-aligned to `columns` half-width characters.
    public mutating func pair(_ label: String, _ value: String, columns: Int = 48) throws(TextEncodingError) {
        let width = Self.displayWidth(label) + Self.displayWidth(value)
        let gap = max(1, columns - width)
        try line(label + String(repeating: " ", count: gap) + value)
    }

    /// A full-width rule.
    public mutating func rule(columns: Int = 48) {
        bytes += [0x1B, 0x61, 0] + Array(repeating: UInt8(ascii: "-"), count: columns) + [0x0A]
    }

    /// A QR code the printer draws (`GS ( k`): model 2, error correction M, `moduleDots` per module.
    public mutating func qrCode(_ text: String, moduleDots: UInt8 = 6, alignment: Alignment = .centre) {
        let data = Array(text.utf8)
        bytes += [0x1B, 0x61, alignment.rawValue]
        bytes += [0x1D, 0x28, 0x6B, 4, 0, 0x31, 0x41, 0x32, 0x00]  // model 2
        bytes += [0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x43, moduleDots]  // module size
        bytes += [0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x45, 0x31]  // error correction M
        let length = data.count + 3
        bytes += [0x1D, 0x28, 0x6B, UInt8(length & 0xFF), UInt8(length >> 8), 0x31, 0x50, 0x30] + data  // store
        bytes += [0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x51, 0x30]  // print
        bytes += [0x0A]
    }

    /// A 1-bit image (`GS v 0`): rows of `widthDots` pixels, 1 = black, most significant bit first, each row padded to
    /// whole bytes. Images wider than the paper are refused.
    public mutating func raster(_ bits: [UInt8], widthDots: Int, height: Int) -> Bool {
        let rowBytes = (widthDots + 7) / 8
        guard widthDots <= Self.dotsPerLine, bits.count == rowBytes * height, height <= 0xFFFF else { return false }
        bytes += [0x1B, 0x61, 1]
        bytes += [0x1D, 0x76, 0x30, 0, UInt8(rowBytes & 0xFF), UInt8(rowBytes >> 8), UInt8(height & 0xFF), UInt8(height >> 8)]
        bytes += bits
        bytes += [0x0A]
        return true
    }

    /// Feeds `lines` lines and cuts (partial cut, leaving a hinge, as receipt printers usually do).
    public mutating func cut(feedLines: UInt8 = 4) {
        bytes += [0x1B, 0x64, feedLines, 0x1D, 0x56, 0x42, 0x00]
    }

    /// Columns a text takes in the printer's font: CJK and other wide characters two, the rest one.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            let value = scalar.value
            let wide = (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value) || (0xAC00...0xD7A3).contains(value)
                || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value) || (0xFF00...0xFF60).contains(value)
                || (0xFFE0...0xFFE6).contains(value) || (0x20000...0x3FFFD).contains(value)
            return width + (wide ? 2 : 1)
        }
    }
}
