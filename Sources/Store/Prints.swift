import Foundation
import GRDB
import TongbanCore

/// Where a print job is in its life.
public enum PrintState: String, Codable, Sendable, CaseIterable {
    /// Recorded; being handed to CUPS.
    case submitting
    /// CUPS holds the job (pending or held).
    case queued
    /// The printer is printing it.
    case printing
    /// Waiting on the printer: tray empty, jam, door open, queue stopped, printer unreachable (see `problem`).
    case blocked
    /// Printed (job-state 9).
    case completed
    /// Cancelled by the clerk.
    case canceled
    /// Ended without printing (aborted, cancelled at the printer, or never accepted); see `problem`.
    case failed

    /// The job will not change any more.
    public var isFinal: Bool { self == .completed || self == .canceled || self == .failed }
}

/// One print job as stored.
public struct PrintJobRecord: Codable, Sendable, Equatable {
    public var id: String
    /// The CUPS queue, or `socket://host:port` for raw receipts.
    public var printer: String
    /// The form printed (`receipt-notice`, …), `pdf` for a PDF given as is, `receipt` for an ESC/POS receipt.
    public var document: String
    public var caseNumber: String?
    public var copies: Int
    public var sides: String?
    public var media: String?
    public var pages: Int?
    /// The CUPS job id once the scheduler accepted the job.
    public var cupsJobId: Int?
    public var state: PrintState
    /// IPP job-state (3…9) last seen.
    public var ippJobState: Int?
    /// job-state-reasons and the printer's reasons last seen.
    public var reasons: [String]
    /// The printer's own message last seen (e.g. "Media tray empty").
    public var printerMessage: String?
    public var problem: Problem?
    /// The notice kept as the case's attachment (kind `notice`).
    public var attachmentId: String?
    public var cancelRequested: Bool
    public var `operator`: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, printer: String, document: String, caseNumber: String?, copies: Int, sides: String?, media: String?,
                pages: Int?, state: PrintState, attachmentId: String?, operator: String?, createdAt: Date) {
        self.id = id
        self.printer = printer
        self.document = document
        self.caseNumber = caseNumber
        self.copies = copies
        self.sides = sides
        self.media = media
        self.pages = pages
        self.state = state
        self.reasons = []
        self.attachmentId = attachmentId
        self.cancelRequested = false
        self.operator = `operator`
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }
}

extension Store {
    static func registerPrintMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-prints") { db in
            try db.create(table: "printJob") { t in
                t.primaryKey("id", .text)
                t.column("state", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.column("record", .text).notNull()
            }
            try db.create(index: "printJob_state", on: "printJob", columns: ["state"])
        }
    }

    /// Records or updates a print job. A new job gets an audit record.
    public func savePrintJob(_ job: PrintJobRecord) throws(StoreError) {
        // Read here, in the caller's task: the database's writer may run the closure on a thread of its own.
        let actor = Caller.current.auditActor(claimed: job.operator, fallback: "counter")
        do {
            let json = String(decoding: try JSONEncoder.tongban.encode(job), as: UTF8.self)
            try database.write { db in
                let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM printJob WHERE id = ?", arguments: [job.id]) ?? false
                try db.execute(sql: """
                    INSERT INTO printJob (id, state, createdAt, updatedAt, record) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET state = excluded.state, updatedAt = excluded.updatedAt, record = excluded.record
                    """, arguments: [job.id, job.state.rawValue, job.createdAt, job.updatedAt, json])
                if !exists {
                    try self.appendAudit(db, actor: actor, action: "print", subject: job.id,
                                         detail: "\(job.document) on \(job.printer)\(job.caseNumber.map { " for case \($0)" } ?? "")",
                                         at: job.createdAt)
                }
            }
        } catch { throw .database("record print job \(job.id)", "\(error)") }
    }

    /// One print job.
    public func printJob(id: String) throws(StoreError) -> PrintJobRecord? {
        do {
            return try database.read { db in
                try String.fetchOne(db, sql: "SELECT record FROM printJob WHERE id = ?", arguments: [id]).flatMap(Self.printJobRecord)
            }
        } catch { throw .database("read print job \(id)", "\(error)") }
    }

    /// Print jobs newest first, optionally only those in some states.
    public func printJobs(states: [PrintState]? = nil, limit: Int = 200) throws(StoreError) -> [PrintJobRecord] {
        do {
            return try database.read { db in
                let chosen = (states ?? PrintState.allCases).map(\.rawValue)
                let marks = chosen.map { _ in "?" }.joined(separator: ",")
                var arguments = StatementArguments(chosen)
                arguments += [limit]
                return try String.fetchAll(db, sql: "SELECT record FROM printJob WHERE state IN (\(marks)) ORDER BY createdAt DESC, id DESC LIMIT ?",
                                           arguments: arguments).compactMap(Self.printJobRecord)
            }
        } catch { throw .database("read print jobs", "\(error)") }
    }

    private static func printJobRecord(_ json: String) -> PrintJobRecord? {
        try? JSONDecoder.tongban.decode(PrintJobRecord.self, from: Data(json.utf8))
    }
}
