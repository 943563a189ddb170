import Testing
@testable import TongbanCore

@Suite struct EventBusTests {
    struct Payload: Codable, Sendable { var n: Int }

    @Test func subscribersReceiveEventsInOrderWithIncreasingSequence() async {
        let bus = EventBus()
        let stream = await bus.subscribe()
        for n in 1...3 { await bus.publish("test.event", Payload(n: n)) }
        var received: [TongbanEvent] = []
        for await event in stream {
            received.append(event)
            if received.count == 3 { break }
        }
        #expect(received.map(\.sequence) == [1, 2, 3])
        #expect(received.map { $0.data["n"] } == [.number(1), .number(2), .number(3)])
    }

    @Test func resumingWithSinceReplaysOnlyLaterEvents() async {
        let bus = EventBus()
        for n in 1...5 { await bus.publish("test.event", Payload(n: n)) }
        let stream = await bus.subscribe(since: 3)
        var sequences: [UInt64] = []
        for await event in stream {
            sequences.append(event.sequence)
            if sequences.count == 2 { break }
        }
        #expect(sequences == [4, 5])
    }

    @Test func aSlowSubscriberLosesOldestEventsWithoutBlockingThePublisher() async {
        let bus = EventBus(recentLimit: 10, subscriberBuffer: 4)
        let stream = await bus.subscribe()
        for n in 1...20 { await bus.publish("test.event", Payload(n: n)) }
        var sequences: [UInt64] = []
        for await event in stream {
            sequences.append(event.sequence)
            if sequences.count == 4 { break }
        }
        // The newest four remain; the gap tells the client to resync.
        #expect(sequences == [17, 18, 19, 20])
    }
}
