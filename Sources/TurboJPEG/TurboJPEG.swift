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
    /// With `dotsPerInch`, the JFIF header carries the resolution (TurboJPEG 2 itself writes none).
    public func encode(pixels: [UInt8], width: Int, height: Int, layout: PixelLayout, quality: Int,
                       dotsPerInch: Int? = nil) throws(TurboJPEGError) -> [UInt8] {
        precondition(pixels.count == width * height * layout.bytesPerPixel, "pixel buffer does not match the geometry")
        let result = pixels.withUnsafeBytes { buffer in
            Result { () throws(TurboJPEGError) -> [UInt8] in
                try encode(buffer.baseAddress!, width: width, height: height, stride: width * layout.bytesPerPixel,
                           layout: layout, quality: quality, dotsPerInch: dotsPerInch)
            }
        }
        return try result.get()
    }

    /// Encodes a region of a larger image: `base` points at its first pixel, rows are `stride` bytes apart.
    public func encode(_ base: UnsafeRawPointer, width: Int, height: Int, stride: Int, layout: PixelLayout, quality: Int,
                       dotsPerInch: Int? = nil) throws(TurboJPEGError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let subsampling = layout == .rgb ? Int32(TJSAMP_420.rawValue) : Int32(TJSAMP_GRAY.rawValue)
        let status = tjCompress2(handle, base.assumingMemoryBound(to: UInt8.self), Int32(width), Int32(stride), Int32(height),
                                 layout.turboFormat, &output, &size, subsampling, Int32(quality), Int32(TJFLAG_FASTDCT))
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            throw TurboJPEGError(call: "tjCompress2", message: String(cString: tjGetErrorStr2(handle)))
        }
        var jpeg = Array(UnsafeBufferPointer(start: output, count: Int(size)))
        if let dotsPerInch { Self.writeDensity(dotsPerInch, into: &jpeg) }
        return jpeg
    }

    /// Sets the JFIF APP0 density to `dotsPerInch` (units = 1). JPEGs without a JFIF header are left alone.
    static func writeDensity(_ dotsPerInch: Int, into jpeg: inout [UInt8]) {
        guard jpeg.count > 18, jpeg[2] == 0xFF, jpeg[3] == 0xE0, Array(jpeg[6..<11]) == Array("JFIF\0".utf8) else { return }
        let density = UInt16(clamping: dotsPerInch)
        jpeg[13] = 1
        jpeg[14] = UInt8(density >> 8)
        jpeg[15] = UInt8(density & 0xFF)
        jpeg[16] = UInt8(density >> 8)
        jpeg[17] = UInt8(density & 0xFF)
    }
}

/// A TurboJPEG decompressor. Not thread-safe: use one per thread.
public final class JPEGDecoder {
    private let handle: tjhandle

    public init() throws(TurboJPEGError) {
        guard let handle = tjInitDecompress() else {
            throw TurboJPEGError(call: "tjInitDecompress", message: String(cString: tjGetErrorStr2(nil)))
        }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    /// A JPEG's width and height from its header, without decoding it.
    public func dimensions(_ jpeg: [UInt8]) throws(TurboJPEGError) -> (width: Int, height: Int) {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colourspace: Int32 = 0
        let header = jpeg.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsampling, &colourspace)
        }
        guard header == 0 else {
            throw TurboJPEGError(call: "tjDecompressHeader3", message: String(cString: tjGetErrorStr2(handle)))
        }
        return (Int(width), Int(height))
    }

    /// Decodes a JPEG to packed pixels in `layout`, at 1/`reduction` of its size (1, 2, 4 or 8: the DCT scales
    /// down while decoding, far cheaper than decoding whole and shrinking).
    public func decode(_ jpeg: [UInt8], layout: PixelLayout, reduction: Int = 1) throws(TurboJPEGError) -> (pixels: [UInt8], width: Int, height: Int) {
        precondition([1, 2, 4, 8].contains(reduction), "TurboJPEG scales by 1/1, 1/2, 1/4 or 1/8")
        let full = try dimensions(jpeg)
        // TJSCALED: the scaled size rounds up.
        let width = (full.width + reduction - 1) / reduction, height = (full.height + reduction - 1) / reduction
        var pixels = [UInt8](repeating: 0, count: width * height * layout.bytesPerPixel)
        let status = jpeg.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                tjDecompress2(handle, source.baseAddress, UInt(source.count), target.baseAddress, Int32(width), 0, Int32(height),
                              layout.turboFormat, Int32(TJFLAG_FASTDCT))
            }
        }
        guard status == 0 else {
            throw TurboJPEGError(call: "tjDecompress2", message: String(cString: tjGetErrorStr2(handle)))
        }
        return (pixels, width, height)
    }
}
