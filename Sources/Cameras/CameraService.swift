import ArchivalPDF
import Delivery
import Foundation
import Imaging
import Logging
import PangoCairo
import ServiceLifecycle
import Store
import TongbanCore
import TurboJPEG

/// What to make of a camera picture.
public enum CaptureMode: String, Sendable, Codable, CaseIterable {
    /// Find the paper on the desk, crop it, correct the perspective, optionally lift paper to white.
    case document
    /// The picture as the camera took it.
    case photo
    /// Find the ID card, crop to it at true proportions.
    case idcardFront = "idcard-front"
    case idcardBack = "idcard-back"

    var defaultMaterialName: String {
        switch self {
        case .document: "材料照片"
        case .photo: "照片"
        case .idcardFront: "身份证人像面"
        case .idcardBack: "身份证国徽面"
        }
    }

    var kind: AttachmentKind {
        switch self {
        case .document: .scan
        case .photo: .photo
        case .idcardFront, .idcardBack: .idcard
        }
    }
}

/// `POST /v1/cameras/{id}/capture`.
public struct CameraCaptureRequest: Sendable, Codable {
    public var mode: CaptureMode
    public var caseNumber: String
    public var materialName: String?
    /// `jpeg`, `pdf` or `ofd` (documents default to PDF, everything else to JPEG).
    public var format: String?
    /// Lift grey paper to white (documents; default true).
    public var enhance: Bool?
    /// Wait until the scene has been still for `stillForMs` after a change, then capture (as vendors' software does).
    public var autoCapture: Bool?
    public var stillForMs: Int?
    /// How long auto-capture waits at most.
    public var timeoutMs: Int?
    public var `operator`: String?
    /// Keep it although it is doubtful (out of view, blurred, glare, too few pixels): the clerk looked and insists.
    /// Without it such a capture is refused (`capture-needs-retake`, `document-out-of-frame`) and nothing is stored.
    public var insist: Bool?
    /// Recognise the document's text into the PDF's invisible text layer and the attachment's search text
    /// (documents; off unless asked: it adds a second or more to the capture).
    public var ocr: Bool?

    public init(mode: CaptureMode, caseNumber: String, materialName: String? = nil, format: String? = nil, enhance: Bool? = nil,
                autoCapture: Bool? = nil, stillForMs: Int? = nil, timeoutMs: Int? = nil, operator: String? = nil, insist: Bool? = nil) {
        self.insist = insist
        self.mode = mode
        self.caseNumber = caseNumber
        self.materialName = materialName
        self.format = format
        self.enhance = enhance
        self.autoCapture = autoCapture
        self.stillForMs = stillForMs
        self.timeoutMs = timeoutMs
        self.operator = `operator`
    }

    /// Every problem at once.
    public var problems: [String] {
        var problems = AttachmentRequest.caseProblems(caseNumber: caseNumber, materialName: materialName ?? mode.defaultMaterialName)
        if let format, !["jpeg", "pdf", "ofd"].contains(format) { problems.append("format must be jpeg, pdf or ofd, not '\(format)'") }
        if let stillForMs, !(100...10_000).contains(stillForMs) { problems.append("stillForMs must be 100…10000") }
        if let timeoutMs, !(1_000...120_000).contains(timeoutMs) { problems.append("timeoutMs must be 1000…120000") }
        return problems
    }
}

/// What a capture made.
public struct CameraCaptureResult: Sendable, Encodable {
    public var attachment: AttachmentManifest
    public var mode: CaptureMode
    /// The camera picture's size.
    public var pictureWidth: Int
    public var pictureHeight: Int
    /// The attachment image's size.
    public var width: Int
    public var height: Int
    /// Where the document or card was found in the picture (document and ID-card modes).
    public var corners: [ImagePoint]?
    /// Card or page, true proportions and size, and what was doubtful (document and ID-card modes).
    public var assessment: CaptureAssessment?
    /// The QR codes and barcodes on the document (the case number on a printed form).
    public var barcodes: [AttachmentBarcode]?
    /// Lines of text recognised (when `ocr` was asked for).
    public var textLines: Int?
    /// A case number the document carries in a barcode that is not the capture's: another applicant's paper.
    public var otherCaseNumber: String?
}

/// `POST /v1/idcard-copies`: both sides of a card, captured before, on one page.
public struct IDCardCopyRequest: Sendable, Codable {
    public var caseNumber: String
    public var front: String
    public var back: String
    /// The restricting line printed across both sides, e.g. 仅供办理××业务使用，他用无效.
    public var watermark: String
    public var materialName: String?
    public var `operator`: String?

    public init(caseNumber: String, front: String, back: String, watermark: String, materialName: String? = nil, operator: String? = nil) {
        self.caseNumber = caseNumber
        self.front = front
        self.back = back
        self.watermark = watermark
        self.materialName = materialName
        self.operator = `operator`
    }
}

/// A camera as the API lists it.
public struct CameraView: Sendable, Encodable {
    public var id: String
    public var model: String
    public var streaming: CameraMode?
    public var viewers: Int
}

/// Document cameras and webcams: shared live previews, captures made into attachments, ID-card copies.
public actor CameraService: Service {
    /// Where a camera id's frames come from.
    public enum Backing: Sendable {
        case v4l2(path: String)
        case pictures(scenes: [(name: String, path: String)])
    }

    private let intake: AttachmentIntake
    private let events: EventBus
    private let logger: Logger
    private let settleFrames: Int
    private let idleRelease: TimeInterval
    private let previewQuality: Int
    private let defaultStillFor: Int
    private let resolve: @Sendable (String) async -> (model: String, backing: Backing)?
    private var cameras: [String: (model: String, camera: LiveCamera)] = [:]
    private let processing = DedicatedThread(name: "camera processing")
    private let calibration: CameraCalibration
    /// The processing thread's text recogniser, loaded when a capture first asks for text and kept.
    private let textReader: ThreadTextReader
    /// `cameras.ocr`: whether a document capture's text is read when its request does not say.
    private let recognizeText: Bool

    /// `resolve` maps a camera id to its device (nil: no such camera).
    public init(intake: AttachmentIntake, events: EventBus, logger: Logger, settleFrames: Int = 3, idleRelease: TimeInterval = 5,
                previewQuality: Int = 80, defaultStillForMilliseconds: Int = 1200, calibration: CameraCalibration = .unknown,
                text: TextRecognitionSettings = TextRecognitionSettings(), recognizeText: Bool = false,
                resolve: @escaping @Sendable (String) async -> (model: String, backing: Backing)?) {
        self.calibration = calibration
        self.textReader = ThreadTextReader(PageTextReader(text))
        self.recognizeText = recognizeText
        self.intake = intake
        self.events = events
        self.logger = logger
        self.settleFrames = settleFrames
        self.idleRelease = idleRelease
        self.previewQuality = previewQuality
        self.defaultStillFor = defaultStillForMilliseconds
        self.resolve = resolve
    }

    /// A scenes folder's pictures (`*.jpg`, `*.mjpeg`), sorted by file name; each named by its file name without
    /// the extension.
    public static func scenes(in directory: String) -> [(name: String, path: String)] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".jpg") || $0.hasSuffix(".mjpeg") }.sorted()
        return files.map { (($0 as NSString).deletingPathExtension, "\(directory)/\($0)") }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        for (_, entry) in cameras { entry.camera.close() }
        processing.stop()
    }

    private func camera(_ id: String) async throws(Problem) -> LiveCamera {
        if let existing = cameras[id] { return existing.camera }
        guard let (model, backing) = await resolve(id) else {
            throw Problem(code: "camera-not-found", status: 404, title: "没有这个摄像头 No such camera",
                          detail: "\(id) is not a camera on this PC", remedy: "GET /v1/cameras lists them.")
        }
        if let existing = cameras[id] { return existing.camera }
        let quality = previewQuality
        let camera = LiveCamera(id: id, settleFrames: settleFrames, idleRelease: idleRelease, events: events,
                                logger: logger) { () throws(CameraError) -> any FrameSource in
            switch backing {
            case .v4l2(let path): try V4L2FrameSource(path: path, quality: quality)
            case .pictures(let scenes): try PictureFrameSource(name: id, scenes: scenes)
            }
        }
        cameras[id] = (model, camera)
        return camera
    }

    /// A camera's formats, sizes, rates and controls.
    public func capabilities(_ id: String) async throws(Problem) -> CameraCapabilities {
        let camera = try await camera(id)
        do { return try await camera.capabilities() } catch { throw Self.problem(error) }
    }

    /// What runs now on a camera (nil mode: idle).
    public func view(_ id: String, model: String) async throws(Problem) -> CameraView {
        let camera = try await camera(id)
        return CameraView(id: id, model: model, streaming: camera.mode, viewers: camera.viewerCount)
    }

    /// Sets a control by name.
    public func setControl(_ id: String, name: String, value: Int) async throws(Problem) -> Int {
        let camera = try await camera(id)
        do { return try await camera.setControl(name: name, value: value) } catch { throw Self.problem(error) }
    }

    /// The live preview's frames for one viewer.
    public func preview(_ id: String, _ request: CameraModeRequest) async throws(Problem) -> AsyncThrowingStream<CameraFrame, any Error> {
        try await camera(id).frames(request)
    }

    /// Takes a still, makes it what `request.mode` says and stores it as an attachment (answered once stored).
    public func capture(_ id: String, _ request: CameraCaptureRequest) async throws(Problem) -> CameraCaptureResult {
        let problems = request.problems
        guard problems.isEmpty else { throw Self.invalid("capture request", problems) }
        let camera = try await camera(id)
        if request.autoCapture == true {
            try await waitForStillScene(camera, stillFor: request.stillForMs ?? defaultStillFor, timeout: request.timeoutMs ?? 30_000)
        }
        let frame: CameraFrame
        do { frame = try await camera.still() } catch { throw Self.problem(error) }
        let calibration = self.calibration, textReader = self.textReader, textByDefault = recognizeText
        let made = try await processing.perform { () throws(Problem) -> CaptureProcessor.Made in
            try CaptureProcessor.make(frame, request, device: id, calibration: calibration, textReader: textReader.reader,
                                      textByDefault: textByDefault)
        }
        if let problem = made.textProblem { logger.warning("camera \(id): document text not recognised, capture kept without it: \(problem)") }
        // A separator sheet is for the feeder (it splits a scanned batch); under the camera it is not a material.
        if request.mode == .document, let next = SeparatorSheet.nextMaterial(among: made.barcodes.map(\.text)).map(TextChecks.visible) {
            throw Problem(code: "camera-separator-sheet", status: 409, title: "这是材料分隔页 This is a separator sheet",
                          detail: "camera \(id): the page is a separator sheet" + (next.isEmpty ? "" : " for the next material '\(next)'")
                              + "; nothing was stored",
                          remedy: (next.isEmpty ? "拍摄下一份材料。Capture the next material."
                                                : "拍摄下一份材料，材料名称填“\(next)”。Capture the next material as \(next).")
                              + " 分隔页只在扫描仪进纸时使用。Separator sheets are for the scanner's feeder.",
                          device: id)
        }
        var attachment = AttachmentRequest(caseNumber: request.caseNumber, materialName: request.materialName ?? request.mode.defaultMaterialName,
                                           kind: request.mode.kind, contentType: made.contentType, fileName: made.fileName,
                                           pages: ["application/pdf", "application/ofd"].contains(made.contentType) ? 1 : nil, device: id,
                                           operator: request.operator)
        let text = (made.text ?? []).map(\.text).joined(separator: "\n")
        attachment.text = text.isEmpty ? nil : text
        attachment.barcodes = made.barcodes.map { AttachmentBarcode(type: $0.type, text: $0.text) }
        let manifest: AttachmentManifest
        do { manifest = try await intake.store(made.bytes, attachment) } catch { throw error.problem }
        logger.info("camera capture stored", metadata: ["camera": "\(id)", "mode": "\(request.mode.rawValue)", "attachment": "\(manifest.attachmentId)"])
        _ = await events.publish("camera.captured", json: .object([
            "id": .string(id), "mode": .string(request.mode.rawValue), "attachmentId": .string(manifest.attachmentId),
            "caseNumber": .string(manifest.caseNumber),
        ]))
        return CameraCaptureResult(attachment: manifest, mode: request.mode, pictureWidth: frame.width, pictureHeight: frame.height,
                                   width: made.width, height: made.height, corners: made.corners, assessment: made.assessment,
                                   barcodes: manifest.barcodes, textLines: made.text?.count,
                                   otherCaseNumber: CaseNumberMark.other(than: request.caseNumber, among: made.barcodes.map { ($0.type, $0.text) }))
    }

    /// Front and back of an ID card, captured before as `idcard-front` / `idcard-back`, at true size on one A4 page
    /// with the restricting watermark: 身份证复印件. Stored encrypted like every identity item.
    public func idCardCopy(_ request: IDCardCopyRequest) async throws(Problem) -> AttachmentManifest {
        var problems = AttachmentRequest.caseProblems(caseNumber: request.caseNumber, materialName: request.materialName ?? "身份证复印件")
        if request.watermark.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("watermark is empty (e.g. 仅供办理××业务使用，他用无效)") }
        if request.watermark.count > 60 { problems.append("watermark is longer than 60 characters") }
        guard problems.isEmpty else { throw Self.invalid("ID-card copy request", problems) }
        var sides: [[UInt8]] = []
        for (name, id) in [("front", request.front), ("back", request.back)] {
            let found: (manifest: AttachmentManifest, bytes: [UInt8])?
            do { found = try await intake.contents(of: id) } catch { throw error.problem }
            guard let found, found.manifest.kind == .idcard, found.manifest.contentType == "image/jpeg" else {
                throw Problem(code: "idcard-side-not-found", status: 422, title: "找不到身份证图像 ID-card picture not found",
                              detail: "\(name) \(id) is not an ID-card picture taken with mode idcard-\(name)",
                              remedy: "先用 idcard-front / idcard-back 拍摄两面。Capture both sides first.")
            }
            sides.append(found.bytes)
        }
        let (front, back, watermark) = (sides[0], sides[1], request.watermark)
        let pdf = try await processing.perform { () throws(Problem) -> [UInt8] in
            try IDCardCopy.render(front: front, back: back, watermark: watermark, date: Date())
        }
        let attachment = AttachmentRequest(caseNumber: request.caseNumber, materialName: request.materialName ?? "身份证复印件",
                                           kind: .idcard, contentType: "application/pdf", fileName: "idcard-copy.pdf", pages: 1,
                                           device: nil, operator: request.operator)
        do {
            let manifest = try await intake.store(pdf, attachment)
            _ = await events.publish("camera.idcard-copy", json: .object(["attachmentId": .string(manifest.attachmentId),
                                                                         "caseNumber": .string(manifest.caseNumber)]))
            return manifest
        } catch { throw error.problem }
    }


    // MARK: Auto-capture

    /// Watches the preview: after the scene changed (a page laid down) and then stayed still for `stillFor` ms, returns.
    private func waitForStillScene(_ camera: LiveCamera, stillFor: Int, timeout: Int) async throws(Problem) {
        let frames = camera.frames(.preview)
        let deadline = Date().addingTimeInterval(Double(timeout) / 1000)
        var detector = StillnessDetector(stillFor: Double(stillFor) / 1000)
        do {
            for try await frame in frames {
                let jpeg = frame.jpeg
                let thumbnail = try await processing.perform { () throws -> [UInt8] in try StillnessDetector.thumbnail(jpeg) }
                if detector.observe(thumbnail, at: Date()) { return }
                if Date() > deadline { break }
            }
        } catch { throw Self.problem(error) }
        throw Problem(code: "camera-scene-not-still", status: 408, title: "画面未静止 The scene did not settle",
                      detail: "\(camera.id): nothing was laid down and held still for \(stillFor) ms within \(timeout) ms",
                      remedy: "放好材料后保持不动，或直接点拍摄。Lay the document and hold still, or capture by hand.")
    }

    static func invalid(_ what: String, _ problems: [String]) -> Problem {
        Problem(code: "invalid-camera-request", status: 400, title: "拍摄请求无效 Invalid \(what)",
                detail: problems.joined(separator: "; "), remedy: "Correct the fields listed and send the request again.")
    }

    static func problem(_ error: any Error) -> Problem {
        if let problem = error as? Problem { return problem }
        guard let error = error as? CameraError else {
            return Problem(code: "camera-failed", status: 500, title: "摄像头出错 Camera failed", detail: "\(error)", remedy: "重试。Try again.")
        }
        switch error.code {
        case .busy:
            return Problem(code: error.code.rawValue, status: 409, title: "摄像头被占用 Camera in use", detail: error.description,
                           remedy: "关闭正在使用摄像头的其他程序（视频会议、厂商软件）后重试。Close the other program using the camera and try again.")
        case .unplugged:
            return Problem(code: error.code.rawValue, status: 503, title: "摄像头已断开 Camera disconnected", detail: error.description,
                           remedy: "检查 USB 线并重新插好摄像头。Check the USB cable and plug the camera back in.")
        case .unsupported:
            return Problem(code: error.code.rawValue, status: 422, title: "摄像头不支持该设置 Camera cannot do that", detail: error.description,
                           remedy: "GET /v1/cameras/{id} 列出它支持的格式和控制项。GET /v1/cameras/{id} lists what it supports.")
        case .noFrame:
            return Problem(code: error.code.rawValue, status: 504, title: "摄像头没有画面 Camera sends no picture", detail: error.description,
                           remedy: "重新插拔摄像头；如仍无画面，重启电脑。Re-plug the camera; restart the PC if it stays dark.")
        case .failed:
            return Problem(code: error.code.rawValue, status: 500, title: "摄像头出错 Camera failed", detail: error.description,
                           remedy: "重新插拔摄像头后重试。Re-plug the camera and try again.")
        }
    }
}

/// Decides when a scene has settled: the mean difference between successive small grey thumbnails drops under a
/// threshold, after it rose above it (something was laid down), and stays under it for `stillFor` seconds.
struct StillnessDetector {
    let stillFor: TimeInterval
    var previous: [UInt8]?
    var changed = false
    var stillSince: Date?
    /// Mean absolute difference per pixel (of 255) that counts as motion.
    static let motion = 6.0

    init(stillFor: TimeInterval) { self.stillFor = stillFor }

    /// Feeds one thumbnail; true once the scene changed and then held still long enough.
    mutating func observe(_ thumbnail: [UInt8], at time: Date) -> Bool {
        defer { previous = thumbnail }
        guard let previous, previous.count == thumbnail.count, !thumbnail.isEmpty else { return false }
        var total = 0
        for index in thumbnail.indices { total += abs(Int(thumbnail[index]) - Int(previous[index])) }
        let difference = Double(total) / Double(thumbnail.count)
        if difference >= Self.motion {
            changed = true
            stillSince = nil
            return false
        }
        guard changed else { return false }
        let since = stillSince ?? time
        stillSince = since
        return time.timeIntervalSince(since) >= stillFor
    }

    /// A grey thumbnail of a JPEG about 64 pixels wide (decoded at 1/8 size, then sampled).
    static func thumbnail(_ jpeg: [UInt8]) throws -> [UInt8] {
        let decoded = try JPEGDecoder().decode(jpeg, layout: .gray, reduction: 8)
        let step = max(1, decoded.width / 64)
        var out: [UInt8] = []
        for y in stride(from: 0, to: decoded.height - step + 1, by: step) {
            for x in stride(from: 0, to: decoded.width - step + 1, by: step) { out.append(decoded.pixels[y * decoded.width + x]) }
        }
        return out
    }
}

/// 身份证复印件: both sides at true size (85.6 × 54 mm) on an A4 page, the watermark across each.
enum IDCardCopy {
    static func render(front: [UInt8], back: [UInt8], watermark: String, date: Date) throws(Problem) -> [UInt8] {
        do {
            let stamp = ISO8601DateFormatter().string(from: date)
            let canvas = try Canvas.pdf(metadata: PDFMetadata(title: "身份证复印件", subject: watermark, date: stamp))
            let millimetre = 72 / 25.4
            let card = (width: 85.6 * millimetre, height: 54 * millimetre)
            let pageWidth = 210 * millimetre
            try canvas.beginPage(width: pageWidth, height: 297 * millimetre)
            let style = TextStyle(family: "Noto Sans CJK SC", size: 11)
            for (index, jpeg) in [front, back].enumerated() {
                let decoded = try JPEGDecoder().decode(jpeg, layout: .rgb)
                let box = Box(x: (pageWidth - card.width) / 2, y: (40 + Double(index) * 80) * millimetre, width: card.width, height: card.height)
                try canvas.drawJPEG(jpeg, rgb: decoded.pixels, width: decoded.width, height: decoded.height, in: box)
                canvas.drawWatermark(watermark, style: style, centreX: box.x + box.width / 2, centreY: box.y + box.height / 2,
                                     degrees: 18, grey: 0.25, opacity: 0.55)
            }
            try canvas.endPage()
            guard let pdf = try canvas.finish().first else { throw CairoError(call: "cairo_surface_finish", status: "no document") }
            // Kept as an identity item of the case: PDF/A-2b, like every document Tongban keeps.
            return try ArchivalUpdate.archival(Array(pdf), info: PDFDocumentInfo(title: "身份证复印件", subject: watermark,
                                                                                keywords: "身份证复印件", producer: "Tongban (cairo)",
                                                                                created: date))
        } catch {
            throw Problem(code: "idcard-copy-failed", status: 500, title: "复印件生成失败 The copy could not be made", detail: "\(error)",
                          remedy: "重新拍摄两面后再试。Capture both sides again and retry.")
        }
    }
}

/// The camera processing thread's text recogniser. `PageTextReader` is one thread's: this box hands it to the
/// closures the processing thread runs (one at a time, on that thread only), never to another thread.
final class ThreadTextReader: @unchecked Sendable {
    let reader: PageTextReader
    init(_ reader: PageTextReader) { self.reader = reader }
}
