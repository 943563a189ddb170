import Foundation
import GStreamer
import TongbanCore

/// The Janus VideoRoom requests Tongban makes, as one place that knows their shapes.
public enum VideoRoom {
    public static let plugin = "janus.plugin.videoroom"

    /// A stable numeric room for a name (an office's standing room, a case's call): Janus without `string_ids`
    /// wants numbers, and both sides of a call must arrive at the same one without asking anybody.
    public static func roomNumber(for name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64-bit
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash % 9_000_000_000 + 1_000_000_000  // inside JavaScript's exact integers, ten digits
    }

    /// Creates the room unless it exists (VP8 and Opus, the codecs Tongban publishes).
    public static func ensureRoom(_ session: JanusSession, handle: UInt64, room: UInt64, description: String) async throws(JanusError) {
        let exists = try await session.message(handle, .object(["request": .string("exists"), "room": .number(Double(room))]),
                                               what: "videoroom exists")
        if exists.plugindata?.data.exists == true { return }
        do {
            try await session.message(handle, .object([
                "request": .string("create"), "room": .number(Double(room)), "description": .string(description),
                "publishers": .number(4), "videocodec": .string("vp8"), "audiocodec": .string("opus"),
                "bitrate": .number(2_000_000), "fir_freq": .number(5), "notify_joining": .bool(true),
            ]), what: "videoroom create")
        } catch where error.code == 427 {
            // Created by the other side meanwhile.
        }
    }

    /// Joins `room` as a publisher with our offer (made on `thread`: webrtcbin's calls block) and applies Janus's
    /// answer. Returns our feed and the publishers already in the room.
    public static func publish(_ session: JanusSession, handle: UInt64, room: UInt64, display: String, media: CallMedia,
                               thread: DedicatedThread) async throws -> (feed: JanusID, publishers: [VideoRoomData.Publisher]) {
        let offer = try await thread.perform { () throws(GStreamerError) -> String in try media.endpoint.makeOffer() }
        let joined = try await session.request(handle, .object([
            "request": .string("joinandconfigure"), "room": .number(Double(room)), "ptype": .string("publisher"),
            "display": .string(display), "audio": .bool(true), "video": .bool(true),
        ]), jsep: JSEP(type: "offer", sdp: offer), what: "videoroom joinandconfigure", answeredBy: { message in
            message.jsep != nil || message.plugindata?.data.errorCode != nil
        })
        guard let answer = joined.jsep, let feed = joined.plugindata?.data.id else {
            throw JanusError(request: "videoroom joinandconfigure", message: "Janus answered without an SDP answer")
        }
        try await thread.perform { () throws(GStreamerError) in try media.endpoint.acceptAnswer(answer.sdp) }
        return (feed, joined.plugindata?.data.publishers ?? [])
    }
}

extension VideoRoom {
    /// Subscribes `media` to `feed` in `room` on a handle of its own: Janus offers, webrtcbin answers (on `thread`).
    public static func subscribe(_ session: JanusSession, handle: UInt64, room: UInt64, feed: JanusID, media: RemoteMedia,
                                 thread: DedicatedThread) async throws {
        let attached = try await session.request(handle, .object([
            "request": .string("join"), "room": .number(Double(room)), "ptype": .string("subscriber"),
            "streams": .array([.object(["feed": feed.jsonValue])]),
        ]), what: "videoroom join (subscriber)", answeredBy: { $0.jsep != nil || $0.plugindata?.data.errorCode != nil })
        guard let offer = attached.jsep else {
            throw JanusError(request: "videoroom join (subscriber)", message: "Janus sent no offer for feed \(feed)")
        }
        let answer = try await thread.perform { () throws(GStreamerError) -> String in try media.endpoint.answer(offer: offer.sdp) }
        _ = try await session.request(handle, .object(["request": .string("start"), "room": .number(Double(room))]),
                                      jsep: JSEP(type: "answer", sdp: answer), what: "videoroom start",
                                      answeredBy: { $0.plugindata?.data.started != nil || $0.plugindata?.data.errorCode != nil })
    }
}

extension JanusID {
    /// The id as Janus wants it back: a number when it is one.
    public var jsonValue: JSONValue { UInt64(text).map { .number(Double($0)) } ?? .string(text) }
}
