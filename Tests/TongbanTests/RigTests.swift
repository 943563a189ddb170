import CUPS
import Devices
import Foundation
import Logging
import SANE
import Testing
import TongbanCore

/// Against the real stacks of `scripts/rig up`: libsane's test backend and a private cupsd + ippeveprinter.
/// `SANE_CONFIG_DIR` must be in the environment before libsane initialises, so `scripts/test` exports the rig's.
@Suite(.serialized) struct RigTests {
    @Test func rigIsUpWhenRequired() {
        if Rig.required {
            #expect(Rig.available, "TONGBAN_REQUIRE_RIG=1 but the rig is not up (scripts/rig up)")
            #expect(ProcessInfo.processInfo.environment["SANE_CONFIG_DIR"] == Rig["SANE_CONFIG_DIR"],
                    "export the rig's SANE_CONFIG_DIR before running the tests")
        }
    }

    static var saneReady: Bool {
        Rig.available && ProcessInfo.processInfo.environment["SANE_CONFIG_DIR"] == Rig["SANE_CONFIG_DIR"]
    }

    @Test(.enabled(if: saneReady)) func saneWrapperListsTheTestBackend() async throws {
        let devices = try await SANESession.shared.devices()
        #expect(devices.contains { $0.name == "test:0" && $0.model == "frontend-tester" })
        #expect(try SANESession.shared.version().hasPrefix("1."))
    }

    @Test(.enabled(if: Rig.available)) func cupsWrapperListsTheRigQueueWithItsState() async throws {
        let client = CUPSClient(server: Rig["TONGBAN_RIG_CUPS_SERVER"])
        #expect(await client.effectiveServer() == Rig["TONGBAN_RIG_CUPS_SERVER"])
        let destinations = try await client.destinations()
        let queue = try #require(destinations.first { $0.name == Rig["TONGBAN_RIG_PRINTER_QUEUE"] })
        #expect(queue.options["device-uri"] == Rig["TONGBAN_RIG_IPP_PRINTER"])
        #expect([3, 4].contains(queue.printerState))
        #expect(queue.isAcceptingJobs)
    }

    @Test func unreachableCUPSIsATypedErrorWithRemedy() async throws {
        let client = CUPSClient(server: "127.0.0.1:1")
        let error = await #expect(throws: CUPSError.self) { try await client.destinations() }
        #expect(error?.call == "cupsGetDests2")
        #expect(error?.schedulerUnreachable == true)
        #expect(error?.problem.code == "cups-unreachable")
    }

    @Test(.enabled(if: saneReady)) func registryFindsScannerAndPrinterThroughTheRealStacks() async throws {
        let events = EventBus()
        let stream = await events.subscribe()
        let registry = DeviceRegistry(
            discoverers: [SANEDiscoverer(refreshInterval: .seconds(30), timeout: .seconds(10)),
                          CUPSDiscoverer(client: CUPSClient(server: Rig["TONGBAN_RIG_CUPS_SERVER"]))],
            simulate: .none, pollInterval: .seconds(60), events: events, store: nil, logger: Logger(label: "test"))
        let snapshot = await registry.refresh()
        let ids = Set(snapshot.devices.map(\.id))
        #expect(ids.contains("sane:test:0"))
        #expect(ids.contains("cups:\(Rig["TONGBAN_RIG_PRINTER_QUEUE"])"))
        #expect(snapshot.problems.isEmpty)
        var added: Set<String> = []
        for await event in stream where event.type == "device.added" {
            added.insert(event.data["id"]?.stringValue ?? "")
            if added.count == snapshot.devices.count { break }
        }
        #expect(added == ids)
    }
}
