import CTurboJPEG
import Glibc

/// A failed TurboJPEG call with the library's message.
public struct TurboJPEGError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var message: String

    public var description: String { "\(call) failed: \(message)" }
}

/// Pixel layouts the encoder accepts.
public enum PixelLayout: Sendable {
    case rgb, gray

    var bytesPerPixel: Int { self == .rgb ? 3 : 1 }
    var turboFormat: Int32 { self == .rgb ? Int32(TJPF_RGB.rawValue) : Int32(TJPF_GRAY.rawValue) }
}

/// A TurboJPEG compressor. Not thread-safe: use one per thread (the imaging pool keeps one per worker).
public final class JPEGEncoder {
    private let handle: tjhandle

    public init() throws(TurboJPEGError) {
        guard let handle = tjInitCompress() else {
            throw TurboJPEGError(call: "tjInitCompress", message: String(cString: tjGetErrorStr2(nil)))
        }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    /// Encodes packed pixels (no row padding) as a baseline JPEG. Colour uses 4:2:0 subsampling.
    /// The caller writes the resolution (TurboJPEG 2 writes none).
    public func encode(pixels: [UInt8], width: Int, height: Int, layout: PixelLayout, quality: Int) throws(TurboJPEGError) -> [UInt8] {
        precondition(pixels.count == width * height * layout.bytesPerPixel, "pixel buffer does not match the geometry")
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let subsampling = layout == .rgb ? Int32(TJSAMP_420.rawValue) : Int32(TJSAMP_GRAY.rawValue)
        let status = pixels.withUnsafeBufferPointer { buffer in
            tjCompress2(handle, buffer.baseAddress, Int32(width), 0, Int32(height), layout.turboFormat,
                        &output, &size, subsampling, Int32(quality), Int32(TJFLAG_FASTDCT))
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            throw TurboJPEGError(call: "tjCompress2", message: String(cString: tjGetErrorStr2(handle)))
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
