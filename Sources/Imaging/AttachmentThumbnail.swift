import Foundation
import TongbanCore
import TurboJPEG

/// The small picture of an attachment the console lists with the case's materials: a JPEG scaled down, or the first
/// page picture of a PDF (Tongban's scans, captures and ID-card copies carry their pages as JPEG images).
public enum AttachmentThumbnail {
    /// The longest side of a thumbnail, in pixels.
    public static let maximumSide = 320

    /// Decoding and encoding run on a thread of their own, never on the cooperative pool.
    private static let thread = DedicatedThread(name: "tongban-thumbnails")

    /// A JPEG of at most `maximumSide` pixels, or nil when the attachment holds no picture to show (a form laid out as
    /// text, a recording, a picture that cannot be decoded).
    public static func make(contentType: String, bytes: [UInt8]) async -> [UInt8]? {
        let jpeg: [UInt8]?
        switch contentType.lowercased() {
        case "image/jpeg": jpeg = bytes
        case "application/pdf": jpeg = firstPageJPEG(inPDF: bytes)
        default: jpeg = nil
        }
        guard let jpeg else { return nil }
        return try? await thread.perform { () throws -> [UInt8] in try scaled(jpeg) }
    }

    /// Decodes at the largest DCT reduction that keeps the picture at least `maximumSide` wide or high, then takes
    /// every n-th pixel down to `maximumSide`.
    static func scaled(_ jpeg: [UInt8]) throws -> [UInt8] {
        let decoder = try JPEGDecoder()
        let size = try decoder.dimensions(jpeg)
        let longest = max(size.width, size.height)
        let reduction = [8, 4, 2, 1].first { longest / $0 >= maximumSide } ?? 1
        let decoded = try decoder.decode(jpeg, layout: .rgb, reduction: reduction)
        let step = max(1, (max(decoded.width, decoded.height) + maximumSide - 1) / maximumSide)
        let width = decoded.width / step, height = decoded.height / step
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let source = ((y * step) * decoded.width + x * step) * 3, target = (y * width + x) * 3
                pixels[target] = decoded.pixels[source]
                pixels[target + 1] = decoded.pixels[source + 1]
                pixels[target + 2] = decoded.pixels[source + 2]
            }
        }
        return try JPEGEncoder().encode(pixels: pixels, width: width, height: height, layout: .rgb, quality: 75)
    }

    /// The data of the first `/DCTDecode` image stream of a PDF (its first page's picture in the PDFs Tongban
    /// writes); nil when there is none.
    static func firstPageJPEG(inPDF pdf: [UInt8]) -> [UInt8]? {
        let data = Data(pdf)
        guard let filter = data.range(of: Data("/DCTDecode".utf8)),
              let keyword = data.range(of: Data("stream".utf8), in: filter.upperBound..<data.endIndex) else { return nil }
        var start = keyword.upperBound
        if start < data.endIndex, data[start] == 0x0D { start += 1 }
        if start < data.endIndex, data[start] == 0x0A { start += 1 }
        guard let end = data.range(of: Data("endstream".utf8), in: start..<data.endIndex),
              data[start..<end.lowerBound].starts(with: [0xFF, 0xD8]) else { return nil }
        return Array(data[start..<end.lowerBound])
    }
}
