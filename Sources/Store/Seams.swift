import Crypto
import Foundation
import GRDB
import Glibc
import TongbanCore

extension Store {
    /// Wave 2's store changes: the clerk's file name as a column (files are stored as `content`), keyed audit
    /// records, and the idempotency keys of state-changing requests.
    static func registerSeamMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-seams") { db in
            try db.execute(sql: "ALTER TABLE attachment ADD COLUMN fileName TEXT")
            try db.execute(sql: "ALTER TABLE audit ADD COLUMN keyed BOOLEAN NOT NULL DEFAULT 0")
            try db.create(table: "idempotency") { t in
                // Who asked and what for (credential, method, path), then the client's key.
                t.column("scope", .text).notNull()
                t.column("key", .text).notNull()
                t.column("fingerprint", .text).notNull()
                t.column("state", .text).notNull()
                t.column("status", .integer)
                t.column("contentType", .text)
                t.column("location", .text)
                t.column("body", .blob)
                t.column("createdAt", .datetime).notNull()
                t.primaryKey(["scope", "key"])
            }
            try db.create(index: "idempotency_createdAt", on: "idempotency", columns: ["createdAt"])
        }
    }
}

// MARK: Keys

/// A secret key kept in a 0600 file, made on first use.
public enum KeyFile {
    /// The key at `path`, creating it (and its 0700 folder) when there is none. A key file that exists but cannot be
    /// read, or is not `length` bytes, is an error — never replaced, which would make everything sealed or chained
    /// under it unreadable.
    public static func loadOrCreate(_ path: String, length: Int = 32) throws(StorageError) -> Data {
        if let existing = try load(path, length: length) { return existing }
        var generator = SystemRandomNumberGenerator()
        let fresh = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let kept = try createExclusively(fresh, at: path)
        guard kept.count == length else { throw StorageError(call: "read", path: path, errno: EINVAL) }
        return Data(kept)
    }

    /// The key at `path`, or nil when there is none (never made); a file that exists but cannot be read, or has
    /// another length, is an error.
    public static func load(_ path: String, length: Int = 32) throws(StorageError) -> Data? {
        guard let existing = try read(path) else { return nil }
        guard existing.count == length else { throw StorageError(call: "read", path: path, errno: EINVAL) }
        return Data(existing)
    }

    /// The bytes at `path`, or nil when there is no such file; an unreadable file is an error.
    public static func read(_ path: String) throws(StorageError) -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let bytes = FileManager.default.contents(atPath: path) else { throw StorageError(call: "open", path: path, errno: errno) }
        return Array(bytes)
    }

    /// Puts `bytes` at `path` unless a file is already there, durably, and returns what is at `path` afterwards: two
    /// processes making the same key at once (the service and `tongban doctor` on a first start) end with one key
    /// both use — written whole to a temporary file, then linked into place, which fails when the name exists.
    public static func createExclusively(_ bytes: [UInt8], at path: String) throws(StorageError) -> [UInt8] {
        let folder = (path as NSString).deletingLastPathComponent
        try DurableFile.prepareDirectory(folder)
        let temporary = "\(path).new-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try DurableFile.write(bytes, to: temporary, permissions: 0o600)
        defer { unlink(temporary) }
        if link(temporary, path) != 0 && errno != EEXIST { throw StorageError(call: "link", path: path, errno: errno) }
        try DurableFile.syncDirectory(folder)
        guard let kept = try read(path) else { throw StorageError(call: "open", path: path, errno: ENOENT) }
        return kept
    }
}

extension Data {
    /// Lower-case hex.
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}

// MARK: Audit anchor

/// The audit chain's head, kept outside the database: `<dataDir>/audit.anchor` holds the newest record's sequence
/// and hash with a MAC over both under the audit key (HMAC-SHA-256, or HMAC-SM3 under `sm`, named in `algorithm`)
/// and, under `sm`, the counter's SM2 signature over the same. Whoever can edit the database but not read the keys
/// cannot cut records from the end or re-chain the log without `verifyAudit` noticing; the signature lets anyone
/// holding the counter's public key check the head a manifest carries.
struct AuditAnchor: Codable, Equatable {
    static let fileName = "audit.anchor"
    var sequence: Int64
    var hash: String
    var mac: String
    /// How `mac` was made; absent in anchors written before the suites (HMAC-SHA-256).
    var algorithm: AuditMAC?
    /// The SM2 signature (base64 DER, signer id 1234567812345678) over the same statement as the MAC, under `sm`.
    var signature: String?

    static func make(sequence: Int64, hash: String, keys: CounterKeys) -> AuditAnchor? {
        let statement = Self.statement(sequence: sequence, hash: hash)
        guard let mac = keys.authenticationCode(keys.auditMAC, for: statement) else { return nil }
        let signature = try? keys.sign(Array(statement))
        if keys.suite == .sm && signature == nil { return nil }
        return AuditAnchor(sequence: sequence, hash: hash, mac: mac, algorithm: keys.auditMAC,
                           signature: signature.map { Data($0).base64EncodedString() })
    }

    static func statement(sequence: Int64, hash: String) -> Data {
        Data("tongban-audit-anchor|\(sequence)|\(hash)".utf8)
    }

    /// Why this anchor is not this counter's (its MAC or signature does not match, or it is an SM3 anchor without
    /// the signature `sm` always writes); nil when it is.
    func authenticityProblem(keys: CounterKeys) -> String? {
        let statement = Self.statement(sequence: sequence, hash: hash)
        let algorithm = algorithm ?? .hmacSHA256
        guard algorithm != .sha256 else { return "it is not keyed" }
        guard let expected = keys.authenticationCode(algorithm, for: statement) else {
            return "it is keyed with \(algorithm.rawValue), and this counter has no key for it"
        }
        guard expected == mac else { return "its MAC does not match" }
        if let signature {
            guard let bytes = Data(base64Encoded: signature), keys.isValidSignature(Array(bytes), for: Array(statement)) else {
                return "its SM2 signature does not match"
            }
        } else if algorithm == .hmacSM3 {
            return "its SM2 signature is missing"
        }
        return nil
    }

    /// What a delivered manifest carries: `<sequence>:<mac>`.
    var summary: String { "\(sequence):\(mac)" }

    /// The anchor at `path`; nil when there is none.
    static func read(from path: String) throws -> AuditAnchor? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw StorageError(call: "open", path: path, errno: errno) }
        return try JSONDecoder().decode(AuditAnchor.self, from: data)
    }
}

/// Writes the anchor after every transaction that appended audit records, once it has committed (GRDB calls the
/// observer on the writer's queue, so anchors are written in commit order). A crash between the commit and the
/// anchor leaves the anchor one transaction behind, which verification accepts: the anchored record is still there
/// with the anchored hash, and what follows chains onto it under the key.
final class AuditAnchorWriter: TransactionObserver, @unchecked Sendable {
    let path: String
    let keys: CounterKeys
    private var appended = false

    init(path: String, keys: CounterKeys) {
        self.path = path
        self.keys = keys
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        if case .insert(let table) = eventKind { return table == "audit" }
        return false
    }

    func databaseDidChange(with event: DatabaseEvent) {
        appended = true
    }

    func databaseDidCommit(_ db: Database) {
        guard appended else { return }
        appended = false
        anchorHead(db)
    }

    /// Writes the anchor for the chain's newest record (none while the log is empty).
    func anchorHead(_ db: Database) {
        guard let row = try? Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit ORDER BY sequence DESC LIMIT 1") else { return }
        guard let anchor = AuditAnchor.make(sequence: row["sequence"], hash: row["hash"], keys: keys),
              let json = try? JSONEncoder().encode(anchor) else { return }
        // A failed anchor write (disk full) is caught by the next verification as a lagging anchor, never as a pass.
        try? DurableFile.write(Array(json), to: path, permissions: 0o600)
    }

    func databaseDidRollback(_ db: Database) {
        appended = false
    }
}

// MARK: Idempotency keys

/// A response kept for an `Idempotency-Key`, answered again to a retry of the same request.
public struct IdempotentResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var location: String?
    public var body: [UInt8]

    public init(status: Int, contentType: String?, location: String?, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.location = location
        self.body = body
    }
}

/// What the store says when a request with an `Idempotency-Key` arrives.
public enum IdempotencyClaim: Sendable, Equatable {
    /// The key is new: go ahead, then `completeIdempotent` or `releaseIdempotent`.
    case claimed
    /// The same request was answered before: answer this again.
    case answered(IdempotentResponse)
    /// The same key is being served right now.
    case inProgress
    /// The service stopped while it served the same key: whether it was done is not known.
    case interrupted
    /// The key was used for a different request.
    case mismatch
}

extension Store {
    /// Claims `key` for a request (`fingerprint`: a digest of what the request asks) within `scope` (who asks, and
    /// which route), atomically: of two requests with the same key at the same moment exactly one is `claimed`.
    public func claimIdempotencyKey(scope: String, key: String, fingerprint: String, at time: Date = Date()) throws(StoreError) -> IdempotencyClaim {
        do {
            return try database.write { db in
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM idempotency WHERE scope = ? AND key = ?", arguments: [scope, key]) {
                    guard (row["fingerprint"] as String) == fingerprint else { return .mismatch }
                    switch row["state"] as String {
                    case "answered": break
                    case "interrupted": return .interrupted
                    default: return .inProgress
                    }
                    return .answered(IdempotentResponse(status: row["status"], contentType: row["contentType"],
                                                        location: row["location"], body: Array((row["body"] as Data?) ?? Data())))
                }
                try db.execute(sql: """
                    INSERT INTO idempotency (scope, key, fingerprint, state, createdAt) VALUES (?, ?, ?, 'running', ?)
                    """, arguments: [scope, key, fingerprint, time])
                return .claimed
            }
        } catch { throw .database("claim idempotency key", "\(error)") }
    }

    /// Keeps the response to a claimed key, for its retries.
    public func completeIdempotencyKey(scope: String, key: String, response: IdempotentResponse) throws(StoreError) {
        do {
            try database.write { db in
                try db.execute(sql: """
                    UPDATE idempotency SET state = 'answered', status = ?, contentType = ?, location = ?, body = ?
                    WHERE scope = ? AND key = ?
                    """, arguments: [response.status, response.contentType, response.location, Data(response.body), scope, key])
            }
        } catch { throw .database("keep idempotent response", "\(error)") }
    }

    /// Gives a claimed key back (the request failed and changed nothing): a retry with it runs again.
    public func releaseIdempotencyKey(scope: String, key: String) throws(StoreError) {
        do {
            try database.write { db in
                try db.execute(sql: "DELETE FROM idempotency WHERE scope = ? AND key = ? AND state = 'running'", arguments: [scope, key])
            }
        } catch { throw .database("release idempotency key", "\(error)") }
    }

    /// Forgets keys older than `cutoff` and — at start (`markRunningInterrupted`) — marks the claims a process that
    /// died left running as interrupted: their request may have been done before the answer was kept, so a retry is
    /// told so (409) rather than done a second time. Returns how many were forgotten.
    @discardableResult
    public func purgeIdempotencyKeys(before cutoff: Date, markRunningInterrupted: Bool = false) throws(StoreError) -> Int {
        do {
            return try database.write { db in
                try db.execute(sql: "DELETE FROM idempotency WHERE createdAt < ?", arguments: [cutoff])
                let count = db.changesCount
                if markRunningInterrupted {
                    try db.execute(sql: "UPDATE idempotency SET state = 'interrupted' WHERE state = 'running'")
                }
                return count
            }
        } catch { throw .database("purge idempotency keys", "\(error)") }
    }
}
