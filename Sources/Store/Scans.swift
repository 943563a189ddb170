import Foundation
import GRDB
import TongbanCore

/// Where a scan batch is in its life.
public enum ScanState: String, Codable, Sendable {
    /// Pages are coming from the scanner.
    case scanning
    /// Scanning stopped (feeder empty, cancelled, or an error with pages kept); the clerk edits and finishes.
    case ready
    /// Stopped before any page arrived.
    case failed
    /// The service stopped while it was scanning; its acknowledged pages are kept. Finish or discard.
    case interrupted
    /// Made into an attachment.
    case finished
    /// Thrown away by the clerk; its files are gone.
    case discarded
}

/// One scan batch as stored.
public struct ScanRecord: Codable, Sendable, Equatable {
    public var id: String
    public var device: String
    public var caseNumber: String
    public var materialName: String
    public var `operator`: String?
    /// The request's settings as JSON (the scanning module owns their shape).
    public var settings: String
    public var state: ScanState
    /// The last problem (jam, cover open, …), when scanning stopped on one.
    public var problem: Problem?
    public var createdAt: Date
    public var updatedAt: Date
    public var attachmentId: String?
    /// Every attachment the batch was finished into, in order (a batch split by separator sheets has several; the
    /// first is `attachmentId`). Empty before it is finished, and for batches finished before batches could split.
    public var attachmentIds: [String] = []

    public init(id: String, device: String, caseNumber: String, materialName: String, operator: String?, settings: String,
                state: ScanState, problem: Problem? = nil, createdAt: Date, updatedAt: Date, attachmentId: String? = nil) {
        self.id = id
        self.device = device
        self.caseNumber = caseNumber
        self.materialName = materialName
        self.operator = `operator`
        self.settings = settings
        self.state = state
        self.problem = problem
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.attachmentId = attachmentId
    }
}

/// One scanned page as stored. Its image and thumbnail are durable files in the scan's folder.
public struct ScanPageRecord: Codable, Sendable, Equatable {
    public var id: String
    public var scanId: String
    /// Place in the document, from 1; edits renumber.
    public var position: Int
    /// Order of arrival from the scanner, from 1; never changes.
    public var sequence: Int
    /// `jpeg` or `g4`.
    public var encoding: String
    public var width: Int
    public var height: Int
    public var channels: Int
    public var dotsPerInch: Int
    public var size: Int
    public var sha256: String
    public var blank: Bool
    public var skewDegrees: Double?
    public var straightened: Bool
    /// Clockwise rotation the clerk asked for: 0, 90, 180 or 270.
    public var rotation: Int
    public var path: String
    public var thumbnailPath: String
    public var createdAt: Date
    /// JSON: the lines of text recognised on the page with their boxes (nil: not recognised).
    public var textLines: String?
    /// JSON: the QR codes and barcodes on the page (nil: none).
    public var barcodes: String?

    public init(id: String, scanId: String, position: Int, sequence: Int, encoding: String, width: Int, height: Int,
                channels: Int, dotsPerInch: Int, size: Int, sha256: String, blank: Bool, skewDegrees: Double?,
                straightened: Bool, rotation: Int, path: String, thumbnailPath: String, createdAt: Date,
                textLines: String? = nil, barcodes: String? = nil) {
        self.textLines = textLines
        self.barcodes = barcodes
        self.id = id
        self.scanId = scanId
        self.position = position
        self.sequence = sequence
        self.encoding = encoding
        self.width = width
        self.height = height
        self.channels = channels
        self.dotsPerInch = dotsPerInch
        self.size = size
        self.sha256 = sha256
        self.blank = blank
        self.skewDegrees = skewDegrees
        self.straightened = straightened
        self.rotation = rotation
        self.path = path
        self.thumbnailPath = thumbnailPath
        self.createdAt = createdAt
    }
}

extension ScanRecord {
    func with(attachmentIds: [String]) -> ScanRecord {
        var record = self
        record.attachmentIds = attachmentIds
        return record
    }
}

extension Store {
    /// Where scan batches keep their page files: `<dataDir>/scans/<scanId>/`.
    public var scansDirectory: String { "\(directory)/scans" }

    static func registerScanMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-scans") { db in
            try db.create(table: "scan") { t in
                t.primaryKey("id", .text)
                t.column("device", .text).notNull()
                t.column("caseNumber", .text).notNull()
                t.column("materialName", .text).notNull()
                t.column("operator", .text)
                t.column("settings", .text).notNull()
                t.column("state", .text).notNull()
                t.column("problem", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.column("attachmentId", .text)
            }
            try db.create(table: "scanPage") { t in
                t.primaryKey("id", .text)
                t.column("scanId", .text).notNull().references("scan", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("sequence", .integer).notNull()
                t.column("encoding", .text).notNull()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("channels", .integer).notNull()
                t.column("dotsPerInch", .integer).notNull()
                t.column("size", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("blank", .boolean).notNull()
                t.column("skewDegrees", .double)
                t.column("straightened", .boolean).notNull()
                t.column("rotation", .integer).notNull().defaults(to: 0)
                t.column("path", .text).notNull()
                t.column("thumbnailPath", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(index: "scanPage_scan", on: "scanPage", columns: ["scanId", "position"])
        }
    }

    /// Records a new batch (state `scanning`) with its audit record.
    public func createScan(_ scan: ScanRecord) throws(StoreError) {
        let actor = Caller.current.auditActor(claimed: scan.operator, fallback: "counter")
        do {
            try database.write { db in
                try db.execute(sql: """
                    INSERT INTO scan (id, device, caseNumber, materialName, operator, settings, state, createdAt, updatedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [scan.id, scan.device, scan.caseNumber, scan.materialName, scan.operator, scan.settings,
                                     scan.state.rawValue, scan.createdAt, scan.updatedAt])
                try self.appendAudit(db, actor: actor, action: "scan-start", subject: scan.id,
                                     detail: "case \(scan.caseNumber) on \(scan.device)", at: scan.createdAt)
            }
        } catch { throw .database("record scan \(scan.id)", "\(error)") }
    }

    /// One batch.
    public func scan(id: String) throws(StoreError) -> ScanRecord? {
        do {
            return try database.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM scan WHERE id = ?", arguments: [id]).map(Self.scanRecord)
            }
        } catch { throw .database("read scan \(id)", "\(error)") }
    }

    /// Batches newest first, optionally only those in some states.
    public func scans(states: [ScanState]? = nil, limit: Int = 200) throws(StoreError) -> [ScanRecord] {
        do {
            return try database.read { db in
                if let states {
                    let marks = states.map { _ in "?" }.joined(separator: ",")
                    var arguments = StatementArguments(states.map(\.rawValue))
                    arguments += [limit]
                    return try Row.fetchAll(db, sql: "SELECT * FROM scan WHERE state IN (\(marks)) ORDER BY createdAt DESC LIMIT ?",
                                            arguments: arguments).map(Self.scanRecord)
                }
                return try Row.fetchAll(db, sql: "SELECT * FROM scan ORDER BY createdAt DESC LIMIT ?", arguments: [limit]).map(Self.scanRecord)
            }
        } catch { throw .database("read scans", "\(error)") }
    }

    /// A batch's pages in document order.
    public func scanPages(scanId: String) throws(StoreError) -> [ScanPageRecord] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM scanPage WHERE scanId = ? ORDER BY position", arguments: [scanId])
                    .map(Self.scanPageRecord)
            }
        } catch { throw .database("read pages of scan \(scanId)", "\(error)") }
    }

    /// Records a page whose files are already durable. It goes at `position` (later pages move down), or last.
    /// With `replacing`, that page is removed in the same transaction and the new one takes its place.
    /// Returns the page as stored (with its position) and the files of a replaced page, to be deleted.
    public func addScanPage(_ page: ScanPageRecord, at position: Int? = nil, replacing: String? = nil) throws(StoreError) -> (page: ScanPageRecord, replacedFiles: [String]) {
        do {
            return try database.write { db in
                var page = page
                var replaced: [String] = []
                var target = position
                if let replacing, let old = try Row.fetchOne(db, sql: "SELECT * FROM scanPage WHERE id = ? AND scanId = ?",
                                                             arguments: [replacing, page.scanId]).map(Self.scanPageRecord) {
                    try db.execute(sql: "DELETE FROM scanPage WHERE id = ?", arguments: [replacing])
                    replaced = [old.path, old.thumbnailPath]
                    target = old.position
                } else if let position {
                    try db.execute(sql: "UPDATE scanPage SET position = position + 1 WHERE scanId = ? AND position >= ?",
                                   arguments: [page.scanId, position])
                }
                let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM scanPage WHERE scanId = ?", arguments: [page.scanId]) ?? 0
                page.position = min(max(1, target ?? count + 1), count + 1)
                try db.execute(sql: """
                    INSERT INTO scanPage (id, scanId, position, sequence, encoding, width, height, channels, dotsPerInch, size, sha256,
                      blank, skewDegrees, straightened, rotation, path, thumbnailPath, createdAt, textLines, barcodes)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [page.id, page.scanId, page.position, page.sequence, page.encoding, page.width, page.height,
                                     page.channels, page.dotsPerInch, page.size, page.sha256, page.blank, page.skewDegrees,
                                     page.straightened, page.rotation, page.path, page.thumbnailPath, page.createdAt,
                                     page.textLines, page.barcodes])
                try db.execute(sql: "UPDATE scan SET updatedAt = ? WHERE id = ?", arguments: [page.createdAt, page.scanId])
                return (page, replaced)
            }
        } catch { throw .database("record page of scan \(page.scanId)", "\(error)") }
    }

    /// How many pages a batch has.
    public func scanPageCount(scanId: String) throws(StoreError) -> Int {
        do {
            return try database.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM scanPage WHERE scanId = ?", arguments: [scanId]) ?? 0
            }
        } catch { throw .database("count pages of scan \(scanId)", "\(error)") }
    }

    /// The highest arrival number used in a batch (0 for none): the next page is this + 1.
    public func lastPageSequence(scanId: String) throws(StoreError) -> Int {
        do {
            return try database.read { db in
                try Int.fetchOne(db, sql: "SELECT MAX(sequence) FROM scanPage WHERE scanId = ?", arguments: [scanId]) ?? 0
            }
        } catch { throw .database("read pages of scan \(scanId)", "\(error)") }
    }

    /// Sets a batch's state and problem.
    public func updateScan(id: String, state: ScanState, problem: Problem? = nil, at time: Date = Date()) throws(StoreError) {
        do {
            let problemText = try problem.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
            try database.write { db in
                try db.execute(sql: "UPDATE scan SET state = ?, problem = ?, updatedAt = ? WHERE id = ?",
                               arguments: [state.rawValue, problemText, time, id])
            }
        } catch { throw .database("update scan \(id)", "\(error)") }
    }

    /// At start-up: batches left `scanning` by a service that stopped become `interrupted`. Returns their IDs.
    public func markInterruptedScans(at time: Date = Date()) throws(StoreError) -> [String] {
        do {
            return try database.write { db in
                let ids = try String.fetchAll(db, sql: "SELECT id FROM scan WHERE state = 'scanning'")
                try db.execute(sql: "UPDATE scan SET state = 'interrupted', updatedAt = ? WHERE state = 'scanning'", arguments: [time])
                for id in ids {
                    try self.appendAudit(db, actor: "service", action: "scan-interrupted", subject: id, detail: "", at: time)
                }
                return ids
            }
        } catch { throw .database("mark interrupted scans", "\(error)") }
    }

    /// Puts the pages in the given order. `pageIds` must name every page of the batch exactly once.
    public func reorderScanPages(scanId: String, pageIds: [String]) throws(StoreError) -> Bool {
        do {
            return try database.write { db in
                let existing = Set(try String.fetchAll(db, sql: "SELECT id FROM scanPage WHERE scanId = ?", arguments: [scanId]))
                guard existing == Set(pageIds), existing.count == pageIds.count else { return false }
                for (index, id) in pageIds.enumerated() {
                    try db.execute(sql: "UPDATE scanPage SET position = ? WHERE id = ?", arguments: [index + 1, id])
                }
                return true
            }
        } catch { throw .database("reorder pages of scan \(scanId)", "\(error)") }
    }

    /// Sets a page's clockwise rotation (0, 90, 180, 270). Returns false when there is no such page.
    public func rotateScanPage(scanId: String, pageId: String, rotation: Int) throws(StoreError) -> Bool {
        do {
            return try database.write { db in
                try db.execute(sql: "UPDATE scanPage SET rotation = ? WHERE id = ? AND scanId = ?",
                               arguments: [((rotation % 360) + 360) % 360, pageId, scanId])
                return db.changesCount > 0
            }
        } catch { throw .database("rotate page \(pageId)", "\(error)") }
    }

    /// Removes a page and closes the gap. Returns its files (to delete once this has committed), nil when not found.
    public func deleteScanPage(scanId: String, pageId: String) throws(StoreError) -> [String]? {
        do {
            return try database.write { db in
                guard let page = try Row.fetchOne(db, sql: "SELECT * FROM scanPage WHERE id = ? AND scanId = ?",
                                                  arguments: [pageId, scanId]).map(Self.scanPageRecord) else { return nil }
                try db.execute(sql: "DELETE FROM scanPage WHERE id = ?", arguments: [pageId])
                try db.execute(sql: "UPDATE scanPage SET position = position - 1 WHERE scanId = ? AND position > ?",
                               arguments: [scanId, page.position])
                return [page.path, page.thumbnailPath]
            }
        } catch { throw .database("delete page \(pageId)", "\(error)") }
    }

    /// Marks a batch discarded and forgets its pages; the caller then deletes the folder.
    public func discardScan(id: String, actor: String, at time: Date = Date()) throws(StoreError) {
        do {
            try database.write { db in
                try db.execute(sql: "DELETE FROM scanPage WHERE scanId = ?", arguments: [id])
                try db.execute(sql: "UPDATE scan SET state = 'discarded', updatedAt = ? WHERE id = ?", arguments: [time, id])
                try self.appendAudit(db, actor: actor, action: "scan-discard", subject: id, detail: "", at: time)
            }
        } catch { throw .database("discard scan \(id)", "\(error)") }
    }

    /// Forgets the pages of finished batches one of whose attachments has been purged — after its retention, or
    /// after it was deleted (the pages are the same personal data; a batch split by separator sheets shares its page
    /// folder between its materials, and a deleted material's pages must not outlive it); returns the batches, whose
    /// folders the caller then removes. The materials still kept are whole files of their own.
    public func purgePagesOfPurgedScans(at time: Date = Date()) throws(StoreError) -> [String] {
        do {
            return try database.write { db in
                let ids = try String.fetchAll(db, sql: """
                    SELECT scan.id FROM scan
                    WHERE scan.state = 'finished'
                      AND EXISTS (SELECT 1 FROM attachment WHERE attachment.purgedAt IS NOT NULL
                                  AND (attachment.id = scan.attachmentId
                                       OR attachment.id IN (SELECT value FROM json_each(COALESCE(scan.attachmentIds, '[]')))))
                      AND EXISTS (SELECT 1 FROM scanPage WHERE scanPage.scanId = scan.id)
                    """)
                for id in ids {
                    try db.execute(sql: "DELETE FROM scanPage WHERE scanId = ?", arguments: [id])
                    try self.appendAudit(db, actor: "retention", action: "scan-pages-purge", subject: id, detail: "", at: time)
                }
                return ids
            }
        } catch { throw .database("purge pages of purged scans", "\(error)") }
    }

    /// Every page file the store knows of in one batch (to tell acknowledged pages from debris after a crash).
    public func scanPageFiles(scanId: String) throws(StoreError) -> Set<String> {
        Set(try scanPages(scanId: scanId).flatMap { [$0.path, $0.thumbnailPath] })
    }

    private static func scanRecord(_ row: Row) -> ScanRecord {
        let problemText: String? = row["problem"]
        return ScanRecord(
            id: row["id"], device: row["device"], caseNumber: row["caseNumber"], materialName: row["materialName"],
            operator: row["operator"], settings: row["settings"], state: ScanState(rawValue: row["state"]) ?? .interrupted,
            problem: problemText.flatMap { try? JSONDecoder().decode(Problem.self, from: Data($0.utf8)) },
            createdAt: row["createdAt"], updatedAt: row["updatedAt"], attachmentId: row["attachmentId"])
            .with(attachmentIds: (row["attachmentIds"] as String?).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? [])
    }

    private static func scanPageRecord(_ row: Row) -> ScanPageRecord {
        ScanPageRecord(
            id: row["id"], scanId: row["scanId"], position: row["position"], sequence: row["sequence"], encoding: row["encoding"],
            width: row["width"], height: row["height"], channels: row["channels"], dotsPerInch: row["dotsPerInch"], size: row["size"],
            sha256: row["sha256"], blank: row["blank"], skewDegrees: row["skewDegrees"], straightened: row["straightened"],
            rotation: row["rotation"], path: row["path"], thumbnailPath: row["thumbnailPath"], createdAt: row["createdAt"],
            textLines: row["textLines"], barcodes: row["barcodes"])
    }
}
