import Foundation
import Glibc
import IDCard
import SAMProtocol

/// A `ReaderSimulator` shared between the thread that answers requests and whoever places and lifts cards
/// (the scenario player, the demo's "place a card" button), with a millisecond clock from its creation.
public final class SharedReaderSimulator: @unchecked Sendable {
    private let lock = NSLock()
    private var simulator = ReaderSimulator()
    private let started = DispatchTime.now().uptimeNanoseconds

    public init() {}

    /// Milliseconds since this simulator was created.
    public var now: Int { Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000) }

    public func withSimulator<T>(_ body: (inout ReaderSimulator) -> T) -> T {
        lock.withLock { body(&simulator) }
    }

    public func apply(_ step: SimulatorStep) {
        let now = self.now
        withSimulator { $0.apply(step, now: now) }
    }

    public var cardPresent: Bool { withSimulator { $0.card != nil } }

    /// What the reader sends back for one request: the reply, cut short when the card leaves mid-transfer.
    public func answer(command: UInt8, parameter: UInt8) -> [UInt8] {
        let now = self.now
        let (bytes, cutAfter) = withSimulator { $0.respond(command: command, parameter: parameter, now: now) }
        return cutAfter.map { Array(bytes.prefix($0)) } ?? bytes
    }
}

/// A simulator host's set-up call that failed (pty, configfs, FunctionFS), with the path and errno.
public struct SimulatorHostError: Error, CustomStringConvertible {
    public var call: String
    public var path: String
    public var errno: Int32

    public init(call: String, path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(call) \(path) failed: \(String(cString: strerror(errno)))" }
}

/// The simulated reader as a transport inside the process (the demo): requests go straight to the simulator,
/// replies come back after the time their bytes would take on the wire.
public final class SimulatorTransport: SAMTransport {
    public let deviceName: String
    private let simulator: SharedReaderSimulator
    private let baudRate: Int
    private var discards: [SAMDiscard] = []

    public init(simulator: SharedReaderSimulator, baudRate: Int = 115_200, deviceName: String = "sim:idcard") {
        self.simulator = simulator
        self.baudRate = baudRate
        self.deviceName = deviceName
    }

    public func close() {}

    public func takeDiscards() -> [SAMDiscard] {
        defer { discards.removeAll() }
        return discards
    }

    public func exchange(_ request: [UInt8], timeoutMilliseconds: Int) throws(IDCardError) -> SAMReply? {
        var requests = SAMFrameDecoder(direction: .requests)
        guard case .request(let command, let parameter, _)? = requests.feed(request).first else {
            throw .malformed("simulator got a request that is not a frame")
        }
        let delivered = simulator.answer(command: command, parameter: parameter)
        let wire = ReaderSimulator.wireTime(bytes: request.count + delivered.count, baudRate: baudRate)
        let timeout = UInt64(timeoutMilliseconds) * 1_000_000
        var replies = SAMFrameDecoder()
        var reply: SAMReply?
        for output in replies.feed(delivered) {
            switch output {
            case .reply(let found): reply = reply ?? found
            case .discarded(let reason): discards.append(reason)
            case .request: break  // a reply decoder never yields requests
            }
        }
        guard let reply, wire <= timeout else {
            Self.sleep(nanoseconds: timeout)
            return nil
        }
        Self.sleep(nanoseconds: wire)
        return reply
    }

    static func sleep(nanoseconds: UInt64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
