import Foundation
import Testing
@testable import IDCard
@testable import SAMProtocol
@testable import Simulators

/// Collects driver events from its thread.
final class DriverEvents: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [ReaderDriverEvent] = []
    func append(_ event: ReaderDriverEvent) { lock.withLock { stored.append(event) } }
    var all: [ReaderDriverEvent] { lock.withLock { stored } }

    /// Waits until `predicate` holds for the events so far (a guard of one minute, not a timing assertion).
    func wait(until predicate: ([ReaderDriverEvent]) -> Bool) async throws -> Bool {
        for _ in 0..<1200 {
            if predicate(all) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

extension ReaderDriverEvent {
    var readType: CardType? {
        if case .session(.cardRead(let info, _, _)) = self { return CardText.cardType(of: info.text) }
        return nil
    }
}

@Suite(.serialized) struct ReaderDriverTests {
    var fastTiming: ReaderTiming {
        var timing = ReaderTiming()
        timing.pollInterval = 50
        timing.samRetryInterval = 50
        timing.baseInfoTimeout = 800
        timing.additionalAddressTimeout = 500
        return timing
    }

    @Test func serialPathAgainstTheSimulatorOnAPseudoTerminal() async throws {
        let link = try makeTemporaryDirectory() + "/reader"
        let host = PTYReaderHost(linkPath: link)
        try host.plugIn()
        let scenario = [
            SimulatorStep(at: 0, samNotReadyFor: 400),
            SimulatorStep(at: 800, place: .resident, additionalAddress: "北京市海淀区新址2号"),
            SimulatorStep(at: 2000, lift: true),
            SimulatorStep(at: 2600, liftMidRead: true),
            SimulatorStep(at: 2700, place: .foreigner2017),
            SimulatorStep(at: 4200, corruptNextReply: true, garbageBeforeNextReply: 9),
            SimulatorStep(at: 4300, place: .hkMacaoTaiwan),
            SimulatorStep(at: 6000, unplugFor: 1500),
            SimulatorStep(at: 8000, place: .foreigner2023),
        ]
        let hostThread = Thread { try? host.run(scenario: scenario, exitAfterScenario: false) }
        hostThread.start()
        defer { host.stop() }
        let events = DriverEvents()
        let driver = ReaderDriver(timing: fastTiming, reopenIntervalMilliseconds: 200,
                                  open: { () throws(IDCardError) -> any SAMTransport in try SerialTransport(path: link, baudRate: 115_200) },
                                  report: { events.append($0) })
        driver.start(name: "pty")
        defer { driver.stop() }
        let finished = try await events.wait { $0.contains { $0.readType == .foreigner2023 } }
        #expect(finished, "events: \(events.all)")
        let all = events.all
        #expect(all.first == .session(.ready))
        // Each card read once, in order; the one lifted mid-read never yields a record.
        #expect(all.compactMap(\.readType) == [.resident, .hkMacaoTaiwan, .foreigner2023])
        if case .session(.cardRead(_, let address, let onDemand))? = all.first(where: { $0.readType == .resident }) {
            #expect(address == "北京市海淀区新址2号")
            #expect(!onDemand)
        }
        #expect(all.contains(.session(.cardRemoved)))
        #expect(all.contains { if case .session(.readFailed) = $0 { true } else { false } })
        // Unplugged: the driver reports the reader unavailable, then reads again once it is back.
        let unplugged = all.firstIndex { if case .unavailable = $0 { true } else { false } }
        let lastRead = all.lastIndex { $0.readType == .foreigner2023 }
        #expect(unplugged != nil && lastRead != nil && unplugged! < lastRead!)
    }

    /// A driver on the in-process simulator with a resident card on it.
    func startOnSimulator() -> (SharedReaderSimulator, ReaderDriver, DriverEvents) {
        let simulator = SharedReaderSimulator()
        simulator.withSimulator { $0.place(.resident) }
        let events = DriverEvents()
        let driver = ReaderDriver(timing: fastTiming,
                                  open: { () throws(IDCardError) -> any SAMTransport in SimulatorTransport(simulator: simulator) },
                                  report: { events.append($0) })
        driver.start(name: "sim")
        return (simulator, driver, events)
    }

    @Test func explicitReadOnDemandThroughTheInProcessSimulator() async throws {
        let (_, driver, events) = startOnSimulator()
        defer { driver.stop() }
        #expect(try await events.wait { $0.compactMap(\.readType).count == 1 })
        driver.requestRead()
        #expect(try await events.wait { $0.compactMap(\.readType).count == 2 })
        let onDemand = events.all.compactMap { event -> Bool? in
            if case .session(.cardRead(_, _, let onDemand)) = event { return onDemand }
            return nil
        }
        #expect(onDemand == [false, true])
    }

    @Test func aCardSwappedForAnotherIsReadAfterTheFirstIsReportedRemoved() async throws {
        let (simulator, driver, events) = startOnSimulator()
        defer { driver.stop() }
        #expect(try await events.wait { $0.compactMap(\.readType) == [.resident] })
        simulator.withSimulator { $0.place(.foreigner2017) }
        #expect(try await events.wait { $0.compactMap(\.readType) == [.resident, .foreigner2017] }, "\(events.all)")
        let removed = events.all.firstIndex(of: .session(.cardRemoved))
        let second = events.all.lastIndex { $0.readType == .foreigner2017 }
        #expect(removed != nil && second != nil && removed! < second!)
    }

    @Test func missingPortIsReportedUnavailableWithTheCall() async throws {
        let events = DriverEvents()
        let path = "/nonexistent/ttyUSB9"
        let driver = ReaderDriver(open: { () throws(IDCardError) -> any SAMTransport in try SerialTransport(path: path, baudRate: 115_200) },
                                  report: { events.append($0) })
        driver.start(name: "missing")
        defer { driver.stop() }
        #expect(try await events.wait { !$0.isEmpty })
        #expect(events.all.first == .unavailable(.transport(call: "open", device: path, errno: ENOENT)))
    }
}
