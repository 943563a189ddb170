import Foundation
import Logging
import Testing
@testable import Delivery
import Store

/// Delivered attachments leave the counter PC after their kind's retention; undelivered ones never do.
@Suite struct RetentionTests {
    @Test func purgesDeliveredAttachmentsPastTheirKindsRetentionOnly() async throws {
        let directory = try makeTemporaryDirectory()
        let store = try Store(directory: directory)
        let intake = AttachmentIntake(store: store, vault: try IdentityVault(store: store), counterID: "counter-test")
        let now = Date()
        func capture(_ kind: AttachmentKind, daysAgo: Int, deliver: Bool) async throws -> (id: String, path: String) {
            let manifest = try await intake.store(Array("\(kind) \(daysAgo)".utf8),
                                                  AttachmentRequest(caseNumber: "TB-RET", materialName: "m", kind: kind,
                                                                    contentType: "application/pdf", fileName: "f.pdf"),
                                                  capturedAt: now.addingTimeInterval(-Double(daysAgo) * 86_400 - 60))
            if deliver { try store.markDelivered(attachmentId: manifest.attachmentId, receipt: "test") }
            return (manifest.attachmentId, try #require(try store.attachment(id: manifest.attachmentId)).file.path)
        }
        let oldScan = try await capture(.scan, daysAgo: 31, deliver: true)
        let oldUndelivered = try await capture(.scan, daysAgo: 400, deliver: false)
        let freshScan = try await capture(.scan, daysAgo: 29, deliver: true)
        let idPhoto = try await capture(.photo, daysAgo: 8, deliver: true)
        let recording = try await capture(.recording, daysAgo: 182, deliver: true)

        let service = RetentionService(store: store, policy: RetentionPolicy(identityDays: 7, scanDays: 30, noticeDays: 30, recordingDays: 183),
                                       logger: Logger(label: "test"))
        #expect(service.purgeOnce(now: now) == 2)
        for gone in [oldScan, idPhoto] {
            #expect(!FileManager.default.fileExists(atPath: gone.path))
            #expect(try store.attachment(id: gone.id) == nil)
        }
        for kept in [oldUndelivered, freshScan, recording] {
            #expect(FileManager.default.fileExists(atPath: kept.path))
        }
        #expect(Set(try store.attachments(caseNumber: "TB-RET").map(\.manifest.attachmentId)) == [oldUndelivered.id, freshScan.id, recording.id])
        #expect(service.purgeOnce(now: now) == 0, "a second round finds nothing")
        // 5 captures, 4 deliveries, 2 purges — all in the chain.
        #expect(try store.verifyAudit() == .intact(records: 11))
    }
}
