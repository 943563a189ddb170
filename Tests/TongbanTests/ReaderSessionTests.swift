import Testing
@testable import IDCard
@testable import SAMProtocol
import Simulators

@Suite struct ReaderSessionTests {
    let timing = ReaderTiming()
    var session = ReaderSession()

    static let ok = SAMReply(status: .success)
    static let found = SAMReply(status: .findCardSuccess, data: [0, 0, 0, 0])
    static let noCard = SAMReply(status: .noCard)
    static let noAddress = SAMReply(status: .noSuchItem)

    /// Start, SAM ready, first poll tick: the session is idle and sends find-card.
    mutating func startReady() -> [ReaderAction] {
        #expect(session.handle(.start) == [.send(.samStatus, timeoutMilliseconds: timing.samStatusTimeout)])
        #expect(session.handle(.reply(Self.ok)) == [.emit(.ready), .wait(milliseconds: 0)])
        return session.handle(.tick)
    }

    /// Drives one complete read of `info` from a find-card reply.
    mutating func readCard(_ info: BaseInfo) -> [ReaderAction] {
        #expect(session.handle(.reply(Self.found)) == [.emit(.cardPresent), .send(.selectCard, timeoutMilliseconds: timing.selectTimeout)])
        #expect(session.handle(.reply(Self.ok)) == [.send(.readBaseInfo, timeoutMilliseconds: timing.baseInfoTimeout)])
        #expect(session.handle(.reply(info.reply())) == [.send(.readAdditionalAddress, timeoutMilliseconds: timing.additionalAddressTimeout)])
        return session.handle(.reply(Self.noAddress))
    }

    @Test mutating func waitsForTheSAMThenPolls() {
        #expect(session.handle(.start) == [.send(.samStatus, timeoutMilliseconds: timing.samStatusTimeout)])
        // Not ready yet: retry after the interval, quietly.
        #expect(session.handle(.reply(SAMReply(status: .unknownError))) == [.wait(milliseconds: timing.samRetryInterval)])
        #expect(session.handle(.tick) == [.send(.samStatus, timeoutMilliseconds: timing.samStatusTimeout)])
        #expect(session.handle(.timeout) == [.wait(milliseconds: timing.samRetryInterval)])
        #expect(session.handle(.tick) == [.send(.samStatus, timeoutMilliseconds: timing.samStatusTimeout)])
        #expect(session.handle(.reply(Self.ok)) == [.emit(.ready), .wait(milliseconds: 0)])
        #expect(session.handle(.tick) == [.send(.findCard, timeoutMilliseconds: timing.findTimeout)])
    }

    @Test mutating func reportsNotReadyAfterManyAttemptsAndFatalStatuses() {
        _ = session.handle(.start)
        var emitted: [ReaderEvent] = []
        for _ in 0..<timing.samAttemptsBeforeNotReady {
            for case .emit(let event) in session.handle(.timeout) { emitted.append(event) }
            _ = session.handle(.tick)
        }
        #expect(emitted == [.notReady("the reader does not answer")])
        #expect(session.handle(.reply(SAMReply(status: .samNotAuthorised))) == [.emit(.failed(.samNotAuthorised))])
        #expect(session.handle(.tick) == [])
    }

    @Test mutating func readsOnceOnTheEdgeAndStaysQuietWhileTheCardStays() {
        #expect(startReady() == [.send(.findCard, timeoutMilliseconds: timing.findTimeout)])
        #expect(readCard(SpecimenCards.resident) == [
            .emit(.cardRead(SpecimenCards.resident, additionalAddress: nil, onDemand: false)), .wait(milliseconds: timing.pollInterval),
        ])
        // Same card still there; this reader keeps answering find-card: no second read.
        _ = session.handle(.tick)
        #expect(session.handle(.reply(Self.found)) == [.wait(milliseconds: timing.pollInterval)])
        // This reader refuses find-card after a read: select-card confirms the card is still there.
        _ = session.handle(.tick)
        #expect(session.handle(.reply(Self.noCard)) == [.send(.selectCard, timeoutMilliseconds: timing.selectTimeout)])
        #expect(session.handle(.reply(Self.ok)) == [.wait(milliseconds: timing.pollInterval)])
        // Lifted: find fails, select fails → removed, and the next card is read again.
        _ = session.handle(.tick)
        _ = session.handle(.reply(Self.noCard))
        #expect(session.handle(.reply(SAMReply(status: .selectFailed))) == [.emit(.cardRemoved), .wait(milliseconds: timing.pollInterval)])
        _ = session.handle(.tick)
        #expect(readCard(SpecimenCards.foreigner2017).first == .emit(.cardRead(SpecimenCards.foreigner2017, additionalAddress: nil, onDemand: false)))
    }

    @Test mutating func cardLiftedMidReadYieldsNoRecordAndStartsOver() {
        _ = startReady()
        _ = session.handle(.reply(Self.found))
        _ = session.handle(.reply(Self.ok))
        #expect(session.handle(.reply(SAMReply(status: .readFailed))) == [
            .emit(.readFailed("base info: 0x41 read failed (card lifted mid-read?)")), .wait(milliseconds: timing.pollInterval),
        ])
        // Timeout mid-base-info, and a timeout mid-address, also drop the read.
        _ = session.handle(.tick)
        _ = session.handle(.reply(Self.found))
        _ = session.handle(.reply(Self.ok))
        #expect(session.handle(.timeout).first == .emit(.readFailed("no reply in time (card lifted?)")))
        _ = session.handle(.tick)
        _ = session.handle(.reply(Self.found))
        _ = session.handle(.reply(Self.ok))
        _ = session.handle(.reply(SpecimenCards.resident.reply()))
        #expect(session.handle(.timeout).first == .emit(.readFailed("no reply in time (card lifted?)")))
        // The card put back is read whole.
        _ = session.handle(.tick)
        #expect(readCard(SpecimenCards.resident).first == .emit(.cardRead(SpecimenCards.resident, additionalAddress: nil, onDemand: false)))
    }

    @Test mutating func corruptBaseInfoIsAFailedReadNotARecord() {
        _ = startReady()
        _ = session.handle(.reply(Self.found))
        _ = session.handle(.reply(Self.ok))
        let actions = session.handle(.reply(SAMReply(status: .success, data: [1, 0, 4, 0, 9])))
        guard case .emit(.readFailed(let reason)) = actions.first else {
            Issue.record("expected readFailed, got \(actions)")
            return
        }
        #expect(reason.contains("base info"))
    }

    @Test mutating func readOnDemandRereadsTheCardStillOnTheReader() {
        _ = startReady()
        _ = readCard(SpecimenCards.resident)
        #expect(session.handle(.readRequested) == [.send(.selectCard, timeoutMilliseconds: timing.selectTimeout)])
        #expect(session.handle(.reply(Self.ok)) == [.send(.readBaseInfo, timeoutMilliseconds: timing.baseInfoTimeout)])
        _ = session.handle(.reply(SpecimenCards.resident.reply()))
        #expect(session.handle(.reply(Self.noAddress)).first == .emit(.cardRead(SpecimenCards.resident, additionalAddress: nil, onDemand: true)))
    }

    @Test mutating func fingerprintIsReadOnlyWhenConfigured() {
        session = ReaderSession(readFingerprint: true)
        _ = startReady()
        _ = session.handle(.reply(Self.found))
        #expect(session.handle(.reply(Self.ok)) == [.send(.readBaseInfoWithFingerprint, timeoutMilliseconds: timing.baseInfoTimeout)])
    }

    @Test mutating func strayRepliesAreIgnored() {
        _ = startReady()
        _ = session.handle(.timeout)
        #expect(session.handle(.reply(Self.found)) == [])
    }
}
