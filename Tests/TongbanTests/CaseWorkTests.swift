import Delivery
import Foundation
import Logging
import Store
import Testing

/// Wave 2 · 2/8, the service's side of a clerk's case (`tongban serve`, curl): a wrong capture is deleted with its
/// reason audited and can be taken back until purged, but never once the case system has it; every attachment has a
/// small picture where it holds one; a form's invalid fields come back one by one, for the console to mark; a reason
/// typed with spaces keeps its spaces whatever the page's encoding.
@Suite(.serialized) struct CaseWorkTests {
    typealias Service = SeamTests.Service

    /// The picture of a page on a desk the simulated document camera shows: a real JPEG.
    static let desk = "\(packageRoot)/Config/camera/1-document.jpg"

    /// Finding: a wrong capture could not be deleted; the console's only way out was withdrawing its delivery, which
    /// kept it on the case's list.
    @Test func aWrongCaptureIsDeletedWithItsReasonAuditedAndCanBeTakenBack() async throws {
        let directory = try makeTemporaryDirectory()
        // A case core that never answers: the attachments wait for delivery.
        let service = try await Service.start(data: "\(directory)/data", environment: ["TONGBAN_CASE_CORE_URL": "http://127.0.0.1:9/files"])
        defer { service.killIfRunning() }
        let stored = try await service.upload(Self.desk, query: "case=TB-DEL&material=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7&kind=scan&fileName=page.jpg")
        #expect(stored.status == 201, "\(stored.body)")
        let id = try #require(stored.json["attachmentId"] as? String)

        // A thumbnail: a JPEG no larger than 320 px.
        let thumbnail = "\(directory)/thumbnail.jpg"
        let small = try await service.call("GET", "/v1/attachments/\(id)/thumbnail", extra: ["-o", thumbnail])
        #expect(small.status == 200 && small.headers.lowercased().contains("content-type: image/jpeg"), "\(small.headers)")
        let size = try await run("/usr/bin/python3", ["-c", "import struct,sys;d=open(sys.argv[1],'rb').read();i=2\nwhile d[i+1] not in (0xC0,0xC1,0xC2): i+=2+struct.unpack('>H',d[i+2:i+4])[0]\nprint(*struct.unpack('>HH',d[i+5:i+9]))", thumbnail]).standardOutput
        let sides = size.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(sides.count == 2 && sides.allSatisfy { $0 > 50 && $0 <= 320 }, "thumbnail height width: \(size)")

        // An identity item's thumbnail is personal data: no credential, no picture (and the one shown is audited).
        let card = try await service.upload(Self.desk, query: "case=TB-DEL&material=card&kind=idcard&fileName=card.jpg")
        let cardID = try #require(card.json["attachmentId"] as? String)
        let anonymous = try await service.call("GET", "/v1/attachments/\(cardID)/thumbnail", headers: [], extra: ["-o", "/dev/null"])
        #expect(anonymous.status == 401, "\(anonymous.headers)")
        #expect(try await service.call("GET", "/v1/attachments/\(cardID)/thumbnail", extra: ["-o", "/dev/null"]).status == 200)
        // A query whose percent-encoding is not UTF-8 is refused, never read as "no case" (which would list every case).
        let broken = try await service.call("GET", "/v1/attachments?case=%E4%B8")
        #expect(broken.status == 400 && broken.json["code"] as? String == "invalid-query-encoding", "\(broken.body)")

        // No reason, or one of only spaces (`+` is a space in a query, as browsers encode it): refused, nothing changes.
        for query in ["", "?reason=", "?reason=+++", "?reason=%20%20"] {
            let refused = try await service.call("DELETE", "/v1/attachments/\(id)\(query)")
            #expect(refused.status == 400 && refused.json["code"] as? String == "reason-required", "\(query): \(refused.body)")
        }
        #expect(try await service.attachments(case: "TB-DEL").count == 2)

        // While an attempt to send it runs (here: connecting to a case core that is down) the deletion waits, as the
        // clerk is told to: `attachment-being-delivered`, then deleted once the attempt has failed.
        var deleted = try await service.call("DELETE", "/v1/attachments/\(id)?reason=%E6%8B%8D%E9%94%99%E4%BA%86+%E9%87%8D%E6%8B%8D%2B1")
        for _ in 0..<240 where deleted.status == 409 && deleted.json["code"] as? String == "attachment-being-delivered" {
            try await Task.sleep(for: .milliseconds(250))
            deleted = try await service.call("DELETE", "/v1/attachments/\(id)?reason=%E6%8B%8D%E9%94%99%E4%BA%86+%E9%87%8D%E6%8B%8D%2B1")
        }
        #expect(deleted.status == 200 && deleted.json["deletedAt"] != nil, "\(deleted.body)")
        #expect(try await service.attachments(case: "TB-DEL").count == 1, "a deleted attachment is no longer listed")
        let outbox = try await service.call("GET", "/v1/outbox").json
        #expect(outbox["undelivered"] as? Int == 1, "its delivery is withdrawn: \(outbox)")
        // Nor is it shown, or retried into delivery behind the clerk's back.
        #expect(try await service.call("GET", "/v1/attachments/\(id)/content", extra: ["-o", "/dev/null"]).status == 410)
        #expect(try await service.call("POST", "/v1/outbox/\(id)/retry").status == 404)
        // Deleting it again answers the same; an unknown one is 404.
        #expect(try await service.call("DELETE", "/v1/attachments/\(id)?reason=again").status == 200)
        #expect(try await service.call("DELETE", "/v1/attachments/no-such-id?reason=again").status == 404)

        // 撤销: listed and waiting for delivery again.
        let restored = try await service.call("POST", "/v1/attachments/\(id)/restore")
        #expect(restored.status == 200 && restored.json["deletedAt"] == nil, "\(restored.body)")
        #expect(try await service.attachments(case: "TB-DEL").count == 2)
        #expect(try await service.call("GET", "/v1/outbox").json["undelivered"] as? Int == 2)
        #expect(try await service.process.stop() == 0)

        // The audit log names the deletion with the reason as typed (spaces kept) and the restore.
        let records = try Store(directory: "\(directory)/data").auditRecords(limit: 50)
        let deletion = records.filter { $0.action == "attachment.delete" && $0.subject == id }
        #expect(deletion.count == 1 && deletion.first?.detail.hasSuffix("拍错了 重拍+1") == true, "\(deletion.map(\.detail))")
        #expect(records.contains { $0.action == "attachment.view" && $0.subject == cardID }, "the identity thumbnail shown is audited")
        #expect(records.contains { $0.action == "attachment.restore" && $0.subject == id })
    }

    /// What the case system has cannot be deleted here; a deleted attachment is purged once it can no longer be
    /// taken back, with its files.
    @Test func aDeliveredAttachmentIsRefusedAndADeletedOneIsPurgedWithItsFiles() async throws {
        let directory = try makeTemporaryDirectory()
        let service = try await Service.start(data: "\(directory)/data")
        defer { service.killIfRunning() }
        let stored = try await service.upload(Self.desk, query: "case=TB-DEL2&material=m&kind=scan&fileName=page.jpg")
        let id = try #require(stored.json["attachmentId"] as? String)
        #expect(try await service.waitUntilDelivered())
        let refused = try await service.call("DELETE", "/v1/attachments/\(id)?reason=wrong")
        #expect(refused.status == 409 && refused.json["code"] as? String == "attachment-delivered", "\(refused.body)")
        #expect(try await service.attachments(case: "TB-DEL2").count == 1)
        #expect(try await service.process.stop() == 0)

        // The retention round purges what was deleted more than ten minutes before, and its folder.
        let store = try Store(directory: "\(directory)/data")
        let other = try #require(try store.attachments(caseNumber: "TB-DEL2").first?.manifest)
        let unchanged = try store.restoreAttachment(id: other.attachmentId, actor: "test")  // not deleted: nothing changes
        #expect(unchanged?.deletedAt == nil && unchanged?.attachmentId == other.attachmentId)
        let late = try await Self.storedAttachment(in: store)
        _ = try store.deleteAttachment(id: late.id, actor: "test", reason: "wrong", at: Date().addingTimeInterval(-3600))
        let folder = (late.path as NSString).deletingLastPathComponent
        #expect(FileManager.default.fileExists(atPath: folder))
        let purged = RetentionService(store: store, policy: RetentionPolicy(identityDays: 7, scanDays: 30, noticeDays: 30, recordingDays: 183),
                                      logger: Logger(label: "test")).purgeOnce()
        #expect(purged == 1)
        #expect(!FileManager.default.fileExists(atPath: folder), "the deleted attachment's files are gone")
        #expect(try store.restoreAttachment(id: late.id, actor: "test") == nil, "a purged attachment cannot be restored")
    }

    /// An attachment stored straight through the intake (waiting for delivery): its id and file path.
    static func storedAttachment(in store: Store) async throws -> (id: String, path: String) {
        let intake = AttachmentIntake(store: store, vault: try IdentityVault(store: store), counterID: "counter-test")
        let manifest = try await intake.store(Array("not a picture".utf8), AttachmentRequest(caseNumber: "TB-DEL3", materialName: "m",
                                                                                             kind: .other, contentType: "text/plain",
                                                                                             fileName: "a.txt"))
        return (manifest.attachmentId, try #require(try store.attachment(id: manifest.attachmentId)).file.path)
    }

    /// Finding: a form's missing field came back as one sentence naming `GET /v1/notices`; nothing to mark beside it.
    @Test func aFormsInvalidFieldsComeBackOneByOne() async throws {
        let directory = try makeTemporaryDirectory()
        let service = try await Service.start(data: "\(directory)/data")
        defer { service.killIfRunning() }
        let answer = try await service.call("POST", "/v1/notices/receipt-notice/preview",
                                            json: #"{"caseNumber": "TB-FORM", "applicantName": "张三", "materials": [{"copies": 1}], "colour": "red"}"#)
        #expect(answer.status == 422 && answer.json["code"] as? String == "notice-data-invalid", "\(answer.body)")
        let fields = (answer.json["invalidParams"] as? [[String: Any]] ?? []).compactMap { field in
            (field["name"] as? String).map { ($0, field["kind"] as? String ?? "") }
        }
        let byName = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        #expect(byName["matterName"] == "required" && byName["materials[0].name"] == "required" && byName["colour"] == "unknown",
                "\(fields)")
        #expect(!(answer.json["remedy"] as? String ?? "").contains("/v1/"), "the remedy speaks to a clerk")
    }
}
