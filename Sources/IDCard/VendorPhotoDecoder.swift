import Foundation
import Glibc
import TongbanCore
import TurboJPEG

/// Why a card photo was not decoded.
public enum PhotoDecoderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `dlopen` or `dlsym` failed, with `dlerror()`'s text.
    case load(call: String, library: String, message: String)
    /// The vendor's `unpack` returned a failure code (often: its licence check failed).
    case vendorFailed(library: String, code: Int32)
    /// The vendor library produced something that is not a 102 × 126 24-bit BMP.
    case badBitmap(String)
    case jpeg(String)

    public var description: String {
        switch self {
        case .load(let call, let library, let message): "\(call)(\(library)) failed: \(message)"
        case .vendorFailed(let library, let code): "\(library) unpack() returned \(code) (licence or reader check failed?)"
        case .badBitmap(let detail): "vendor bitmap not usable: \(detail)"
        case .jpeg(let detail): detail
        }
    }
}

/// Decodes the card photo through the vendor library a deployment names (`devices.idcard.photoDecoder`).
///
/// WLT is proprietary and no open decoder exists, so Tongban never decodes it itself. The library is loaded at run
/// time and called through the interface the common Linux SDKs share (`libwlt2bmp.so`, `libwlt.so`):
/// `int unpack(char *wlt, char *bmp, int saveBmp)` — 1024 WLT bytes in, a 38 862-byte 102 × 126 BMP out, 1 on
/// success. Calls run one at a time on a thread of their own (vendor code is rarely thread-safe and may block on a
/// licence check); the bitmap is re-encoded as JPEG.
public final class VendorPhotoDecoder: Sendable {
    public static let width = 102, height = 126, bitmapSize = 38_862
    public let libraryPath: String
    private let entry: UnpackFunction
    private let thread: DedicatedThread

    private struct UnpackFunction: @unchecked Sendable {
        typealias Signature = @convention(c) (UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int32) -> Int32
        let call: Signature
    }

    /// Loads the library and finds its `unpack` (or `symbol`).
    public init(libraryPath: String, symbol: String = "unpack") throws(PhotoDecoderError) {
        guard let library = dlopen(libraryPath, RTLD_NOW | RTLD_LOCAL) else {
            throw .load(call: "dlopen", library: libraryPath, message: dlerror().map { String(cString: $0) } ?? "unknown")
        }
        guard let address = dlsym(library, symbol) else {
            throw .load(call: "dlsym \(symbol)", library: libraryPath, message: dlerror().map { String(cString: $0) } ?? "unknown")
        }
        self.libraryPath = libraryPath
        entry = UnpackFunction(call: unsafeBitCast(address, to: UnpackFunction.Signature.self))
        thread = DedicatedThread(name: "photo decoder")
    }

    deinit { thread.stop() }

    /// The photo as JPEG (base64 in the record).
    public func decode(wlt: [UInt8]) async throws(PhotoDecoderError) -> [UInt8] {
        guard wlt.count == 1024 else { throw .badBitmap("the WLT photo has \(wlt.count) bytes, not 1024") }
        let entry = self.entry, library = libraryPath
        let result: Result<[UInt8], PhotoDecoderError> = await thread.perform { () -> Result<[UInt8], PhotoDecoderError> in
            var input = wlt.map { CChar(bitPattern: $0) }
            // Vendors write the bitmap and sometimes a little more: give them room.
            var output = [CChar](repeating: 0, count: Self.bitmapSize + 1024)
            let code = entry.call(&input, &output, 0)
            guard code == 1 else { return .failure(.vendorFailed(library: library, code: code)) }
            return Result { () throws(PhotoDecoderError) in try Self.jpeg(fromBitmap: output.map { UInt8(bitPattern: $0) }) }
        }
        return try result.get()
    }

    /// A 24-bit uncompressed BMP as a JPEG.
    static func jpeg(fromBitmap bitmap: [UInt8]) throws(PhotoDecoderError) -> [UInt8] {
        let (rgb, width, height) = try pixels(fromBitmap: bitmap)
        do { return try JPEGEncoder().encode(pixels: rgb, width: width, height: height, layout: .rgb, quality: 90) } catch {
            throw .jpeg(error.description)
        }
    }

    /// The pixels of a 24-bit uncompressed BMP (bottom-up or top-down, BGR, rows padded to 4 bytes) as packed RGB,
    /// top row first.
    static func pixels(fromBitmap bitmap: [UInt8]) throws(PhotoDecoderError) -> (rgb: [UInt8], width: Int, height: Int) {
        func le(_ offset: Int, _ count: Int) -> Int {
            (0..<count).reduce(0) { $0 | Int(bitmap[offset + $1]) << (8 * $1) }
        }
        guard bitmap.count >= 54, bitmap[0] == 0x42, bitmap[1] == 0x4D else { throw .badBitmap("no BMP signature") }
        let pixelOffset = le(10, 4), width = le(18, 4), rawHeight = Int(Int32(truncatingIfNeeded: le(22, 4)))
        let bitsPerPixel = le(28, 2), compression = le(30, 4)
        guard bitsPerPixel == 24, compression == 0, width > 0, rawHeight != 0 else {
            throw .badBitmap("\(bitsPerPixel)-bit, compression \(compression), \(width)×\(rawHeight)")
        }
        let height = abs(rawHeight), stride = (width * 3 + 3) & ~3
        guard pixelOffset + stride * height <= bitmap.count else { throw .badBitmap("pixel data shorter than \(width)×\(height)") }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for row in 0..<height {
            let sourceRow = rawHeight > 0 ? height - 1 - row : row
            let source = pixelOffset + sourceRow * stride
            for column in 0..<width {
                let from = source + column * 3, to = (row * width + column) * 3
                rgb[to] = bitmap[from + 2]
                rgb[to + 1] = bitmap[from + 1]
                rgb[to + 2] = bitmap[from]
            }
        }
        return (rgb, width, height)
    }
}
