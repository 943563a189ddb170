import Foundation
import Logging
import ServiceLifecycle
import Store

/// How long delivered attachments stay on the counter PC, per kind (the case core keeps the record copy).
public struct RetentionPolicy: Sendable, Equatable {
    public var identityDays: Int
    public var scanDays: Int
    public var noticeDays: Int
    public var recordingDays: Int

    public init(identityDays: Int, scanDays: Int, noticeDays: Int, recordingDays: Int) {
        self.identityDays = identityDays
        self.scanDays = scanDays
        self.noticeDays = noticeDays
        self.recordingDays = recordingDays
    }

    /// Days for one kind: identity items (card reads, ID photos) soonest, recordings as the seeds require.
    public func days(for kind: AttachmentKind) -> Int {
        switch kind {
        case .idcard, .photo: identityDays
        case .scan, .other: scanDays
        case .notice: noticeDays
        case .recording: recordingDays
        }
    }

    /// Per kind, the capture time before which a delivered attachment is due for purging at `now`.
    public func cutoffs(now: Date) -> [AttachmentKind: Date] {
        Dictionary(uniqueKeysWithValues: AttachmentKind.allCases.map { ($0, now.addingTimeInterval(-Double(days(for: $0)) * 86_400)) })
    }
}

/// Purges delivered attachments past their retention, every five minutes: the store marks them (audited), then their folders go;
/// likewise attachments the clerk deleted more than ten minutes before; and answered idempotency keys past two days.
public struct RetentionService: Service {
    /// How long an answered idempotency key is kept (the draft asks for at least 24 hours).
    public static let idempotencyKeySeconds: TimeInterval = 48 * 3600
    /// How long an attachment the clerk deleted can still be restored: it is purged at the first round after this.
    public static let deletedAttachmentSeconds: TimeInterval = 10 * 60

    let store: Store
    let policy: RetentionPolicy
    let logger: Logger

    public init(store: Store, policy: RetentionPolicy, logger: Logger) {
        self.store = store
        self.policy = policy
        self.logger = logger
    }

    /// One purge round; returns how many attachments were purged.
    @discardableResult
    public func purgeOnce(now: Date = Date()) -> Int {
        do {
            let paths = try store.purgeDeliveredAttachments(capturedBefore: policy.cutoffs(now: now), at: now)
            for path in paths {
                // The attachment's own folder: its file and manifest.
                try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
            }
            if !paths.isEmpty { logger.info("purged delivered attachments past retention", metadata: ["count": "\(paths.count)"]) }
            // What the clerk deleted (a wrong capture) goes once it can no longer be taken back.
            let deleted = try store.purgeDeletedAttachments(deletedBefore: now.addingTimeInterval(-Self.deletedAttachmentSeconds), at: now)
            for path in deleted { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
            if !deleted.isEmpty { logger.info("purged attachments the clerk deleted", metadata: ["count": "\(deleted.count)"]) }
            // A finished scan's page images go with its PDF.
            let scans = try store.purgePagesOfPurgedScans(at: now)
            for scan in scans { try? FileManager.default.removeItem(atPath: "\(store.scansDirectory)/\(scan)") }
            if !scans.isEmpty { logger.info("purged the page images of scans whose PDF is past retention", metadata: ["count": "\(scans.count)"]) }
            // Idempotency keys are answered again for at least a day: forgotten after two.
            try store.purgeIdempotencyKeys(before: now.addingTimeInterval(-Self.idempotencyKeySeconds))
            return paths.count + deleted.count
        } catch {
            logger.error("attachment purge failed", metadata: ["error": "\(error)"])
            return 0
        }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            purgeOnce()
            // Every five minutes: what a clerk deleted goes soon after it can no longer be taken back.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(300)) }
        }
    }
}
