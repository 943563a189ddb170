import CUPS
import Crypto
import Delivery
import Foundation
import Logging
import Notices
import Receipts
import ServiceLifecycle
import Store
import TongbanCore

/// What the clerk asks to print: a form with its data, or a PDF as it is.
public struct PrintRequest: Sendable {
    public enum Document: Sendable {
        case notice(template: String, data: JSONValue)
        case pdf(Data, caseNumber: String?, title: String)
    }

    public var document: Document
    /// A CUPS queue; nil: `printers.notices`, then the scheduler's default queue.
    public var printer: String?
    public var copies: Int
    /// IPP `sides`: one-sided, two-sided-long-edge, two-sided-short-edge.
    public var sides: String?
    /// IPP media name, e.g. iso_a4_210x297mm.
    public var media: String?
    /// IPP print-quality: 3 draft, 4 normal, 5 high.
    public var quality: Int?
    public var `operator`: String?

    public init(document: Document, printer: String? = nil, copies: Int = 1, sides: String? = nil, media: String? = nil,
                quality: Int? = nil, operator: String? = nil) {
        self.document = document
        self.printer = printer
        self.copies = copies
        self.sides = sides
        self.media = media
        self.quality = quality
        self.operator = `operator`
    }
}

/// A queue as the console shows it: state in words, its role, what it can do.
public struct PrinterView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var roles: [String]
    public var isDefault: Bool
    public var makeAndModel: String?
    public var location: String?
    /// idle, printing, stopped.
    public var state: String
    public var reasons: [String]
    public var message: String?
    public var accepting: Bool
    public var problem: Problem?
    public var warnings: [String]
    public var capabilities: CUPSPrinterCapabilities?
    /// True for a queue that is a simulator (`printers.simulated`): nothing it prints reaches paper.
    public var simulated: Bool?
}

/// Printing: forms rendered and kept as the case's attachment, jobs handed to CUPS and followed to their end through
/// the scheduler's `ippget` subscription (Get-Job-Attributes polling as the fallback), printer trouble turned into
/// clear messages; receipts to ESC/POS printers.
///
/// A job is recorded before it is handed to CUPS, so a crash in between is known at the next start (the job is
/// reported as interrupted, never silently printed twice).
public actor PrintService: Service {
    private let store: Store
    private let intake: AttachmentIntake
    private let events: EventBus
    public nonisolated let renderer: NoticeRenderer
    private let cups: CUPSClient
    private let watcher: CUPSClient
    private let noticeQueue: String?
    private let receiptPrinter: String?
    private let pollInterval: Duration
    private let logger: Logger
    private var printerStates: [String: PrinterView] = [:]
    private let simulatedQueues: Set<String>

    public init(store: Store, intake: AttachmentIntake, events: EventBus, renderer: NoticeRenderer, cupsServer: String?,
                noticeQueue: String?, receiptPrinter: String?, simulatedQueues: Set<String> = [], pollInterval: Duration = .seconds(2),
                logger: Logger) {
        self.simulatedQueues = simulatedQueues
        self.store = store
        self.intake = intake
        self.events = events
        self.renderer = renderer
        cups = CUPSClient(server: cupsServer)
        watcher = CUPSClient(server: cupsServer)
        self.noticeQueue = noticeQueue
        self.receiptPrinter = receiptPrinter
        self.pollInterval = pollInterval
        self.logger = logger
    }

    // MARK: - Printers

    /// Every CUPS queue with its state, role and capabilities.
    public func printers() async throws(Problem) -> [PrinterView] {
        let destinations: [CUPSDestination]
        do { destinations = try await cups.destinations() } catch { throw error.problem }
        var views: [PrinterView] = []
        for destination in destinations {
            var view = await printerView(destination.name, isDefault: destination.isDefault)
            view.capabilities = try? await cups.capabilities(queue: destination.name)
            if simulatedQueues.contains(destination.name) { view.simulated = true }
            views.append(view)
        }
        return views
    }

    private func printerView(_ queue: String, isDefault: Bool = false) async -> PrinterView {
        var roles: [String] = []
        if queue == noticeQueue { roles.append("notices") }
        if queue == receiptPrinter { roles.append("receipts") }
        guard let attributes = try? await cups.printerAttributes(queue: queue) else {
            return PrinterView(id: "cups:\(queue)", name: queue, roles: roles, isDefault: isDefault, state: "unknown", reasons: [],
                               accepting: false, problem: nil, warnings: [], capabilities: nil)
        }
        let reasons = attributes.keywords("printer-state-reasons")
        let message = attributes.text("printer-state-message").flatMap { $0.isEmpty ? nil : $0 }
        let state = attributes.integer("printer-state")
        return PrinterView(
            id: "cups:\(queue)", name: queue, roles: roles, isDefault: isDefault, makeAndModel: attributes.text("printer-make-and-model"),
            location: attributes.text("printer-location"), state: state == 5 ? "stopped" : state == 4 ? "printing" : "idle",
            reasons: reasons, message: message, accepting: attributes.text("printer-is-accepting-jobs") != "false",
            problem: PrintDiagnosis.problem(reasons: PrintDiagnosis.blocking(reasons), message: message,
                                            printerState: state, queue: queue),
            warnings: PrintDiagnosis.warnings(reasons), capabilities: nil)
    }

    // MARK: - Jobs

    /// The paper every form is laid out on (portrait or landscape).
    public static let formMedia = "iso_a4_210x297mm"

    /// Renders (for a form), keeps the notice as the case's attachment, records the job and hands it to CUPS.
    /// Returns the job once the scheduler has accepted it. Bad data or options: a problem listing each.
    public func print(_ request: PrintRequest) async throws(Problem) -> PrintJobRecord {
        guard (1...99).contains(request.copies) else {
            throw Problem(code: "print-options-invalid", status: 422, title: "打印参数有误 Print options not valid",
                          detail: "copies must be between 1 and 99, got \(request.copies)")
        }
        let queue = try await resolveQueue(request.printer)
        var options: [String: String] = ["copies": String(request.copies)]
        if let sides = request.sides { options["sides"] = sides }
        // Forms are laid out on A4 (NoticeLayout): asked for as such, or a queue whose default is Letter prints a
        // Letter page. A PDF the caller sends prints on the paper it asks for, else the queue's default.
        var request = request
        if request.media == nil, case .notice = request.document { request.media = Self.formMedia }
        if let media = request.media { options["media"] = media }
        if let quality = request.quality { options["print-quality"] = String(quality) }
        do {
            let unsupported = try await cups.unsupportedOptions(queue: queue, options: options)
            if !unsupported.isEmpty {
                throw Problem(code: "print-options-unsupported", status: 422, title: "打印机不支持所选参数 Printer does not support these options",
                              detail: "\(queue) does not accept: " + unsupported.map(\.description).joined(separator: "; "),
                              remedy: "改用打印机支持的参数，或换一台打印机。Choose supported values, or another printer.",
                              device: "cups:\(queue)")
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            throw printerError(error, queue: queue)
        }

        let id = UUID().uuidString.lowercased()
        let pdf: Data
        var record: PrintJobRecord
        switch request.document {
        case .notice(let template, let data):
            let rendered: RenderedNotice
            do { rendered = try await renderer.render(template, data: data, format: .pdf) } catch { throw error.problem }
            pdf = rendered.files[0]
            let caseNumber = data["caseNumber"]?.stringValue
            var attachmentId: String?
            if let caseNumber, !caseNumber.isEmpty {
                // A reprint (after a jam, a second copy later) renders the same bytes: the case keeps one notice.
                let digest = SHA256.hash(data: pdf).map { String(format: "%02x", $0) }.joined()
                let existing = (try? store.attachments(caseNumber: caseNumber))?
                    .first { $0.manifest.kind == .notice && $0.manifest.sha256 == digest }?.manifest.attachmentId
                let title = (try? renderer.library.template(template))?.title ?? template
                let attachment = AttachmentRequest(caseNumber: caseNumber, materialName: title, kind: .notice,
                                                   contentType: "application/pdf", fileName: "\(template)-\(caseNumber).pdf",
                                                   pages: rendered.pageCount, device: "cups:\(queue)", operator: request.operator)
                if let existing {
                    attachmentId = existing
                } else {
                    do { attachmentId = try await intake.store(Array(pdf), attachment).attachmentId } catch { throw error.problem }
                }
            }
            record = PrintJobRecord(id: id, printer: queue, document: template, caseNumber: caseNumber, copies: request.copies,
                                    sides: request.sides, media: request.media, pages: rendered.pageCount, state: .submitting,
                                    attachmentId: attachmentId, operator: request.operator, createdAt: Date())
        case .pdf(let bytes, let caseNumber, _):
            guard bytes.starts(with: Array("%PDF-".utf8)) else {
                throw Problem(code: "print-document-invalid", status: 415, title: "不是 PDF 文件 Not a PDF",
                              detail: "the document does not start with %PDF-", remedy: "Send a PDF (Content-Type: application/pdf).")
            }
            pdf = bytes
            record = PrintJobRecord(id: id, printer: queue, document: "pdf", caseNumber: caseNumber, copies: request.copies,
                                    sides: request.sides, media: request.media, pages: nil, state: .submitting,
                                    attachmentId: nil, operator: request.operator, createdAt: Date())
        }
        do { try store.savePrintJob(record) } catch { throw error.problem }

        let title: String
        if case .pdf(_, _, let given) = request.document { title = given } else { title = record.document }
        do {
            let jobID = try await cups.submit(queue: queue, title: "tongban \(id) \(title)", document: pdf,
                                              format: "application/pdf", options: options)
            record.cupsJobId = jobID
            record.state = .queued
            record.updatedAt = Date()
            persist(record)
        } catch {
            let problem = printerError(error, queue: queue)
            record.state = .failed
            record.problem = problem
            record.updatedAt = Date()
            persist(record)
            await events.publish("print.failed", record)
            throw problem
        }
        await events.publish("print.submitted", record)
        logger.info("print job accepted", metadata: ["print": "\(id)", "queue": "\(queue)", "cupsJob": "\(record.cupsJobId ?? 0)",
                                                     "document": "\(record.document)"])
        return record
    }

    /// Sends an 80 mm intake receipt (接件回执) as ESC/POS: straight to `socket://host:port`, or through a CUPS raw queue.
    public func printReceipt(_ receipt: IntakeReceipt, printer: String?, operator: String?) async throws(Problem) -> PrintJobRecord {
        let problems = receipt.problems
        guard problems.isEmpty else {
            throw Problem(code: "receipt-invalid", status: 422, title: "回执数据有误 Receipt data not valid",
                          detail: problems.joined(separator: "; "))
        }
        guard let target = printer ?? receiptPrinter else {
            throw Problem(code: "no-receipt-printer", status: 409, title: "未配置回执打印机 No receipt printer set",
                          detail: "printers.receipts is not set and the request names no printer",
                          remedy: "在配置中设置 printers.receipts（CUPS 队列或 socket://地址:9100）。Set printers.receipts to a CUPS queue or socket://host:9100.")
        }
        let bytes: [UInt8]
        do { bytes = try receipt.escPOS().bytes } catch {
            throw Problem(code: "receipt-encoding", status: 422, title: "回执文字无法编码 Receipt text cannot be encoded", detail: "\(error)")
        }
        var record = PrintJobRecord(id: UUID().uuidString.lowercased(), printer: target, document: "receipt", caseNumber: receipt.caseNumber,
                                    copies: 1, sides: nil, media: nil, pages: 1, state: .submitting, attachmentId: nil,
                                    operator: `operator`, createdAt: Date())
        do { try store.savePrintJob(record) } catch { throw error.problem }
        do {
            if target.hasPrefix("socket://") {
                guard let connection = RawPrinterConnection(uri: target) else {
                    throw Problem(code: "receipt-printer-address", status: 422, title: "回执打印机地址有误 Receipt printer address not valid",
                                  detail: "\(target) is not socket://host[:port]")
                }
                try await connection.send(bytes)
                record.state = .completed
            } else {
                record.cupsJobId = try await cups.submit(queue: target, title: "tongban \(record.id) receipt", document: Data(bytes),
                                                         format: "application/vnd.cups-raw", options: [:])
                record.state = .queued
            }
        } catch let error as RawPrinterError {
            record.state = .failed
            record.problem = error.problem
        } catch let problem as Problem {
            record.state = .failed
            record.problem = problem
        } catch {
            record.state = .failed
            record.problem = printerError(error, queue: target)
        }
        record.updatedAt = Date()
        persist(record)
        await events.publish(record.state == .failed ? "print.failed" : record.state == .completed ? "print.completed" : "print.submitted", record)
        if let problem = record.problem { throw problem }
        return record
    }

    /// One job as last seen (refreshed from CUPS when it is still going).
    public func job(_ id: String) async throws(Problem) -> PrintJobRecord {
        guard let record = try? store.printJob(id: id) else {
            throw Problem(code: "print-not-found", status: 404, title: "没有这个打印任务 No such print job", detail: "no print job \(id)")
        }
        if !record.state.isFinal, record.cupsJobId != nil { return await refresh(record) }
        return record
    }

    /// Jobs newest first.
    public func jobs(states: [PrintState]? = nil) throws(Problem) -> [PrintJobRecord] {
        do { return try store.printJobs(states: states) } catch { throw error.problem }
    }

    /// Cancels a job that has not ended.
    public func cancel(_ id: String) async throws(Problem) -> PrintJobRecord {
        var record = try await job(id)
        guard !record.state.isFinal else {
            throw Problem(code: "print-already-ended", status: 409, title: "打印任务已结束 Print job already ended",
                          detail: "print job \(id) is \(record.state.rawValue)")
        }
        record.cancelRequested = true
        record.updatedAt = Date()
        persist(record)
        if let jobID = record.cupsJobId {
            do { try await cups.cancel(queue: record.printer, jobID: jobID) } catch {
                throw printerError(error, queue: record.printer)
            }
        }
        return await refresh(record)
    }

    // MARK: - Following jobs

    /// Reads the job and its queue from CUPS (or takes the queue's attributes already read this round), stores
    /// what changed and publishes it.
    @discardableResult
    private func refresh(_ record: PrintJobRecord, printer known: IPPAttributes? = nil) async -> PrintJobRecord {
        guard let jobID = record.cupsJobId else { return record }
        let job: IPPAttributes
        do { job = try await cups.jobAttributes(jobID: jobID) } catch {
            logger.debug("cannot read job", metadata: ["print": "\(record.id)", "error": "\(error)"])
            return record
        }
        let printer: IPPAttributes
        if let known { printer = known } else { printer = (try? await cups.printerAttributes(queue: record.printer)) ?? [:] }
        let verdict = PrintDiagnosis.verdict(job: job, printer: printer, queue: record.printer, cancelRequested: record.cancelRequested)
        var updated = record
        updated.state = verdict.state
        updated.problem = verdict.problem
        updated.reasons = verdict.reasons
        updated.printerMessage = verdict.message
        updated.ippJobState = job.integer("job-state")
        guard updated.state != record.state || updated.problem != record.problem || updated.reasons != record.reasons
                || updated.printerMessage != record.printerMessage else { return record }
        updated.updatedAt = Date()
        persist(updated)
        let type: String
        switch updated.state {
        case .completed: type = "print.completed"
        case .canceled: type = "print.canceled"
        case .failed: type = "print.failed"
        default: type = "print.state"
        }
        await events.publish(type, updated)
        if updated.state != record.state {
            logger.info("print job \(updated.state.rawValue)", metadata: [
                "print": "\(updated.id)", "queue": "\(updated.printer)", "problem": "\(updated.problem?.code ?? "-")"])
        }
        return updated
    }

    private func refreshActiveJobs() async {
        guard let active = try? store.printJobs(states: [.queued, .printing, .blocked]) else { return }
        // One Get-Printer-Attributes per queue per round, however many jobs wait on it.
        var queues: [String: IPPAttributes] = [:]
        for record in active {
            if queues[record.printer] == nil { queues[record.printer] = (try? await cups.printerAttributes(queue: record.printer)) ?? [:] }
            await refresh(record, printer: queues[record.printer])
        }
    }

    /// Publishes `printer.state` when a queue's state, reasons or problem changed.
    private func refreshPrinter(_ queue: String) async {
        let view = await printerView(queue)
        let previous = printerStates[queue]
        guard previous?.state != view.state || previous?.reasons != view.reasons || previous?.problem != view.problem else { return }
        printerStates[queue] = view
        await events.publish("printer.state", view)
    }

    /// At start-up, before `run` (tongban serve calls it): a job recorded but never accepted by CUPS was interrupted mid-hand-over. It is not sent again
    /// (CUPS may have it already): the clerk checks the tray and prints again if needed.
    public func recoverInterrupted() throws(StoreError) -> [String] {
        var ids: [String] = []
        for var record in try store.printJobs(states: [.submitting]) {
            record.state = .failed
            record.problem = Problem(code: "print-interrupted", status: 409, title: "打印中断 Print interrupted",
                                     detail: "the service stopped while handing print job \(record.id) to \(record.printer)",
                                     remedy: "查看打印机是否已输出；未输出请重新打印。Check whether it came out of the printer; print again if not.",
                                     device: "cups:\(record.printer)")
            record.updatedAt = Date()
            try store.savePrintJob(record)
            ids.append(record.id)
        }
        return ids
    }

    /// Follows jobs until shutdown: the `ippget` subscription wakes it within about a second of any change; the poll
    /// every `pollInterval` covers a scheduler without subscriptions and printers that vanish without an event.
    public func run() async throws {
        let subscription = Task { await self.followSubscription() }
        defer { subscription.cancel() }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await refreshActiveJobs()
            for queue in Set([noticeQueue].compactMap { $0 } + ((try? store.printJobs(states: [.queued, .printing, .blocked]))?.map(\.printer) ?? [])) {
                await refreshPrinter(queue)
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.pollInterval) }
        }
    }

    private func followSubscription() async {
        while !Task.isCancelled {
            let subscription: Int
            do { subscription = try await watcher.subscribe(leaseSeconds: 600) } catch {
                logger.notice("no CUPS event subscription; following jobs by polling", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(30))
                continue
            }
            var sequence = 0
            var renewedAt = ContinuousClock.now
            while !Task.isCancelled {
                let answer: (events: [CUPSNotification], interval: Int)
                do { answer = try await watcher.notifications(subscription: subscription, after: sequence) } catch {
                    logger.debug("CUPS notifications ended", metadata: ["error": "\(error)"])
                    break
                }
                sequence = max(sequence, answer.events.map(\.sequence).max() ?? sequence)
                if !answer.events.isEmpty {
                    await refreshActiveJobs()
                    for queue in Set(answer.events.compactMap(\.printerName)) { await refreshPrinter(queue) }
                } else {
                    // A scheduler that does not hold the request answers at once: do not spin.
                    try? await Task.sleep(for: .milliseconds(500))
                }
                if ContinuousClock.now - renewedAt > .seconds(300) {
                    try? await watcher.renew(subscription: subscription, leaseSeconds: 600)
                    renewedAt = .now
                }
            }
            await watcher.unsubscribe(subscription)
            try? await Task.sleep(for: .seconds(2))
        }
    }

    // MARK: - Helpers

    /// Stores a job's new state. A store that cannot be written is logged (the job goes on in CUPS; at the next start
    /// a job left `submitting` is reported interrupted).
    private func persist(_ record: PrintJobRecord) {
        do { try store.savePrintJob(record) } catch {
            logger.error("cannot record print job state", metadata: ["print": "\(record.id)", "state": "\(record.state.rawValue)",
                                                                     "error": "\(error)"])
        }
    }

    private func resolveQueue(_ requested: String?) async throws(Problem) -> String {
        if let requested, !requested.isEmpty { return requested.hasPrefix("cups:") ? String(requested.dropFirst(5)) : requested }
        if let noticeQueue { return noticeQueue }
        let destinations: [CUPSDestination]
        do { destinations = try await cups.destinations() } catch { throw error.problem }
        if let fallback = destinations.first(where: \.isDefault) ?? (destinations.count == 1 ? destinations.first : nil) {
            return fallback.name
        }
        throw Problem(code: "no-printer", status: 409, title: "未选择打印机 No printer chosen",
                      detail: "printers.notices is not set, the request names no printer and CUPS has \(destinations.count) queues and no default",
                      remedy: "在配置中设置 printers.notices，或在请求中指定 printer。Set printers.notices, or name the printer in the request.")
    }

    private func printerError(_ error: any Error, queue: String) -> Problem {
        if let error = error as? CUPSError {
            var problem = error.problem
            problem.device = "cups:\(queue)"
            return problem
        }
        return Problem(code: "print-failed", status: 502, title: "打印失败 Print failed", detail: "\(error)", device: "cups:\(queue)")
    }
}
