import Crypto
import Foundation
import GRDB
import LibCrypto
import TongbanCore

/// Tongban's durable store: one SQLite database (WAL) in the data folder plus the files beside it.
///
/// Tables: `device` (every device ever seen), `job` (scans, prints, captures, calls), `attachment`
/// (files delivered to the case core), `outbox` (delivery queue), `audit` (append-only, hash-chained).
public final class Store: Sendable {
    /// The data folder.
    public let directory: String
    /// Where attachment files live (`<dataDir>/files`).
    public let filesDirectory: String
    let database: DatabasePool
    /// The counter's keys (`<dataDir>/keys/`): sealing, the audit chain's MAC, signatures.
    public let keys: CounterKeys

    /// Opens (creating and migrating) the store in `directory`; new data is protected with `cryptoSuite`
    /// (`security.cryptoSuite`), what the other suite protected stays readable.
    public init(directory: String, cryptoSuite: CryptoSuite = .standard) throws(StoreError) {
        self.directory = directory
        self.filesDirectory = "\(directory)/files"
        do {
            try DurableFile.prepareDirectory(directory)
            try DurableFile.prepareDirectory(filesDirectory)
        } catch {
            throw StoreError.storage(error)
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Deleted rows are overwritten, not left in free pages: purged text recognised on papers (names,
            // addresses) must not be recoverable from the database file.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        keys = try CounterKeys(directory: directory, suite: cryptoSuite)
        do {
            database = try DatabasePool(path: "\(directory)/tongban.sqlite", configuration: configuration)
        } catch {
            throw StoreError.database("open \(directory)/tongban.sqlite", "\(error)")
        }
        let anchor = AuditAnchorWriter(path: "\(directory)/\(AuditAnchor.fileName)", keys: keys)
        do {
            let keyedBefore = try database.read { try Self.migrator.appliedIdentifiers($0) }.contains("v6-seams")
            try Self.migrator.migrate(database)
            // The first time the keyed chain begins, the head of the first wave's log is anchored too: from then on
            // an anchor must exist whenever there are records.
            if !keyedBefore { try database.write { db in anchor.anchorHead(db) } }
        } catch {
            throw StoreError.database("migrate \(directory)/tongban.sqlite", "\(error)")
        }
        database.add(transactionObserver: anchor, extent: .databaseLifetime)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "device") { t in
                t.primaryKey("id", .text)
                t.column("class", .text).notNull()
                t.column("model", .text).notNull()
                t.column("transport", .text).notNull()
                t.column("availability", .text).notNull()
                t.column("message", .text)
                t.column("firstSeen", .datetime).notNull()
                t.column("lastSeen", .datetime).notNull()
            }
            try db.create(table: "job") { t in
                t.primaryKey("id", .text)
                t.column("kind", .text).notNull()
                t.column("state", .text).notNull()
                t.column("device", .text)
                t.column("caseNumber", .text)
                t.column("detail", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "attachment") { t in
                t.primaryKey("id", .text)
                t.column("jobId", .text).references("job", onDelete: .setNull)
                t.column("caseNumber", .text).notNull()
                t.column("materialName", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("contentType", .text).notNull()
                t.column("sha256", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("pages", .integer)
                t.column("device", .text)
                t.column("counterId", .text).notNull()
                t.column("operator", .text)
                t.column("capturedAt", .datetime).notNull()
                t.column("retentionClass", .text).notNull()
                t.column("path", .text).notNull()
                t.column("encrypted", .boolean).notNull().defaults(to: false)
                t.column("purgedAt", .datetime)
            }
            try db.create(index: "attachment_case", on: "attachment", columns: ["caseNumber"])
            try db.create(table: "outbox") { t in
                t.primaryKey("attachmentId", .text).references("attachment", onDelete: .cascade)
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("uploadURL", .text)
                t.column("offset", .integer).notNull().defaults(to: 0)
                t.column("nextAttemptAt", .datetime)
                t.column("lastError", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("deliveredAt", .datetime)
            }
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("sequence")
                // Text, not datetime: the hash covers the exact characters, which numeric affinity would rewrite.
                t.column("time", .text).notNull()
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("subject", .text).notNull()
                t.column("detail", .text).notNull()
                t.column("previousHash", .text).notNull()
                t.column("hash", .text).notNull()
            }
            // Append-only: the database itself refuses edits and deletions of audit records.
            try db.execute(sql: """
                CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
                CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
                """)
        }
        migrator.registerMigration("v2-identity") { db in
            // Identity records: sealed (AES-GCM) JSON only; see IdentityVault.
            try db.create(table: "identity") { t in
                t.primaryKey("id", .text)
                t.column("device", .text).notNull()
                t.column("readAt", .datetime).notNull()
                t.column("sealed", .blob).notNull()
            }
            try db.create(index: "identity_readAt", on: "identity", columns: ["readAt"])
        }
        registerScanMigrations(&migrator)
        registerPrintMigrations(&migrator)
        registerAssistMigrations(&migrator)
        registerSeamMigrations(&migrator)
        registerDeletionMigrations(&migrator)
        registerTextMigrations(&migrator)
        migrator.registerMigration("v9-crypto-suite") { db in
            // The MAC each audit record was chained with (`AuditMAC`); NULL on the records before the suites.
            try db.execute(sql: "ALTER TABLE audit ADD COLUMN mac TEXT")
        }
        registerReminderMigrations(&migrator)
        return migrator
    }

    /// The applied migrations, oldest first.
    public func appliedMigrations() throws(StoreError) -> [String] {
        do { return try database.read { try Self.migrator.appliedMigrations($0) } }
        catch { throw .database("read migrations", "\(error)") }
    }

    /// The journal mode SQLite reports (`wal`).
    public func journalMode() throws(StoreError) -> String {
        do { return try database.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") ?? "" } }
        catch { throw .database("PRAGMA journal_mode", "\(error)") }
    }

    // MARK: Devices

    /// Records devices as seen now: inserts new ones, updates state and last-seen of known ones.
    public func recordDevices(_ devices: [Device], at time: Date = Date()) throws(StoreError) {
        do {
            try database.write { db in
                for device in devices {
                    try db.execute(sql: """
                        INSERT INTO device (id, class, model, transport, availability, message, firstSeen, lastSeen)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(id) DO UPDATE SET model = excluded.model, availability = excluded.availability,
                          message = excluded.message, lastSeen = excluded.lastSeen
                        """, arguments: [device.id, device.deviceClass.rawValue, device.model, device.transport.rawValue,
                                         device.state.availability.rawValue, device.state.message, time, time])
                }
            }
        } catch { throw .database("record devices", "\(error)") }
    }

    /// Every device ever recorded, with when it was first and last seen.
    public func knownDevices() throws(StoreError) -> [(id: String, firstSeen: Date, lastSeen: Date)] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT id, firstSeen, lastSeen FROM device ORDER BY id").map {
                    (id: $0["id"], firstSeen: $0["firstSeen"], lastSeen: $0["lastSeen"])
                }
            }
        } catch { throw .database("read devices", "\(error)") }
    }

    // MARK: Audit log

    /// Appends an audit record chained to the previous one: `hash = HMAC(key, previousHash | fields)` — HMAC-SHA-256
    /// or HMAC-SM3 as the suite says, the algorithm stored with the record — the key held beside the identity vault's. After the transaction commits, the chain's head is anchored outside the
    /// database (`audit.anchor`), so a cut tail or a re-chained log is caught. `detail` must already be masked (it
    /// is kept for years).
    @discardableResult
    public func appendAudit(actor: String, action: String, subject: String, detail: String = "",
                            at time: Date = Date()) throws(StoreError) -> AuditRecord {
        do {
            return try database.write { db in
                try self.appendAudit(db, actor: actor, action: action, subject: subject, detail: detail, at: time)
            }
        } catch { throw .database("append audit record", "\(error)") }
    }

    /// Appends an audit record inside a transaction the caller holds (so the record and what it records commit together).
    @discardableResult
    func appendAudit(_ db: Database, actor: String, action: String, subject: String, detail: String,
                     at time: Date) throws -> AuditRecord {
        let previous = try String.fetchOne(db, sql: "SELECT hash FROM audit ORDER BY sequence DESC LIMIT 1")
            ?? AuditRecord.genesisHash
        let sequence = (try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM audit") ?? 0) + 1
        var record = AuditRecord(sequence: sequence, time: time, actor: actor, action: action, subject: subject,
                                 detail: PersonalData.maskIDNumbers(inText: detail), previousHash: previous, hash: "", mac: keys.auditMAC)
        guard let hash = record.computedHash(keys: keys) else {
            throw StoreError.database("append audit record", "no key for \(record.mac.rawValue) (keys/)")
        }
        record.hash = hash
        try db.execute(sql: """
            INSERT INTO audit (sequence, time, actor, action, subject, detail, previousHash, hash, keyed, mac)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
            """, arguments: [record.sequence, AuditRecord.timeText(record.time), record.actor, record.action,
                             record.subject, record.detail, record.previousHash, record.hash, record.mac.rawValue])
        return record
    }

    /// Re-computes the chain and checks its head against the anchor. Any edited, inserted or removed record breaks
    /// it at that point; so does a chain re-computed without the key, records cut from its end, or an anchor that is
    /// missing or forged.
    public func verifyAudit() throws(StoreError) -> AuditVerification {
        let anchor: AuditAnchor?
        do { anchor = try AuditAnchor.read(from: "\(directory)/\(AuditAnchor.fileName)") } catch {
            return .broken(at: 0, reason: "the audit anchor \(directory)/\(AuditAnchor.fileName) is unreadable (\(error))")
        }
        do {
            return try database.read { db in
                var previous = AuditRecord.genesisHash
                var expectedSequence: Int64 = 1
                var count = 0
                var keyedSeen = false
                var hashes: [Int64: String] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY sequence") {
                    let record = AuditRecord(row: row)
                    if record.sequence != expectedSequence {
                        return .broken(at: expectedSequence, reason: "record \(expectedSequence) is missing")
                    }
                    if record.previousHash != previous {
                        return .broken(at: record.sequence, reason: "record \(record.sequence) does not follow record \(record.sequence - 1)")
                    }
                    if (keyedSeen || anchor != nil) && !record.keyed && record.sequence > (anchor?.sequence ?? 0) {
                        return .broken(at: record.sequence, reason: "record \(record.sequence) is not keyed (re-chained)")
                    }
                    if keyedSeen && !record.keyed {
                        return .broken(at: record.sequence, reason: "record \(record.sequence) is not keyed although records before it are (re-chained)")
                    }
                    keyedSeen = keyedSeen || record.keyed
                    guard let computed = record.computedHash(keys: keys) else {
                        return .broken(at: record.sequence, reason: "record \(record.sequence) is chained with \(record.mac.rawValue), and this counter has no key for it")
                    }
                    if computed != record.hash {
                        return .broken(at: record.sequence, reason: "record \(record.sequence) was altered")
                    }
                    if anchor?.sequence == record.sequence { hashes[record.sequence] = record.hash }
                    previous = record.hash
                    expectedSequence += 1
                    count += 1
                }
                guard let anchor else {
                    return count > 0 ? .broken(at: expectedSequence - 1, reason: "the audit anchor is missing (the log cannot be checked against its last known head)")
                        : .intact(records: count)
                }
                if let problem = anchor.authenticityProblem(keys: keys) {
                    return .broken(at: anchor.sequence, reason: "the audit anchor was not written by this counter (\(problem))")
                }
                if anchor.sequence >= expectedSequence {
                    return .broken(at: expectedSequence, reason: "records \(expectedSequence)…\(anchor.sequence) were cut from the end (the anchor names record \(anchor.sequence))")
                }
                if anchor.sequence > 0 && hashes[anchor.sequence] != anchor.hash {
                    return .broken(at: anchor.sequence, reason: "record \(anchor.sequence) is not the one anchored (the log was re-chained)")
                }
                return .intact(records: count)
            }
        } catch { throw .database("verify audit log", "\(error)") }
    }

    /// The newest audit records, newest first (for the CLI and the tests; the log itself is append-only).
    public func auditRecords(limit: Int = 100) throws(StoreError) -> [AuditRecord] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY sequence DESC LIMIT ?", arguments: [limit]).map(AuditRecord.init(row:))
            }
        } catch { throw .database("read audit log", "\(error)") }
    }

    /// Signs a manifest about to be delivered with the counter's SM2 key under `security.cryptoSuite: sm`; under
    /// `standard` it is left unsigned.
    public func sign(_ manifest: inout AttachmentManifest) throws(StoreError) {
        manifest.signature = nil
        guard let value = try keys.sign(manifest.signedStatement), let fingerprint = keys.signingKeyFingerprint else { return }
        manifest.signature = ManifestSignature(algorithm: "SM2-with-SM3", signerId: SM2.defaultSignerID, key: fingerprint,
                                               value: Data(value).base64EncodedString())
    }

    /// The anchored head of the audit chain, as delivered manifests carry it (`<sequence>:<mac>`); nil before the
    /// first record.
    public func auditHead() -> String? {
        (try? AuditAnchor.read(from: "\(directory)/\(AuditAnchor.fileName)"))??.summary
    }

    /// `verifyAudit()`, and then whether the log still holds the head the case core was last told of (`auditHead` of
    /// the newest manifest it received, `<sequence>:<mac>`). The anchor alone cannot show a log cut back to an older
    /// anchor put back in place; the case core's head can: its record must still be there, with the hash the MAC covers.
    public func verifyAudit(againstHead head: String) throws(StoreError) -> AuditVerification {
        let verification = try verifyAudit()
        guard case .intact = verification else { return verification }
        let parts = head.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let sequence = Int64(parts[0]), sequence >= 1 else {
            return .broken(at: 0, reason: "\(head) is not a head the case core received (<sequence>:<mac>)")
        }
        let hash: String?
        do { hash = try database.read { try String.fetchOne($0, sql: "SELECT hash FROM audit WHERE sequence = ?", arguments: [sequence]) } }
        catch { throw .database("verify audit log", "\(error)") }
        guard let hash else {
            return .broken(at: sequence, reason: "record \(sequence), which the case core was told of, is not in the log (cut back)")
        }
        let statement = AuditAnchor.statement(sequence: sequence, hash: hash)
        let matches = [AuditMAC.hmacSM3, .hmacSHA256].contains { keys.authenticationCode($0, for: statement) == parts[1] }
        return matches ? verification
            : .broken(at: sequence, reason: "record \(sequence) is not the one the case core was told of (the log was re-chained)")
    }
}

/// One audit-log record.
public struct AuditRecord: Sendable, Equatable, Codable {
    public var sequence: Int64
    public var time: Date
    public var actor: String
    public var action: String
    public var subject: String
    public var detail: String
    public var previousHash: String
    public var hash: String
    /// How `hash` was made: an HMAC under the counter's audit key (SHA-256 or SM3) for every record since the keyed
    /// chain began; plain SHA-256 for the first wave's records.
    public var mac: AuditMAC
    /// Whether `hash` is keyed (an HMAC).
    public var keyed: Bool { mac != .sha256 }

    static let genesisHash = String(repeating: "0", count: 64)

    init(sequence: Int64, time: Date, actor: String, action: String, subject: String, detail: String, previousHash: String,
         hash: String, mac: AuditMAC) {
        self.sequence = sequence
        self.time = time
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
        self.previousHash = previousHash
        self.hash = hash
        self.mac = mac
    }

    /// A record as the database holds it: `keyed` 0 is the first wave's plain SHA-256; a keyed record without a
    /// `mac` is HMAC-SHA-256 (before the suites).
    init(row: Row) {
        let keyed: Bool = row["keyed"] ?? false
        let mac: String? = row["mac"]
        self.init(sequence: row["sequence"], time: Self.time(fromText: row["time"]), actor: row["actor"], action: row["action"],
                  subject: row["subject"], detail: row["detail"], previousHash: row["previousHash"], hash: row["hash"],
                  mac: keyed ? (mac.flatMap(AuditMAC.init(rawValue:)) ?? .hmacSHA256) : .sha256)
    }

    static func timeText(_ time: Date) -> String {
        String(format: "%.6f", time.timeIntervalSince1970)
    }

    static func time(fromText text: String) -> Date {
        Date(timeIntervalSince1970: Double(text) ?? 0)
    }

    /// The hash this record should carry; nil when the counter has no key for its MAC.
    func computedHash(keys: CounterKeys) -> String? {
        let fields = [String(sequence), Self.timeText(time), actor, action, subject, detail, previousHash]
        // Length-prefixed so no field boundary can be shifted without changing the hash.
        let canonical = Data(fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|").utf8)
        return keys.authenticationCode(mac, for: canonical)
    }
}

/// The result of `Store.verifyAudit()`.
public enum AuditVerification: Sendable, Equatable {
    case intact(records: Int)
    case broken(at: Int64, reason: String)
}

/// A store failure: the storage call that failed, or the database operation with SQLite's message.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case storage(StorageError)
    case database(String, String)
    /// The change no longer applies: another request changed the same thing first (nothing was recorded).
    case conflict(String)

    public var description: String {
        switch self {
        case .storage(let error): error.description
        case .database(let operation, let message): "\(operation): \(message)"
        case .conflict(let what): what
        }
    }
}

extension StoreError: ProblemConvertible {
    public var problem: Problem {
        switch self {
        case .storage(let error): return error.problem
        case .conflict(let what):
            return Problem(code: "conflict", status: 409, title: "已被处理 Already done", detail: what,
                           remedy: "刷新后查看当前状态。Refresh to see where it stands now.")
        case .database(let operation, let message):
            if message.contains("SQLITE_FULL") || message.contains("database or disk is full") {
                return Problem(code: "disk-full", status: 507, title: "磁盘已满 Disk full", detail: "\(operation): \(message)",
                               remedy: "清理数据目录所在磁盘后重试；已保存的内容不受影响。Free space on the data disk and retry; what is already stored is intact.")
            }
            return Problem(code: "store-error", status: 500, title: "数据库错误 Database error", detail: "\(operation): \(message)",
                           remedy: "运行 tongban doctor 检查数据目录。Run tongban doctor to check the data folder.")
        }
    }
}
