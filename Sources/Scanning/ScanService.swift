import ArchivalOFD
import ArchivalPDF
import Crypto
import Delivery
import Foundation
import Imaging
import Logging
import SANE
import Store
import Tesseract
import TongbanCore
import ZBar

/// A batch as the API shows it.
public struct ScanView: Codable, Sendable {
    public struct Page: Codable, Sendable {
        public var id: String
        public var position: Int
        public var sequence: Int
        public var encoding: String
        public var width: Int
        public var height: Int
        public var dpi: Int
        public var size: Int
        public var sha256: String
        public var blank: Bool
        public var skewDegrees: Double?
        public var straightened: Bool
        public var rotation: Int
        public var thumbnailUrl: String
        public var imageUrl: String
        /// Lines of text recognised on the page (nil: recognition was not asked for).
        public var textLines: Int?
        /// The QR codes and barcodes on the page.
        public var barcodes: [PageBarcode]?
        /// A case number the page carries in a barcode that is not the batch's: a page of another applicant's
        /// papers, to take out before the batch is finished.
        public var otherCaseNumber: String?
        /// Set when the page is a separator sheet: the name of the material after it ("" when none is printed;
        /// characters a name may not hold, such as bidi overrides, written out as `<U+202E>`).
        /// The sheet is left out of the documents; the batch is split there.
        public var separatorFor: String?
    }

    /// A barcode on a page.
    public struct PageBarcode: Codable, Sendable, Equatable {
        /// zbar's symbology name: `QR-Code`, `CODE-128`, …
        public var type: String
        /// The decoded text.
        public var text: String
    }

    public var id: String
    public var device: String
    public var caseNumber: String
    public var materialName: String
    public var state: ScanState
    public var problem: Problem?
    public var pages: [Page]
    public var pageCount: Int
    public var blankPages: Int
    public var settings: ScanSettings?
    public var attachmentId: String?
    /// Every attachment the batch was finished into (one per material when separator sheets split it).
    public var attachmentIds: [String]
    public var createdAt: Date
    public var updatedAt: Date
}

/// What to scan into an existing batch: more pages from the feeder, one page inserted, or a page rescanned in place.
public struct ScanMoreRequest: Codable, Sendable {
    /// Where the new pages go (1 = first); nil: at the end.
    public var position: Int?
    /// Replace this page with the first page scanned.
    public var replace: String?
    /// Override the batch's source (e.g. `flatbed` to rescan one sheet).
    public var source: String?
    public var maxPages: Int?

    public init(position: Int? = nil, replace: String? = nil, source: String? = nil, maxPages: Int? = nil) {
        self.position = position
        self.replace = replace
        self.source = source
        self.maxPages = maxPages
    }
}

/// Scan batches: from the scanner through the imaging pool to durable pages, clerk edits, and the archival PDF.
///
/// Each page is on disk (fsynced) and in the store before its `scan.page` event, so what the clerk has seen survives
/// a crash. A batch that was scanning when the service stopped is `interrupted` at the next start, with its pages.
public actor ScanService {
    private let store: Store
    private let intake: AttachmentIntake
    private let events: EventBus
    private let acquisition: ScanAcquisition
    private let logger: Logger
    private let defaultScanner: String?
    private let defaultDPI: Int
    private let jpegQuality: Int
    /// Whether batches recognise their pages' text unless the request says otherwise (`scanning.ocr`).
    private let recognizeText: Bool
    /// `scanning.format`: the attachment format of a batch whose request names none.
    private let defaultFormat: String
    private let firstScanner: @Sendable () async -> String?
    private let files = DedicatedThread(name: "scan files")
    private var running: [String: Running] = [:]
    private var busyScanners: [String: String] = [:]
    private var idleWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// Finishes under way, by batch: a second finish of the same batch waits for the first and answers its attachment.
    private var finishing: [String: Task<Result<[AttachmentManifest], Problem>, Never>] = [:]

    /// A batch being scanned now.
    private final class Running: @unchecked Sendable {
        private let lock = NSLock()
        private var cancelled = false
        private var device: SANEDevice?
        var position: Int?
        var replacing: String?
        let scanner: String

        init(scanner: String, position: Int?, replacing: String?) {
            self.scanner = scanner
            self.position = position
            self.replacing = replacing
        }

        var isCancelled: Bool { lock.withLock { cancelled } }
        func attach(_ device: SANEDevice) { lock.withLock { self.device = device } }
        func cancel() {
            let device: SANEDevice? = lock.withLock {
                cancelled = true
                return self.device
            }
            device?.cancel()
        }
    }

    public init(store: Store, intake: AttachmentIntake, events: EventBus, pool: ImagingPool, logger: Logger,
                defaultScanner: String?, defaultDPI: Int, jpegQuality: Int, stallSeconds: Int = 60, recognizeText: Bool = false,
                defaultFormat: String = "pdf", firstScanner: @escaping @Sendable () async -> String?) {
        self.recognizeText = recognizeText
        self.defaultFormat = defaultFormat
        self.store = store
        self.intake = intake
        self.events = events
        self.acquisition = ScanAcquisition(pool: pool, stallSeconds: Double(stallSeconds))
        self.logger = logger
        self.defaultScanner = defaultScanner
        self.defaultDPI = defaultDPI
        self.jpegQuality = jpegQuality
        self.firstScanner = firstScanner
    }

    // MARK: Start-up

    /// Marks batches left scanning by a stopped service `interrupted` and removes page files that were written but
    /// never acknowledged (no store record). Returns the interrupted batches.
    @discardableResult
    public func recoverInterrupted() async throws(StoreError) -> [String] {
        let ids = try store.markInterruptedScans()
        for id in ids {
            let known = try store.scanPageFiles(scanId: id)
            let folder = "\(store.scansDirectory)/\(id)"
            let removed = await files.perform { () -> Int in
                let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
                var count = 0
                for name in names where !known.contains("\(folder)/\(name)") {
                    unlink("\(folder)/\(name)")
                    count += 1
                }
                return count
            }
            let pages = try store.scanPageCount(scanId: id)
            logger.notice("scan \(id) was interrupted by a restart: \(pages) pages kept, \(removed) unacknowledged files removed")
        }
        return ids
    }

    // MARK: Scanning

    /// Starts a batch; pages arrive as `scan.page` events. Returns at once with the batch in state `scanning`.
    public func start(_ request: ScanRequest) async throws(Problem) -> ScanView {
        let problems = request.problems
        guard problems.isEmpty else { throw Self.invalid(problems) }
        let scanner = try await resolveScanner(request.device)
        let settings = ScanSettings(request, scanner: scanner, defaultDPI: defaultDPI, jpegQuality: jpegQuality, recognizeText: recognizeText,
                                    defaultFormat: defaultFormat)
        try reserve(scanner)
        let now = Date()
        let id = UUID().uuidString.lowercased()
        let settingsText = String(decoding: (try? JSONEncoder().encode(settings)) ?? Data(), as: UTF8.self)
        let record = ScanRecord(id: id, device: "sane:\(scanner)", caseNumber: request.caseNumber, materialName: request.materialName,
                                operator: request.operator, settings: settingsText, state: .scanning, createdAt: now, updatedAt: now)
        do throws(StoreError) {
            try store.createScan(record)
        } catch {
            busyScanners[scanner] = nil
            throw error.problem
        }
        launch(id, settings: settings, scanner: scanner, position: nil, replacing: nil,
               maxPages: request.maxPages ?? (settings.isFlatbed ? 1 : nil))
        return try view(id)
    }

    /// Scans more pages into a batch that is not scanning: appended, inserted at a position, or replacing a page.
    public func scanMore(_ scanId: String, _ request: ScanMoreRequest) async throws(Problem) -> ScanView {
        let record = try record(scanId)
        guard [.ready, .interrupted, .failed].contains(record.state) else { throw Self.wrongState(record, "scan more pages into") }
        try requireNotFinishing(record, "scan more pages into")
        var settings = try Self.settings(of: record)
        if let source = request.source { settings.source = source; settings.duplex = false }
        if let replace = request.replace, try Self.storeCall({ try store.scanPages(scanId: scanId) }).contains(where: { $0.id == replace }) == false {
            throw Self.noPage(replace, scanId)
        }
        try reserve(settings.scanner)
        do { try Self.storeCall { try store.updateScan(id: scanId, state: .scanning) } } catch {
            busyScanners[settings.scanner] = nil
            throw error
        }
        let limit = request.replace != nil ? 1 : request.maxPages ?? (settings.isFlatbed ? 1 : nil)
        launch(scanId, settings: settings, scanner: settings.scanner, position: request.position, replacing: request.replace, maxPages: limit)
        return try view(scanId)
    }

    /// Stops a batch that is scanning. Whole pages already read are kept; the page being read is dropped.
    public func cancel(_ scanId: String) -> Bool {
        guard let run = running[scanId] else { return false }
        run.cancel()
        return true
    }

    /// Waits until a batch is no longer scanning.
    public func waitUntilIdle(_ scanId: String) async {
        guard running[scanId] != nil else { return }
        await withCheckedContinuation { idleWaiters[scanId, default: []].append($0) }
    }

    private func reserve(_ scanner: String) throws(Problem) {
        if let other = busyScanners[scanner] {
            throw Problem(code: "scanner-busy", status: 409, title: "扫描仪忙 Scanner busy",
                          detail: "\(scanner) is scanning batch \(other)", remedy: "等当前扫描结束或取消它。Wait for that batch or cancel it.",
                          device: "sane:\(scanner)")
        }
        busyScanners[scanner] = "pending"
    }

    private func launch(_ scanId: String, settings: ScanSettings, scanner: String, position: Int?, replacing: String?, maxPages: Int?) {
        let run = Running(scanner: scanner, position: position, replacing: replacing)
        running[scanId] = run
        busyScanners[scanner] = scanId
        Task { await self.acquire(scanId, settings: settings, run: run, maxPages: maxPages) }
    }

    private func acquire(_ scanId: String, settings: ScanSettings, run: Running, maxPages: Int?) async {
        let pages: Int
        let end: AcquisitionEnd
        do throws(SANEError) {
            let device = try await SANEDevice.open(settings.scanner)
            run.attach(device)
            let dpi: Int
            do throws(SANEError) {
                dpi = try await ScannerSetup.apply(settings, to: device)
            } catch {
                await device.close()
                throw error
            }
            let folder = "\(store.scansDirectory)/\(scanId)"
            do throws(StorageError) {
                try await files.perform { () throws(StorageError) in try DurableFile.prepareDirectory(folder) }
            } catch {
                await device.close()
                pages = 0
                end = .failed(error.problem)
                await finishAcquisition(scanId, run: run, pages: pages, end: end)
                return
            }
            await events.publish("scan.started", ["scanId": scanId, "device": "sane:\(settings.scanner)", "dpi": "\(dpi)"])
            let expectsFeeder = !settings.isFlatbed
            (pages, end) = await acquisition.run(
                device: device, dotsPerInch: dpi, cleanup: settings.cleanup, maxPages: maxPages, expectsFeeder: expectsFeeder,
                isCancelled: { run.isCancelled },
                commit: { page in try await self.commit(page, scanId: scanId, run: run) })
            await device.close()
        } catch {
            pages = 0
            end = .failed(error.problem)
        }
        await finishAcquisition(scanId, run: run, pages: pages, end: end)
    }

    /// Makes one page durable and records it; then, and only then, tells the clients.
    private func commit(_ page: ProcessedPage, scanId: String, run: Running) async throws {
        let sequence = try store.lastPageSequence(scanId: scanId) + 1
        let folder = "\(store.scansDirectory)/\(scanId)"
        let imagePath = "\(folder)/page-\(sequence).\(page.encoding == .jpeg ? "jpg" : "g4")"
        let thumbnailPath = "\(folder)/thumb-\(sequence).jpg"
        let data = page.data, thumbnail = page.thumbnail
        try await files.perform { () throws(StorageError) in
            try DurableFile.write(data, to: imagePath)
            try DurableFile.write(thumbnail, to: thumbnailPath)
        }
        let digest = SHA256.hash(data: page.data).map { String(format: "%02x", $0) }.joined()
        if let problem = page.textProblem { logger.warning("scan \(scanId): page text not recognised: \(problem)") }
        if let problem = page.barcodeProblem { logger.warning("scan \(scanId): page barcodes not read (a separator sheet would not be seen): \(problem)") }
        let record = ScanPageRecord(
            id: UUID().uuidString.lowercased(), scanId: scanId, position: 0, sequence: sequence, encoding: page.encoding.rawValue,
            width: page.width, height: page.height, channels: page.channels, dotsPerInch: page.dotsPerInch, size: page.data.count,
            sha256: digest, blank: page.blank, skewDegrees: page.skewDegrees, straightened: page.straightened, rotation: 0,
            path: imagePath, thumbnailPath: thumbnailPath, createdAt: Date(),
            textLines: page.text.flatMap(Self.json), barcodes: page.barcodes.isEmpty ? nil : Self.json(page.barcodes))
        let (stored, replaced) = try store.addScanPage(record, at: run.position, replacing: run.replacing)
        if run.replacing != nil {
            run.replacing = nil
            run.position = stored.position + 1
        } else if let position = run.position {
            run.position = position + 1
        }
        for path in replaced { unlink(path) }
        let total = try store.scanPageCount(scanId: scanId)
        let caseNumber = try store.scan(id: scanId)?.caseNumber ?? ""
        await events.publish("scan.page", ScanPageEvent(scanId: scanId, page: Self.pageView(stored, scanId: scanId, caseNumber: caseNumber), pagesInBatch: total))
    }

    private func finishAcquisition(_ scanId: String, run: Running, pages: Int, end: AcquisitionEnd) async {
        running[scanId] = nil
        busyScanners[run.scanner] = nil
        let total = (try? store.scanPageCount(scanId: scanId)) ?? 0
        switch end {
        case .complete, .cancelled:
            try? store.updateScan(id: scanId, state: .ready)
            await events.publish("scan.finished", ScanEndEvent(scanId: scanId, pagesScanned: pages, pagesInBatch: total,
                                                         cancelled: end == .cancelled, problem: nil))
            logger.info("scan \(scanId): \(pages) pages scanned\(end == .cancelled ? " (cancelled)" : ""), \(total) in the batch")
        case .failed(let problem):
            try? store.updateScan(id: scanId, state: total > 0 ? .ready : .failed, problem: problem)
            await events.publish("scan.failed", ScanEndEvent(scanId: scanId, pagesScanned: pages, pagesInBatch: total,
                                                       cancelled: false, problem: problem))
            logger.warning("scan \(scanId) stopped: \(problem.detail); \(pages) pages scanned, \(total) kept in the batch")
        }
        for waiter in idleWaiters.removeValue(forKey: scanId) ?? [] { waiter.resume() }
    }

    // MARK: Clerk's edits

    /// Puts the pages in this order (every page exactly once).
    public func reorder(_ scanId: String, pageIds: [String]) throws(Problem) -> ScanView {
        let record = try record(scanId)
        try requireEditable(record)
        guard try Self.storeCall({ try store.reorderScanPages(scanId: scanId, pageIds: pageIds) }) else {
            throw Problem(code: "invalid-page-order", status: 400, title: "页面顺序无效 Invalid page order",
                          detail: "pageIds must list every page of batch \(scanId) exactly once",
                          remedy: "Send the IDs from GET /v1/scans/\(scanId) in the order wanted.")
        }
        return try view(scanId)
    }

    /// Turns a page clockwise to `rotation` degrees (0, 90, 180, 270): the PDF shows it turned, the image is not re-encoded.
    public func rotate(_ scanId: String, pageId: String, rotation: Int) throws(Problem) -> ScanView {
        let record = try record(scanId)
        try requireEditable(record)
        guard rotation % 90 == 0 else {
            throw Problem(code: "invalid-rotation", status: 400, title: "旋转角度无效 Invalid rotation",
                          detail: "rotation must be 0, 90, 180 or 270, not \(rotation)", remedy: "Use a multiple of 90.")
        }
        guard try Self.storeCall({ try store.rotateScanPage(scanId: scanId, pageId: pageId, rotation: rotation) }) else {
            throw Self.noPage(pageId, scanId)
        }
        return try view(scanId)
    }

    /// Removes a page from the batch and deletes its files.
    public func deletePage(_ scanId: String, pageId: String) async throws(Problem) -> ScanView {
        let record = try record(scanId)
        try requireEditable(record)
        guard let paths = try Self.storeCall({ try store.deleteScanPage(scanId: scanId, pageId: pageId) }) else {
            throw Self.noPage(pageId, scanId)
        }
        await files.perform { for path in paths { unlink(path) } }
        return try view(scanId)
    }

    /// Throws a batch away with its files. A batch that is scanning must be cancelled first.
    public func discard(_ scanId: String, actor: String) async throws(Problem) {
        let record = try record(scanId)
        guard record.state != .scanning else { throw Self.wrongState(record, "discard") }
        guard record.state != .discarded else { return }
        try requireNotFinishing(record, "discard")
        try Self.storeCall { try store.discardScan(id: scanId, actor: actor) }
        let folder = "\(store.scansDirectory)/\(scanId)"
        await files.perform { try? FileManager.default.removeItem(atPath: folder) }
        await events.publish("scan.discarded", ["scanId": scanId])
    }

    // MARK: Finishing

    /// Writes the batch as one PDF/A-2b attachment of its case (OFD when the batch asked for it; blank pages left
    /// out unless `includeBlank`) and queues its delivery; answers the first when separator sheets split the batch
    /// (`finishMaterials` answers all). Page images stay beside it in the scan's folder.
    ///
    /// Exactly one attachment per batch, however it is asked for: a finish while one is under way waits for it and
    /// answers the same attachment (a double click, a client's retry); a batch already finished answers its
    /// attachment; and the attachment and the batch's change commit in one transaction, so a crash between any two
    /// steps leaves either an open batch and no attachment or a finished batch with exactly one.
    public func finish(_ scanId: String, includeBlank: Bool = false, operator actor: String?) async throws(Problem) -> AttachmentManifest {
        try await finishMaterials(scanId, includeBlank: includeBlank, operator: actor)[0]
    }

    /// `finish`, answering every attachment the batch became: one, or one per material when separator sheets
    /// (`tongban notices render separator`) were laid between materials in the feeder. The sheets are left out;
    /// the pages before the first keep the batch's material name, those after a sheet take the name printed on it.
    /// All of them are recorded in one transaction with the batch's finish: all or none, exactly once.
    public func finishMaterials(_ scanId: String, includeBlank: Bool = false, operator actor: String?) async throws(Problem) -> [AttachmentManifest] {
        if let underWay = finishing[scanId] { return try await underWay.value.get() }
        let record = try record(scanId)
        if record.state == .finished, let attachmentId = record.attachmentId {
            var manifests: [AttachmentManifest] = []
            for id in record.attachmentIds.isEmpty ? [attachmentId] : record.attachmentIds {
                if let (manifest, _) = try Self.storeCall({ try store.attachment(id: id) }) { manifests.append(manifest) }
            }
            if !manifests.isEmpty { return manifests }
        }
        guard [.ready, .interrupted].contains(record.state) else { throw Self.wrongState(record, "finish") }
        let making = Task { () async -> Result<[AttachmentManifest], Problem> in
            do throws(Problem) {
                return .success(try await self.makeAttachments(of: record, includeBlank: includeBlank, operator: actor))
            } catch { return .failure(error) }
        }
        finishing[scanId] = making
        let result = await making.value
        finishing[scanId] = nil
        return try result.get()
    }

    /// A material of a batch: its name and pages.
    struct Material {
        var name: String
        var pages: [ScanPageRecord]
    }

    /// Whether a page is a separator sheet, and the material name it gives (empty: none printed on it).
    static func separatorName(of page: ScanPageRecord) -> String? {
        SeparatorSheet.nextMaterial(among: barcodes(of: page).map(\.text))
    }

    /// The batch's pages cut at its separator sheets (the sheets left out, empty materials dropped).
    /// In a duplex batch the page after a sheet is the sheet's back: left out when blank, even with `includeBlank`.
    static func materials(of pages: [ScanPageRecord], batchMaterial: String, duplex: Bool = false) -> [Material] {
        var materials = [Material(name: batchMaterial, pages: [])]
        var afterSheet = false
        for page in pages {
            if let name = separatorName(of: page) {
                let number = materials.count + 1
                materials.append(Material(name: name.isEmpty ? numbered(batchMaterial, number) : name, pages: []))
                afterSheet = true
            } else {
                if !(duplex && afterSheet && page.blank) { materials[materials.count - 1].pages.append(page) }
                afterSheet = false
            }
        }
        return materials.filter { !$0.pages.isEmpty }
    }

    /// `name（n）`, the name cut at a character boundary so the whole stays within a material name's limit.
    static func numbered(_ name: String, _ number: Int) -> String {
        let suffix = "（\(number)）"
        var base = name
        while !base.isEmpty, base.utf8.count + suffix.utf8.count > AttachmentRequest.maximumMaterialNameBytes { base.removeLast() }
        return base + suffix
    }

    /// The batch's documents (PDF/A-2b, or OFD when the batch asked for it), stored as attachments that finish the
    /// batch in the same transaction.
    private func makeAttachments(of record: ScanRecord, includeBlank: Bool, operator actor: String?) async throws(Problem) -> [AttachmentManifest] {
        let scanId = record.id
        let pages = try Self.storeCall { try store.scanPages(scanId: scanId) }.filter { includeBlank || !$0.blank }
        let settings = try? Self.settings(of: record)
        let materials = Self.materials(of: pages, batchMaterial: record.materialName, duplex: settings?.duplex ?? false)
        let sheets = pages.filter { Self.separatorName(of: $0) != nil }.map(\.position)
        if !sheets.isEmpty {
            logger.info("scan \(scanId): separator sheets at pages \(sheets.map(String.init).joined(separator: ", ")) left out; \(materials.count) materials: \(materials.map { "\($0.name.prefix(40)) (\($0.pages.count) pages)" }.joined(separator: ", "))")
        }
        guard !materials.isEmpty else {
            throw Problem(code: "scan-has-no-pages", status: 409, title: "没有可用页面 No pages to keep",
                          detail: "batch \(scanId) has no \(includeBlank ? "" : "non-blank ")pages besides separator sheets",
                          remedy: "扫描页面后再完成，或包含空白页。Scan pages first, or include blank pages.")
        }
        let format = settings?.format.flatMap(DocumentFormat.init(rawValue:)) ?? .pdf
        // Every material's request is checked before any file is opened: a name a sheet printed that cannot be used
        // refuses the finish with nothing begun.
        var requests: [AttachmentRequest] = []
        for material in materials { requests.append(try attachmentRequest(material, of: record, format: format, operator: actor)) }
        var parts: [(incoming: AttachmentIntake.Incoming, request: AttachmentRequest)] = []
        do {
            for (material, request) in zip(materials, requests) {
                let incoming: AttachmentIntake.Incoming
                do throws(StorageError) { incoming = try await intake.begin(kind: .scan) } catch { throw error.problem }
                parts.append((incoming, request))
                try await write(material, of: record, format: format, to: incoming)
            }
        } catch {
            for part in parts { await intake.abandon(part.incoming) }
            if let unwritable = error as? OFDError {
                throw Problem(code: "document-write-failed", status: 422, title: "无法生成文件 The document cannot be written",
                              detail: "batch \(scanId): \(unwritable.message)",
                              remedy: "把本批分成几份材料（分隔页），或改用 PDF。Split the batch into materials (separator sheets), or use PDF.")
            }
            throw (error as? Problem) ?? (error as? any ProblemConvertible)?.problem ?? Problem(
                code: "store-error", status: 500, title: "数据库错误 Database error", detail: "\(error)",
                remedy: "运行 tongban doctor 检查数据目录。Run tongban doctor to check the data folder.")
        }
        let manifests: [AttachmentManifest]
        do throws(StoreError) {
            manifests = try await intake.finish(parts, completing: .scanBatch(id: scanId))
        } catch { throw error.problem }
        for manifest in manifests {
            await events.publish("scan.attached", ["scanId": scanId, "attachmentId": manifest.attachmentId, "pages": "\(manifest.pages ?? 0)"])
        }
        return manifests
    }

    /// What a material's attachment is: its name, format, text and barcodes.
    private func attachmentRequest(_ material: Material, of record: ScanRecord, format: DocumentFormat, operator actor: String?) throws(Problem) -> AttachmentRequest {
        var request = AttachmentRequest(caseNumber: record.caseNumber, materialName: material.name, kind: .scan,
                                        contentType: format.contentType,
                                        fileName: AttachmentRequest.fileName(from: material.name, extension: format.fileExtension),
                                        pages: material.pages.count, device: record.device, operator: actor ?? record.operator)
        let problems = request.problems
        guard problems.isEmpty else {
            throw Problem(code: "separator-name-invalid", status: 422, title: "分隔页上的材料名称无效 Separator sheet's material name unusable",
                          detail: "material '\(TextChecks.visible(String(material.name.prefix(80))))': " + problems.joined(separator: "; "),
                          remedy: "重新打印分隔页（tongban notices render separator），或删除该分隔页后再完成。Print the separator sheet again, or delete that page and finish.")
        }
        let texts = material.pages.map { Self.lines(of: $0).map(\.text).joined(separator: "\n") }
        // Pages apart as pdftotext shows them: a form feed between pages.
        request.text = texts.allSatisfy(\.isEmpty) ? nil : texts.joined(separator: "\n\u{0C}")
        request.barcodes = material.pages.enumerated().flatMap { index, page in
            Self.barcodes(of: page).map { AttachmentBarcode(type: $0.type, text: $0.text, page: index + 1) }
        }
        return request
    }

    /// Streams a material's document into its incoming file.
    private func write(_ material: Material, of record: ScanRecord, format: DocumentFormat, to incoming: AttachmentIntake.Incoming) async throws {
        let info = PDFDocumentInfo(caseNumber: record.caseNumber, materialName: material.name, created: record.createdAt)
        if format == .ofd {
            var writer = OFDWriter()
            for page in material.pages {
                try await intake.append(try writer.page(Self.pdfImage(page, data: try await read(page.path), withText: true)), to: incoming)
            }
            try await intake.append(writer.finish(info, case: OFDCaseMetadata(caseNumber: record.caseNumber, materialName: material.name,
                                                                            capturedAt: record.createdAt, documentID: incoming.id)),
                                    to: incoming)
        } else {
            var writer = ArchivalPDFWriter()
            try await intake.append(writer.begin(), to: incoming)
            for page in material.pages {
                try await intake.append(writer.page(Self.pdfImage(page, data: try await read(page.path), withText: true)), to: incoming)
            }
            try await intake.append(writer.finish(info), to: incoming)
        }
    }

    // MARK: Reading

    /// A batch with its pages.
    public func view(_ scanId: String) throws(Problem) -> ScanView {
        try view(of: try record(scanId))
    }

    private func view(of record: ScanRecord) throws(Problem) -> ScanView {
        let scanId = record.id
        let pages = try Self.storeCall { try store.scanPages(scanId: scanId) }
        return ScanView(id: record.id, device: record.device, caseNumber: record.caseNumber, materialName: record.materialName,
                        state: record.state, problem: record.problem, pages: pages.map { Self.pageView($0, scanId: scanId, caseNumber: record.caseNumber) },
                        pageCount: pages.count, blankPages: pages.filter(\.blank).count,
                        settings: try? Self.settings(of: record), attachmentId: record.attachmentId,
                        attachmentIds: record.attachmentIds.isEmpty ? record.attachmentId.map { [$0] } ?? [] : record.attachmentIds,
                        createdAt: record.createdAt, updatedAt: record.updatedAt)
    }

    /// Recent batches, newest first.
    public func list(states: [ScanState]? = nil) throws(Problem) -> [ScanView] {
        let records = try Self.storeCall { try store.scans(states: states) }
        var views: [ScanView] = []
        for record in records { views.append(try view(of: record)) }
        return views
    }

    /// A page's thumbnail (JPEG).
    public func thumbnail(_ scanId: String, pageId: String) async throws(Problem) -> [UInt8] {
        let page = try page(scanId, pageId)
        return try await read(page.thumbnailPath)
    }

    /// A page's image: its JPEG, or for a black-and-white page a one-page PDF (browsers do not show G4).
    public func image(_ scanId: String, pageId: String) async throws(Problem) -> (contentType: String, bytes: [UInt8]) {
        let page = try page(scanId, pageId)
        let data = try await read(page.path)
        guard page.encoding == "g4" else { return ("image/jpeg", data) }
        var writer = ArchivalPDFWriter()
        let pdf = writer.begin() + writer.page(Self.pdfImage(page, data: data))
            + writer.finish(PDFDocumentInfo(scanOf: try record(scanId)))
        return ("application/pdf", pdf)
    }

    // MARK: Helpers

    private func read(_ path: String) async throws(Problem) -> [UInt8] {
        do {
            return try await files.perform { () throws(StorageError) -> [UInt8] in
                guard let data = FileManager.default.contents(atPath: path) else { throw StorageError(call: "read", path: path, errno: errno) }
                return Array(data)
            }
        } catch { throw error.problem }
    }

    private func page(_ scanId: String, _ pageId: String) throws(Problem) -> ScanPageRecord {
        _ = try record(scanId)
        guard let page = try Self.storeCall({ try store.scanPages(scanId: scanId) }).first(where: { $0.id == pageId }) else {
            throw Self.noPage(pageId, scanId)
        }
        return page
    }

    private func record(_ scanId: String) throws(Problem) -> ScanRecord {
        guard let record = try Self.storeCall({ try store.scan(id: scanId) }) else {
            throw Problem(code: "scan-not-found", status: 404, title: "扫描批次不存在 No such scan",
                          detail: "no scan batch '\(scanId)'", remedy: "List batches with GET /v1/scans.")
        }
        return record
    }

    private func requireEditable(_ record: ScanRecord) throws(Problem) {
        guard [.ready, .interrupted, .failed].contains(record.state) else { throw Self.wrongState(record, "edit") }
        try requireNotFinishing(record, "edit")
    }

    /// A batch being finished is read page by page into its documents: a page changed meanwhile (a page deleted
    /// because it was flagged as another case's) could still be delivered. Changes wait until the finish is done.
    private func requireNotFinishing(_ record: ScanRecord, _ action: String) throws(Problem) {
        guard finishing[record.id] == nil else {
            throw Problem(code: "scan-finishing", status: 409, title: "正在生成文件 The batch is being finished",
                          detail: "batch \(record.id) is being finished; cannot \(action) it now",
                          remedy: "等完成后再操作；如需修改，删除生成的材料后重新扫描。Wait for the finish; to change it, delete the material it made and scan again.")
        }
    }

    private func resolveScanner(_ requested: String?) async throws(Problem) -> String {
        if let requested, !requested.isEmpty {
            return requested.hasPrefix("sane:") ? String(requested.dropFirst(5)) : requested
        }
        if let configured = defaultScanner { return configured.hasPrefix("sane:") ? String(configured.dropFirst(5)) : configured }
        guard let first = await firstScanner() else {
            throw Problem(code: "no-scanner", status: 503, title: "没有扫描仪 No scanner",
                          detail: "no scanner was found through SANE and none is configured",
                          remedy: "连接扫描仪并检查 scanimage -L；或设置 scanning.device。Connect the scanner and check `scanimage -L`, or set scanning.device.")
        }
        return first
    }

    static func settings(of record: ScanRecord) throws(Problem) -> ScanSettings {
        do { return try JSONDecoder().decode(ScanSettings.self, from: Data(record.settings.utf8)) } catch {
            throw Problem(code: "store-error", status: 500, title: "数据库错误 Database error",
                          detail: "scan \(record.id) has unreadable settings: \(error)", remedy: "Discard the batch and scan again.")
        }
    }

    static func storeCall<T>(_ body: () throws -> T) throws(Problem) -> T {
        do { return try body() } catch let error as any ProblemConvertible {
            throw error.problem
        } catch {
            throw Problem(code: "store-error", status: 500, title: "数据库错误 Database error", detail: "\(error)",
                          remedy: "运行 tongban doctor 检查数据目录。Run tongban doctor to check the data folder.")
        }
    }

    /// A stored page as the PDF embeds it, with its recognised text as the invisible text layer when `withText`.
    static func pdfImage(_ page: ScanPageRecord, data: [UInt8], withText: Bool = false) -> PDFPageImage {
        PDFPageImage(encoding: page.encoding == "g4" ? .groupFour : .jpeg(components: page.channels), data: data,
                     pixelWidth: page.width, pixelHeight: page.height, dotsPerInch: Double(page.dotsPerInch), rotation: page.rotation,
                     textLines: withText ? lines(of: page).map(PDFTextLine.init) : [])
    }

    static func lines(of page: ScanPageRecord) -> [RecognizedLine] {
        page.textLines.flatMap { try? JSONDecoder().decode([RecognizedLine].self, from: Data($0.utf8)) } ?? []
    }

    static func barcodes(of page: ScanPageRecord) -> [FoundBarcode] {
        page.barcodes.flatMap { try? JSONDecoder().decode([FoundBarcode].self, from: Data($0.utf8)) } ?? []
    }

    static func json(_ value: some Encodable) -> String? {
        (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }

    static func pageView(_ page: ScanPageRecord, scanId: String, caseNumber: String) -> ScanView.Page {
        let barcodes = Self.barcodes(of: page)
        return ScanView.Page(id: page.id, position: page.position, sequence: page.sequence, encoding: page.encoding, width: page.width,
                             height: page.height, dpi: page.dotsPerInch, size: page.size, sha256: page.sha256, blank: page.blank,
                             skewDegrees: page.skewDegrees, straightened: page.straightened, rotation: page.rotation,
                             thumbnailUrl: "/v1/scans/\(scanId)/pages/\(page.id)/thumbnail",
                             imageUrl: "/v1/scans/\(scanId)/pages/\(page.id)/image",
                             textLines: page.textLines == nil ? nil : lines(of: page).count,
                             barcodes: barcodes.isEmpty ? nil : barcodes.map { ScanView.PageBarcode(type: $0.type, text: $0.text) },
                             otherCaseNumber: CaseNumberMark.other(than: caseNumber, among: barcodes.map { ($0.type, $0.text) }),
                             separatorFor: separatorName(of: page).map(TextChecks.visible))
    }

    static func invalid(_ problems: [String]) -> Problem {
        Problem(code: "invalid-scan-request", status: 400, title: "扫描请求无效 Invalid scan request",
                detail: problems.joined(separator: "; "), remedy: "Correct the fields listed and send the request again.")
    }

    static func wrongState(_ record: ScanRecord, _ action: String) -> Problem {
        Problem(code: "scan-state", status: 409, title: "扫描批次状态不允许 Not possible now",
                detail: "cannot \(action) batch \(record.id) while it is \(record.state.rawValue)",
                remedy: record.state == .scanning ? "等扫描结束或先取消。Wait for the scan to end or cancel it first."
                    : "开始新的扫描批次。Start a new batch.")
    }

    static func noPage(_ pageId: String, _ scanId: String) -> Problem {
        Problem(code: "page-not-found", status: 404, title: "页面不存在 No such page",
                detail: "batch \(scanId) has no page '\(pageId)'", remedy: "Reload the batch with GET /v1/scans/\(scanId).")
    }
}

extension PDFDocumentInfo {
    /// What a scanned material's PDF says about itself: the material as title, the case number as subject and keywords.
    init(caseNumber: String, materialName: String, created: Date) {
        self.init(title: materialName, subject: "受理编号 \(caseNumber)", keywords: caseNumber, created: created)
    }

    init(scanOf record: ScanRecord) {
        self.init(caseNumber: record.caseNumber, materialName: record.materialName, created: record.createdAt)
    }
}

/// `scan.page`: a page is durable and recorded.
public struct ScanPageEvent: Codable, Sendable {
    public var scanId: String
    public var page: ScanView.Page
    public var pagesInBatch: Int
}

/// `scan.finished` and `scan.failed`.
public struct ScanEndEvent: Codable, Sendable {
    public var scanId: String
    public var pagesScanned: Int
    public var pagesInBatch: Int
    public var cancelled: Bool
    public var problem: Problem?
}
