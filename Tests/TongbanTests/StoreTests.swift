import Foundation
import GRDB
import Testing
@testable import Store
@testable import TongbanCore

@Suite struct StoreTests {
    @Test func opensInWALModeWithMigrationsApplied() throws {
        let store = try Store(directory: try makeTemporaryDirectory())
        #expect(try store.journalMode() == "wal")
        #expect(try store.appliedMigrations() == ["v1", "v2-identity", "v3-scans", "v4-prints", "v5-assist", "v6-seams", "v7-deletions", "v8-text", "v9-crypto-suite", "v10-reminders"])
        // Reopening applies nothing twice.
        let again = try Store(directory: store.directory)
        #expect(try again.appliedMigrations() == ["v1", "v2-identity", "v3-scans", "v4-prints", "v5-assist", "v6-seams", "v7-deletions", "v8-text", "v9-crypto-suite", "v10-reminders"])
    }

    @Test func durableWriteLeavesOnlyTheWholeFileWithPrivatePermissions() throws {
        let directory = try makeTemporaryDirectory()
        let path = "\(directory)/page-1.jpg"
        try DurableFile.write(Array("first".utf8), to: path)
        try DurableFile.write(Array("second version".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second version")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["page-1.jpg"])
    }

    @Test func durableWriteIntoMissingFolderNamesTheCall() throws {
        let error = #expect(throws: StorageError.self) {
            try DurableFile.write([1, 2, 3], to: "/nonexistent-\(UUID())/file")
        }
        #expect(error?.call == "open")
        #expect(error?.problem.code == "storage-error")
    }

    @Test func unwritableDataDirectoryIsAClearProblem() throws {
        // Root can write anywhere; a file in the way of the folder fails for every user.
        let directory = try makeTemporaryDirectory()
        let blocker = "\(directory)/not-a-folder"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data())
        let error = #expect(throws: StoreError.self) { try Store(directory: "\(blocker)/data") }
        #expect(error?.description.contains("not-a-folder") == true)
    }

    @Test func recordsDevicesWithFirstAndLastSeen() throws {
        let store = try Store(directory: try makeTemporaryDirectory())
        let device = Device(id: "sane:test:0", deviceClass: .scanner, model: "frontend-tester", transport: .sane)
        let first = Date(timeIntervalSince1970: 1_000)
        try store.recordDevices([device], at: first)
        try store.recordDevices([device], at: first.addingTimeInterval(60))
        let known = try store.knownDevices()
        #expect(known.count == 1)
        #expect(known[0].firstSeen == first)
        #expect(known[0].lastSeen == first.addingTimeInterval(60))
    }

    @Test func auditChainVerifiesAndMasksIDNumbers() throws {
        let store = try Store(directory: try makeTemporaryDirectory())
        for index in 1...5 {
            try store.appendAudit(actor: "clerk-\(index)", action: "idcard.reveal", subject: "record-\(index)",
                                  detail: "revealed 440203199001011234 for case 2026-\(index)")
        }
        #expect(try store.verifyAudit() == .intact(records: 5))
        let details = try store.database.read { try String.fetchAll($0, sql: "SELECT detail FROM audit") }
        #expect(details.allSatisfy { !$0.contains("440203199001011234") && $0.contains("440203********1234") })
    }

    @Test func auditLogRefusesUpdatesAndDeletes() throws {
        let store = try Store(directory: try makeTemporaryDirectory())
        try store.appendAudit(actor: "a", action: "b", subject: "c")
        #expect(throws: (any Error).self) {
            try store.database.write { try $0.execute(sql: "UPDATE audit SET actor = 'x'") }
        }
        #expect(throws: (any Error).self) {
            try store.database.write { try $0.execute(sql: "DELETE FROM audit") }
        }
    }

    @Test func auditVerificationFindsEditedAndRemovedRecords() throws {
        let store = try Store(directory: try makeTemporaryDirectory())
        for index in 1...4 { try store.appendAudit(actor: "clerk", action: "print", subject: "job-\(index)") }
        // Someone with the database file drops the guard and edits record 2.
        try store.database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete")
            try db.execute(sql: "UPDATE audit SET subject = 'job-forged' WHERE sequence = 2")
        }
        #expect(try store.verifyAudit() == .broken(at: 2, reason: "record 2 was altered"))
        try store.database.write { try $0.execute(sql: "UPDATE audit SET subject = 'job-2' WHERE sequence = 2") }
        #expect(try store.verifyAudit() == .intact(records: 4))
        try store.database.write { try $0.execute(sql: "DELETE FROM audit WHERE sequence = 3") }
        #expect(try store.verifyAudit() == .broken(at: 3, reason: "record 3 is missing"))
    }

    /// Finding (wave 2): the chain was unkeyed — deleting its last records, or rewriting and re-chaining it, passed
    /// verification. Now the records are HMACs under a key beside the vault's and the head is anchored outside
    /// the database.
    @Test func auditLogWithItsTailCutOrReChainedFailsVerification() throws {
        let directory = try makeTemporaryDirectory()
        var store = try Store(directory: directory)
        for index in 1...5 { try store.appendAudit(actor: "clerk", action: "print", subject: "job-\(index)") }
        #expect(try store.verifyAudit() == .intact(records: 5))
        try store.database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete")
            try db.execute(sql: "DELETE FROM audit WHERE sequence > 3")
        }
        guard case .broken(let at, let reason) = try store.verifyAudit() else {
            Issue.record("cutting the last two records passed verification")
            return
        }
        #expect(at == 4 && reason.contains("cut"), "\(reason)")

        // Re-chained: record 2 rewritten and every hash recomputed the way the first wave did (SHA-256, no key).
        let rechained = try makeTemporaryDirectory()
        store = try Store(directory: rechained)
        for index in 1...4 { try store.appendAudit(actor: "clerk", action: "print", subject: "job-\(index)") }
        try store.database.write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_update")
            var previous = AuditRecord.genesisHash
            for row in try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY sequence") {
                var record = AuditRecord(sequence: row["sequence"], time: AuditRecord.time(fromText: row["time"]), actor: row["actor"],
                                         action: row["action"], subject: row["sequence"] == 2 ? "job-forged" : row["subject"],
                                         detail: row["detail"], previousHash: previous, hash: "", mac: .sha256)
                record.hash = record.computedHash(keys: store.keys)!
                try db.execute(sql: "UPDATE audit SET subject = ?, previousHash = ?, hash = ?, keyed = 0 WHERE sequence = ?",
                               arguments: [record.subject, record.previousHash, record.hash, record.sequence])
                previous = record.hash
            }
        }
        guard case .broken = try store.verifyAudit() else {
            Issue.record("a re-chained log passed verification")
            return
        }
        // …and with the anchor deleted as well.
        try FileManager.default.removeItem(atPath: "\(rechained)/audit.anchor")
        guard case .broken(_, let missing) = try store.verifyAudit() else {
            Issue.record("a re-chained log without its anchor passed verification")
            return
        }
        #expect(missing.contains("anchor"))
        // The CLI says so too.
        let cli = try runBlocking(tongbanBinary, ["audit", "verify", "--data-dir", directory])
        #expect(cli.status == 1 && cli.standardError.contains("BROKEN"))
    }

    @Test func identityVaultSealsRecordsAndPurgesThem() throws {
        let store = try Store(directory: try makeTemporaryDirectory())
        let vault = try IdentityVault(store: store)
        let json = Data(#"{"name":"李华","idNumber":"11010519491231002X"}"#.utf8)
        let old = Date(timeIntervalSinceNow: -10 * 86_400)
        try vault.save(id: "r1", device: "sim:idcard", readAt: old, json: json)
        try vault.save(id: "r2", device: "sim:idcard", readAt: Date(), json: json)
        #expect(try vault.load(id: "r1") == json)
        // Nothing readable in the database file or its WAL.
        for file in try FileManager.default.contentsOfDirectory(atPath: store.directory) where file.hasPrefix("tongban.sqlite") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(store.directory)/\(file)"))
            #expect(bytes.range(of: Data("11010519491231002X".utf8)) == nil, "\(file) holds the number in clear")
            #expect(bytes.range(of: Data("李华".utf8)) == nil, "\(file) holds the name in clear")
        }
        let keyAttributes = try FileManager.default.attributesOfItem(atPath: "\(store.directory)/keys/identity.key")
        #expect((keyAttributes[.posixPermissions] as? Int) == 0o600)
        // The same key opens the records after a restart.
        #expect(try IdentityVault(store: Store(directory: store.directory)).load(id: "r2") == json)
        #expect(try vault.purge(readBefore: Date(timeIntervalSinceNow: -7 * 86_400)) == 1)
        #expect(try vault.load(id: "r1") == nil)
        #expect(try vault.count() == 1)
    }
}
