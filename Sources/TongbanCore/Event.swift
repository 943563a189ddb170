import Foundation

/// One event on the `/v1/events` stream. Every event has a sequence number so a client can resume.
public struct TongbanEvent: Codable, Sendable, Equatable {
    /// Increases by one for every event the service publishes; restarts at 1 with the process.
    public var sequence: UInt64
    public var time: Date
    /// Dotted type, e.g. `device.added`, `device.changed`, `device.removed`, `scan.page`.
    public var type: String
    public var data: JSONValue

    public init(sequence: UInt64, time: Date, type: String, data: JSONValue) {
        self.sequence = sequence
        self.time = time
        self.type = type
        self.data = data
    }
}

/// Fans events out to every subscriber. A slow subscriber loses its oldest buffered events (and is told so by
/// the sequence gap); it never slows the publisher or the other subscribers.
public actor EventBus {
    private var nextSequence: UInt64 = 1
    private var subscribers: [UUID: AsyncStream<TongbanEvent>.Continuation] = [:]
    private var recent: [TongbanEvent] = []
    private let recentLimit: Int
    private let subscriberBuffer: Int

    /// - Parameters:
    ///   - recentLimit: events kept for clients that resume with `since`.
    ///   - subscriberBuffer: events buffered per subscriber before the oldest are dropped.
    public init(recentLimit: Int = 1024, subscriberBuffer: Int = 256) {
        self.recentLimit = recentLimit
        self.subscriberBuffer = subscriberBuffer
    }

    /// Publishes an event with a payload that is encoded to JSON now.
    @discardableResult
    public func publish(_ type: String, _ payload: some Encodable & Sendable, at time: Date = Date()) -> TongbanEvent {
        let data = (try? JSONValue(encoding: payload)) ?? .null
        return publish(type, json: data, at: time)
    }

    /// Publishes an event whose payload is already JSON.
    @discardableResult
    public func publish(_ type: String, json data: JSONValue, at time: Date = Date()) -> TongbanEvent {
        let event = TongbanEvent(sequence: nextSequence, time: time, type: type, data: data)
        nextSequence += 1
        recent.append(event)
        if recent.count > recentLimit { recent.removeFirst(recent.count - recentLimit) }
        for continuation in subscribers.values { continuation.yield(event) }
        return event
    }

    /// The events kept for resuming clients, oldest first.
    public var recentEvents: [TongbanEvent] { recent }

    /// The sequence number the next event will carry.
    public var upcomingSequence: UInt64 { nextSequence }

    /// Subscribes to events. With `since`, first replays the kept events after that sequence number.
    public func subscribe(since: UInt64? = nil) -> AsyncStream<TongbanEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: TongbanEvent.self,
                                                            bufferingPolicy: .bufferingNewest(subscriberBuffer))
        if let since {
            for event in recent where event.sequence > since { continuation.yield(event) }
        }
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        return stream
    }

    /// How many clients are listening (for metrics and tests).
    public var subscriberCount: Int { subscribers.count }

    private func unsubscribe(_ id: UUID) {
        subscribers[id] = nil
    }

    /// Ends every subscription (service shutdown).
    public func finishAll() {
        for continuation in subscribers.values { continuation.finish() }
        subscribers.removeAll()
    }
}
