import CTesseract
import TongbanCore
import Foundation

/// A line of text Tesseract found, in the pixels of the picture it was given (origin top left).
public struct RecognizedLine: Sendable, Codable, Equatable {
    /// The line's text, spaces between words kept as Tesseract saw them (none between Han characters).
    public var text: String
    /// The line's box: left edge, top edge, width and height in pixels.
    public var x: Int
    /// See `x`.
    public var y: Int
    /// See `x`.
    public var width: Int
    /// See `x`.
    public var height: Int
    /// Tesseract's mean word confidence for the line, 0…100.
    public var confidence: Double

    /// A line as Tesseract gave it.
    public init(text: String, x: Int, y: Int, width: Int, height: Int, confidence: Double) {
        self.text = text
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.confidence = confidence
    }
}

/// A failed call into libtesseract, named.
public typealias TesseractError = LibraryCallError

/// Tesseract 5's recogniser for one set of languages. Not thread-safe and not `Sendable`: each imaging thread owns
/// its own (loading `chi_sim` takes a moment and tens of megabytes, so a thread keeps it for its life).
public final class TextRecognizer {
    private let handle: OpaquePointer
    /// The languages loaded, as Tesseract spells them (`chi_sim`, `chi_sim+eng`).
    public let languages: String

    /// Loads `languages` from `dataPath` (nil: the library's own tessdata folder).
    ///
    /// Debian's Tesseract is built with OpenMP: with one recogniser per core, its own threads only fight each other
    /// (several times slower on two cores). Each call keeps Tesseract's parallel regions on the calling thread (see
    /// `tongban_tesseract_keep_to_this_thread`); `OMP_THREAD_LIMIT=1` in the service's environment does the same
    /// for the whole process.
    public init(languages: String, dataPath: String? = nil) throws(TesseractError) {
        _ = tongban_tesseract_keep_to_this_thread()
        guard let handle = TessBaseAPICreate() else {
            throw TesseractError(call: "TessBaseAPICreate", message: "out of memory")
        }
        guard TessBaseAPIInit3(handle, dataPath, languages) == 0 else {
            TessBaseAPIDelete(handle)
            throw TesseractError(call: "TessBaseAPIInit3",
                                 message: "cannot load '\(languages)' from \(dataPath ?? "the default tessdata folder") (is tesseract-ocr-chi-sim installed?)")
        }
        // Chinese puts no space between characters; keep the spaces Tesseract does see (between Latin words).
        _ = TessBaseAPISetVariable(handle, "preserve_interword_spaces", "1")
        // Tesseract's progress chatter ("Detected 22 diacritics") is not for the service's log.
        _ = TessBaseAPISetVariable(handle, "debug_file", "/dev/null")
        TessBaseAPISetPageSegMode(handle, PSM_AUTO)
        self.handle = handle
        self.languages = languages
    }

    deinit {
        TessBaseAPIEnd(handle)
        TessBaseAPIDelete(handle)
    }

    private static let clock = ContinuousClock()

    /// The library's version string.
    public static var version: String { TessVersion().map { String(cString: $0) } ?? "unknown" }

    /// The lines of text on an 8-bit grey picture (`stride` bytes per row), top to bottom as Tesseract reads them.
    /// `deadline` bounds the work on one picture; a page that takes longer gives the lines read so far.
    public func lines(gray pixels: [UInt8], width: Int, height: Int, stride: Int, dotsPerInch: Int,
                      deadline: Duration = .seconds(120)) throws(TesseractError) -> [RecognizedLine] {
        guard width > 0, height > 0, stride >= width, pixels.count >= stride * height else {
            throw TesseractError(call: "TessBaseAPISetImage", message: "picture of \(width)×\(height) does not match its \(pixels.count) bytes")
        }
        _ = tongban_tesseract_keep_to_this_thread()
        defer { TessBaseAPIClear(handle) }
        pixels.withUnsafeBufferPointer { buffer in
            TessBaseAPISetImage(handle, buffer.baseAddress, Int32(width), Int32(height), 1, Int32(stride))
        }
        TessBaseAPISetSourceResolution(handle, Int32(max(70, dotsPerInch)))
        let started = Self.clock.now
        guard let monitor = TessMonitorCreate() else { throw TesseractError(call: "TessMonitorCreate", message: "out of memory") }
        defer { TessMonitorDelete(monitor) }
        let milliseconds = deadline.components.seconds * 1000 + deadline.components.attoseconds / 1_000_000_000_000_000
        TessMonitorSetDeadlineMSecs(monitor, Int32(clamping: milliseconds))
        // A page cut short by the deadline still has the lines read so far; any other failure is the call's.
        if TessBaseAPIRecognize(handle, monitor) != 0, Self.clock.now < started + deadline {
            throw TesseractError(call: "TessBaseAPIRecognize", message: "recognition failed on a picture of \(width)×\(height)")
        }
        guard let iterator = TessBaseAPIGetIterator(handle) else { return [] }
        defer { TessResultIteratorDelete(iterator) }
        let page = TessResultIteratorGetPageIterator(iterator)
        var lines: [RecognizedLine] = []
        repeat {
            var left: Int32 = 0, top: Int32 = 0, right: Int32 = 0, bottom: Int32 = 0
            guard TessPageIteratorBoundingBox(page, RIL_TEXTLINE, &left, &top, &right, &bottom) != 0,
                  let raw = TessResultIteratorGetUTF8Text(iterator, RIL_TEXTLINE) else { continue }
            let text = String(cString: raw).trimmingCharacters(in: .whitespacesAndNewlines)
            TessDeleteText(raw)
            guard !text.isEmpty, right > left, bottom > top else { continue }
            lines.append(RecognizedLine(text: text, x: Int(left), y: Int(top), width: Int(right - left), height: Int(bottom - top),
                                        confidence: Double(TessResultIteratorConfidence(iterator, RIL_TEXTLINE))))
        } while TessResultIteratorNext(iterator, RIL_TEXTLINE) != 0
        return lines
    }
}
