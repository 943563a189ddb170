import Foundation
import GRDB
import TongbanCore

/// Where a video-assistance call is in its life.
public enum AssistState: String, Codable, Sendable, CaseIterable {
    /// The caller waits for the office to answer; the answering counters ring.
    case ringing
    /// Both sides publish and see each other.
    case connected
    /// Hung up by either side after it was connected (or withdrawn by the caller while ringing).
    case ended
    /// Nobody answered within the ring time; counted per office and month.
    case missed
    /// The answering counter declined it.
    case declined
    /// Janus, the network or the media failed; see `problem`.
    case failed

    public var isFinal: Bool { self != .ringing && self != .connected }
}

/// Which end of the call this counter is.
public enum AssistRole: String, Codable, Sendable {
    case caller
    case answerer
}

/// One call as stored (and as the API shows it).
public struct AssistCallRecord: Codable, Sendable, Equatable {
    public var id: String
    public var role: AssistRole
    /// The competent office called.
    public var office: String
    public var caseNumber: String
    /// The material in question.
    public var material: String?
    public var withDocumentCamera: Bool
    /// The calling counter and the answering one (when known).
    public var callerCounter: String
    public var answerCounter: String?
    public var state: AssistState
    public var startedAt: Date
    public var connectedAt: Date?
    public var endedAt: Date?
    /// `local`, `remote`, `timeout`, `janus`, `media`: who or what ended the call.
    public var endedBy: String?
    public var problem: Problem?
    /// The recording's attachment (kind `recording`) once the call ended.
    public var attachmentId: String?
    /// The VideoRoom and the other side's feed in it, for a page that shows the other side (console).
    public var room: String?
    public var remoteFeed: String?

    public init(id: String, role: AssistRole, office: String, caseNumber: String, material: String?, withDocumentCamera: Bool,
                callerCounter: String, answerCounter: String?, state: AssistState, startedAt: Date) {
        self.id = id
        self.role = role
        self.office = office
        self.caseNumber = caseNumber
        self.material = material
        self.withDocumentCamera = withDocumentCamera
        self.callerCounter = callerCounter
        self.answerCounter = answerCounter
        self.state = state
        self.startedAt = startedAt
    }

    /// Seconds from connect to end (0 when never connected).
    public var durationSeconds: Double {
        guard let connectedAt, let endedAt else { return 0 }
        return max(0, endedAt.timeIntervalSince(connectedAt))
    }
}

extension Store {
    static func registerAssistMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-assist") { db in
            try db.create(table: "assistCall") { t in
                t.primaryKey("id", .text)
                t.column("office", .text).notNull()
                t.column("role", .text).notNull()
                t.column("state", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("record", .text).notNull()
            }
            try db.create(index: "assistCall_office_month", on: "assistCall", columns: ["office", "state", "startedAt"])
        }
    }

    /// Records or updates a call; a new call and its end get audit records.
    /// Records a call's state; with `reminder` (the JSON body reporting a missed call), the reminder is stored in the same
    /// transaction — a missed call recorded always has its reminder, once.
    public func saveAssistCall(_ call: AssistCallRecord, reminder: String? = nil) throws(StoreError) {
        do {
            let json = String(decoding: try JSONEncoder.tongban.encode(call), as: UTF8.self)
            try database.write { db in
                if let reminder { try self.enqueueReminder(db, id: call.id, body: reminder, at: Date()) }
                let previous = try String.fetchOne(db, sql: "SELECT state FROM assistCall WHERE id = ?", arguments: [call.id])
                try db.execute(sql: """
                    INSERT INTO assistCall (id, office, role, state, startedAt, record) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET state = excluded.state, record = excluded.record
                    """, arguments: [call.id, call.office, call.role.rawValue, call.state.rawValue, call.startedAt, json])
                if previous == nil || (previous != call.state.rawValue && call.state.isFinal) {
                    try self.appendAudit(db, actor: call.callerCounter, action: "assist.\(call.state.rawValue)", subject: call.id,
                                         detail: "\(call.role.rawValue) · office \(call.office) · case \(call.caseNumber)",
                                         at: Date())
                }
            }
        } catch { throw .database("record assist call \(call.id)", "\(error)") }
    }

    public func assistCall(id: String) throws(StoreError) -> AssistCallRecord? {
        do {
            return try database.read { db in
                try String.fetchOne(db, sql: "SELECT record FROM assistCall WHERE id = ?", arguments: [id])
                    .map { try JSONDecoder.tongban.decode(AssistCallRecord.self, from: Data($0.utf8)) }
            }
        } catch { throw .database("read assist call \(id)", "\(error)") }
    }

    /// Calls, newest first.
    public func assistCalls(limit: Int = 100) throws(StoreError) -> [AssistCallRecord] {
        do {
            return try database.read { db in
                try String.fetchAll(db, sql: "SELECT record FROM assistCall ORDER BY startedAt DESC LIMIT ?", arguments: [limit])
                    .map { try JSONDecoder.tongban.decode(AssistCallRecord.self, from: Data($0.utf8)) }
            }
        } catch { throw .database("list assist calls", "\(error)") }
    }

    /// Missed calls per office since `start` (the month's first day).
    public func missedAssistCalls(since start: Date) throws(StoreError) -> [String: Int] {
        do {
            return try database.read { db in
                var counts: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: """
                    SELECT office, COUNT(*) AS missed FROM assistCall WHERE state = 'missed' AND startedAt >= ? GROUP BY office
                    """, arguments: [start]) {
                    counts[row["office"]] = row["missed"]
                }
                return counts
            }
        } catch { throw .database("count missed calls", "\(error)") }
    }
}
