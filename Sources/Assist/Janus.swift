import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import TongbanCore

/// A failure talking to Janus, named by the request; `unreachable` when Janus did not answer at all.
public struct JanusError: Error, Sendable, Equatable, CustomStringConvertible {
    public var request: String
    public var code: Int?
    public var message: String
    public var unreachable: Bool

    public init(request: String, code: Int? = nil, message: String, unreachable: Bool = false) {
        self.request = request
        self.code = code
        self.message = message
        self.unreachable = unreachable
    }

    public var description: String { "janus \(request) failed\(code.map { " (\($0))" } ?? ""): \(message)" }
}

/// Janus's answer to `GET /info`, the parts Tongban needs.
public struct JanusServerInfo: Decodable, Sendable {
    /// `1.1.2`.
    public var version: String
    /// Loaded plugins by package name (`janus.plugin.videoroom`).
    public var plugins: [String]

    enum CodingKeys: String, CodingKey { case version = "version_string", plugins }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(String.self, forKey: .version)
        plugins = try container.decodeIfPresent([String: JSONValue].self, forKey: .plugins)?.keys.sorted() ?? []
    }
}

/// A session description as Janus carries it (`jsep`).
public struct JSEP: Codable, Sendable, Equatable {
    public var type: String
    public var sdp: String

    public init(type: String, sdp: String) {
        self.type = type
        self.sdp = sdp
    }
}

/// A VideoRoom feed or room id: Janus sends numbers (up to 2^53) unless configured with `string_ids`; both work.
public struct JanusID: Codable, Sendable, Hashable, CustomStringConvertible {
    public var text: String

    public init(_ text: String) { self.text = text }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self) { text = String(number) } else { text = try container.decode(String.self) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let number = UInt64(text) { try container.encode(number) } else { try container.encode(text) }
    }

    public var description: String { text }
}

/// One message from Janus (a reply or an asynchronous event), decoded from its envelope. Pure: no I/O.
public struct JanusMessage: Decodable, Sendable {
    /// `success`, `error`, `ack`, `event`, `webrtcup`, `media`, `hangup`, `slowlink`, `detached`, `timeout`, `keepalive`.
    public var janus: String
    public var transaction: String?
    public var sessionID: UInt64?
    /// The plugin handle the event is about.
    public var sender: UInt64?
    public var data: CreatedID?
    public var error: ErrorBody?
    public var plugindata: PluginData?
    public var jsep: JSEP?
    public var reason: String?
    /// `media` events: which kind and whether it flows.
    public var type: String?
    public var receiving: Bool?

    public struct CreatedID: Decodable, Sendable { public var id: UInt64 }
    public struct ErrorBody: Decodable, Sendable {
        public var code: Int
        public var reason: String
    }

    public struct PluginData: Decodable, Sendable {
        public var plugin: String
        public var data: VideoRoomData
    }

    enum CodingKeys: String, CodingKey {
        case janus, transaction, sessionID = "session_id", sender, data, error, plugindata, jsep, reason, type, receiving
    }
}

/// What the VideoRoom plugin says (the fields Tongban uses).
public struct VideoRoomData: Decodable, Sendable {
    /// `created`, `joined`, `event`, `attached`, `destroyed`, `success`, `participants`, …
    public var videoroom: String?
    public var room: JanusID?
    public var id: JanusID?
    public var description: String?
    public var publishers: [Publisher]?
    public var participants: [Participant]?
    public var leaving: JanusID?
    public var unpublished: JanusID?
    /// `notify_joining` rooms: a participant joined (publishing or not).
    public var joining: Participant?
    /// Why we left (`kicked`).
    public var reason: String?
    /// A participant's new display (a `configure` with `display`), with its `id`.
    public var display: String?
    public var started: String?
    public var configured: String?
    public var exists: Bool?
    public var errorCode: Int?
    public var error: String?

    public struct Publisher: Decodable, Sendable, Equatable {
        public var id: JanusID
        public var display: String?
    }

    public struct Participant: Decodable, Sendable, Equatable {
        public var id: JanusID
        public var display: String?
        public var publisher: Bool?
    }

    enum CodingKeys: String, CodingKey {
        case videoroom, room, id, description, publishers, participants, leaving, unpublished, joining, reason, display, started, configured
        case exists
        case errorCode = "error_code", error
    }
}

/// Janus's HTTP (REST) API: a session, plugin handles, messages with a `jsep`, and the long poll that brings the
/// session's asynchronous events (which also keeps the session alive).
public final class JanusSession: Sendable {
    public let url: String
    public let id: UInt64
    let http: HTTPClient
    /// The session's events (from every handle), read by one long poll; finishes when the session is destroyed or
    /// Janus goes away (then `ended` says why).
    public let events: AsyncStream<JanusMessage>
    private let poller: Task<Void, Never>
    private let state: NIOLockedValueBox<String?>
    private let waiters: Waiters

    /// The HTTP client for Janus: a refused or unanswered connection fails the request within two seconds instead of
    /// being retried until the request's deadline (the shared client's default) — a video server on the counter's
    /// network that refuses is gone, and a call must say so while the clerk still looks at it.
    public static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(2)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Creates a session on the Janus at `url` (e.g. `http://127.0.0.1:8088/janus`).
    public static func create(url: String, http: HTTPClient = JanusSession.http) async throws(JanusError) -> JanusSession {
        let reply = try await post(url, ["janus": .string("create")], what: "create session", http: http)
        guard let id = reply.data?.id else { throw JanusError(request: "create session", message: "no session id in the reply") }
        return JanusSession(url: url, id: id, http: http)
    }

    private init(url: String, id: UInt64, http: HTTPClient) {
        self.url = url
        self.id = id
        self.http = http
        let (events, continuation) = AsyncStream.makeStream(of: JanusMessage.self)
        self.events = events
        let ended = NIOLockedValueBox<String?>(nil)
        self.state = ended
        let waiters = Waiters()
        self.waiters = waiters
        poller = Task {
            var failures = 0
            while !Task.isCancelled {
                do {
                    var request = HTTPClientRequest(url: "\(url)/\(id)?maxev=10&rid=\(UInt64.random(in: 0...UInt64.max))")
                    request.method = .GET
                    // Janus holds a long poll ~30 s; after a failure the next try gets only a few seconds.
                    let response = try await http.execute(request, timeout: failures == 0 ? .seconds(40) : .seconds(3))
                    let body = Data(buffer: try await response.body.collect(upTo: 8 << 20))
                    let decoder = JSONDecoder()
                    let messages = (try? decoder.decode([JanusMessage].self, from: body))
                        ?? (try? decoder.decode(JanusMessage.self, from: body)).map { [$0] } ?? []
                    failures = 0
                    for message in messages where message.janus != "keepalive" {
                        if message.janus == "error", message.error?.code == 458 {  // no such session
                            ended.withLockedValue { $0 = "the Janus session expired" }
                            continuation.finish()
                            return
                        }
                        waiters.offer(message)
                        continuation.yield(message)
                    }
                } catch {
                    if Task.isCancelled { break }
                    failures += 1
                    // Janus restarted or went away: the session is gone with it.
                    if failures >= 2 {
                        ended.withLockedValue { $0 = "Janus at \(url) does not answer (\(error))" }
                        break
                    }
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
            waiters.failAll()
            continuation.finish()
        }
    }

    deinit { poller.cancel() }

    /// Sends a plugin message and waits for the asynchronous event that answers it on the same handle (the
    /// waiter is in place before the message goes, so a fast answer cannot slip past).
    public func request(_ handle: UInt64, _ body: JSONValue, jsep: JSEP? = nil, what: String, timeout: Duration = .seconds(20),
                        answeredBy accepts: @escaping @Sendable (JanusMessage) -> Bool) async throws(JanusError) -> JanusMessage {
        let ticket = waiters.register { $0.sender == handle && accepts($0) }
        do {
            try await message(handle, body, jsep: jsep, what: what)
        } catch {
            waiters.cancel(ticket)
            throw error
        }
        let answer = await withTaskGroup(of: JanusMessage?.self) { group in
            group.addTask { await self.waiters.wait(ticket) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.waiters.cancel(ticket)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let answer else {
            throw JanusError(request: what, message: ended ?? "no answer within \(timeout)", unreachable: ended != nil)
        }
        if let code = answer.plugindata?.data.errorCode {
            throw JanusError(request: what, code: code, message: answer.plugindata?.data.error ?? "videoroom error")
        }
        return answer
    }

    /// Why the event stream ended, when Janus went away or the session expired.
    public var ended: String? { state.withLockedValue { $0 } }

    /// Attaches a plugin (`janus.plugin.videoroom`) and returns the handle's id.
    public func attach(_ plugin: String) async throws(JanusError) -> UInt64 {
        let reply = try await Self.post("\(url)/\(id)", ["janus": .string("attach"), "plugin": .string(plugin)], what: "attach \(plugin)", http: http)
        guard let handle = reply.data?.id else { throw JanusError(request: "attach \(plugin)", message: "no handle id in the reply") }
        return handle
    }

    /// Sends a plugin message; returns Janus's immediate reply (`success` with plugin data for synchronous requests,
    /// `ack` for asynchronous ones, whose answer arrives in `events`).
    @discardableResult
    public func message(_ handle: UInt64, _ body: JSONValue, jsep: JSEP? = nil, what: String) async throws(JanusError) -> JanusMessage {
        var envelope: [String: JSONValue] = ["janus": .string("message"), "body": body]
        if let jsep { envelope["jsep"] = .object(["type": .string(jsep.type), "sdp": .string(jsep.sdp)]) }
        let reply = try await Self.post("\(url)/\(id)/\(handle)", envelope, what: what, http: http)
        if let error = reply.plugindata?.data, let code = error.errorCode {
            throw JanusError(request: what, code: code, message: error.error ?? "videoroom error")
        }
        return reply
    }

    /// Detaches a handle (leaving its room); errors are ignored: the handle may be gone with its peer.
    public func detach(_ handle: UInt64) async {
        _ = try? await Self.post("\(url)/\(id)/\(handle)", ["janus": .string("detach")], what: "detach", http: http)
    }

    /// Destroys the session and stops the long poll.
    public func destroy() async {
        _ = try? await Self.post("\(url)/\(id)", ["janus": .string("destroy")], what: "destroy session", http: http)
        poller.cancel()
    }

    /// What the Janus at `url` says of itself (`GET /info`): its version and the plugins it loaded — for
    /// `tongban doctor`, without opening a session.
    public static func serverInfo(url: String, http: HTTPClient = JanusSession.http) async throws(JanusError) -> JanusServerInfo {
        var request = HTTPClientRequest(url: "\(url)/info")
        request.method = .GET
        return try await exchange(request, as: JanusServerInfo.self, what: "info", timeout: .seconds(5), http: http)
    }

    /// Sends `request` and decodes the reply; Janus not answering is `unreachable`, an undecodable reply says so.
    static func exchange<Reply: Decodable>(_ request: HTTPClientRequest, as: Reply.Type, what: String, timeout: TimeAmount,
                                           http: HTTPClient) async throws(JanusError) -> Reply {
        do {
            let response = try await http.execute(request, timeout: timeout)
            let data = Data(buffer: try await response.body.collect(upTo: 8 << 20))
            return try JSONDecoder().decode(Reply.self, from: data)
        } catch let error as DecodingError {
            throw JanusError(request: what, message: "unreadable reply (is this Janus's HTTP API?): \(error)")
        } catch {
            throw JanusError(request: what, message: "\(request.url): \(error)", unreachable: true)
        }
    }

    static func post(_ url: String, _ envelope: [String: JSONValue], what: String, http: HTTPClient) async throws(JanusError) -> JanusMessage {
        var envelope = envelope
        envelope["transaction"] = .string(UUID().uuidString)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body: ByteBuffer
        do {
            body = ByteBuffer(bytes: try JSONEncoder().encode(JSONValue.object(envelope)))
        } catch {
            throw JanusError(request: what, message: "could not encode the request: \(error)")
        }
        request.body = .bytes(body)
        let message = try await exchange(request, as: JanusMessage.self, what: what, timeout: .seconds(15), http: http)
        if message.janus == "error" {
            throw JanusError(request: what, code: message.error?.code, message: message.error?.reason ?? "error")
        }
        return message
    }
}

/// Requests waiting for their asynchronous answer on a session's event stream.
final class Waiters: Sendable {
    private struct Waiter {
        var accepts: @Sendable (JanusMessage) -> Bool
        var answer: JanusMessage?
        var continuation: CheckedContinuation<JanusMessage?, Never>?
        var done = false
    }

    private let waiters = NIOLockedValueBox<[UUID: Waiter]>([:])

    func register(_ accepts: @escaping @Sendable (JanusMessage) -> Bool) -> UUID {
        let ticket = UUID()
        waiters.withLockedValue { $0[ticket] = Waiter(accepts: accepts) }
        return ticket
    }

    func offer(_ message: JanusMessage) {
        let resumed: CheckedContinuation<JanusMessage?, Never>? = waiters.withLockedValue { all in
            guard let (ticket, waiter) = all.first(where: { !$0.value.done && $0.value.answer == nil && $0.value.accepts(message) }) else { return nil }
            if let continuation = waiter.continuation {
                all[ticket] = nil
                return continuation
            }
            all[ticket]?.answer = message
            return nil
        }
        resumed?.resume(returning: message)
    }

    func wait(_ ticket: UUID) async -> JanusMessage? {
        await withCheckedContinuation { continuation in
            let immediate: JanusMessage?? = waiters.withLockedValue { all in
                guard let waiter = all[ticket] else { return .some(nil) }
                if waiter.answer != nil || waiter.done {
                    all[ticket] = nil
                    return .some(waiter.answer)
                }
                all[ticket]?.continuation = continuation
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    func cancel(_ ticket: UUID) {
        let continuation = waiters.withLockedValue { all -> CheckedContinuation<JanusMessage?, Never>? in
            let continuation = all[ticket]?.continuation
            if continuation != nil { all[ticket] = nil } else { all[ticket]?.done = true }
            return continuation
        }
        continuation?.resume(returning: nil)
    }

    func failAll() {
        let continuations = waiters.withLockedValue { all -> [CheckedContinuation<JanusMessage?, Never>] in
            let pending = all.values.compactMap(\.continuation)
            for key in all.keys { all[key]?.done = true; all[key]?.continuation = nil }
            return pending
        }
        for continuation in continuations { continuation.resume(returning: nil) }
    }
}
