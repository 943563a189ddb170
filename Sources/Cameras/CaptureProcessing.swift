import ArchivalOFD
import ArchivalPDF
import Foundation
import Imaging
import Tesseract
import TongbanCore
import TurboJPEG
import ZBar

/// What is known of a document camera's optics and of the desk it looks at (`cameras.viewWidthMillimetres`,
/// `cameras.fieldOfViewDegrees`): the frame's scale tells a card from a page by size and gives a page's resolution;
/// the field of view gives the focal length the true proportions are computed with.
public struct CameraCalibration: Sendable, Equatable {
    /// How wide the strip of desk the camera sees is, at the desk (mat) plane, in millimetres.
    public var viewWidthMillimetres: Double?
    /// The camera's horizontal field of view.
    public var horizontalFieldOfViewDegrees: Double?

    public init(viewWidthMillimetres: Double? = nil, horizontalFieldOfViewDegrees: Double? = nil) {
        self.viewWidthMillimetres = viewWidthMillimetres.flatMap { $0 > 0 ? $0 : nil }
        self.horizontalFieldOfViewDegrees = horizontalFieldOfViewDegrees.flatMap { $0 > 0 ? $0 : nil }
    }

    public static let unknown = CameraCalibration()
}

/// Something that makes a capture doubtful; the clerk retakes it, or insists.
public struct CaptureWarning: Sendable, Codable, Equatable {
    /// `out-of-frame`, `blur`, `low-resolution`, `glare`.
    public var code: String
    /// In the clerk's words, Chinese then English.
    public var message: String
}

/// What the capture found out about the document: card or page, its true proportions and size, and what is doubtful.
public struct CaptureAssessment: Sendable, Codable, Equatable {
    public struct Size: Sendable, Codable, Equatable {
        public var width: Double
        public var height: Double
    }

    /// `page` or `card`.
    public var decision: String
    /// The flat document's width ÷ height as captured (after snapping to a standard size).
    public var aspect: Double
    /// How the proportions were found: from the perspective with the camera's field of view or the corners' own
    /// vanishing points, or from the sides (seen square on).
    public var aspectMethod: PlaneGeometry.Method
    /// The standard size it was taken to be (A4, A5, B5, Letter, 16K, ID-1), when it is close to one.
    public var standardSize: String?
    /// Its size on the desk, when the frame's scale is known.
    public var sizeMillimetres: Size?
    /// Some of it runs out of the picture.
    public var outOfFrame: Bool
    /// Corners that look rounded, as a card's do (card modes).
    public var roundedCorners: Int?
    /// The steepest edges' slope over the contrast (nil: too little ink to tell).
    public var sharpness: Double?
    /// Pixels per inch on the paper, when its size is known.
    public var dotsPerInch: Int?
    /// The focal length in pixels the proportions were computed with.
    public var focalLength: Double?
    public var warnings: [CaptureWarning]
}

/// Makes a camera picture into what the capture mode says: finds the document, tells card from page, corrects the
/// perspective at true proportions, evens out the light and judges whether the result is fit to keep. Blocking:
/// runs on the camera service's processing thread.
public enum CaptureProcessor {
    /// A capture made into an attachment's bytes.
    public struct Made: Sendable {
        public var bytes: [UInt8]
        public var contentType: String
        public var fileName: String
        public var width: Int
        public var height: Int
        public var corners: [ImagePoint]?
        public var assessment: CaptureAssessment?
        /// The document's text lines in the output image's pixels (nil: not asked for).
        public var text: [RecognizedLine]?
        /// The QR codes and barcodes on the document.
        public var barcodes: [FoundBarcode] = []
        /// Why the text was not read when it was only read by default (the capture is kept without it).
        public var textProblem: String?
    }

    /// ID-1 cards (resident cards, permits) are 85.6 × 54 mm: 1011 × 638 pixels at 300 dpi.
    static let cardSize = (width: 1011, height: 638)
    /// A card's long side ÷ short side is 1.586; pages are 1.29 (Letter) to 1.42 (A-series).
    static let cardRatios = 1.48...1.72
    /// Below this a capture of paper is too coarse to read small print.
    static let minimumDotsPerInch = 150
    /// Sharpness under this: blurred (focus or motion).
    static let minimumSharpness = 0.25
    /// More of the page burnt out by a reflection than this: glare.
    static let maximumGlare = 0.005

    /// - Parameters:
    ///   - textReader: the calling thread's recogniser, for a document whose text is read (nil: a recogniser of the
    ///     default languages is loaded for this capture).
    ///   - textByDefault: read a document's text when the request does not say (`cameras.ocr`). Text asked for
    ///     (`"ocr": true`) that cannot be read refuses the capture; text read only by default that cannot be read
    ///     leaves the capture without it (`textProblem`).
    public static func make(_ frame: CameraFrame, _ request: CameraCaptureRequest, device: String,
                            calibration: CameraCalibration = .unknown, textReader: PageTextReader? = nil,
                            textByDefault: Bool = false) throws(Problem) -> Made {
        if request.mode == .photo {
            return Made(bytes: frame.jpeg, contentType: "image/jpeg", fileName: "photo.jpg", width: frame.width, height: frame.height)
        }
        let picture: (pixels: [UInt8], width: Int, height: Int)
        do { picture = try JPEGDecoder().decode(frame.jpeg, layout: .rgb) } catch {
            throw Problem(code: "camera-frame-undecodable", status: 502, title: "摄像头画面无法解码 Camera frame cannot be decoded",
                          detail: "\(device): \(error)", remedy: "重新拍摄；如反复出现请更换摄像头。Capture again; replace the camera if it repeats.")
        }
        let grey = Luminance.grey(fromRGB: picture.pixels)
        let isCardMode = request.mode != .document
        let thing = isCardMode ? "证件" : "材料"
        guard let location = DocumentFinder.locate(grey: grey, width: picture.width, height: picture.height) else {
            throw Problem(code: isCardMode ? "idcard-not-found" : "document-not-found", status: 422,
                          title: isCardMode ? "画面中找不到身份证 No ID card in view" : "画面中找不到材料 No document in view",
                          detail: "\(device): no bright \(isCardMode ? "card" : "page") stands out from the desk in the \(picture.width)×\(picture.height) picture",
                          remedy: "把\(thing)完整放在高拍仪下的深色台面上再拍。Lay it wholly inside the view on the dark mat and capture again.")
        }
        var warnings: [CaptureWarning] = []
        if location.outOfFrame {
            // A card side cut by the frame would be stretched into a whole card: never kept, even insisted on.
            guard request.insist == true && !isCardMode else {
                var problem = Problem(code: "document-out-of-frame", status: 422, title: "\(thing)超出画面 Part of it is out of view",
                                      detail: "\(device): the \(isCardMode ? "card" : "page") runs out of the \(picture.width)×\(picture.height) picture; what is out of view would be cut off",
                                      remedy: "把\(thing)整个移入画面后重拍（或确认仍然保存）。Move it wholly into view and capture again (or keep it anyway).")
                problem.warnings = ["out-of-frame"]
                throw problem
            }
            warnings.append(CaptureWarning(code: "out-of-frame", message: "\(thing)有部分在画面之外，已按画面内的部分保存。Part of it was out of view."))
        }

        // True proportions, then size and kind.
        let principal = ImagePoint(x: Double(picture.width) / 2, y: Double(picture.height) / 2)
        let focal = calibration.horizontalFieldOfViewDegrees.map { PlaneGeometry.focalLength(pictureWidth: picture.width, horizontalFieldOfViewDegrees: $0) }
        var outline = location.outline
        var proportions = PlaneGeometry.aspect(of: outline, principalPoint: principal, focalLength: focal)
        if isCardMode && proportions.aspect < 1 {
            // A card is kept long side across: start the outline one corner on (a card lying sideways).
            outline = Quadrilateral(corners: [outline.corners[3], outline.corners[0], outline.corners[1], outline.corners[2]])
            proportions = PlaneGeometry.aspect(of: outline, principalPoint: principal, focalLength: focal)
        }
        let landscapeRatio = max(proportions.aspect, 1 / proportions.aspect)
        // Its real size, when the frame's scale is known: on the desk plane, from the corners' rays (the plane is the
        // one the axis meets where the desk is viewWidth wide), else from its area at the frame's scale.
        var longMillimetres: Double?
        if let viewWidth = calibration.viewWidthMillimetres {
            if let f = proportions.focalLength,
               let real = PlaneGeometry.size(of: outline, principalPoint: principal, focalLength: f, axisDepth: viewWidth * f / Double(picture.width)) {
                longMillimetres = max(real.width, real.height)
            } else {
                longMillimetres = (outline.area * landscapeRatio).squareRoot() * viewWidth / Double(picture.width)
            }
        }
        // A document partly out of view is not snapped to a size: what is in view is not the whole of it.
        let standard = location.outOfFrame ? nil : PaperSize.matching(ratio: landscapeRatio, longMillimetres: longMillimetres)
        let rounded = isCardMode ? CardShape.roundedCorners(grey: grey, width: picture.width, height: picture.height, outline: outline) : nil
        let looksLikeCard: Bool
        if let longMillimetres {
            looksLikeCard = cardRatios.contains(landscapeRatio) && (70...105).contains(longMillimetres)
        } else {
            looksLikeCard = cardRatios.contains(landscapeRatio) || (landscapeRatio > 1.45 && (rounded ?? 0) >= 2)
        }
        if isCardMode && !looksLikeCard {
            let size = longMillimetres.map { String(format: ", about %.0f mm long", $0) } ?? ""
            throw Problem(code: "idcard-not-a-card", status: 422, title: "这不是证件 This is not an ID card",
                          detail: "\(device): the document found is \(String(format: "%.2f", landscapeRatio)):1\(size)\(standard.map { " (\($0.name))" } ?? ""); an ID card is 1.59:1, 85.6 mm long",
                          remedy: "这是一张纸：请用“文档”方式拍摄；拍证件时只放证件。It is a page: capture it as a document; for a card side lay only the card.")
        }

        // The corrected picture: cards at 300 dpi, pages at the resolution the picture has, in true proportions.
        let size: (width: Int, height: Int)
        var snappedRatio = landscapeRatio
        if isCardMode {
            size = cardSize
            snappedRatio = PaperSize.card.ratio
        } else {
            if let standard { snappedRatio = standard.ratio }
            let long = max(outline.flatSize.width, outline.flatSize.height)
            let short = long / snappedRatio
            size = proportions.aspect >= 1 ? (Int(long.rounded()), Int(short.rounded())) : (Int(short.rounded()), Int(long.rounded()))
        }
        guard size.width > 8, size.height > 8, let warp = PerspectiveWarp(quadrilateral: outline, width: size.width, height: size.height) else {
            throw Problem(code: "document-not-found", status: 422, title: "画面中找不到材料 No document in view",
                          detail: "\(device): the outline found is degenerate", remedy: "重新摆放后再拍。Straighten the paper and capture again.")
        }
        var pixels = warp.apply(to: picture.pixels, width: picture.width, height: picture.height, channels: 3,
                                outputWidth: size.width, outputHeight: size.height)

        // Fit to keep? Glare before the light is evened (a burnt-out patch is then hidden); sharpness after it (a page
        // in a lamp's fall-off has as crisp an edge in its dim half), at the scale the camera saw it (a card's picture
        // is enlarged to 300 dpi, which softens every edge by the same factor).
        let glare = PageQuality.glare(rgb: pixels, width: size.width, height: size.height)
        if glare > maximumGlare {
            warnings.append(CaptureWarning(code: "glare", message: "\(thing)上有反光（\(String(format: "%.1f", glare * 100))%），请调整角度或关闭台灯后重拍。A reflection burns out part of it: tilt it or dim the lamp."))
        }
        let enhancing = request.mode == .document && request.enhance != false
        let evened = enhancing ? PageLight.flatten(pixels, width: size.width, height: size.height) : pixels
        let enlargement = Double(max(size.width, size.height)) / max(1, max(outline.flatSize.width, outline.flatSize.height))
        let sharpness = PageQuality.sharpness(grey: Luminance.grey(fromRGB: evened), width: size.width, height: size.height)
            .map { $0 * max(1, enlargement) }
        if let sharpness, sharpness < minimumSharpness {
            warnings.append(CaptureWarning(code: "blur", message: "画面模糊，请放稳\(thing)、等待对焦后重拍。It is blurred: hold it still, let the camera focus, and capture again."))
        }
        // The resolution the picture has on the paper (a card's output is always 300 dpi, its capture may be coarser).
        let paperLongMillimetres = isCardMode ? PaperSize.card.longMillimetres : (standard?.longMillimetres ?? longMillimetres)
        let capturedLongPixels = max(outline.flatSize.width, outline.flatSize.height)
        let dotsPerInch = paperLongMillimetres.map { Int((capturedLongPixels / ($0 / 25.4)).rounded()) }
        if let dotsPerInch, dotsPerInch < minimumDotsPerInch {
            warnings.append(CaptureWarning(code: "low-resolution", message: "分辨率不足（约 \(dotsPerInch) dpi），请把\(thing)移近镜头或放在台面中央后重拍。Too few pixels (about \(dotsPerInch) dpi): bring it closer and capture again."))
        }
        let doubtful = warnings.filter { $0.code != "out-of-frame" }
        if !doubtful.isEmpty && request.insist != true {
            var problem = Problem(code: "capture-needs-retake", status: 422, title: "建议重拍 Better capture it again",
                                  detail: "\(device): " + doubtful.map(\.message).joined(separator: " "),
                                  remedy: "重拍，或确认仍然保存。Capture it again, or keep it anyway.")
            problem.warnings = doubtful.map(\.code)
            throw problem
        }
        if enhancing { pixels = PhotoEnhancer.enhance(evened, channels: 3) }

        let assessment = CaptureAssessment(
            decision: looksLikeCard ? "card" : "page", aspect: Double(size.width) / Double(size.height), aspectMethod: proportions.method,
            standardSize: isCardMode ? PaperSize.card.name : standard?.name,
            sizeMillimetres: longMillimetres.map { long in
                proportions.aspect >= 1 ? .init(width: long, height: long / landscapeRatio) : .init(width: long / landscapeRatio, height: long)
            },
            outOfFrame: location.outOfFrame, roundedCorners: rounded, sharpness: sharpness, dotsPerInch: dotsPerInch,
            focalLength: proportions.focalLength, warnings: warnings)
        // The file's resolution tag puts it on paper at its real size: cards at 300 dpi, pages by their size (taken as
        // A4 when it is not known).
        let tagDotsPerInch = isCardMode ? 300
            : max(1, Int((Double(max(size.width, size.height)) / ((paperLongMillimetres ?? 297) / 25.4)).rounded()))
        let jpeg: [UInt8]
        do { jpeg = try JPEGEncoder().encode(pixels: pixels, width: size.width, height: size.height, layout: .rgb, quality: 88, dotsPerInch: tagDotsPerInch) } catch {
            throw Problem(code: "camera-encode-failed", status: 500, title: "图像编码失败 Encoding failed", detail: "\(device): \(error)",
                          remedy: "重新拍摄。Capture again.")
        }
        let corners = outline.corners
        // A document's barcodes (the case number on a printed form) always; its text when asked. Never a card's:
        // what is read off an identity card is identity data.
        var barcodes: [FoundBarcode] = []
        var lines: [RecognizedLine]?
        var textProblem: String?
        if request.mode == .document {
            let grey = Luminance.grey(fromRGB: pixels)
            barcodes = (try? BarcodeReader.barcodes(gray: grey, width: size.width, height: size.height, stride: size.width)) ?? []
            if request.ocr ?? textByDefault {
                let reader = textReader ?? PageTextReader(TextRecognitionSettings())
                // A clerk waits on a capture: a page whose text takes longer keeps the lines read in 15 s.
                do { lines = try reader.lines(gray: grey, width: size.width, height: size.height, dotsPerInch: tagDotsPerInch,
                                              deadline: .seconds(15)) } catch {
                    // Text the request did not ask for never costs the clerk the capture.
                    if request.ocr == nil { textProblem = error.description } else { throw Problem(code: "text-recognition-unavailable", status: 503, title: "文字识别不可用 Text recognition unavailable",
                                  detail: "\(device): \(error)",
                                  remedy: "安装 tesseract-ocr-chi-sim，或不勾选文字识别再拍。Install tesseract-ocr-chi-sim, or capture without ocr.") }
                }
            }
        }
        // Documents default to PDF/A, everything else to the JPEG itself.
        guard let format = request.format.flatMap(DocumentFormat.init(rawValue:)) ?? (request.format == nil && request.mode == .document ? .pdf : nil) else {
            return Made(bytes: jpeg, contentType: "image/jpeg", fileName: "\(request.mode.rawValue).jpg", width: size.width, height: size.height,
                        corners: corners, assessment: assessment, text: lines, barcodes: barcodes, textProblem: textProblem)
        }
        let pageImage = PDFPageImage(encoding: .jpeg(components: 3), data: jpeg, pixelWidth: size.width, pixelHeight: size.height,
                                     dotsPerInch: Double(tagDotsPerInch), textLines: (lines ?? []).map(PDFTextLine.init))
        let info = PDFDocumentInfo(title: request.materialName ?? request.mode.defaultMaterialName, subject: request.caseNumber,
                                   keywords: request.caseNumber, created: Date())
        let document: [UInt8]
        do {
            document = try format.document(of: [pageImage], info: info,
                                           case: OFDCaseMetadata(caseNumber: request.caseNumber, materialName: info.title, capturedAt: info.created))
        } catch {
            throw Problem(code: "camera-encode-failed", status: 500, title: "图像编码失败 Encoding failed", detail: "\(device): \(error)",
                          remedy: "重新拍摄。Capture again.")
        }
        return Made(bytes: document, contentType: format.contentType, fileName: "\(request.mode.rawValue).\(format.fileExtension)",
                    width: size.width, height: size.height, corners: corners, assessment: assessment, text: lines, barcodes: barcodes,
                    textProblem: textProblem)
    }
}

/// Shape cues of an ID-1 card: its corners are rounded (radius 3.18 mm on 85.6 mm), a page's are square.
enum CardShape {
    /// How many of the outline's corners look rounded: just inside the sharp corner, on the diagonal, a rounded card
    /// leaves desk showing (the arc passes 0.41 r in from the corner); a page's paper reaches the corner.
    static func roundedCorners(grey: [UInt8], width: Int, height: Int, outline: Quadrilateral) -> Int {
        let c = outline.corners
        let long = max(outline.flatSize.width, outline.flatSize.height)
        let radius = long * 3.18 / 85.6
        guard radius >= 4 else { return 0 }
        func sample(_ p: ImagePoint) -> Double? {
            let x = Int(p.x), y = Int(p.y)
            guard x >= 1, y >= 1, x < width - 1, y < height - 1 else { return nil }
            var sum = 0
            for dy in -1...1 { for dx in -1...1 { sum += Int(grey[(y + dy) * width + x + dx]) } }
            return Double(sum) / 9
        }
        var rounded = 0
        for index in 0..<4 {
            let corner = c[index], previous = c[(index + 3) % 4], next = c[(index + 1) % 4]
            func unit(_ a: ImagePoint, _ b: ImagePoint) -> ImagePoint {
                let length = max(hypot(b.x - a.x, b.y - a.y), 1e-9)
                return ImagePoint(x: (b.x - a.x) / length, y: (b.y - a.y) / length)
            }
            let u = unit(corner, next), v = unit(corner, previous)
            let diagonal = unit(ImagePoint(x: 0, y: 0), ImagePoint(x: u.x + v.x, y: u.y + v.y))
            func along(_ distance: Double) -> ImagePoint { ImagePoint(x: corner.x + diagonal.x * distance, y: corner.y + diagonal.y * distance) }
            guard let tip = sample(along(0.15 * radius)), let paper = sample(along(3 * radius)), let desk = sample(along(-1.5 * radius)),
                  paper - desk > 30 else { continue }
            if tip - desk < 0.5 * (paper - desk) { rounded += 1 }
        }
        return rounded
    }
}
