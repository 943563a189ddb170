import AsyncHTTPClient
import Delivery
import Foundation
import GStreamer
import Logging
import ServiceLifecycle
import Store
import TongbanCore

/// What the service needs to know about this counter's assistance settings.
public struct AssistSettings: Sendable {
    public var janusURL: String
    public var counterID: String
    public var office: String
    public var answersFor: [String]
    public var ringTimeout: Duration
    public var missedCallsPerMonthLimit: Int
    public var roomSecret: String
    public var media: MediaSettings
    /// Where recordings are written while a call lasts (then they become an attachment).
    public var recordingsDirectory: String
    /// Settings a call needs but the configuration leaves empty (`assist.webcam`, `assist.microphone`): calls are
    /// refused naming them — never a test pattern sent in place of a webcam nobody configured.
    public var unconfigured: [String] = []
    /// Where a missed call this counter placed is reported (the city SMS gateway); nil: not reported.
    public var missedCallNotify: MissedCallNotifySettings?

    public init(janusURL: String, counterID: String, office: String, answersFor: [String], ringTimeout: Duration,
                missedCallsPerMonthLimit: Int, roomSecret: String, media: MediaSettings, recordingsDirectory: String,
                unconfigured: [String] = []) {
        self.unconfigured = unconfigured
        self.janusURL = janusURL
        self.counterID = counterID
        self.office = office
        self.answersFor = answersFor
        self.ringTimeout = ringTimeout
        self.missedCallsPerMonthLimit = missedCallsPerMonthLimit
        self.roomSecret = roomSecret
        self.media = media
        self.recordingsDirectory = recordingsDirectory
    }

    /// The standing room of an office (both sides compute the same number).
    public func room(for office: String) -> UInt64 { VideoRoom.roomNumber(for: "office:\(office)") }
}

/// The answer of `GET /v1/assists`.
public struct AssistOverview: Sendable, Encodable {
    public var calls: [AssistCallRecord]
    /// Offices whose rooms this counter is online in (answering).
    public var online: [String]
    /// Missed calls this month per office, and the offices over the limit (to be escalated).
    public var missedThisMonth: [String: Int]
    public var escalate: [String]
    /// The newest missed-call reminders and where they stand (pending, sent, failed) — not their bodies (case numbers)
    /// or the gateway's address.
    public var reminders: [Reminder]
    /// The Janus the counters meet in (the console's assist view joins it from the browser).
    public var janusUrl: String
}

/// Remote video assistance: calls between counters through Janus VideoRoom, each side publishing its webcam and
/// microphone and recording both (ours as encoded, theirs as received); the recording becomes a `recording`
/// attachment of the case when the call ends. An answering counter stays online in its offices' rooms.
public actor AssistService: Service {
    let settings: AssistSettings
    let store: Store
    let intake: AttachmentIntake
    let events: EventBus
    let logger: Logger
    /// Called when a recording was stored (the outbox delivers it now rather than at its next round).
    let thread = DedicatedThread(name: "assist-media")

    /// One call going on (or ringing) on this counter.
    final class LiveCall: @unchecked Sendable {
        var record: AssistCallRecord
        let session: JanusSession
        let room: UInt64
        /// The caller's participant handle (caller side), or the listener's (answer side).
        let handle: UInt64
        var media: CallMedia?
        var remote: RemoteMedia?
        var subscriber: UInt64?
        /// The other side's participant (ringing) and feed (connected).
        var peerParticipant: JanusID?
        var peerFeed: JanusID?
        var ringTimer: Task<Void, Never>?
        var silenceWatch: Task<Void, Never>?
        var ringStarted = ContinuousClock.now
        let directory: String

        init(record: AssistCallRecord, session: JanusSession, room: UInt64, handle: UInt64, directory: String) {
            self.record = record
            self.session = session
            self.room = room
            self.handle = handle
            self.directory = directory
        }
    }

    /// Online presence in one office's room.
    struct Listener {
        let session: JanusSession
        let handle: UInt64
        let room: UInt64
    }

    var calls: [String: LiveCall] = [:]
    var listeners: [String: Listener] = [:]
    /// How long the other side may send nothing before the call is failed.
    let peerSilenceLimit: Duration = .seconds(8)

    public init(settings: AssistSettings, store: Store, intake: AttachmentIntake, events: EventBus, logger: Logger) {
        self.settings = settings
        self.store = store
        self.intake = intake
        self.events = events
        self.logger = logger
    }

    // MARK: - Service

    /// Keeps this counter online in the rooms of the offices it answers for (rejoining when Janus comes back)
    /// until shutdown; then ends every call cleanly (recordings kept).
    public func run() async throws {
        // GStreamer builds its plugin registry on first use (about a second): not while a caller waits for an answer.
        try? await thread.perform { () throws(GStreamerError) in try GStreamer.initialise() }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for office in settings.answersFor {
                    group.addTask { await self.stayOnline(in: office) }
                }
                // A calling-only counter has nothing to keep up, but the service lives until shutdown.
                group.addTask { try? await gracefulShutdown() }
            }
        } onGracefulShutdown: {
            Task { await self.shutdown() }
        }
        await shutdown()
    }

    var isShutDown = false

    func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        for call in calls.values where !call.record.state.isFinal {
            await end(call, state: .ended, endedBy: "shutdown", problem: nil)
        }
        for listener in listeners.values { await listener.session.destroy() }
        listeners.removeAll()
        thread.stop()
    }

    func stayOnline(in office: String) async {
        var delay = Duration.seconds(1)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let session = try await JanusSession.create(url: settings.janusURL)
                let handle = try await session.attach(VideoRoom.plugin)
                let room = settings.room(for: office)
                try await VideoRoom.ensureRoom(session, handle: handle, room: room, description: "office \(office)")
                try await configureRoomSecret(session, handle: handle, room: room)
                let display = CallDisplay(role: .answerer, counter: settings.counterID, office: office)
                let joined = try await session.request(handle, .object([
                    "request": .string("join"), "room": .number(Double(room)), "ptype": .string("publisher"), "display": .string(display.text),
                ]), what: "videoroom join (answering)", answeredBy: { $0.plugindata?.data.videoroom == "joined" || $0.plugindata?.data.errorCode != nil })
                listeners[office] = Listener(session: session, handle: handle, room: room)
                delay = .seconds(1)
                logger.info("assist: online for office", metadata: ["office": "\(office)", "room": "\(room)"])
                for publisher in joined.plugindata?.data.publishers ?? [] { await answerSide(office: office, published: publisher) }
                for await message in session.events {
                    if message.sender == handle { await answerSide(office: office, message) }
                }
                listeners[office] = nil
                let reason = session.ended ?? "the Janus session ended"
                logger.warning("assist: offline for office", metadata: ["office": "\(office)", "reason": "\(reason)"])
                for call in calls.values where call.session === session && !call.record.state.isFinal {
                    await fail(call, reason)
                }
            } catch {
                logger.warning("assist: cannot go online", metadata: ["office": "\(office)", "error": "\(error)"])
            }
            // Back off while the server is down, but not so far that the office stays unreachable for long after
            // it returns: the office's counter must be online to answer in office hours.
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(8))
        }
    }

    /// Rooms are created without a secret by whoever comes first; the secret lets an answering counter decline
    /// (kick) a caller. Setting it is idempotent.
    func configureRoomSecret(_ session: JanusSession, handle: UInt64, room: UInt64) async throws(JanusError) {
        _ = try? await session.message(handle, .object([
            "request": .string("edit"), "room": .number(Double(room)), "new_secret": .string(settings.roomSecret),
        ]), what: "videoroom edit")
    }

    /// Calls the service was in when it stopped without ending them (power loss, kill -9): recorded as failed,
    /// and what was recorded until then is kept as the case's recording. Call before the API starts.
    public func recoverInterrupted() async {
        let open = ((try? store.assistCalls(limit: 1000)) ?? []).filter { !$0.state.isFinal }
        for var record in open {
            record.state = .failed
            record.endedAt = Date()
            record.endedBy = "restart"
            record.problem = Problem(code: "assist-interrupted", status: 500, title: "通话被中断 Call interrupted",
                                     detail: "the service stopped during call \(record.id) with office \(record.office)",
                                     remedy: "Call again if the question is still open; the recording so far is kept.")
            let directory = "\(settings.recordingsDirectory)/\(record.id)"
            let files = recordedFiles(in: directory, prefix: "")
            if !files.isEmpty, let manifest = try? await storeRecording(record, directory: directory, files: files) {
                record.attachmentId = manifest.attachmentId
            }
            try? store.saveAssistCall(record)
            logger.notice("assist: call interrupted by a restart", metadata: ["call": "\(record.id)", "recording": "\(record.attachmentId ?? "-")"])
        }
    }

    // MARK: - Calling

    /// Calls `office` about a case: joins the office's room and rings its answering counters. Answers with the
    /// call once it rings (or at once `missed` when nobody of the office is online).
    public func call(office: String, caseNumber: String, material: String?, withDocumentCamera: Bool) async throws(Problem) -> AssistCallRecord {
        try requireMediaConfigured()
        if let busy = calls.values.first(where: { !$0.record.state.isFinal }) {
            throw Problem(code: "assist-busy", status: 409, title: "正在通话 A call is going on",
                          detail: "call \(busy.record.id) for case \(busy.record.caseNumber) is \(busy.record.state.rawValue)",
                          remedy: "Hang up the current call first.")
        }
        let id = UUID().uuidString.lowercased()
        var record = AssistCallRecord(id: id, role: .caller, office: office, caseNumber: caseNumber, material: material,
                                      withDocumentCamera: withDocumentCamera, callerCounter: settings.counterID, answerCounter: nil,
                                      state: .ringing, startedAt: Date())
        let session: JanusSession
        let handle: UInt64
        let room = settings.room(for: office)
        let participants: [VideoRoomData.Participant]
        do {
            session = try await JanusSession.create(url: settings.janusURL)
            handle = try await session.attach(VideoRoom.plugin)
            try await VideoRoom.ensureRoom(session, handle: handle, room: room, description: "office \(office)")
            let display = CallDisplay(role: .caller, counter: settings.counterID, call: id, office: office, caseNumber: caseNumber,
                                      material: material, withDocumentCamera: withDocumentCamera)
            _ = try await session.request(handle, .object([
                "request": .string("join"), "room": .number(Double(room)), "ptype": .string("publisher"), "display": .string(display.text),
            ]), what: "videoroom join (calling)", answeredBy: { $0.plugindata?.data.videoroom == "joined" || $0.plugindata?.data.errorCode != nil })
            participants = try await session.message(handle, .object(["request": .string("listparticipants"), "room": .number(Double(room))]),
                                                     what: "videoroom listparticipants").plugindata?.data.participants ?? []
        } catch {
            throw Self.janusProblem(error, url: settings.janusURL)
        }
        record.room = String(room)
        let call = LiveCall(record: record, session: session, room: room, handle: handle, directory: "\(settings.recordingsDirectory)/\(id)")
        calls[id] = call
        let answering = participants.filter { CallDisplay.parse($0.display)?.role == .answerer }
        guard !answering.isEmpty else {
            await end(call, state: .missed, endedBy: "offline", problem: Problem(
                code: "office-offline", status: 409, title: "对方不在线 Office not online",
                detail: "no counter of office \(office) is online to answer", remedy: "Try again later, or phone the office; the missed call is counted."))
            record = call.record
            return record
        }
        try? store.saveAssistCall(call.record)
        await events.publish("assist.ringing", call.record)
        startRingTimer(call)
        Task { await self.followCaller(call) }
        return call.record
    }

    func startRingTimer(_ call: LiveCall) {
        call.ringStarted = .now
        let timeout = settings.ringTimeout
        call.ringTimer = Task {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            await self.ringTimedOut(call)
        }
    }

    func ringTimedOut(_ call: LiveCall) async {
        guard call.record.state == .ringing else { return }
        await end(call, state: .missed, endedBy: "timeout", problem: Problem(
            code: "assist-unanswered", status: 408, title: "无人接听 Not answered",
            detail: "office \(call.record.office) did not answer within \(settings.ringTimeout)",
            remedy: "Try again; the missed call is counted for the office."))
    }

    /// The caller's side of the room: the answer (a publisher with our call id), a decline (kicked by a counter, or
    /// a browser's display naming our call), hang-ups.
    func followCaller(_ call: LiveCall) async {
        for await message in call.session.events where message.sender == call.handle || message.sender == call.subscriber {
            guard !call.record.state.isFinal else { break }
            let data = message.plugindata?.data
            if data?.leaving?.text == "ok", data?.reason == "kicked" {
                await end(call, state: .declined, endedBy: "remote", problem: nil)
            } else if call.record.state == .ringing, let display = CallDisplay.parse(data?.display), display.role == .answerer,
                      display.declined == call.record.id {
                call.record.answerCounter = display.counter
                await end(call, state: .declined, endedBy: "remote", problem: nil)
            } else if let publisher = data?.publishers?.first(where: { CallDisplay.parse($0.display)?.call == call.record.id }),
                      call.record.state == .ringing {
                await connectCaller(call, answerer: publisher)
            } else if let gone = data?.leaving ?? data?.unpublished, gone == call.peerFeed, call.record.state == .connected {
                await end(call, state: .ended, endedBy: "remote", problem: nil)
            } else if message.janus == "hangup" && call.record.state == .connected {
                await fail(call, "the media connection to Janus broke (\(message.reason ?? "hangup"))")
            }
        }
        if !call.record.state.isFinal {
            await fail(call, call.session.ended ?? "the Janus session ended")
        }
    }

    /// Watches a connected call's incoming media: a counter that crashed or lost its network never says goodbye,
    /// and Janus drops its session only after the session timeout — a call whose other side sent nothing for
    /// `peerSilenceLimit` is failed (a shorter blip is ridden out).
    func watchPeer(_ call: LiveCall) {
        let limit = peerSilenceLimit
        call.silenceWatch = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let remote = call.remote, let silence = remote.silence, silence > limit else { continue }
                await self.fail(call, "the other counter sent nothing for \(limit) (its PC or network went away)", endedBy: "remote-lost")
                return
            }
        }
    }

    func connectCaller(_ call: LiveCall, answerer: VideoRoomData.Publisher) async {
        call.ringTimer?.cancel()
        call.peerFeed = answerer.id
        call.record.remoteFeed = answerer.id.text
        call.record.answerCounter = CallDisplay.parse(answerer.display)?.counter
        do {
            try await startMedia(call, publishOn: call.handle, display: CallDisplay(role: .caller, counter: settings.counterID, call: call.record.id))
            try await subscribe(call, to: answerer.id)
        } catch {
            await fail(call, "\(error)")
            return
        }
        call.record.state = .connected
        call.record.connectedAt = Date()
        try? store.saveAssistCall(call.record)
        await events.publish("assist.connected", call.record)
    }

    // MARK: - Answering

    /// An event in an office's room, seen by an answering counter.
    func answerSide(office: String, _ message: JanusMessage) async {
        guard let data = message.plugindata?.data else { return }
        if let joining = data.joining { await ring(office: office, participant: joining.id, display: joining.display) }
        for publisher in data.publishers ?? [] { await answerSide(office: office, published: publisher) }
        if let gone = data.leaving ?? data.unpublished {
            for call in calls.values where call.record.role == .answerer && !call.record.state.isFinal {
                if call.record.state == .ringing, call.peerParticipant == gone {
                    let outcome = RingOutcome.whenCallerLeft(after: .now - call.ringStarted, ringTimeout: settings.ringTimeout)
                    if outcome == .missed {
                        await end(call, state: .missed, endedBy: "timeout", problem: nil)
                    } else {
                        await end(call, state: .ended, endedBy: "remote", problem: nil)
                    }
                } else if call.record.state == .connected, gone == call.peerFeed || gone == call.peerParticipant {
                    await end(call, state: .ended, endedBy: "remote", problem: nil)
                }
            }
        }
    }

    /// A publisher appeared: the caller's media (subscribe to it), or another counter answering a call we ring for.
    func answerSide(office: String, published publisher: VideoRoomData.Publisher) async {
        guard let display = CallDisplay.parse(publisher.display), let callID = display.call, let call = calls[callID] else {
            if let display = CallDisplay.parse(publisher.display), display.role == .caller {
                await ring(office: office, participant: publisher.id, display: publisher.display)
            }
            return
        }
        if display.role == .answerer && display.counter != settings.counterID && call.record.state == .ringing {
            call.ringTimer?.cancel()
            await end(call, state: .ended, endedBy: "answered-elsewhere", problem: nil)
        } else if display.role == .caller && call.record.state == .connected && call.subscriber == nil {
            call.peerFeed = publisher.id
            call.record.remoteFeed = publisher.id.text
            do {
                try await subscribe(call, to: publisher.id)
            } catch {
                await fail(call, "\(error)")
                return
            }
            try? store.saveAssistCall(call.record)
            await events.publish("assist.connected", call.record)
        }
    }

    func ring(office: String, participant: JanusID, display text: String?) async {
        guard let display = CallDisplay.parse(text), display.role == .caller, let id = display.call, calls[id] == nil,
              let listener = listeners[office] else { return }
        var record = AssistCallRecord(id: id, role: .answerer, office: office, caseNumber: display.caseNumber ?? "",
                                      material: display.material, withDocumentCamera: display.withDocumentCamera ?? false,
                                      callerCounter: display.counter, answerCounter: settings.counterID, state: .ringing, startedAt: Date())
        record.room = String(listener.room)
        let call = LiveCall(record: record, session: listener.session, room: listener.room, handle: listener.handle,
                            directory: "\(settings.recordingsDirectory)/\(id)")
        call.peerParticipant = participant
        calls[id] = call
        try? store.saveAssistCall(record)
        await events.publish("assist.ringing", record)
        startRingTimer(call)
    }

    /// Accepts a ringing call: publishes our media into the room with the call's id (the caller connects on it).
    public func accept(_ id: String) async throws(Problem) -> AssistCallRecord {
        try requireMediaConfigured()
        let call = try live(id)
        guard call.record.role == .answerer, call.record.state == .ringing else {
            throw Problem(code: "assist-not-ringing", status: 409, title: "无法接听 Cannot answer",
                          detail: "call \(id) is \(call.record.state.rawValue) (\(call.record.role.rawValue) side)",
                          remedy: "Only a ringing incoming call can be answered.")
        }
        call.ringTimer?.cancel()
        do {
            try await startMedia(call, publishOn: call.handle, display: CallDisplay(role: .answerer, counter: settings.counterID, call: id))
        } catch {
            await fail(call, "\(error)")
            throw Self.janusProblem(error, url: settings.janusURL)
        }
        call.record.state = .connected
        call.record.connectedAt = Date()
        try? store.saveAssistCall(call.record)
        await events.publish("assist.connected", call.record)
        return call.record
    }

    /// Declines a ringing call (the caller is told at once).
    public func decline(_ id: String) async throws(Problem) -> AssistCallRecord {
        let call = try live(id)
        guard call.record.role == .answerer, call.record.state == .ringing, let participant = call.peerParticipant else {
            throw Problem(code: "assist-not-ringing", status: 409, title: "无法拒绝 Cannot decline",
                          detail: "call \(id) is \(call.record.state.rawValue)", remedy: "Only a ringing incoming call can be declined.")
        }
        _ = try? await call.session.message(call.handle, .object([
            "request": .string("kick"), "room": .number(Double(call.room)), "secret": .string(settings.roomSecret),
            "id": participant.jsonValue,
        ]), what: "videoroom kick")
        await end(call, state: .declined, endedBy: "local", problem: nil)
        return call.record
    }

    /// Hangs up (or withdraws a call that still rings).
    public func hangUp(_ id: String) async throws(Problem) -> AssistCallRecord {
        let call = try live(id)
        if !call.record.state.isFinal { await end(call, state: .ended, endedBy: "local", problem: nil) }
        return call.record
    }

    /// Calls (newest first) with this month's missed calls per office.
    public func overview() throws(Problem) -> AssistOverview {
        let calls: [AssistCallRecord]
        let missed: [String: Int]
        let reminders: [Reminder]
        do {
            calls = try store.assistCalls()
            missed = try store.missedAssistCalls(since: Self.monthStart())
            reminders = try store.reminders()
        } catch {
            throw Problem(code: "store-failed", status: 500, title: "存储出错 Storage error", detail: "\(error)", remedy: "See the service log.")
        }
        return AssistOverview(calls: calls, online: listeners.keys.sorted(), missedThisMonth: missed,
                              escalate: missed.filter { $0.value > settings.missedCallsPerMonthLimit }.keys.sorted(),
                              reminders: reminders, janusUrl: settings.janusURL)
    }

    /// The first moment of this month, local time.
    static func monthStart(_ now: Date = Date()) -> Date {
        var components = Calendar(identifier: .gregorian).dateComponents(in: TimeZone.current, from: now)
        components.day = 1
        components.hour = 0
        components.minute = 0
        components.second = 0
        components.nanosecond = 0
        return components.date ?? now
    }

    /// The reminder a missed call this counter placed sends to the city SMS gateway, when one is configured.
    func missedCallReminder(_ record: AssistCallRecord) -> String? {
        guard record.state == .missed, record.role == .caller, let notify = settings.missedCallNotify else { return nil }
        // This call is not counted yet: it is recorded missed together with its reminder.
        let missedBefore = (try? store.missedAssistCalls(since: Self.monthStart()))?[record.office] ?? 0
        let time = ISO8601DateFormatter.string(from: record.endedAt ?? Date(), timeZone: .current,
                                               formatOptions: [.withInternetDateTime])
        return notify.template.render([
            "office": .text(record.office), "counter": .text(record.callerCounter), "hall": .text(notify.hall),
            "caseNumber": .text(record.caseNumber), "time": .text(time), "missedThisMonth": .number(missedBefore + 1),
            "callId": .text(record.id),
        ])
    }

    // MARK: - Media and endings

    func startMedia(_ call: LiveCall, publishOn handle: UInt64, display: CallDisplay) async throws {
        let media = try CallMedia(settings.media, recordingDirectory: call.directory, withDocument: call.record.withDocumentCamera)
        call.media = media
        try media.start()
        let offer = try await thread.perform { () throws(GStreamerError) -> String in try media.endpoint.makeOffer() }
        let configured = try await call.session.request(handle, .object([
            "request": .string("publish"), "audio": .bool(true), "video": .bool(true), "display": .string(display.text),
        ]), jsep: JSEP(type: "offer", sdp: offer), what: "videoroom publish",
            answeredBy: { $0.jsep != nil || $0.plugindata?.data.errorCode != nil })
        guard let answer = configured.jsep else { throw JanusError(request: "videoroom publish", message: "no SDP answer") }
        try await thread.perform { () throws(GStreamerError) in try media.endpoint.acceptAnswer(answer.sdp) }
    }

    func subscribe(_ call: LiveCall, to feed: JanusID) async throws {
        let remote = try RemoteMedia(recordingDirectory: call.directory)
        call.remote = remote
        try remote.start()
        let subscriber = try await call.session.attach(VideoRoom.plugin)
        call.subscriber = subscriber
        try await VideoRoom.subscribe(call.session, handle: subscriber, room: call.room, feed: feed, media: remote, thread: thread)
        watchPeer(call)
    }

    func fail(_ call: LiveCall, _ reason: String, endedBy: String = "janus") async {
        await end(call, state: .failed, endedBy: endedBy, problem: Problem(
            code: "assist-failed", status: 502, title: "视频通话中断 Video call failed",
            detail: "call \(call.record.id) with office \(call.record.office): \(reason)",
            remedy: "Check that the video server (Janus) runs and the network is up, then call again; the recording so far is kept."))
    }

    /// Ends a call: leaves the room, stops and finishes the recordings, makes them the case's `recording`
    /// attachment (a connected call), records the end and tells the page.
    func end(_ call: LiveCall, state: AssistState, endedBy: String, problem: Problem?) async {
        guard !call.record.state.isFinal else { return }
        call.ringTimer?.cancel()
        call.silenceWatch?.cancel()
        call.record.state = state
        call.record.endedAt = Date()
        call.record.endedBy = endedBy
        call.record.problem = problem
        // The end is recorded (a missed call with its reminder, in one transaction) and told first; leaving the room
        // and finishing the recording follow.
        do { try store.saveAssistCall(call.record, reminder: missedCallReminder(call.record)) } catch {
            logger.error("assist: the call's end is not recorded", metadata: ["call": "\(call.record.id)", "error": "\(error)"])
        }
        let event = switch state {
        case .missed: "assist.missed"
        case .failed: "assist.failed"
        default: "assist.ended"
        }
        await events.publish(event, call.record)
        logger.info("assist: call ended", metadata: ["call": "\(call.record.id)", "state": "\(state.rawValue)", "by": "\(endedBy)"])
        // Leave the room — unless Janus is gone (its sessions went with it): the caller's whole session goes; the
        // answer side keeps its presence and only unpublishes.
        if call.session.ended == nil {
            if let subscriber = call.subscriber { await call.session.detach(subscriber) }
            if call.record.role == .caller {
                await call.session.detach(call.handle)
                await call.session.destroy()
            } else if call.media != nil {
                _ = try? await call.session.message(call.handle, .object(["request": .string("unpublish")]), what: "videoroom unpublish")
            }
        }
        let media = call.media, remote = call.remote
        let files = await thread.perform { (media?.finish() ?? []) + (remote?.finish() ?? []) }
        // The pipelines are done with: let GStreamer free them (the ended call stays listed by id).
        call.media = nil
        call.remote = nil
        guard !files.isEmpty else { return }
        do {
            let manifest = try await storeRecording(call.record, directory: call.directory, files: files)
            call.record.attachmentId = manifest.attachmentId
            try? store.saveAssistCall(call.record)
        } catch {
            logger.error("assist: recording not stored", metadata: ["call": "\(call.record.id)", "error": "\(error)"])
        }
    }

    /// The call's segments and a manifest, as one tar attachment of kind `recording`.
    func storeRecording(_ record: AssistCallRecord, directory: String, files: [String]) async throws -> AttachmentManifest {
        let manifest = RecordingManifest(call: record, files: files.map { ($0 as NSString).lastPathComponent })
        let manifestBytes = Array(try JSONEncoder.tongban.encode(manifest))
        let incoming = try await intake.begin(kind: .recording)
        do {
            for file in files {
                let bytes = try await thread.perform { () throws -> [UInt8] in Array(try Data(contentsOf: URL(fileURLWithPath: file))) }
                try await intake.append(TarArchive.header(name: (file as NSString).lastPathComponent, size: bytes.count, modified: Date())
                                        + bytes + TarArchive.padding(after: bytes.count), to: incoming)
            }
            try await intake.append(TarArchive.header(name: "manifest.json", size: manifestBytes.count, modified: Date())
                                    + manifestBytes + TarArchive.padding(after: manifestBytes.count) + TarArchive.end, to: incoming)
            let stored = try await intake.finish(incoming, AttachmentRequest(
                caseNumber: record.caseNumber, materialName: "视频协助录像 assistance call with \(record.office)",
                kind: .recording, contentType: "application/x-tar", fileName: "assist-\(record.id).tar",
                device: "assist:\(settings.counterID)"))
            try? FileManager.default.removeItem(atPath: directory)
            return stored
        } catch {
            await intake.abandon(incoming)
            throw error
        }
    }

    func requireMediaConfigured() throws(Problem) {
        guard settings.unconfigured.isEmpty else { throw Self.notSetUp(settings.unconfigured) }
    }

    /// Calls refused because `unset` (`assist.webcam`, `assist.microphone`) are not configured — for the service,
    /// `tongban assist check` and `tongban doctor` alike.
    public static func notSetUp(_ unset: [String]) -> Problem {
        Problem(code: "assist-not-set-up", status: 503, title: "视频设备未配置 Webcam or microphone not configured",
                detail: "this counter has no \(unset.joined(separator: " and ")) for video calls",
                remedy: "Set them in tongban.yaml: assist.webcam to the webcam's /dev/video node, assist.microphone to the headset "
                    + "(alsa:plughw:CARD=… from arecord -L for the service, or a PulseAudio source); 'test' for a test pattern and tone.")
    }

    func live(_ id: String) throws(Problem) -> LiveCall {
        guard let call = calls[id] else {
            throw Problem(code: "assist-not-found", status: 404, title: "通话不存在 No such call",
                          detail: "no call '\(id)' on this counter", remedy: "List calls with GET /v1/assists.")
        }
        return call
    }

    static func janusProblem(_ error: any Error, url: String) -> Problem {
        if let error = error as? JanusError, error.unreachable {
            return Problem(code: "janus-unreachable", status: 503, title: "视频服务器不可用 Video server unreachable",
                           detail: "Janus at \(url) does not answer: \(error.message) — for the administrator: start Janus (systemctl start janus) or check assist.janusUrl and the network",
                           remedy: "视频服务暂不可用，请稍后再试或电话联系对方部门。The video service is not available: try later, or phone the office.")
        }
        return Problem(code: "assist-failed", status: 502, title: "视频通话失败 Video call failed", detail: "\(error)",
                       remedy: "Try again; if it persists, check the video server's log.")
    }
}

/// The manifest inside a call's recording.
public struct RecordingManifest: Codable, Sendable {
    public var callId: String
    public var caseNumber: String
    public var office: String
    public var material: String?
    public var callerCounter: String
    public var answerCounter: String?
    public var startedAt: Date
    public var connectedAt: Date?
    public var endedAt: Date?
    public var durationSeconds: Double
    public var endedBy: String?
    /// `own-*.webm`: this counter as encoded; `remote-*.webm`: the other side as received.
    public var files: [String]

    init(call: AssistCallRecord, files: [String]) {
        callId = call.id
        caseNumber = call.caseNumber
        office = call.office
        material = call.material
        callerCounter = call.callerCounter
        answerCounter = call.answerCounter
        startedAt = call.startedAt
        connectedAt = call.connectedAt
        endedAt = call.endedAt
        durationSeconds = call.durationSeconds
        endedBy = call.endedBy
        self.files = files
    }
}
