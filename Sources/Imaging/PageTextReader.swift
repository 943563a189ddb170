import ArchivalPDF
import Foundation
import Tesseract

/// Which languages pages are read in, and where their data is.
public struct TextRecognitionSettings: Sendable, Equatable {
    /// Tesseract's language names joined by `+`: `chi_sim` (simplified Chinese, with digits and Latin letters).
    public var languages: String
    /// The tessdata folder; nil for the library's own.
    public var dataPath: String?
    /// Pages are read at no more than this resolution: finer scans are averaged down first (Tesseract gains
    /// nothing above 300 dpi and the work grows with the pixels).
    public var maximumDotsPerInch: Int

    /// Settings for `languages` (`chi_sim`, `chi_sim+eng`).
    public init(languages: String = "chi_sim", dataPath: String? = nil, maximumDotsPerInch: Int = 300) {
        self.languages = languages
        self.dataPath = dataPath
        self.maximumDotsPerInch = maximumDotsPerInch
    }
}

/// One thread's text recogniser, loaded when the first page asks for text and kept for the reader's life; a
/// recogniser that cannot be loaded is reported for every page that asks (the pages themselves are kept). Not
/// thread-safe: an imaging thread owns one.
public final class PageTextReader {
    private let settings: TextRecognitionSettings
    private var recognizer: TextRecognizer?
    private var loadFailure: TesseractError?

    /// A reader that loads its recogniser with `settings` when first asked.
    public init(_ settings: TextRecognitionSettings) {
        self.settings = settings
    }

    /// The text lines of an 8-bit grey picture (rows packed), in its own pixels; finer than the settings'
    /// `maximumDotsPerInch`, it is averaged down first. `deadline` bounds the work (the lines read by then are kept).
    public func lines(gray pixels: [UInt8], width: Int, height: Int, dotsPerInch: Int,
                      deadline: Duration = .seconds(120)) throws(TesseractError) -> [RecognizedLine] {
        if let loadFailure { throw loadFailure }
        if recognizer == nil {
            do { recognizer = try TextRecognizer(languages: settings.languages, dataPath: settings.dataPath) } catch {
                loadFailure = error
                throw error
            }
        }
        guard let recognizer else { return [] }
        let factor = max(1, Int((Double(dotsPerInch) / Double(max(72, settings.maximumDotsPerInch))).rounded(.up)))
        guard factor > 1 else {
            return try recognizer.lines(gray: pixels, width: width, height: height, stride: width, dotsPerInch: dotsPerInch, deadline: deadline)
        }
        let reduced = PageProcessor.reducedGray(RawPage(width: width, height: height, channels: 1, pixels: pixels, dotsPerInch: dotsPerInch),
                                                factor: factor)
        return try recognizer.lines(gray: reduced.pixels, width: reduced.width, height: reduced.height, stride: reduced.width,
                                    dotsPerInch: dotsPerInch / factor, deadline: deadline).map { line in
            RecognizedLine(text: line.text, x: line.x * factor, y: line.y * factor, width: line.width * factor,
                           height: line.height * factor, confidence: line.confidence)
        }
    }
}

extension PDFTextLine {
    /// A recognised line as the PDF's (and OFD's) text layer lays it: its text over its box in the page's pixels.
    public init(_ line: RecognizedLine) {
        self.init(text: line.text, x: line.x, y: line.y, width: line.width, height: line.height)
    }
}
