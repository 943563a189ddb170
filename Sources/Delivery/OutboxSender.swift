import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Store
import TongbanCore

/// How long to wait before the next attempt: exponential from `base`, capped at `maximum`, with full jitter in the
/// upper half (so a hall's PCs do not all retry at once after an outage). A server's `Retry-After` wins.
public struct Backoff: Sendable {
    public var base: Double
    public var maximum: Double

    public init(baseSeconds: Double = 1, maximumSeconds: Double) {
        base = baseSeconds
        maximum = maximumSeconds
    }

    public func delay(afterAttempts attempts: Int, retryAfter: Int?) -> Double {
        // A Retry-After of 0 (or less) is not an invitation to retry in a tight loop.
        if let retryAfter { return max(base, min(Double(retryAfter), maximum * 4)) }
        let exponential = min(maximum, base * pow(2, Double(min(attempts, 30))))
        return exponential * Double.random(in: 0.5...1.0)
    }
}

/// `delivery.*` event payload.
public struct DeliveryEvent: Codable, Sendable {
    public var attachmentId: String
    public var caseNumber: String
    public var state: String
    public var offset: Int?
    public var size: Int?
    public var error: String?
    public var nextAttemptAt: Date?
    public var receipt: String?
}

/// Sends the outbox: every queued attachment reaches the sink exactly once, in order of capture, across restarts,
/// outages and crashes. Progress is written to the store as the sink confirms it; failures wait with backoff.
/// Capture never waits for delivery.
public actor OutboxSender: Service {
    private let store: Store
    private let sink: any DeliverySink
    private let vault: IdentityVault?
    private let events: EventBus
    private let parallelism: Int
    private let backoff: Backoff
    private let logger: Logger
    private var inFlight: Set<String> = []
    private var wakeUp: CheckedContinuation<Void, Never>?
    private var wakeRequested = false

    /// - Parameter vault: opens sealed identity attachments for delivery.
    public init(store: Store, sink: any DeliverySink, vault: IdentityVault?, events: EventBus, parallelism: Int, backoff: Backoff, logger: Logger) {
        self.store = store
        self.vault = vault
        self.sink = sink
        self.events = events
        self.parallelism = max(1, parallelism)
        self.backoff = backoff
        self.logger = logger
    }

    public nonisolated var sinkName: String { sink.name }

    /// Withdraws an undelivered attachment: no further attempts, and a partial upload is terminated at the case core.
    /// False when there is nothing undelivered with that id.
    public nonisolated func cancel(attachmentId: String, actor: String) async throws(StoreError) -> Bool {
        guard let entry = try store.cancelDelivery(attachmentId: attachmentId, actor: actor) else { return false }
        await withdrawn(entry)
        return true
    }

    /// After the store withdrew `entry` from delivery (cancelled, or its attachment deleted): the partial upload the
    /// case core may hold is terminated and `delivery.cancelled` published.
    public nonisolated func withdrawn(_ entry: OutboxEntry) async {
        do { try await sink.withdraw(entry) } catch {
            logger.warning("could not terminate the partial upload", metadata: ["attachment": "\(entry.attachmentId)", "error": "\(error)"])
        }
        await events.publish("delivery.cancelled", DeliveryEvent(attachmentId: entry.attachmentId, caseNumber: entry.caseNumber, state: "cancelled"))
    }

    /// Whether the attachment's upload is under way right now (a deletion then waits: the case core may be receiving it).
    public func isDelivering(_ attachmentId: String) -> Bool { inFlight.contains(attachmentId) }

    /// Looks at the outbox now (a new attachment, a retry asked for).
    public nonisolated func wake() {
        Task { await self.signal() }
    }

    private func signal() {
        if let wakeUp {
            self.wakeUp = nil
            wakeUp.resume()
        } else {
            wakeRequested = true
        }
    }

    public func run() async throws {
        logger.info("delivering attachments", metadata: ["to": "\(sink.name)", "parallel": "\(parallelism)"])
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let due: [OutboxEntry]
                do {
                    due = try store.dueOutboxEntries(now: Date(), limit: parallelism + inFlight.count)
                        .filter { !inFlight.contains($0.attachmentId) }
                } catch {
                    logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
                    due = []
                }
                for entry in due.prefix(parallelism - inFlight.count) {
                    inFlight.insert(entry.attachmentId)
                    group.addTask {
                        await self.attempt(entry)
                        await self.finished(entry.attachmentId)
                    }
                }
                recordBacklog()
                await sleepUntilWoken(maximumSeconds: nextWait())
            }
            group.cancelAll()
        }
    }

    /// Queue depth and the oldest undelivered attachment's age, for `/metrics`.
    private func recordBacklog() {
        guard let backlog = try? store.outboxBacklog() else { return }
        Gauge(label: "tongban_outbox_undelivered").record(backlog.undelivered)
        Gauge(label: "tongban_outbox_oldest_undelivered_seconds").record(backlog.oldest.map { max(0, -$0.timeIntervalSinceNow) } ?? 0)
    }

    private func finished(_ id: String) {
        inFlight.remove(id)
        signal()
    }

    /// Until the next entry is due, at most 30 s (a retry asked for or a new attachment wakes earlier).
    private func nextWait() -> Double {
        guard inFlight.count < parallelism else { return 30 }
        guard let next = try? store.nextOutboxAttempt() else { return 30 }
        return min(30, max(0.05, next.timeIntervalSinceNow))
    }

    private func sleepUntilWoken(maximumSeconds: Double) async {
        if wakeRequested {
            wakeRequested = false
            return
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(Int(maximumSeconds * 1000)))
            if !Task.isCancelled { await self?.signal() }
        }
        await withGracefulShutdownHandler {
            await withCheckedContinuation { continuation in wakeUp = continuation }
        } onGracefulShutdown: {
            Task { await self.signal() }
        }
        timer.cancel()
        wakeRequested = false
    }

    private func attempt(_ entry: OutboxEntry) async {
        guard let (recorded, file) = try? store.attachment(id: entry.attachmentId) else {
            _ = try? store.recordFailure(attachmentId: entry.attachmentId, error: "attachment record missing", nextAttempt: nil, permanent: true)
            return
        }
        // Each delivered manifest carries the audit log's anchored head as it stands now, and under the national
        // suite the counter's SM2 signature over both.
        var delivered = recorded
        delivered.auditHead = store.auditHead()
        do { try store.sign(&delivered) } catch {
            await record(.transient("sign the manifest: \(error)", retryAfter: nil), entry: entry, manifest: delivered)
            return
        }
        let manifest = delivered
        let store = self.store, events = self.events, id = entry.attachmentId
        let progress = DeliveryProgress(
            uploadCreated: { url throws(StoreError) in try store.recordUpload(attachmentId: id, url: url, offset: 0) },
            confirmed: { offset throws(StoreError) in
                try store.recordOffset(attachmentId: id, offset: offset)
                await events.publish("delivery.progress", DeliveryEvent(attachmentId: id, caseNumber: manifest.caseNumber,
                                                                        state: "uploading", offset: offset, size: manifest.size))
            })
        await events.publish("delivery.started", DeliveryEvent(attachmentId: id, caseNumber: manifest.caseNumber, state: "uploading",
                                                               offset: entry.offset, size: manifest.size))
        let started = Date()
        do {
            let content = AttachmentContent(attachmentId: id, file: file, vault: vault)
            let receipt = try await sink.deliver(entry, manifest: manifest, file: content, progress: progress)
            try store.markDelivered(attachmentId: id, receipt: receipt)
            Counter(label: "tongban_delivered_attachments_total").increment()
            Counter(label: "tongban_delivered_bytes_total").increment(by: manifest.size - entry.offset)
            logger.info("attachment delivered", metadata: ["attachment": "\(id)", "case": "\(manifest.caseNumber)",
                                                           "bytes": "\(manifest.size)", "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))"])
            await events.publish("delivery.delivered", DeliveryEvent(attachmentId: id, caseNumber: manifest.caseNumber,
                                                                     state: "delivered", size: manifest.size, receipt: receipt))
        } catch let error as DeliveryError {
            await record(error, entry: entry, manifest: manifest)
        } catch {
            await record(.transient("\(error)", retryAfter: nil), entry: entry, manifest: manifest)
        }
    }

    private func record(_ error: DeliveryError, entry: OutboxEntry, manifest: AttachmentManifest) async {
        Counter(label: "tongban_delivery_failures_total").increment()
        let permanent: Bool, retryAfter: Int?
        switch error {
        case .transient(_, let after): (permanent, retryAfter) = (false, after)
        case .permanent, .localFile: (permanent, retryAfter) = (true, nil)
        case .duplicate: (permanent, retryAfter) = (false, nil)
        }
        let next = permanent ? nil : Date().addingTimeInterval(backoff.delay(afterAttempts: entry.attempts, retryAfter: retryAfter))
        do {
            try store.recordFailure(attachmentId: entry.attachmentId, error: error.description, nextAttempt: next, permanent: permanent)
        } catch {
            logger.error("cannot record a delivery failure", metadata: ["attachment": "\(entry.attachmentId)", "error": "\(error)"])
        }
        logger.warning(permanent ? "attachment refused; held until retried" : "delivery attempt failed; will retry",
                       metadata: ["attachment": "\(entry.attachmentId)", "error": "\(error)", "attempt": "\(entry.attempts + 1)"])
        await events.publish(permanent ? "delivery.failed" : "delivery.retrying",
                             DeliveryEvent(attachmentId: entry.attachmentId, caseNumber: manifest.caseNumber,
                                           state: permanent ? "failed" : "pending", error: error.description, nextAttemptAt: next))
    }
}
