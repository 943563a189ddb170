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

    /// A finished scan's page images leave with its PDF, not before.
    @Test func scanPagesGoWithTheirPurgedPDF() async throws {
        let directory = try makeTemporaryDirectory()
        let store = try Store(directory: directory)
        let intake = AttachmentIntake(store: store, vault: try IdentityVault(store: store), counterID: "counter-test")
        let now = Date()
        func finishedScan(daysAgo: Int, deliver: Bool) async throws -> String {
            let id = UUID().uuidString.lowercased()
            let created = now.addingTimeInterval(-Double(daysAgo) * 86_400 - 60)
            try store.createScan(ScanRecord(id: id, device: "sane:test:0", caseNumber: "TB-RET-SCAN", materialName: "m", operator: nil,
                                            settings: "{}", state: .ready, createdAt: created, updatedAt: created))
            let folder = "\(store.scansDirectory)/\(id)"
            try DurableFile.prepareDirectory(store.scansDirectory)
            try DurableFile.prepareDirectory(folder)
            try DurableFile.write([1, 2, 3], to: "\(folder)/page-1.jpg")
            try DurableFile.write([4], to: "\(folder)/thumb-1.jpg")
            _ = try store.addScanPage(ScanPageRecord(id: UUID().uuidString, scanId: id, position: 0, sequence: 1, encoding: "jpeg",
                                                     width: 1, height: 1, channels: 1, dotsPerInch: 300, size: 3, sha256: "x", blank: false,
                                                     skewDegrees: nil, straightened: false, rotation: 0, path: "\(folder)/page-1.jpg",
                                                     thumbnailPath: "\(folder)/thumb-1.jpg", createdAt: created))
            let manifest = try await intake.store([0x25, 0x50, 0x44, 0x46], AttachmentRequest(
                caseNumber: "TB-RET-SCAN", materialName: "m", kind: .scan, contentType: "application/pdf", fileName: "m.pdf"),
                capturedAt: created, completing: .scanBatch(id: id))
            if deliver { try store.markDelivered(attachmentId: manifest.attachmentId, receipt: "test") }
            return id
        }
        let old = try await finishedScan(daysAgo: 31, deliver: true)
        let undelivered = try await finishedScan(daysAgo: 31, deliver: false)
        let recent = try await finishedScan(daysAgo: 2, deliver: true)
        let service = RetentionService(store: store, policy: RetentionPolicy(identityDays: 7, scanDays: 30, noticeDays: 30, recordingDays: 183),
                                       logger: Logger(label: "test"))
        #expect(service.purgeOnce(now: now) == 1)
        #expect(!FileManager.default.fileExists(atPath: "\(store.scansDirectory)/\(old)"))
        #expect(try store.scanPages(scanId: old).isEmpty)
        for kept in [undelivered, recent] {
            #expect(FileManager.default.fileExists(atPath: "\(store.scansDirectory)/\(kept)/page-1.jpg"))
            #expect(try store.scanPages(scanId: kept).count == 1)
        }
        #expect(try store.purgePagesOfPurgedScans(at: now).isEmpty, "a second round finds nothing")
        if case .broken(let sequence, let reason) = try store.verifyAudit() { Issue.record("audit broken at \(sequence): \(reason)") }
    }

    /// Review finding: a batch split by separator sheets shares one page folder between its materials; when one of
    /// them is purged (here the second, delivered and past its retention, while the first waits undelivered) the
    /// batch's pages go with it instead of staying viewable until the first material is purged too.
    @Test func aSplitBatchsPagesGoWhenAnyOfItsMaterialsIsPurged() async throws {
        let directory = try makeTemporaryDirectory()
        let store = try Store(directory: directory)
        let intake = AttachmentIntake(store: store, vault: try IdentityVault(store: store), counterID: "counter-test")
        let created = Date().addingTimeInterval(-31 * 86_400)
        let id = UUID().uuidString.lowercased()
        try store.createScan(ScanRecord(id: id, device: "sane:test:0", caseNumber: "TB-RET-SPLIT", materialName: "申请书", operator: nil,
                                        settings: "{}", state: .ready, createdAt: created, updatedAt: created))
        let folder = "\(store.scansDirectory)/\(id)"
        try DurableFile.prepareDirectory(store.scansDirectory)
        try DurableFile.prepareDirectory(folder)
        for sequence in 1...2 {
            try DurableFile.write([1, 2, 3], to: "\(folder)/page-\(sequence).jpg")
            _ = try store.addScanPage(ScanPageRecord(id: UUID().uuidString, scanId: id, position: 0, sequence: sequence, encoding: "jpeg",
                                                     width: 1, height: 1, channels: 1, dotsPerInch: 300, size: 3, sha256: "x", blank: false,
                                                     skewDegrees: nil, straightened: false, rotation: 0, path: "\(folder)/page-\(sequence).jpg",
                                                     thumbnailPath: "\(folder)/page-\(sequence).jpg", createdAt: created))
        }
        var parts: [(incoming: AttachmentIntake.Incoming, request: AttachmentRequest)] = []
        for name in ["申请书", "营业执照"] {
            let incoming = try await intake.begin(kind: .scan)
            try await intake.append([0x25, 0x50, 0x44, 0x46], to: incoming)
            parts.append((incoming, AttachmentRequest(caseNumber: "TB-RET-SPLIT", materialName: name, kind: .scan,
                                                      contentType: "application/pdf", fileName: "\(name).pdf")))
        }
        let manifests = try await intake.finish(parts, capturedAt: created, completing: .scanBatch(id: id))
        #expect(try store.scan(id: id)?.attachmentIds == manifests.map(\.attachmentId))
        try store.markDelivered(attachmentId: manifests[1].attachmentId, receipt: "test")
        let service = RetentionService(store: store, policy: RetentionPolicy(identityDays: 7, scanDays: 30, noticeDays: 30, recordingDays: 183),
                                       logger: Logger(label: "test"))
        #expect(service.purgeOnce(now: Date()) == 1)
        #expect(try store.attachment(id: manifests[0].attachmentId) != nil, "the undelivered material is kept")
        #expect(try store.scanPages(scanId: id).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: folder))
    }
}
