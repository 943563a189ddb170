import Foundation
import Testing
@testable import Delivery
import Store

/// Identity attachments are sealed at rest and delivered in clear; nothing half-received is kept.
@Suite struct AttachmentStoreTests {
    @Test func identityPhotosAreSealedAtRestAndDeliveredWhole() async throws {
        let directory = try makeTemporaryDirectory()
        let store = try Store(directory: directory)
        let vault = try IdentityVault(store: store)
        let intake = AttachmentIntake(store: store, vault: vault, counterID: "counter-test")
        let plain = Array("JPEG of the applicant's card, marker 7f3a9c".utf8) + [UInt8](repeating: 0x42, count: 10_000)
        let manifest = try await intake.store(plain, AttachmentRequest(caseNumber: "TB-ID", materialName: "身份证正面", kind: .photo,
                                                                        contentType: "image/jpeg", fileName: "front.jpg"))
        #expect(manifest.fileName == "front.jpg" && manifest.size == plain.count)
        let (stored, file) = try #require(try store.attachment(id: manifest.attachmentId))
        #expect(stored.fileName == "front.jpg" && stored.sha256 == manifest.sha256 && stored.kind == .photo)
        #expect(file.encrypted && file.path.hasSuffix("/content.sealed"))
        #expect(!FileManager.default.fileExists(atPath: String(file.path.dropLast(AttachmentFile.sealedSuffix.count))))
        // Nothing in the data folder holds the picture in clear.
        let listing = try await run("/usr/bin/grep", ["-rl", "marker 7f3a9c", directory])
        #expect(listing.standardOutput.isEmpty, "in clear: \(listing.standardOutput)")

        let archive = LocalArchiveSink(directory: "\(directory)-archive")
        let entry = try #require(try store.outbox().first)
        let receipt = try await archive.deliver(entry, manifest: manifest, file: AttachmentContent(attachmentId: manifest.attachmentId, file: file, vault: vault),
                                                progress: DeliveryProgress(uploadCreated: { _ in }, confirmed: { _ in }))
        // The archive keeps it sealed (it is often a share): it opens only with this counter's key.
        #expect(receipt.hasSuffix("front.jpg.sealed"))
        let delivered = try Data(contentsOf: URL(fileURLWithPath: String(receipt.dropFirst("archive ".count))))
        let opened = try vault.open(Array(delivered), context: manifest.attachmentId)
        #expect(Array(delivered) != plain && opened == plain)
        // Without the vault the sealed file cannot be delivered: an error, not garbage.
        await #expect(throws: DeliveryError.self) {
            _ = try await archive.deliver(entry, manifest: manifest, file: AttachmentContent(attachmentId: manifest.attachmentId, file: file, vault: nil),
                                          progress: DeliveryProgress(uploadCreated: { _ in }, confirmed: { _ in }))
        }
    }

    @Test func abandonedUploadLeavesNothingBehind() async throws {
        let directory = try makeTemporaryDirectory()
        let store = try Store(directory: directory)
        let intake = AttachmentIntake(store: store, vault: try IdentityVault(store: store), counterID: "counter-test")
        let incoming = try await intake.begin(kind: .scan)
        try await intake.append(Array(repeating: 1, count: 1000), to: incoming)
        await intake.abandon(incoming)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(store.filesDirectory)/.incoming").isEmpty)
        #expect(try store.attachments().isEmpty && store.outbox().isEmpty)
    }

    /// A sealed stream cut short, reordered or moved to another attachment does not open.
    @Test func aSealedStreamOpensOnlyWholeAndInPlace() throws {
        let store = try Store(directory: try makeTemporaryDirectory())
        let vault = try IdentityVault(store: store)
        let plain = (0..<(3 * SealingStream.chunkSize + 17)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let stream = try vault.sealingStream(context: "attachment-1")
        var sealed: [UInt8] = []
        for start in stride(from: 0, to: plain.count, by: 100_000) { sealed += try stream.append(Array(plain[start..<min(start + 100_000, plain.count)])) }
        sealed += try stream.finish()
        #expect(try vault.open(sealed, context: "attachment-1") == plain)
        #expect(throws: StoreError.self) { try vault.open(sealed, context: "attachment-2") }
        // Cut at a record boundary: the last record left was not sealed as the last.
        let firstRecordEnd = 16 + 4 + SealingStream.chunkSize + 16
        #expect(throws: StoreError.self) { try vault.open(Array(sealed.prefix(firstRecordEnd)), context: "attachment-1") }
        #expect(throws: StoreError.self) { try vault.open(Array(sealed.dropLast(1)), context: "attachment-1") }
        var flipped = sealed
        flipped[firstRecordEnd + 10] ^= 1
        #expect(throws: StoreError.self) { try vault.open(flipped, context: "attachment-1") }
    }

    @Test func requestProblemsAreListedTogether() {
        let bad = AttachmentRequest(caseNumber: "", materialName: " ", kind: .scan, contentType: "pdf", fileName: "../x", pages: -1)
        #expect(bad.problems.count == 5, "\(bad.problems)")
        let control = AttachmentRequest(caseNumber: "TB-1\u{0}", materialName: "合同\u{85}", kind: .scan, contentType: "application/pdf", fileName: "a.pdf")
        #expect(control.problems.count == 2 && control.problems.allSatisfy { $0.contains("control or direction characters") }, "\(control.problems)")
        let fine = AttachmentRequest(caseNumber: "TB-2026-0001", materialName: "营业执照 (副本)", kind: .scan, contentType: "application/pdf", fileName: "a.pdf")
        #expect(fine.problems.isEmpty, "\(fine.problems)")
    }
}
