import Foundation
import GRDB
import TongbanCore

extension Store {
    /// A clerk can take back a wrong capture before it is delivered: the attachment is marked deleted (who, when,
    /// why), its delivery withdrawn, and it can be restored until the retention service purges it.
    static func registerDeletionMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-deletions") { db in
            try db.execute(sql: "ALTER TABLE attachment ADD COLUMN deletedAt DATETIME")
            try db.execute(sql: "ALTER TABLE attachment ADD COLUMN deletedBy TEXT")
            // The delivery state the deletion withdrew (pending, failed), given back by a restore.
            try db.execute(sql: "ALTER TABLE attachment ADD COLUMN deletedOutboxState TEXT")
        }
    }

    /// What deleting an attachment did.
    public struct AttachmentDeletion: Sendable {
        /// The attachment as it now is (its `deletedAt` set).
        public var manifest: AttachmentManifest
        /// The delivery the deletion withdrew (nil: it was deleted before, or nothing was waiting).
        public var withdrawn: OutboxEntry?
    }

    /// Marks an attachment deleted and withdraws its delivery, in one transaction with its audit record (naming
    /// `actor` and `reason`). Deleting a deleted attachment changes nothing. Returns nil when there is no such
    /// attachment; throws `.conflict` when it was delivered already (the case core has it: only the case system
    /// can take it back).
    public func deleteAttachment(id: String, actor: String, reason: String, at time: Date = Date()) throws(StoreError) -> AttachmentDeletion? {
        do {
            return try database.write { db -> AttachmentDeletion? in
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT attachment.*, outbox.state AS oState FROM attachment LEFT JOIN outbox ON outbox.attachmentId = attachment.id
                    WHERE attachment.id = ? AND attachment.purgedAt IS NULL
                    """, arguments: [id]) else { return nil }
                if (row["deletedAt"] as Date?) != nil { return AttachmentDeletion(manifest: Self.manifest(from: row), withdrawn: nil) }
                let state: String? = row["oState"]
                guard state != OutboxState.delivered.rawValue else { throw DeletionRefused() }
                let withdrawing = state == OutboxState.pending.rawValue || state == OutboxState.failed.rawValue
                let entry = withdrawing ? try Self.outboxEntry(db, attachmentId: id) : nil
                if withdrawing {
                    try db.execute(sql: "UPDATE outbox SET state = 'cancelled', nextAttemptAt = NULL WHERE attachmentId = ?", arguments: [id])
                }
                try db.execute(sql: "UPDATE attachment SET deletedAt = ?, deletedBy = ?, deletedOutboxState = ? WHERE id = ?",
                               arguments: [time, actor, withdrawing ? state : nil, id])
                try self.appendAudit(db, actor: actor, action: "attachment.delete", subject: id,
                                     detail: "case \(row["caseNumber"] as String) \(row["kind"] as String): \(reason)", at: time)
                guard let deleted = try Row.fetchOne(db, sql: "SELECT * FROM attachment WHERE id = ?", arguments: [id]) else { return nil }
                return AttachmentDeletion(manifest: Self.manifest(from: deleted), withdrawn: entry)
            }
        } catch is DeletionRefused {
            throw .conflict("attachment \(id) was delivered already")
        } catch { throw .database("delete attachment \(id)", "\(error)") }
    }

    /// Takes a deletion back: the attachment is listed again and the delivery it withdrew is as it was (waiting, due
    /// now; or failed, held until retried by hand). Restoring an
    /// attachment that is not deleted changes nothing. Nil when there is no such attachment (or it was purged).
    public func restoreAttachment(id: String, actor: String, at time: Date = Date()) throws(StoreError) -> AttachmentManifest? {
        do {
            return try database.write { db -> AttachmentManifest? in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM attachment WHERE id = ? AND purgedAt IS NULL",
                                                 arguments: [id]) else { return nil }
                if (row["deletedAt"] as Date?) != nil {
                    if let withdrawn = row["deletedOutboxState"] as String? {
                        // As it was: waiting (due now), or failed and held until retried by hand.
                        try db.execute(sql: """
                            UPDATE outbox SET state = ?, nextAttemptAt = NULL WHERE attachmentId = ? AND state = 'cancelled'
                            """, arguments: [withdrawn, id])
                    }
                    try db.execute(sql: "UPDATE attachment SET deletedAt = NULL, deletedBy = NULL, deletedOutboxState = NULL WHERE id = ?",
                                   arguments: [id])
                    try self.appendAudit(db, actor: actor, action: "attachment.restore", subject: id,
                                         detail: "case \(row["caseNumber"] as String) \(row["kind"] as String)", at: time)
                }
                return try Row.fetchOne(db, sql: "SELECT * FROM attachment WHERE id = ?", arguments: [id]).map(Self.manifest(from:))
            }
        } catch { throw .database("restore attachment \(id)", "\(error)") }
    }

    /// Purges attachments deleted before `cutoff`: marked purged (audited), their paths returned for the files to go.
    public func purgeDeletedAttachments(deletedBefore cutoff: Date, at time: Date = Date()) throws(StoreError) -> [String] {
        do {
            return try database.write { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT id, path, caseNumber, kind FROM attachment WHERE deletedAt IS NOT NULL AND deletedAt < ? AND purgedAt IS NULL
                    """, arguments: [cutoff])
                for row in rows {
                    let id: String = row["id"]
                    try db.execute(sql: "UPDATE attachment SET purgedAt = ? WHERE id = ?", arguments: [time, id])
                    try Self.purgeText(db, attachmentId: id)
                    try self.appendAudit(db, actor: "tongban", action: "purge", subject: id,
                                         detail: "\(row["kind"] as String) of case \(row["caseNumber"] as String) deleted by the clerk", at: time)
                }
                return rows.map { $0["path"] }
            }
        } catch { throw .database("purge deleted attachments", "\(error)") }
    }

    private struct DeletionRefused: Error {}
}
