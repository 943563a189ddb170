import Foundation
import GRDB
import TongbanCore

/// Where a message to a hall's gateway stands (the city SMS gateway's missed-call reminder, seed 003 art. 18): stored
/// in the same transaction as what it reports, sent to the configured gateway until it takes it, one per subject (the
/// id is the idempotency key the gateway sees). Its body (a case number) is read only by the sender.
public struct Reminder: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Waiting for its (next) attempt.
        case pending
        /// The gateway took it (2xx).
        case sent
        /// Refused by the gateway in a way retrying cannot fix (4xx); kept for the engineer.
        case failed
    }

    /// The subject's id (the missed call's): the gateway's `Idempotency-Key`.
    public var id: String
    public var state: State
    public var attempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date?
    public var sentAt: Date?
    public var lastError: String?
}

extension Store {
    static func registerReminderMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v10-reminders") { db in
            try db.create(table: "reminder") { t in
                t.primaryKey("id", .text)
                t.column("body", .text).notNull()
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("createdAt", .datetime).notNull()
                t.column("nextAttemptAt", .datetime)
                t.column("sentAt", .datetime)
                t.column("lastError", .text)
            }
        }
    }

    /// Stores a reminder inside the caller's transaction; a second one for the same id is ignored (once per subject).
    func enqueueReminder(_ db: Database, id: String, body: String, at time: Date) throws {
        try db.execute(sql: """
            INSERT OR IGNORE INTO reminder (id, body, state, attempts, createdAt, nextAttemptAt) VALUES (?, ?, 'pending', 0, ?, ?)
            """, arguments: [id, body, time, time])
    }

    /// Reminders whose next attempt is due, oldest first, each with the body to send.
    public func dueReminders(now: Date = Date(), limit: Int = 20) throws(StoreError) -> [(reminder: Reminder, body: String)] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT * FROM reminder WHERE state = 'pending' AND nextAttemptAt <= ? ORDER BY createdAt LIMIT ?
                    """, arguments: [now, limit]).map { (Self.reminder(row: $0), $0["body"]) }
            }
        } catch { throw .database("read due reminders", "\(error)") }
    }

    /// The newest reminders, for the overview.
    public func reminders(limit: Int = 20) throws(StoreError) -> [Reminder] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM reminder ORDER BY createdAt DESC LIMIT ?", arguments: [limit]).map(Self.reminder(row:))
            }
        } catch { throw .database("list reminders", "\(error)") }
    }

    /// The gateway took it.
    public func reminderSent(id: String, at time: Date = Date()) throws(StoreError) {
        do {
            try database.write { db in
                try db.execute(sql: "UPDATE reminder SET state = 'sent', sentAt = ?, attempts = attempts + 1, nextAttemptAt = NULL, lastError = NULL WHERE id = ?",
                               arguments: [time, id])
                try self.appendAudit(db, actor: "tongban", action: "reminder.sent", subject: id, detail: "", at: time)
            }
        } catch { throw .database("record reminder \(id) sent", "\(error)") }
    }

    /// An attempt failed: tried again at `next`, or never (`next` nil: the gateway refused it for good).
    public func reminderFailed(id: String, error: String, next: Date?) throws(StoreError) {
        do {
            try database.write { db in
                try db.execute(sql: "UPDATE reminder SET state = ?, attempts = attempts + 1, nextAttemptAt = ?, lastError = ? WHERE id = ?",
                               arguments: [next == nil ? "failed" : "pending", next, error, id])
            }
        } catch { throw .database("record reminder \(id) failed", "\(error)") }
    }

    static func reminder(row: Row) -> Reminder {
        Reminder(id: row["id"], state: Reminder.State(rawValue: row["state"]) ?? .pending,
                 attempts: row["attempts"], createdAt: row["createdAt"], nextAttemptAt: row["nextAttemptAt"], sentAt: row["sentAt"],
                 lastError: row["lastError"])
    }
}
