import Foundation
import Leptonica
import Tesseract
import TurboJPEG
import ZBar

/// How a scanned page is cleaned and encoded.
public struct PageCleanup: Sendable, Codable, Equatable {
    /// Detect skew and straighten the page when the angle is worth it.
    public var deskew: Bool = true
    /// Cut away the scanner's dark background around the paper.
    public var cropBorder: Bool = true
    /// Flag pages with no marks on them (left out of the PDF unless asked for).
    public var detectBlank: Bool = true
    /// Black and white, CCITT G4 (small files for text); otherwise JPEG.
    public var bitonal: Bool = false
    /// JPEG quality, 1…100.
    public var jpegQuality: Int = 85
    /// Angles smaller than this (degrees) are left alone: rotating costs time and a little sharpness.
    public var minimumSkewDegrees: Double = 0.1
    /// Fraction of the page area that must carry ink for the page not to be blank.
    public var blankInkFraction: Double = 0.002
    /// Recognise the page's text (Tesseract) for the PDF's invisible text layer and the attachment's search text.
    public var recognizeText: Bool = false
    /// Read the page's QR codes and barcodes (zbar): the case number on a printed form, a separator sheet.
    public var readBarcodes: Bool = true
    /// `recognizeText` as a decoded request gave it (nil: not given, so a configured default applies); not encoded.
    public private(set) var recognizeTextGiven: Bool?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case deskew, cropBorder, detectBlank, bitonal, jpegQuality, minimumSkewDegrees, blankInkFraction, recognizeText, readBarcodes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        deskew = try container.decodeIfPresent(Bool.self, forKey: .deskew) ?? true
        cropBorder = try container.decodeIfPresent(Bool.self, forKey: .cropBorder) ?? true
        detectBlank = try container.decodeIfPresent(Bool.self, forKey: .detectBlank) ?? true
        bitonal = try container.decodeIfPresent(Bool.self, forKey: .bitonal) ?? false
        jpegQuality = try container.decodeIfPresent(Int.self, forKey: .jpegQuality) ?? 85
        minimumSkewDegrees = try container.decodeIfPresent(Double.self, forKey: .minimumSkewDegrees) ?? 0.1
        blankInkFraction = try container.decodeIfPresent(Double.self, forKey: .blankInkFraction) ?? 0.002
        recognizeTextGiven = try container.decodeIfPresent(Bool.self, forKey: .recognizeText)
        recognizeText = recognizeTextGiven ?? false
        readBarcodes = try container.decodeIfPresent(Bool.self, forKey: .readBarcodes) ?? true
    }

    /// Every problem with the values, for one error listing them all.
    public var problems: [String] {
        var problems: [String] = []
        if !(1...100).contains(jpegQuality) { problems.append("jpegQuality must be 1…100, not \(jpegQuality)") }
        if !(0...10).contains(minimumSkewDegrees) { problems.append("minimumSkewDegrees must be 0…10") }
        if !(0...0.5).contains(blankInkFraction) { problems.append("blankInkFraction must be 0…0.5") }
        return problems
    }
}

/// A page as the scanner gave it: 8-bit grey or packed RGB.
public struct RawPage: Sendable {
    public var width: Int
    public var height: Int
    /// 1 or 3.
    public var channels: Int
    public var pixels: [UInt8]
    public var dotsPerInch: Int

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8], dotsPerInch: Int) {
        precondition(pixels.count == width * height * channels, "pixel buffer does not match the geometry")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.dotsPerInch = dotsPerInch
    }
}

/// A cleaned, encoded page and what was found on the way.
public struct ProcessedPage: Sendable {
    public enum Encoding: String, Sendable, Codable { case jpeg, g4 }
    public var encoding: Encoding
    /// JPEG file bytes, or a raw CCITT G4 strip.
    public var data: [UInt8]
    public var width: Int
    public var height: Int
    /// 1 or 3 (G4 is always 1).
    public var channels: Int
    public var dotsPerInch: Int
    /// A small JPEG for the clerk's page strip (about 240 pixels wide).
    public var thumbnail: [UInt8]
    /// The skew found, in degrees (nil when not measured or too uncertain).
    public var skewDegrees: Double?
    /// How sure the skew search was (Leptonica's peak-to-mean ratio), when it ran.
    public var skewConfidence: Double?
    /// Whether the page was rotated to straighten it.
    public var straightened: Bool
    public var blank: Bool
    /// Fraction of the page carrying ink.
    public var inkFraction: Double
    /// The page's text lines in the encoded image's pixels, when recognition was asked for (empty: none found).
    public var text: [RecognizedLine]?
    /// Why recognition was asked for and gave nothing (the recogniser could not be loaded); the page is kept.
    public var textProblem: String?
    /// Why the page's barcodes could not be read (then a separator sheet on it is not seen either).
    public var barcodeProblem: String?
    /// The QR codes and barcodes on the page.
    public var barcodes: [FoundBarcode] = []
    /// How long recognition took, in milliseconds.
    public var textMilliseconds: Double?
}

/// Cleans and encodes pages. Holds a JPEG encoder and a text recogniser, so each imaging thread has its own.
public final class PageProcessor {
    private let encoder: JPEGEncoder
    private let reader: PageTextReader
    public static let thumbnailWidth = 240

    public init(text: TextRecognitionSettings = TextRecognitionSettings()) throws(TurboJPEGError) {
        encoder = try JPEGEncoder()
        reader = PageTextReader(text)
    }

    /// The text lines of an 8-bit grey picture, through this thread's recogniser (loaded on first use).
    public func recognizeText(gray pixels: [UInt8], width: Int, height: Int, dotsPerInch: Int) throws(TesseractError) -> [RecognizedLine] {
        try reader.lines(gray: pixels, width: width, height: height, dotsPerInch: dotsPerInch)
    }

    /// Straighten, crop, judge blankness, encode, make the thumbnail.
    public func process(_ page: RawPage, _ options: PageCleanup) throws -> ProcessedPage {
        var page = page
        // Analysis runs on a grey copy at about 150 dpi: enough for text lines, a sixteenth of the work at 600 dpi.
        let factor = max(1, page.dotsPerInch / 150)
        var small = Self.reducedGray(page, factor: factor)
        var skew: Double?
        var confidence: Double?
        var straightened = false
        if options.deskew, small.width > 64, small.height > 64 {
            let estimate = try small.pixels.withUnsafeBytes { buffer in
                try LeptonicaImage.gray(buffer, width: small.width, height: small.height, stride: small.width)
            }.binarised(threshold: 128).skew()
            confidence = estimate?.confidence
            if let estimate, estimate.confidence >= 3 {
                skew = estimate.degrees
                if abs(estimate.degrees) >= options.minimumSkewDegrees, try Self.showsTextLines(small, turnedBy: estimate.degrees) {
                    page = try Self.rotate(page, degrees: estimate.degrees)
                    small = Self.reducedGray(page, factor: factor)
                    straightened = true
                }
            }
        }
        var crop = (x: 0, y: 0, width: page.width, height: page.height)
        if options.cropBorder {
            let box = Self.paperBox(small)
            crop = (x: box.x * factor, y: box.y * factor,
                    width: min(page.width - box.x * factor, box.width * factor),
                    height: min(page.height - box.y * factor, box.height * factor))
        }
        let (ink, paper) = Self.inkFraction(small, inside: (x: crop.x / factor, y: crop.y / factor,
                                                            width: crop.width / factor, height: crop.height / factor))
        // Blank means paper without ink: a page dark all over (a photo, a dark form, a black cover) is content.
        let blank = options.detectBlank && ink < options.blankInkFraction && paper >= Self.lightestDarkPage
        let layout: PixelLayout = page.channels == 3 ? .rgb : .gray
        let stride = page.width * page.channels
        let origin = crop.y * stride + crop.x * page.channels
        let encoded: [UInt8]
        let encoding: ProcessedPage.Encoding
        let channels: Int
        if options.bitonal {
            let gray = Self.grayRegion(page, crop)
            encoded = try gray.withUnsafeBytes { buffer in
                try LeptonicaImage.gray(buffer, width: crop.width, height: crop.height, stride: crop.width)
            }.binarised(threshold: 160).groupFourData()
            encoding = .g4
            channels = 1
        } else {
            encoded = try page.pixels.withUnsafeBytes { buffer in
                try encoder.encode(buffer.baseAddress! + origin, width: crop.width, height: crop.height, stride: stride,
                                   layout: layout, quality: options.jpegQuality, dotsPerInch: page.dotsPerInch)
            }
            encoding = .jpeg
            channels = page.channels
        }
        let thumbnail = try self.thumbnail(page, crop)
        var processed = ProcessedPage(encoding: encoding, data: encoded, width: crop.width, height: crop.height, channels: channels,
                                      dotsPerInch: page.dotsPerInch, thumbnail: thumbnail, skewDegrees: skew, skewConfidence: confidence,
                                      straightened: straightened,
                                      blank: blank, inkFraction: ink)
        if options.readBarcodes, !blank {
            // At about 150 dpi a printed case-number QR code has several pixels a module: enough, at a sixteenth of the work.
            do {
                processed.barcodes = try BarcodeReader.barcodes(gray: small.pixels, width: small.width, height: small.height, stride: small.width)
            } catch { processed.barcodeProblem = error.description }
        }
        if options.recognizeText, !blank {
            let started = ContinuousClock.now
            do {
                processed.text = try reader.lines(gray: Self.grayRegion(page, crop), width: crop.width, height: crop.height,
                                                  dotsPerInch: page.dotsPerInch)
            } catch { processed.textProblem = error.description }
            processed.textMilliseconds = Self.milliseconds(since: started)
        }
        return processed
    }

    /// Milliseconds from `start` until now.
    public static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    // MARK: Steps

    struct GrayImage {
        var width: Int
        var height: Int
        var pixels: [UInt8]
    }

    /// The page in grey (ITU-R BT.601 weights), each pixel the mean of a `factor` × `factor` block: averaging, not
    /// sampling, so fine line patterns cannot alias into false text lines.
    static func reducedGray(_ page: RawPage, factor: Int) -> GrayImage {
        let width = page.width / factor, height = page.height / factor
        var out = [UInt8](repeating: 0, count: width * height)
        let channels = page.channels, rowBytes = page.width * channels, area = factor * factor
        page.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                var sums = [Int](repeating: 0, count: width)
                for row in 0..<height {
                    for index in 0..<width { sums[index] = 0 }
                    for line in 0..<factor {
                        let base = (row * factor + line) * rowBytes
                        for column in 0..<width {
                            var offset = base + column * factor * channels
                            var sum = 0
                            for _ in 0..<factor {
                                sum += Self.luma256(source, offset, channels)
                                offset += channels
                            }
                            sums[column] += sum
                        }
                    }
                    for column in 0..<width { target[row * width + column] = UInt8(clamping: (sums[column] / area) >> 8) }
                }
            }
        }
        return GrayImage(width: width, height: height, pixels: out)
    }

    /// Whether turning the page by `degrees` lines up text: rows of ink with blank rows between them. Projection
    /// searches also "find" skew in patterns without text lines (a checkerboard's rows all carry the same ink at 0°,
    /// photos, shading); those pages are left as they are rather than turned on a guess.
    static func showsTextLines(_ image: GrayImage, turnedBy degrees: Double) throws -> Bool {
        let turned = try image.pixels.withUnsafeBytes { buffer in
            try LeptonicaImage.gray(buffer, width: image.width, height: image.height, stride: image.width)
        }.rotated(degrees: degrees).packedPixels()
        let left = image.width / 10, right = image.width - image.width / 10
        var blankRows = 0, inkedRows = 0
        for row in image.height / 20..<(image.height - image.height / 20) {
            var ink = 0
            for column in left..<right where turned[row * image.width + column] < 128 { ink += 1 }
            let share = Double(ink) / Double(right - left)
            if share < 0.005 { blankRows += 1 } else if share > 0.02 { inkedRows += 1 }
        }
        return blankRows * 10 >= image.height && inkedRows * 20 >= image.height
    }

    /// A pixel's grey level × 256 (ITU-R BT.601 weights for RGB).
    @inline(__always)
    static func luma256(_ source: UnsafeBufferPointer<UInt8>, _ offset: Int, _ channels: Int) -> Int {
        guard channels == 3 else { return Int(source[offset]) << 8 }
        return 77 * Int(source[offset]) + 150 * Int(source[offset + 1]) + 29 * Int(source[offset + 2])
    }

    static func rotate(_ page: RawPage, degrees: Double) throws -> RawPage {
        let image = try page.pixels.withUnsafeBytes { buffer in
            page.channels == 3
                ? try LeptonicaImage.rgb(buffer, width: page.width, height: page.height, stride: page.width * 3)
                : try LeptonicaImage.gray(buffer, width: page.width, height: page.height, stride: page.width)
        }
        let rotated = try image.rotated(degrees: degrees)
        return RawPage(width: page.width, height: page.height, channels: page.channels, pixels: rotated.packedPixels(),
                       dotsPerInch: page.dotsPerInch)
    }

    /// The paper inside the scanner's dark background: rows and columns from each edge that are mostly dark
    /// (the lid or feeder background) are cut off. A page with no dark border keeps its full size.
    static func paperBox(_ image: GrayImage) -> (x: Int, y: Int, width: Int, height: Int) {
        let dark: UInt8 = 80
        func rowIsBorder(_ row: Int) -> Bool {
            var count = 0
            for column in 0..<image.width where image.pixels[row * image.width + column] < dark { count += 1 }
            return count * 10 > image.width * 8
        }
        func columnIsBorder(_ column: Int, _ top: Int, _ bottom: Int) -> Bool {
            var count = 0
            for row in top..<bottom where image.pixels[row * image.width + column] < dark { count += 1 }
            return count * 10 > (bottom - top) * 8
        }
        var top = 0, bottom = image.height
        while top < bottom - 1, rowIsBorder(top) { top += 1 }
        while bottom - 1 > top, rowIsBorder(bottom - 1) { bottom -= 1 }
        var left = 0, right = image.width
        while left < right - 1, columnIsBorder(left, top, bottom) { left += 1 }
        while right - 1 > left, columnIsBorder(right - 1, top, bottom) { right -= 1 }
        // A page that is dark all over is not a border: keep it whole.
        if (right - left) * 4 < image.width || (bottom - top) * 4 < image.height {
            return (0, 0, image.width, image.height)
        }
        return (left, top, right - left, bottom - top)
    }

    /// The share of pixels clearly darker than the paper, ignoring a 4% margin (edge shadows, punch holes).
    /// A page whose commonest shade (its 80th percentile) is darker than this is not paper but dark content.
    static let lightestDarkPage = 110

    /// The share of the page darker than its paper by a clear step, and the paper's shade (the level 80 % of the
    /// page lies at or below).
    static func inkFraction(_ image: GrayImage, inside box: (x: Int, y: Int, width: Int, height: Int)) -> (ink: Double, paper: Int) {
        let marginX = box.width / 25, marginY = box.height / 25
        let x0 = box.x + marginX, x1 = min(image.width, box.x + box.width - marginX)
        let y0 = box.y + marginY, y1 = min(image.height, box.y + box.height - marginY)
        guard x1 > x0, y1 > y0 else { return (0, 255) }
        var histogram = [Int](repeating: 0, count: 256)
        for row in y0..<y1 {
            for column in x0..<x1 { histogram[Int(image.pixels[row * image.width + column])] += 1 }
        }
        let total = (x1 - x0) * (y1 - y0)
        // The paper's shade: the level below which 80% of the pixels lie (pages are mostly paper).
        var paper = 255, seen = 0
        for level in 0..<256 {
            seen += histogram[level]
            if seen * 5 >= total * 4 { paper = level; break }
        }
        let inkBelow = max(0, paper - 60)
        let ink = histogram[0..<inkBelow].reduce(0, +)
        return (Double(ink) / Double(total), paper)
    }

    static func grayRegion(_ page: RawPage, _ crop: (x: Int, y: Int, width: Int, height: Int)) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: crop.width * crop.height)
        page.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for row in 0..<crop.height {
                    let line = (crop.y + row) * page.width * page.channels
                    for column in 0..<crop.width {
                        let offset = line + (crop.x + column) * page.channels
                        target[row * crop.width + column] = UInt8(Self.luma256(source, offset, page.channels) >> 8)
                    }
                }
            }
        }
        return out
    }

    func thumbnail(_ page: RawPage, _ crop: (x: Int, y: Int, width: Int, height: Int)) throws -> [UInt8] {
        let step = max(1, crop.width / Self.thumbnailWidth)
        let width = crop.width / step, height = crop.height / step
        var out = [UInt8](repeating: 0, count: width * height * page.channels)
        page.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for row in 0..<height {
                    let line = (crop.y + row * step) * page.width * page.channels
                    for column in 0..<width {
                        let offset = line + (crop.x + column * step) * page.channels
                        for channel in 0..<page.channels {
                            target[(row * width + column) * page.channels + channel] = source[offset + channel]
                        }
                    }
                }
            }
        }
        return try encoder.encode(pixels: out, width: width, height: height, layout: page.channels == 3 ? .rgb : .gray, quality: 75)
    }
}
