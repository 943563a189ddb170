import CLeptonica
import Glibc

/// Leptonica, the image-processing library behind deskew and bitonal compression.
public enum Leptonica {
    /// The library's version string, e.g. `leptonica-1.82.0`.
    public static var version: String {
        guard let raw = getLeptonicaVersion() else { return "unknown" }
        defer { free(raw) }
        return String(cString: raw)
    }

    /// Silences Leptonica's own messages on stderr; failures surface as `LeptonicaError`s instead.
    public static func silenceMessages() {
        _ = setMsgSeverity(Int32(L_SEVERITY_NONE))
    }
}

/// A failed Leptonica call.
public struct LeptonicaError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var reason: String

    public var description: String { "\(call) failed: \(reason)" }
}

/// A skew estimate: the rotation (degrees, positive = counter-clockwise as Leptonica measures) that straightens the
/// page, and how sure the search is (Leptonica's ratio of peak to mean score; under 3 is a guess).
public struct SkewEstimate: Sendable, Equatable {
    public var degrees: Double
    public var confidence: Double
}

/// One Leptonica image (`PIX`), owned. Not thread-safe: create and use it on one imaging thread.
public final class LeptonicaImage {
    let pix: UnsafeMutablePointer<PIX>

    private init(owning pix: UnsafeMutablePointer<PIX>) {
        self.pix = pix
    }

    deinit {
        var pointer: UnsafeMutablePointer<PIX>? = pix
        pixDestroy(&pointer)
    }

    public var width: Int { Int(pixGetWidth(pix)) }
    public var height: Int { Int(pixGetHeight(pix)) }
    /// Bits per pixel: 1, 8 or 32.
    public var depth: Int { Int(pixGetDepth(pix)) }

    /// An 8-bit grey image from rows of `stride` bytes.
    public static func gray(_ pixels: UnsafeRawBufferPointer, width: Int, height: Int, stride: Int) throws(LeptonicaError) -> LeptonicaImage {
        guard let pix = pixCreate(Int32(width), Int32(height), 8) else {
            throw LeptonicaError(call: "pixCreate(\(width)×\(height)×8)", reason: "out of memory")
        }
        let image = LeptonicaImage(owning: pix)
        let wordsPerLine = Int(pixGetWpl(pix))
        let data = UnsafeMutableRawPointer(pixGetData(pix)!)
        for row in 0..<height {
            (data + row * wordsPerLine * 4).copyMemory(from: pixels.baseAddress! + row * stride, byteCount: width)
        }
        // Leptonica keeps 8-bit pixels in 32-bit words, first pixel in the most significant byte.
        pixEndianByteSwap(pix)
        return image
    }

    /// A 32-bit colour image from packed RGB rows of `stride` bytes.
    public static func rgb(_ pixels: UnsafeRawBufferPointer, width: Int, height: Int, stride: Int) throws(LeptonicaError) -> LeptonicaImage {
        guard let pix = pixCreate(Int32(width), Int32(height), 32) else {
            throw LeptonicaError(call: "pixCreate(\(width)×\(height)×32)", reason: "out of memory")
        }
        let image = LeptonicaImage(owning: pix)
        let wordsPerLine = Int(pixGetWpl(pix))
        let words = pixGetData(pix)!
        let source = pixels.bindMemory(to: UInt8.self)
        for row in 0..<height {
            let line = words + row * wordsPerLine
            let input = row * stride
            for column in 0..<width {
                let offset = input + column * 3
                line[column] = UInt32(source[offset]) << 24 | UInt32(source[offset + 1]) << 16 | UInt32(source[offset + 2]) << 8
            }
        }
        return image
    }

    /// Pixels below `threshold` become black (1 bit per pixel).
    public func binarised(threshold: Int) throws(LeptonicaError) -> LeptonicaImage {
        guard depth == 8 else { throw LeptonicaError(call: "pixThresholdToBinary", reason: "needs an 8-bit image, not \(depth)-bit") }
        guard let binary = pixThresholdToBinary(pix, Int32(threshold)) else {
            throw LeptonicaError(call: "pixThresholdToBinary", reason: "returned no image")
        }
        return LeptonicaImage(owning: binary)
    }

    /// Finds the skew of a 1-bit image of text lines by a sweep over ±`range` degrees and a binary search.
    public func skew(range: Double = 7, sweepStep: Double = 0.5, precision: Double = 0.01) -> SkewEstimate? {
        guard depth == 1 else { return nil }
        var angle: Float = 0, confidence: Float = 0
        guard pixFindSkewSweepAndSearch(pix, &angle, &confidence, 1, 1, Float(range), Float(sweepStep), Float(precision)) == 0 else {
            return nil
        }
        return SkewEstimate(degrees: Double(angle), confidence: Double(confidence))
    }

    /// The image rotated about its centre by `degrees` (area-mapped, white brought in, same size).
    public func rotated(degrees: Double) throws(LeptonicaError) -> LeptonicaImage {
        guard let rotated = pixRotate(pix, Float(degrees * .pi / 180), Int32(L_ROTATE_AREA_MAP),
                                      Int32(L_BRING_IN_WHITE), 0, 0) else {
            throw LeptonicaError(call: "pixRotate(\(degrees)°)", reason: "returned no image")
        }
        return LeptonicaImage(owning: rotated)
    }

    /// The pixels as packed RGB (32-bit images) or grey (8-bit images).
    public func packedPixels() -> [UInt8] {
        let wordsPerLine = Int(pixGetWpl(pix))
        let words = pixGetData(pix)!
        let width = self.width, height = self.height
        switch depth {
        case 32:
            var out = [UInt8](repeating: 0, count: width * height * 3)
            out.withUnsafeMutableBufferPointer { buffer in
                for row in 0..<height {
                    let line = words + row * wordsPerLine
                    for column in 0..<width {
                        let word = line[column], offset = (row * width + column) * 3
                        buffer[offset] = UInt8(truncatingIfNeeded: word >> 24)
                        buffer[offset + 1] = UInt8(truncatingIfNeeded: word >> 16)
                        buffer[offset + 2] = UInt8(truncatingIfNeeded: word >> 8)
                    }
                }
            }
            return out
        default:
            var out = [UInt8](repeating: 0, count: width * height)
            out.withUnsafeMutableBufferPointer { buffer in
                for row in 0..<height {
                    let line = words + row * wordsPerLine
                    for column in 0..<width {
                        let word = line[column >> 2]
                        buffer[row * width + column] = UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32(column & 3)))
                    }
                }
            }
            return out
        }
    }

    /// CCITT Group 4 data of a 1-bit image (Leptonica's 1 is black, TIFF's min-is-white: a PDF decodes it with the
    /// default `BlackIs1 false`). Encoded in memory by libtiff; the strip is cut out of the TIFF Leptonica writes.
    public func groupFourData() throws(LeptonicaError) -> [UInt8] {
        guard depth == 1 else { throw LeptonicaError(call: "pixWriteMemTiff(G4)", reason: "needs a 1-bit image, not \(depth)-bit") }
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        guard pixWriteMemTiff(&data, &size, pix, Int32(IFF_TIFF_G4)) == 0, let data else {
            throw LeptonicaError(call: "pixWriteMemTiff(G4)", reason: "libtiff could not encode the page")
        }
        defer { lept_free(data) }
        let tiff = UnsafeBufferPointer(start: data, count: size)
        // Leptonica writes one strip right after the 8-byte header, followed by the directory.
        guard size > 8 else { throw LeptonicaError(call: "pixWriteMemTiff(G4)", reason: "the TIFF is empty") }
        let littleEndian = tiff[0] == 0x49
        let directory = littleEndian
            ? Int(tiff[4]) | Int(tiff[5]) << 8 | Int(tiff[6]) << 16 | Int(tiff[7]) << 24
            : Int(tiff[7]) | Int(tiff[6]) << 8 | Int(tiff[5]) << 16 | Int(tiff[4]) << 24
        guard directory > 8, directory <= size else {
            throw LeptonicaError(call: "pixWriteMemTiff(G4)", reason: "unexpected TIFF layout (directory at \(directory))")
        }
        return Array(tiff[8..<directory])
    }
}
