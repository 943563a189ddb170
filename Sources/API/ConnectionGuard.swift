import Foundation
import Glibc
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// What keeps the API answering when a program opens connections and sends nothing (a thousand idle sockets, a
/// slow-header attack): a connection must send a whole request head within `requestHeadTimeout`, an idle kept-alive
/// connection is closed after `idleTimeout`, and at most `maximumConnections` are open at once — past that the
/// oldest connection that has not yet sent a request is closed to make room (as nginx reuses idle connections), so
/// the clerk's next request is served at once and the process never runs out of file descriptors.
public struct ConnectionLimits: Sendable {
    public var requestHeadTimeout: TimeAmount = .seconds(10)
    public var idleTimeout: TimeAmount = .seconds(30)
    public var maximumConnections: Int

    public init(maximumConnections: Int) {
        self.maximumConnections = maximumConnections
    }

    /// Raises the soft open-file limit to the hard one (as systemd's `LimitNOFILE` would) and returns a connection
    /// cap that leaves half of the descriptors to files, the database and devices: at most 512.
    public static func forThisProcess() -> ConnectionLimits {
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            if limit.rlim_cur < limit.rlim_max {
                limit.rlim_cur = limit.rlim_max
                _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
                _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            }
            let available = Int(clamping: min(limit.rlim_cur, 1 << 20))
            return ConnectionLimits(maximumConnections: max(16, min(512, available / 2)))
        }
        return ConnectionLimits(maximumConnections: 256)
    }
}

/// The HTTP/1.1 channel with the WebSocket upgrade, behind a request-head timeout and the connection cap.
struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    let requestHeadTimeout: TimeAmount
    let tracker: ConnectionTracker

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timeout = requestHeadTimeout, tracker = tracker
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestHeadTimeoutHandler(timeout: timeout, tracker: tracker))
        }.flatMap {
            inner.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the event stream's WebSocket upgrade, every connection guarded by `limits`.
    static func guardedHTTP1WebSocketUpgrade<WSResponderBuilder: HTTPResponderBuilder & _HB_SendableMetatype>(
        webSocketRouter: WSResponderBuilder, maximumFrameSize: Int, limits: ConnectionLimits
    ) -> HTTPServerBuilder where WSResponderBuilder.Responder.Context: WebSocketRequestContext {
        let webSocketResponder = webSocketRouter.buildResponder()
        let tracker = ConnectionTracker(maximum: limits.maximumConnections)
        return .init { responder in
            GuardedChildChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder,
                    configuration: .init(http1: .init(idleTimeout: limits.idleTimeout), ws: .init(maxFrameSize: maximumFrameSize))),
                requestHeadTimeout: limits.requestHeadTimeout, tracker: tracker)
        }
    }
}

/// Counts the open connections and, past the cap, picks the oldest one still waiting for its request head to close.
final class ConnectionTracker: @unchecked Sendable {
    private let lock = NSLock()
    private let maximum: Int
    private var open = 0
    private var nextNumber = 0
    /// Connections that have not sent a whole request head yet, by arrival number.
    private var waiting: [Int: any Channel] = [:]

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// A new connection: its number, and the connection to close to make room (nil while under the cap).
    func opened(_ channel: any Channel) -> (number: Int, evict: (any Channel)?) {
        lock.withLock {
            nextNumber += 1
            open += 1
            waiting[nextNumber] = channel
            guard open > maximum, let oldest = waiting.keys.min() else { return (nextNumber, nil) }
            let evicted = waiting.removeValue(forKey: oldest)
            return (nextNumber, evicted)
        }
    }

    func sentHead(_ number: Int) {
        lock.withLock { _ = waiting.removeValue(forKey: number) }
    }

    func closed(_ number: Int) {
        lock.withLock {
            open -= 1
            waiting.removeValue(forKey: number)
        }
    }
}

/// Closes a connection that has not sent a whole request head (up to its blank line) within the timeout of
/// connecting; counts it with the tracker, which may close an older idle one to make room for it. After the head
/// it only passes bytes on: the HTTP layer's idle timeout applies from there.
final class RequestHeadTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let tracker: ConnectionTracker
    private var timer: Scheduled<Void>?
    private var number: Int?
    /// The last bytes seen, to find `\r\n\r\n` across reads.
    private var tail: [UInt8] = []
    private var headComplete = false

    init(timeout: TimeAmount, tracker: ConnectionTracker) {
        self.timeout = timeout
        self.tracker = tracker
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let (number, evict) = tracker.opened(channel)
        self.number = number
        evict?.close(promise: nil)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if let number {
            tracker.closed(number)
            self.number = nil
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headComplete {
            let buffer = unwrapInboundIn(data)
            let bytes = tail + Array(buffer.readableBytesView)
            if Self.containsHeadEnd(bytes) {
                headComplete = true
                tail = []
                timer?.cancel()
                timer = nil
                if let number { tracker.sentHead(number) }
            } else {
                tail = Array(bytes.suffix(3))
            }
        }
        context.fireChannelRead(data)
    }

    static func containsHeadEnd(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return true
        }
        return false
    }
}
