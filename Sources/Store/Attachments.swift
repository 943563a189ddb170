import Foundation
import GRDB
import TongbanCore

/// What an attachment is, for the case core and for retention.
public enum AttachmentKind: String, Codable, Sendable, CaseIterable {
    case scan, photo, idcard, notice, recording, other

    /// Identity items (card reads, ID-card photos) are encrypted at rest and purged soonest.
    public var holdsIdentity: Bool { self == .idcard || self == .photo }
}

/// Where an attachment's bytes are: a plain file, or a file sealed with the identity vault's key (`<name>.sealed`).
public struct AttachmentFile: Sendable, Equatable {
    public var path: String
    public var encrypted: Bool

    public init(path: String, encrypted: Bool) {
        self.path = path
        self.encrypted = encrypted
    }

    /// The suffix of sealed files.
    public static let sealedSuffix = ".sealed"
}

/// Everything the case core needs to know about one attachment; also written next to its file as `manifest.json`
/// and sent as tus `Upload-Metadata`.
public struct AttachmentManifest: Codable, Sendable, Equatable {
    /// UUID; the case core's dedupe key.
    public var attachmentId: String
    /// 受理编号.
    public var caseNumber: String
    /// The material's name as the clerk or the form calls it (e.g. 营业执照).
    public var materialName: String
    public var kind: AttachmentKind
    public var contentType: String
    /// Lower-case hex SHA-256 of the file.
    public var sha256: String
    public var size: Int
    public var pages: Int?
    public var device: String?
    public var counterId: String
    public var `operator`: String?
    public var capturedAt: Date
    public var retentionClass: String
    public var fileName: String
    /// The audit log's anchored head when the attachment was delivered (`<sequence>:<mac>`): the case core keeps
    /// proof of how far this counter's log reached, so a log cut or re-chained later shows.
    public var auditHead: String?
    /// Set in the local archive's manifest when the file there is sealed (identity kinds): it opens only with this
    /// counter's key, through `tongban archive export`.
    public var sealed: Bool?
    /// When the clerk deleted it (a wrong capture): no longer listed or delivered, restorable until purged.
    public var deletedAt: Date?
    /// The QR codes and barcodes found on its pages (the case number on a form, for the case core to check).
    public var barcodes: [AttachmentBarcode]?
    /// The counter's SM2 signature over `signedStatement`, set when it is delivered under `security.cryptoSuite: sm`.
    public var signature: ManifestSignature?

    public init(attachmentId: String, caseNumber: String, materialName: String, kind: AttachmentKind, contentType: String,
                sha256: String, size: Int, pages: Int?, device: String?, counterId: String, operator: String?,
                capturedAt: Date, retentionClass: String, fileName: String) {
        self.attachmentId = attachmentId
        self.caseNumber = caseNumber
        self.materialName = materialName
        self.kind = kind
        self.contentType = contentType
        self.sha256 = sha256
        self.size = size
        self.pages = pages
        self.device = device
        self.counterId = counterId
        self.operator = `operator`
        self.capturedAt = capturedAt
        self.retentionClass = retentionClass
        self.fileName = fileName
    }
}

extension AttachmentManifest {
    /// The manifest as the case core receives it in tus `Upload-Metadata` (and the statement a signature covers);
    /// `filename` is the attachment id plus the file name, so the receiver can dedupe.
    public var metadataPairs: [(String, String)] {
        var pairs: [(String, String)] = [
            ("filename", "\(attachmentId)-\(fileName)"),
            ("attachmentId", attachmentId), ("caseNumber", caseNumber),
            ("materialName", materialName), ("kind", kind.rawValue),
            ("contentType", contentType), ("filetype", contentType), ("sha256", sha256),
            ("counterId", counterId), ("capturedAt", ISO8601DateFormatter().string(from: capturedAt)),
            ("retentionClass", retentionClass),
        ]
        if let pages { pairs.append(("pages", "\(pages)")) }
        if let device { pairs.append(("device", device)) }
        if let person = `operator` { pairs.append(("operator", person)) }
        if let auditHead { pairs.append(("auditHead", auditHead)) }
        pairs.append(("size", "\(size)"))
        if let barcodes, !barcodes.isEmpty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let json = try? encoder.encode(barcodes) { pairs.append(("barcodes", String(decoding: json, as: UTF8.self))) }
        }
        return pairs
    }

    /// What the counter signs: `tongban-manifest-v1\n`, then every pair of `metadataPairs` sorted by key, each as
    /// `key TAB byte-length-of-value TAB value LF` (UTF-8), so no value can shift a boundary. A receiver rebuilds it from
    /// the tus `Upload-Metadata` it got — every key except those starting with `signature` — and checks the signature
    /// with the counter's SM2 public key (`tongban crypto public-key`) under signer id `1234567812345678`.
    public var signedStatement: [UInt8] {
        var text = "tongban-manifest-v1\n"
        for (key, value) in metadataPairs.sorted(by: { $0.0 < $1.0 }) { text += "\(key)\t\(value.utf8.count)\t\(value)\n" }
        return Array(text.utf8)
    }
}

/// A counter's signature over a delivered manifest (`AttachmentManifest.signedStatement`).
public struct ManifestSignature: Codable, Sendable, Equatable {
    /// `SM2-with-SM3`.
    public var algorithm: String
    /// The distinguishing id in SM2's Z value: `1234567812345678`.
    public var signerId: String
    /// The SM3 fingerprint (hex) of the counter's public key (its DER SubjectPublicKeyInfo).
    public var key: String
    /// The signature, base64 of its DER `ECDSA-Sig-Value`.
    public var value: String

    /// The signature as tus metadata pairs: every key starts with `signature`, the statement holds none of them.
    public var metadataPairs: [(String, String)] {
        [("signature", value), ("signatureAlgorithm", algorithm), ("signatureSignerId", signerId), ("signatureKey", key)]
    }
}

/// What a new attachment completes, recorded in the same transaction as the attachment itself.
public enum AttachmentCompletion: Sendable, Equatable {
    /// The scan batch whose PDF the attachment is: finished with it, exactly once.
    case scanBatch(id: String)
}

/// Where an attachment stands on its way to the case core.
public enum OutboxState: String, Codable, Sendable {
    /// Waiting for its (next) attempt.
    case pending
    /// Delivered: the case core holds it whole.
    case delivered
    /// Refused by the case core in a way retrying cannot fix; waits for a clerk's or engineer's retry.
    case failed
    /// Withdrawn before delivery (captured by mistake); a retry queues it again.
    case cancelled
}

/// One attachment's delivery record.
public struct OutboxEntry: Codable, Sendable, Equatable {
    public var attachmentId: String
    public var caseNumber: String
    public var state: OutboxState
    public var attempts: Int
    /// The tus upload's URL, kept from the moment the case core creates it, so a restart resumes it.
    public var uploadURL: String?
    /// Bytes the case core has confirmed.
    public var offset: Int
    public var size: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?
}

extension Store {
    /// An attachment ready to be recorded: its manifest, where its durable file is, and the text recognised on it.
    public struct NewAttachment: Sendable {
        /// What the attachment is (its id, case, material, digest, …).
        public var manifest: AttachmentManifest
        /// Its durable file, already written and synced.
        public var file: AttachmentFile
        /// The text recognised on its pages, for search (never kept for identity kinds).
        public var text: String?

        /// An attachment to record.
        public init(manifest: AttachmentManifest, file: AttachmentFile, text: String? = nil) {
            self.manifest = manifest
            self.file = file
            self.text = text
        }
    }

    /// Records an attachment whose file is already durable at `path`, and queues it for delivery — one transaction,
    /// with its audit record and what the attachment completes. Only after this returns may the capture be
    /// acknowledged. Throws `StoreError.conflict` (and records nothing) when `completion` no longer applies — a batch
    /// another request finished first.
    /// - Parameter deliverAfter: the first delivery attempt's time (nil: at once).
    /// - Parameter text: the text recognised on it, kept for search and `GET /v1/attachments/{id}/text`.
    public func addAttachment(_ manifest: AttachmentManifest, file: AttachmentFile, actor: String, at time: Date = Date(),
                              completing completion: AttachmentCompletion? = nil, deliverAfter: Date? = nil,
                              text: String? = nil) throws(StoreError) {
        try addAttachments([NewAttachment(manifest: manifest, file: file, text: text)], actor: actor, at: time, completing: completion,
                           deliverAfter: deliverAfter)
    }

    /// Records several attachments — the materials of one batch split by separator sheets — and what they complete
    /// in one transaction: all of them, or none.
    public func addAttachments(_ attachments: [NewAttachment], actor: String, at time: Date = Date(),
                               completing completion: AttachmentCompletion? = nil, deliverAfter: Date? = nil) throws(StoreError) {
        guard let first = attachments.first else { return }
        do {
            try database.write { db in
                for attachment in attachments {
                    let manifest = attachment.manifest, file = attachment.file
                    try db.execute(sql: """
                        INSERT INTO attachment (id, caseNumber, materialName, kind, contentType, sha256, size, pages, device,
                          counterId, operator, capturedAt, retentionClass, path, encrypted, fileName, barcodes)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [manifest.attachmentId, manifest.caseNumber, manifest.materialName, manifest.kind.rawValue,
                                         manifest.contentType, manifest.sha256, manifest.size, manifest.pages, manifest.device,
                                         manifest.counterId, manifest.operator, manifest.capturedAt, manifest.retentionClass,
                                         file.path, file.encrypted, manifest.fileName, Self.encodeBarcodes(manifest.barcodes)])
                    // Identity items never keep text (the intake gives none; the store holds to it as well).
                    if !manifest.kind.holdsIdentity {
                        try Self.insertText(db, attachmentId: manifest.attachmentId, caseNumber: manifest.caseNumber, text: attachment.text)
                    }
                    try db.execute(sql: "INSERT INTO outbox (attachmentId, state, createdAt, nextAttemptAt) VALUES (?, 'pending', ?, ?)",
                                   arguments: [manifest.attachmentId, time, deliverAfter])
                    try self.appendAudit(db, actor: actor, action: "capture", subject: manifest.attachmentId,
                                         detail: "case \(manifest.caseNumber) \(manifest.kind.rawValue) \(manifest.size) bytes sha256 \(manifest.sha256)",
                                         at: time)
                }
                switch completion {
                case nil: break
                case .scanBatch(let scanId):
                    let ids = attachments.map(\.manifest.attachmentId)
                    let idList = String(decoding: try JSONEncoder().encode(ids), as: UTF8.self)
                    // Only a batch that is still open can be finished: a second finish, however it raced, changes nothing.
                    try db.execute(sql: """
                        UPDATE scan SET state = 'finished', attachmentId = ?, attachmentIds = ?, problem = NULL, updatedAt = ?
                        WHERE id = ? AND state IN ('ready', 'interrupted')
                        """, arguments: [first.manifest.attachmentId, idList, time, scanId])
                    guard db.changesCount == 1 else { throw CompletionRefused(what: "scan batch \(scanId) is no longer open") }
                    try self.appendAudit(db, actor: actor, action: "scan-finish", subject: scanId,
                                         detail: "attachment\(ids.count == 1 ? "" : "s") \(ids.joined(separator: " "))", at: time)
                }
            }
        } catch let refused as CompletionRefused {
            throw .conflict(refused.what)
        } catch { throw .database("record attachment \(first.manifest.attachmentId)", "\(error)") }
    }

    private struct CompletionRefused: Error { var what: String }

    /// Of `ids`, those that name an attachment on record and not purged (the sweep at start removes the folders of
    /// the others: they were never acknowledged, or are past their retention).
    public func liveAttachmentIDs(among ids: Set<String>) throws(StoreError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        do {
            return try database.read { db in
                var live: Set<String> = []
                for id in ids where try Bool.fetchOne(db, sql: "SELECT 1 FROM attachment WHERE id = ? AND purgedAt IS NULL",
                                                      arguments: [id]) == true {
                    live.insert(id)
                }
                return live
            }
        } catch { throw .database("read attachment ids", "\(error)") }
    }

    /// One attachment's manifest and file.
    public func attachment(id: String) throws(StoreError) -> (manifest: AttachmentManifest, file: AttachmentFile)? {
        do {
            return try database.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM attachment WHERE id = ? AND purgedAt IS NULL", arguments: [id])
                    .map { (Self.manifest(from: $0), AttachmentFile(path: $0["path"], encrypted: $0["encrypted"])) }
            }
        } catch { throw .database("read attachment \(id)", "\(error)") }
    }

    /// Attachments, newest first, optionally of one case, with their delivery state; deleted ones are left out.
    public func attachments(caseNumber: String? = nil, limit: Int = 500) throws(StoreError) -> [(manifest: AttachmentManifest, delivery: OutboxEntry?)] {
        do {
            return try database.read { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT attachment.*, outbox.state AS oState, outbox.attempts, outbox.uploadURL, outbox.offset,
                      outbox.nextAttemptAt, outbox.lastError, outbox.createdAt, outbox.deliveredAt
                    FROM attachment LEFT JOIN outbox ON outbox.attachmentId = attachment.id
                    WHERE attachment.purgedAt IS NULL AND attachment.deletedAt IS NULL AND (? IS NULL OR attachment.caseNumber = ?)
                    ORDER BY attachment.capturedAt DESC LIMIT ?
                    """, arguments: [caseNumber, caseNumber, limit])
                return rows.map { row in
                    let manifest = Self.manifest(from: row)
                    let entry = (row["oState"] as String?).map { _ in Self.outboxEntry(from: row, manifest: manifest) }
                    return (manifest, entry)
                }
            }
        } catch { throw .database("list attachments", "\(error)") }
    }

    /// Delivery records, oldest first; `undeliveredOnly` leaves out the delivered ones.
    public func outbox(undeliveredOnly: Bool = false, limit: Int = 1000) throws(StoreError) -> [OutboxEntry] {
        try outboxEntries(where: undeliveredOnly ? "outbox.state IN ('pending', 'failed')" : "1", arguments: [], limit: limit)
    }

    /// Pending entries whose next attempt is due at `now`, oldest first.
    public func dueOutboxEntries(now: Date, limit: Int) throws(StoreError) -> [OutboxEntry] {
        try outboxEntries(where: "outbox.state = 'pending' AND (outbox.nextAttemptAt IS NULL OR outbox.nextAttemptAt <= ?) "
                            + "AND attachment.deletedAt IS NULL", arguments: [now], limit: limit)
    }

    /// How many attachments wait for delivery (pending or failed) and since when the oldest waits.
    public func outboxBacklog() throws(StoreError) -> (undelivered: Int, oldest: Date?) {
        do {
            return try database.read { db in
                let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MIN(createdAt) AS oldest FROM outbox WHERE state IN ('pending', 'failed')")
                return (row?["n"] ?? 0, row?["oldest"])
            }
        } catch { throw .database("read outbox", "\(error)") }
    }

    /// When the earliest pending entry is due (nil: nothing pending).
    public func nextOutboxAttempt() throws(StoreError) -> Date? {
        do {
            return try database.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT MIN(COALESCE(nextAttemptAt, createdAt)) AS due, COUNT(*) AS n FROM outbox WHERE state = 'pending'
                    """).flatMap { row in (row["n"] as Int) > 0 ? row["due"] as Date? : nil }
            }
        } catch { throw .database("read outbox", "\(error)") }
    }

    /// Keeps the upload URL the moment the case core answers the creation request.
    public func recordUpload(attachmentId: String, url: String?, offset: Int) throws(StoreError) {
        do {
            try database.write { db in
                try db.execute(sql: "UPDATE outbox SET uploadURL = ?, offset = ? WHERE attachmentId = ?",
                               arguments: [url, offset, attachmentId])
            }
        } catch { throw .database("record upload of \(attachmentId)", "\(error)") }
    }

    /// Keeps the offset the case core confirmed.
    public func recordOffset(attachmentId: String, offset: Int) throws(StoreError) {
        do {
            try database.write { db in
                try db.execute(sql: "UPDATE outbox SET offset = ? WHERE attachmentId = ?", arguments: [offset, attachmentId])
            }
        } catch { throw .database("record offset of \(attachmentId)", "\(error)") }
    }

    /// Marks an attachment delivered, with its audit record.
    public func markDelivered(attachmentId: String, receipt: String, at time: Date = Date()) throws(StoreError) {
        do {
            try database.write { db in
                try db.execute(sql: """
                    UPDATE outbox SET state = 'delivered', deliveredAt = ?, lastError = NULL, nextAttemptAt = NULL,
                      offset = (SELECT size FROM attachment WHERE id = ?)
                    WHERE attachmentId = ?
                    """, arguments: [time, attachmentId, attachmentId])
                try self.appendAudit(db, actor: "tongban", action: "deliver", subject: attachmentId, detail: receipt, at: time)
            }
        } catch { throw .database("mark \(attachmentId) delivered", "\(error)") }
    }

    /// Records a failed attempt: retried at `nextAttempt`, or, when `permanent`, held until retried by hand.
    public func recordFailure(attachmentId: String, error message: String, nextAttempt: Date?, permanent: Bool) throws(StoreError) {
        do {
            try database.write { db in
                try db.execute(sql: """
                    UPDATE outbox SET attempts = attempts + 1, lastError = ?, nextAttemptAt = ?, state = ?
                    WHERE attachmentId = ? AND state IN ('pending', 'failed')
                    """, arguments: [message, nextAttempt, permanent ? "failed" : "pending", attachmentId])
            }
        } catch { throw .database("record failure of \(attachmentId)", "\(error)") }
    }

    /// Makes a failed or waiting entry due now; false when there is no such undelivered entry.
    public func retryNow(attachmentId: String, actor: String) throws(StoreError) -> Bool {
        do {
            return try database.write { db in
                try db.execute(sql: """
                    UPDATE outbox SET state = 'pending', nextAttemptAt = NULL WHERE attachmentId = ? AND state != 'delivered'
                      AND (SELECT deletedAt FROM attachment WHERE id = ?) IS NULL
                    """, arguments: [attachmentId, attachmentId])
                guard db.changesCount > 0 else { return false }
                try self.appendAudit(db, actor: actor, action: "retry-delivery", subject: attachmentId, detail: "", at: Date())
                return true
            }
        } catch { throw .database("retry \(attachmentId)", "\(error)") }
    }

    /// Purges delivered attachments past their retention: their records are marked purged (with an audit record
    /// each) and the paths to delete are returned. Undelivered attachments are never purged, whatever their age.
    /// - Parameter cutoffs: per kind, attachments captured before this are due.
    public func purgeDeliveredAttachments(capturedBefore cutoffs: [AttachmentKind: Date], at time: Date = Date()) throws(StoreError) -> [String] {
        do {
            return try database.write { db in
                var paths: [String] = []
                for (kind, cutoff) in cutoffs {
                    let rows = try Row.fetchAll(db, sql: """
                        SELECT attachment.id, attachment.path, attachment.caseNumber FROM attachment
                        JOIN outbox ON outbox.attachmentId = attachment.id
                        WHERE attachment.kind = ? AND attachment.capturedAt < ? AND attachment.purgedAt IS NULL
                          AND outbox.state = 'delivered'
                        """, arguments: [kind.rawValue, cutoff])
                    for row in rows {
                        let id: String = row["id"]
                        try db.execute(sql: "UPDATE attachment SET purgedAt = ? WHERE id = ?", arguments: [time, id])
                        try Self.purgeText(db, attachmentId: id)
                        try self.appendAudit(db, actor: "tongban", action: "purge", subject: id,
                                             detail: "\(kind.rawValue) of case \(row["caseNumber"] as String) past retention", at: time)
                        paths.append(row["path"])
                    }
                }
                return paths
            }
        } catch { throw .database("purge attachments", "\(error)") }
    }

    /// Withdraws an undelivered attachment from delivery; returns its entry as it was (nil: nothing to cancel).
    public func cancelDelivery(attachmentId: String, actor: String) throws(StoreError) -> OutboxEntry? {
        let entry = try outboxEntries(where: "outbox.attachmentId = ? AND outbox.state IN ('pending', 'failed')",
                                      arguments: [attachmentId], limit: 1).first
        guard entry != nil else { return nil }
        do {
            try database.write { db in
                try db.execute(sql: "UPDATE outbox SET state = 'cancelled', nextAttemptAt = NULL WHERE attachmentId = ?",
                               arguments: [attachmentId])
                try self.appendAudit(db, actor: actor, action: "cancel-delivery", subject: attachmentId, detail: "", at: Date())
            }
        } catch { throw .database("cancel \(attachmentId)", "\(error)") }
        return entry
    }

    private func outboxEntries(where condition: String, arguments: StatementArguments, limit: Int) throws(StoreError) -> [OutboxEntry] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT outbox.*, outbox.state AS oState, attachment.caseNumber, attachment.size
                    FROM outbox JOIN attachment ON attachment.id = outbox.attachmentId
                    WHERE \(condition) ORDER BY outbox.createdAt, outbox.attachmentId LIMIT \(limit)
                    """, arguments: arguments).map { row in
                    Self.outboxEntry(from: row, attachmentId: row["attachmentId"], caseNumber: row["caseNumber"], size: row["size"])
                }
            }
        } catch { throw .database("read outbox", "\(error)") }
    }

    private static func outboxEntry(from row: Row, manifest: AttachmentManifest) -> OutboxEntry {
        outboxEntry(from: row, attachmentId: manifest.attachmentId, caseNumber: manifest.caseNumber, size: manifest.size)
    }

    private static func outboxEntry(from row: Row, attachmentId: String, caseNumber: String, size: Int) -> OutboxEntry {
        OutboxEntry(attachmentId: attachmentId, caseNumber: caseNumber,
                    state: OutboxState(rawValue: row["oState"]) ?? .pending, attempts: row["attempts"],
                    uploadURL: row["uploadURL"], offset: row["offset"], size: size, nextAttemptAt: row["nextAttemptAt"],
                    lastError: row["lastError"], createdAt: row["createdAt"], deliveredAt: row["deliveredAt"])
    }

    static func manifest(from row: Row) -> AttachmentManifest {
        var path: String = row["path"]
        if (row["encrypted"] as Bool?) == true, path.hasSuffix(AttachmentFile.sealedSuffix) {
            path.removeLast(AttachmentFile.sealedSuffix.count)
        }
        // Since v6 the clerk's file name is a column of its own (the file is stored as `content`); before, it was the path's last part.
        let fileName: String = (row["fileName"] as String?) ?? (path as NSString).lastPathComponent
        var manifest = AttachmentManifest(
            attachmentId: row["id"], caseNumber: row["caseNumber"], materialName: row["materialName"],
            kind: AttachmentKind(rawValue: row["kind"]) ?? .other, contentType: row["contentType"], sha256: row["sha256"],
            size: row["size"], pages: row["pages"], device: row["device"], counterId: row["counterId"],
            operator: row["operator"], capturedAt: row["capturedAt"], retentionClass: row["retentionClass"],
            fileName: fileName)
        manifest.deletedAt = row["deletedAt"]
        manifest.barcodes = decodeBarcodes(row["barcodes"])
        return manifest
    }

    /// One attachment's delivery record.
    static func outboxEntry(_ db: Database, attachmentId: String) throws -> OutboxEntry? {
        try Row.fetchOne(db, sql: """
            SELECT outbox.*, outbox.state AS oState, attachment.caseNumber, attachment.size
            FROM outbox JOIN attachment ON attachment.id = outbox.attachmentId WHERE outbox.attachmentId = ?
            """, arguments: [attachmentId]).map { row in
            outboxEntry(from: row, attachmentId: row["attachmentId"], caseNumber: row["caseNumber"], size: row["size"])
        }
    }
}
