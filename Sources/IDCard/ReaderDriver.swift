import Foundation
import Glibc
import SAMProtocol
import TongbanCore

/// How a reader is reached; opening may fail while the reader is unplugged.
public typealias SAMTransportOpener = @Sendable () throws(IDCardError) -> any SAMTransport

/// What the driver reports to the service: the session's events plus transport availability.
public enum ReaderDriverEvent: Sendable, Equatable {
    case session(ReaderEvent)
    /// The reader cannot be reached (unplugged, no permission); the driver keeps retrying.
    case unavailable(IDCardError)
}

/// Runs one reader: a `ReaderSession` on a thread of its own, executing its actions against a transport.
/// Unplug → `.unavailable`, retried every `reopenInterval`; back → the session starts again.
public final class ReaderDriver: @unchecked Sendable {
    private let open: SAMTransportOpener
    private let timing: ReaderTiming
    private let readFingerprint: Bool
    private let reopenInterval: Int
    private let report: @Sendable (ReaderDriverEvent) -> Void
    private let condition = NSCondition()
    private var stopping = false
    private var readRequested = false
    private var thread: Thread?

    public init(timing: ReaderTiming = ReaderTiming(), readFingerprint: Bool = false, reopenIntervalMilliseconds: Int = 1000,
                open: @escaping SAMTransportOpener, report: @escaping @Sendable (ReaderDriverEvent) -> Void) {
        self.open = open
        self.timing = timing
        self.readFingerprint = readFingerprint
        self.reopenInterval = reopenIntervalMilliseconds
        self.report = report
    }

    public func start(name: String) {
        let thread = Thread { self.run() }
        thread.name = "idcard \(name)"
        self.thread = thread
        thread.start()
    }

    /// Asks for a read of the card on the reader now (also re-reads a card already read).
    public func requestRead() {
        condition.lock()
        readRequested = true
        condition.signal()
        condition.unlock()
    }

    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// Sleeps up to `milliseconds`; returns early (true) when a read is requested or the driver stops.
    private func sleep(milliseconds: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
        while !stopping && !readRequested {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }

    private func takeReadRequest() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let requested = readRequested
        readRequested = false
        return requested
    }

    private func run() {
        var lastUnavailable: IDCardError?
        while !isStopping {
            let transport: any SAMTransport
            do {
                transport = try open()
            } catch {
                // One report per outage: the error changes as the device goes (transfer fails, open fails, not found).
                if lastUnavailable == nil { report(.unavailable(error)) }
                lastUnavailable = error
                _ = sleep(milliseconds: reopenInterval)
                continue
            }
            lastUnavailable = nil
            do {
                try drive(transport)
            } catch {
                report(.unavailable(error))
                lastUnavailable = error
            }
            transport.close()
        }
    }

    /// Runs the session until the transport fails or the driver stops.
    private func drive(_ transport: any SAMTransport) throws(IDCardError) {
        var session = ReaderSession(timing: timing, readFingerprint: readFingerprint)
        var pending = session.handle(.start)
        while !isStopping {
            if takeReadRequest() { pending += session.handle(.readRequested) }
            guard !pending.isEmpty else {
                // Stopped session (fatal SAM status): wait for a read request or stop, then start over.
                if sleep(milliseconds: reopenInterval) { pending = session.handle(.start) }
                continue
            }
            let action = pending.removeFirst()
            switch action {
            case .emit(let event):
                report(.session(event))
            case .wait(let milliseconds):
                _ = sleep(milliseconds: milliseconds)
                pending += session.handle(.tick)
            case .send(let command, let timeout):
                let reply = try transport.exchange(command.frame, timeoutMilliseconds: timeout)
                pending += session.handle(reply.map(ReaderInput.reply) ?? .timeout)
            }
        }
    }
}
