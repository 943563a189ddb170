/// What the reader session asks its driver to do.
public enum ReaderAction: Sendable, Equatable {
    /// Write the command's frame and wait at most `timeoutMilliseconds` for its reply.
    case send(SAMCommand, timeoutMilliseconds: Int)
    /// Wait, then deliver `.tick`.
    case wait(milliseconds: Int)
    /// Tell the rest of the service.
    case emit(ReaderEvent)
}

/// What the reader session reports.
public enum ReaderEvent: Sendable, Equatable {
    /// The reader is usable (SAM answered), or not (with the reason).
    case ready
    case notReady(String)
    case failed(SAMStatus)
    /// A card arrived on the reader ("no card → card" edge).
    case cardPresent
    /// A complete read: base info plus the additional address (nil when the card has none).
    case cardRead(BaseInfo, additionalAddress: String?, onDemand: Bool)
    /// The card left the reader.
    case cardRemoved
    /// A read that did not complete; nothing of it is reported as a record.
    case readFailed(String)
}

/// What happens to the session.
public enum ReaderInput: Sendable, Equatable {
    case start
    case reply(SAMReply)
    /// The last command got no complete reply in time.
    case timeout
    /// The wait asked for is over.
    case tick
    /// The clerk asked for a read now (`POST /v1/idcard/read`).
    case readRequested
}

/// Timing of the session, in milliseconds (defaults from working readers: see the protocol reference).
public struct ReaderTiming: Sendable, Equatable {
    public var pollInterval = 300
    public var samStatusTimeout = 1000
    public var findTimeout = 300
    public var selectTimeout = 300
    public var baseInfoTimeout = 3000
    public var additionalAddressTimeout = 1500
    /// Wait between SAM-status polls while the SAM starts (it needs up to ~2 s after power-up).
    public var samRetryInterval = 200
    /// SAM-status polls before the reader is reported not ready (it keeps trying after that).
    public var samAttemptsBeforeNotReady = 15

    public init() {}
}

/// The reader's protocol logic as a pure state machine: inputs in, actions out, no I/O and no clock.
///
/// Wait for the SAM, poll find-card, read on the "no card → card" edge (select, base info, additional address),
/// stay quiet while the same card stays, report removal. Many readers refuse find-card after a good read until
/// the card is lifted, so a "no card" while a card was read is checked with select-card before the card is
/// reported removed. A lifted card mid-read, a timeout or a corrupt reply drops the partial read and starts
/// again from find-card. One presence of a card yields one `cardRead`, unless a read is requested.
public struct ReaderSession: Sendable {
    enum Phase: Equatable {
        case stopped
        case checkingSAM(attempt: Int)
        case idle
        case finding
        case confirmingPresence
        case selecting
        case readingBaseInfo
        case readingAdditionalAddress(BaseInfo)
    }

    public let timing: ReaderTiming
    public let readFingerprint: Bool
    private(set) var phase: Phase = .stopped
    /// A card was read and has not been seen to leave.
    private(set) var cardLatched = false
    private var readOnDemand = false
    private var reportedReady = false

    public init(timing: ReaderTiming = ReaderTiming(), readFingerprint: Bool = false) {
        self.timing = timing
        self.readFingerprint = readFingerprint
    }

    public mutating func handle(_ input: ReaderInput) -> [ReaderAction] {
        switch (input, phase) {
        case (.start, _):
            cardLatched = false
            reportedReady = false
            return checkSAM(attempt: 1)

        case (.readRequested, _):
            readOnDemand = true
            // An idle session reads at once; one in the middle of a command picks the flag up when it finishes.
            guard phase == .idle else { return [] }
            phase = .selecting
            return [.send(.selectCard, timeoutMilliseconds: timing.selectTimeout)]

        case (.tick, .checkingSAM(let attempt)):
            return checkSAM(attempt: attempt)
        case (.tick, .idle):
            phase = .finding
            return [.send(.findCard, timeoutMilliseconds: timing.findTimeout)]
        case (.tick, _):
            return []

        case (.reply(let reply), .checkingSAM(let attempt)):
            if reply.status == .success {
                phase = .idle
                reportedReady = true
                return [.emit(.ready), .wait(milliseconds: 0)]
            }
            if reply.status.isFatal {
                phase = .stopped
                return [.emit(.failed(reply.status))]
            }
            return retrySAM(after: attempt, reason: "SAM status \(reply.status)")
        case (.timeout, .checkingSAM(let attempt)):
            return retrySAM(after: attempt, reason: "the reader does not answer")

        case (.reply(let reply), .finding):
            switch reply.status {
            case .findCardSuccess:
                if cardLatched && !readOnDemand { return poll() }
                phase = .selecting
                return [.emit(.cardPresent), .send(.selectCard, timeoutMilliseconds: timing.selectTimeout)]
            case .noCard where cardLatched:
                // Possibly a reader that refuses find-card after a good read: ask select-card whether it is there.
                phase = .confirmingPresence
                return [.send(.selectCard, timeoutMilliseconds: timing.selectTimeout)]
            default:
                return notReadyIfFatal(reply.status) ?? poll()
            }

        case (.reply(let reply), .confirmingPresence):
            if reply.status == .success { return readOnDemand ? startRead() : poll() }
            cardLatched = false
            return [.emit(.cardRemoved)] + poll()

        case (.reply(let reply), .selecting):
            if reply.status == .success { return startRead() }
            return abandon(reply.status == .selectFailed ? nil : "select-card answered \(reply.status)")

        case (.reply(let reply), .readingBaseInfo):
            guard reply.status == .success else { return abandon("base info: \(reply.status)") }
            do {
                let info = try BaseInfo.parse(reply)
                phase = .readingAdditionalAddress(info)
                return [.send(.readAdditionalAddress, timeoutMilliseconds: timing.additionalAddressTimeout)]
            } catch {
                return abandon("base info: \(error)")
            }

        case (.reply(let reply), .readingAdditionalAddress(let info)):
            let address: String?
            do { address = try IdentityParser.additionalAddress(from: reply) } catch {
                return abandon("additional address: \(error)")
            }
            cardLatched = true
            let onDemand = readOnDemand
            readOnDemand = false
            return [.emit(.cardRead(info, additionalAddress: address, onDemand: onDemand))] + poll()

        case (.timeout, .readingBaseInfo), (.timeout, .readingAdditionalAddress):
            return abandon("no reply in time (card lifted?)")
        case (.timeout, .confirmingPresence):
            cardLatched = false
            return [.emit(.cardRemoved)] + poll()
        case (.timeout, _):
            return phase == .stopped ? [] : poll()

        case (.reply, _):
            // A stray reply (late answer to a timed-out command): ignore it, keep polling.
            return []
        }
    }

    private mutating func checkSAM(attempt: Int) -> [ReaderAction] {
        phase = .checkingSAM(attempt: attempt)
        return [.send(.samStatus, timeoutMilliseconds: timing.samStatusTimeout)]
    }

    private mutating func retrySAM(after attempt: Int, reason: String) -> [ReaderAction] {
        phase = .checkingSAM(attempt: attempt + 1)
        var actions: [ReaderAction] = []
        if attempt == timing.samAttemptsBeforeNotReady { actions.append(.emit(.notReady(reason))) }
        return actions + [.wait(milliseconds: timing.samRetryInterval)]
    }

    private mutating func startRead() -> [ReaderAction] {
        phase = .readingBaseInfo
        return [.send(readFingerprint ? .readBaseInfoWithFingerprint : .readBaseInfo, timeoutMilliseconds: timing.baseInfoTimeout)]
    }

    private mutating func poll() -> [ReaderAction] {
        phase = .idle
        return [.wait(milliseconds: timing.pollInterval)]
    }

    /// Drops a partial read; the next poll starts again from find-card.
    private mutating func abandon(_ reason: String?) -> [ReaderAction] {
        cardLatched = false
        let actions: [ReaderAction] = reason.map { [.emit(.readFailed($0))] } ?? []
        return actions + poll()
    }

    private mutating func notReadyIfFatal(_ status: SAMStatus) -> [ReaderAction]? {
        guard status.isFatal else { return nil }
        phase = .stopped
        return [.emit(.failed(status))]
    }
}
