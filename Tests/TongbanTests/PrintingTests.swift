import CUPS
import Delivery
import Foundation
import Glibc
import Logging
import Printing
import Receipts
import Store
import Testing
import TongbanCore

/// Printing against the rig's private cupsd and ippeveprinter: the document that reaches the printer, and what the
/// clerk is told about jams, empty trays, stopped queues and printers that vanish.
@Suite(.serialized) struct PrintingTests {
    struct Harness {
        let service: PrintService
        let store: Store
        let events: EventBus
        let runner: Task<Void, Never>

        init(queue: String = Rig["TONGBAN_RIG_PRINTER_QUEUE"], receipts: String? = nil) throws {
            let directory = try makeTemporaryDirectory("print")
            store = try Store(directory: directory)
            events = EventBus()
            let intake = AttachmentIntake(store: store, vault: try IdentityVault(store: store), counterID: "counter-test")
            let renderer = try NoticeTests.renderer()
            service = PrintService(store: store, intake: intake, events: events, renderer: renderer,
                                   cupsServer: Rig["TONGBAN_RIG_CUPS_SERVER"], noticeQueue: queue, receiptPrinter: receipts,
                                   pollInterval: .milliseconds(500), logger: Logger(label: "test.print"))
            let service = self.service
            runner = Task { try? await service.run() }
        }

        func noticeRequest(_ id: String = "receipt-notice", queue: String? = nil) throws -> PrintRequest {
            PrintRequest(document: .notice(template: id, data: try NoticeTests.example(id)), printer: queue)
        }

        /// Waits until the job satisfies `done` (the service follows it by itself), or 90 s.
        func wait(for id: String, until done: (PrintJobRecord) -> Bool) async throws -> PrintJobRecord {
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                if let record = try store.printJob(id: id), done(record) { return record }
                try await Task.sleep(for: .milliseconds(200))
            }
            return try #require(try store.printJob(id: id))
        }
    }

    /// An ippeveprinter of the test's own behind a queue of its own on the rig's cupsd, so faults that linger in the
    /// printer (a jam stays set in ippeveprinter) never reach the other tests.
    final class PrivatePrinter {
        let queue: String
        let process = Process()
        let port: Int

        init(queue: String, command: String? = nil) async throws {
            self.queue = queue
            port = try await freePort()
            let spool = try makeTemporaryDirectory(queue)
            var arguments = ["-r", "off", "-n", "localhost", "-p", "\(port)", "-k", "-d", spool, "-f", "application/pdf,image/pwg-raster"]
            if let command {
                let script = "\(spool)/command"
                try "#!/bin/sh\n\(command)\n".write(toFile: script, atomically: true, encoding: .utf8)
                chmod(script, 0o755)
                arguments += ["-c", script]
            }
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ippeveprinter")
            process.arguments = arguments + [queue]
            process.environment = ["DBUS_SYSTEM_BUS_ADDRESS": "unix:path=\(Rig["TONGBAN_RIG_DIR"])/cups/bus", "PATH": "/usr/bin:/bin"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            var ready = false
            for _ in 0..<100 where !ready {
                ready = (try? await run("/usr/bin/ipptool", ["-q", "-T", "2", "ipp://localhost:\(port)/ipp/print", "get-printer-attributes.test"]))?.status == 0
                if !ready { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(ready, "ippeveprinter did not come up")
            let added = try await run("/usr/sbin/lpadmin", ["-h", PrintingTests.cupsServer, "-p", queue, "-E",
                                                      "-v", "ipp://localhost:\(port)/ipp/print", "-m", "everywhere"])
            #expect(added.status == 0, "lpadmin: \(added.standardError)")
        }

        func kill() {
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }

        deinit {
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
            _ = try? runBlocking("/usr/sbin/lpadmin", ["-h", PrintingTests.cupsServer, "-x", queue])
        }
    }

    static var cupsServer: String { Rig["TONGBAN_RIG_CUPS_SERVER"] }

    /// Polls `GET /v1/prints/{id}` of a running service until the job ends (or 30 s); returns its last state.
    static func finalState(of id: String, port: Int, authorization: [String]) async throws -> String {
        var state = ""
        for _ in 0..<150 where !["completed", "failed", "canceled"].contains(state) {
            try await Task.sleep(for: .milliseconds(200))
            let answer = try await curl(authorization + ["http://127.0.0.1:\(port)/v1/prints/\(id)"])
            state = ((try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any])?["state"] as? String ?? ""
        }
        return state
    }
    static var queue: String { Rig["TONGBAN_RIG_PRINTER_QUEUE"] }
    static var printerPort: String { URL(string: Rig["TONGBAN_RIG_IPP_PRINTER"])?.port.map(String.init) ?? "" }

    /// The document ippeveprinter kept for a job: its file name carries the job name, which carries our print id.
    static func spooled(printID: String) throws -> String? {
        let spool = Rig["TONGBAN_RIG_IPP_SPOOL"]
        let names = try FileManager.default.contentsOfDirectory(atPath: spool)
        return names.first { $0.contains(printID) && $0.hasSuffix(".pdf") }.map { "\(spool)/\($0)" }
    }

    @Test(.enabled(if: Rig.available)) func aNoticePrintsAndWhatReachesThePrinterCarriesCaseAndApplicant() async throws {
        let harness = try Harness()
        defer { harness.runner.cancel() }
        let submitted = try await harness.service.print(try harness.noticeRequest())
        #expect(submitted.cupsJobId != nil)
        #expect(submitted.state == .queued)
        // Forms are laid out on A4 and asked for as such: a queue whose default is Letter still prints A4.
        #expect(submitted.media == "iso_a4_210x297mm")
        let jobAttributes = try await run("/usr/bin/ipptool", ["-tv", "ipp://\(Rig["TONGBAN_RIG_CUPS_SERVER"])/jobs/\(submitted.cupsJobId ?? 0)",
                                                               "get-job-attributes.test"]).standardOutput
        #expect(jobAttributes.contains("media (keyword) = iso_a4_210x297mm"), "\(jobAttributes.suffix(3000))")
        let attachmentId = try #require(submitted.attachmentId)
        let attachment = try #require(try harness.store.attachment(id: attachmentId))
        #expect(attachment.manifest.kind == .notice && attachment.manifest.caseNumber == "SX2026112200017")

        let done = try await harness.wait(for: submitted.id) { $0.state.isFinal }
        #expect(done.state == .completed, "\(done)")
        #expect(done.problem == nil)
        let spooled = try #require(try Self.spooled(printID: done.id), "document kept by ippeveprinter")
        let text = try await run("/usr/bin/pdftotext", [spooled, "-"]).standardOutput
        #expect(text.contains("SX2026112200017") && text.contains("张三") && text.contains("申请材料接收通知书"))
        let events = await harness.events.recentEvents.map(\.type)
        #expect(events.contains("print.submitted") && events.contains("print.completed"))

        // Printed again (same data, same day: the same bytes), the case still has one notice.
        let again = try await harness.service.print(try harness.noticeRequest())
        #expect(again.attachmentId == submitted.attachmentId)
        #expect(try harness.store.attachments(caseNumber: "SX2026112200017").count == 1)
    }

    @Test(.enabled(if: Rig.available)) func aJamAbortsTheJobAndSaysSo() async throws {
        let printer = try await PrivatePrinter(queue: "Tongban_Jamming", command: "sleep 1\necho 'STATE: +media-jam' >&2\nexit 1")
        let harness = try Harness(queue: printer.queue)
        defer { harness.runner.cancel() }
        let submitted = try await harness.service.print(try harness.noticeRequest())
        let done = try await harness.wait(for: submitted.id) { $0.state.isFinal }
        // CUPS 2.4's ipp backend ends such a job as canceled ("canceled at printer") or, when it had already sent the
        // whole document, as completed with the printer's jam report: either way the clerk is told of the jam.
        #expect(done.state == .failed || done.state == .completed, "\(done)")
        #expect(done.problem?.code == "printer-jam", "\(done)")
        #expect(done.problem?.title.contains("卡纸") == true)
        let type = done.state == .failed ? "print.failed" : "print.completed"
        #expect(await harness.events.recentEvents.contains { $0.type == type && $0.data["problem"]?["code"]?.stringValue == "printer-jam" })
    }

    @Test(.enabled(if: Rig.available)) func anEmptyTrayHoldsTheJobUntilPaperIsLoaded() async throws {
        // ippeveprinter's media page sets every tray at once: the by-pass tray (3) is left "unknown", not empty.
        let media = "http://localhost:\(Self.printerPort)/media?size3=&level3=-2&size1=iso_a4_210x297mm&level1="
        _ = try await curl(["-s", "-o", "/dev/null", media + "0"])
        var refilled = false
        defer { if !refilled { _ = try? runBlocking("/usr/bin/curl", ["-s", "--noproxy", "*", "--max-time", "10", "-o", "/dev/null", media + "250"]) } }
        let harness = try Harness()
        defer { harness.runner.cancel() }
        let submitted = try await harness.service.print(try harness.noticeRequest())
        let blocked = try await harness.wait(for: submitted.id) { $0.problem?.code == "printer-tray-empty" || $0.state.isFinal }
        #expect(blocked.state == .blocked, "\(blocked)")
        #expect(blocked.problem?.code == "printer-tray-empty")
        #expect(await harness.events.recentEvents.contains { $0.type == "print.state" })
        _ = try await curl(["-s", "-o", "/dev/null", media + "250"])
        refilled = true
        let done = try await harness.wait(for: submitted.id) { $0.state.isFinal }
        #expect(done.state == .completed, "\(done)")
    }

    @Test(.enabled(if: Rig.available)) func aStoppedQueueIsReportedAndTheJobPrintsOnceResumed() async throws {
        _ = try await run("/usr/sbin/cupsdisable", ["-h", Self.cupsServer, "-r", "maintenance", Self.queue])
        var resumed = false
        defer { if !resumed { _ = try? runBlocking("/usr/sbin/cupsenable", ["-h", Self.cupsServer, Self.queue]) } }
        let harness = try Harness()
        defer { harness.runner.cancel() }
        let submitted = try await harness.service.print(try harness.noticeRequest())
        let blocked = try await harness.wait(for: submitted.id) { $0.problem != nil || $0.state.isFinal }
        #expect(blocked.state == .blocked)
        #expect(blocked.problem?.code == "printer-queue-stopped", "\(blocked)")
        #expect(blocked.problem?.remedy?.contains("cupsenable") == true)
        let printers = try await harness.service.printers()
        #expect(printers.first { $0.name == Self.queue }?.state == "stopped")
        _ = try await run("/usr/sbin/cupsenable", ["-h", Self.cupsServer, Self.queue])
        resumed = true
        let done = try await harness.wait(for: submitted.id) { $0.state.isFinal }
        #expect(done.state == .completed, "\(done)")
    }

    /// A printer of its own, killed: the job sits in processing, and the clerk is told the printer cannot be reached.
    @Test(.enabled(if: Rig.available)) func aKilledPrinterIsReportedUnreachableAndTheJobCanBeCancelled() async throws {
        let printer = try await PrivatePrinter(queue: "Tongban_Killable")
        printer.kill()
        let harness = try Harness(queue: printer.queue)
        defer { harness.runner.cancel() }
        let submitted = try await harness.service.print(try harness.noticeRequest())
        let blocked = try await harness.wait(for: submitted.id) { $0.problem?.code == "printer-unreachable" || $0.state.isFinal }
        #expect(blocked.state == .blocked, "\(blocked)")
        #expect(blocked.problem?.code == "printer-unreachable")
        #expect(blocked.problem?.device == "cups:\(printer.queue)")
        let canceled = try await harness.service.cancel(submitted.id)
        let ended = canceled.state.isFinal ? canceled : try await harness.wait(for: submitted.id) { $0.state.isFinal }
        #expect(ended.state == .canceled, "\(ended)")
    }

    @Test(.enabled(if: Rig.available)) func optionsThePrinterLacksAndUnknownQueuesAreRefusedBeforeAnythingPrints() async throws {
        let harness = try Harness()
        defer { harness.runner.cancel() }
        var request = try harness.noticeRequest()
        request.sides = "two-sided-long-edge"
        request.media = "na_letter_8.5x11in"
        let error = await #expect(throws: Problem.self) { try await harness.service.print(request) }
        #expect(error?.code == "print-options-unsupported")
        #expect(error?.detail.contains("sides=two-sided-long-edge") == true && error?.detail.contains("supported: one-sided") == true,
                "\(String(describing: error))")
        let missing = await #expect(throws: Problem.self) { try await harness.service.print(try harness.noticeRequest(queue: "No_Such_Queue")) }
        #expect(missing?.code == "printer-not-found", "\(String(describing: missing))")
        #expect(try harness.store.printJobs().isEmpty, "nothing recorded for refused requests")
    }

    @Test(.enabled(if: Rig.available)) func aReceiptGoesByteForByteToARawPrinterPort() async throws {
        let listener = try await RawListener.start(connections: 1)
        defer { listener.stop() }
        let harness = try Harness(receipts: "socket://127.0.0.1:\(listener.port)")
        defer { harness.runner.cancel() }
        let job = try await harness.service.printReceipt(ReceiptTests.receipt, printer: nil, operator: "王五")
        #expect(job.state == .completed)
        #expect(try await listener.received(1).map(Array.init) == (try ReceiptTests.receipt.escPOS().bytes))
    }

    /// The same receipt through a CUPS raw queue (no filters) whose device is the listener: CUPS passes it untouched.
    @Test(.enabled(if: Rig.available)) func aReceiptThroughACUPSRawQueueArrivesUntouched() async throws {
        let listener = try await RawListener.start(connections: 1)
        defer { listener.stop() }
        let queue = "Tongban_Receipt"
        let added = try await run("/usr/sbin/lpadmin", ["-h", Self.cupsServer, "-p", queue, "-E", "-v", "socket://127.0.0.1:\(listener.port)"])
        #expect(added.status == 0, "lpadmin: \(added.standardError)")
        defer { _ = try? runBlocking("/usr/sbin/lpadmin", ["-h", Self.cupsServer, "-x", queue]) }
        let harness = try Harness(receipts: queue)
        defer { harness.runner.cancel() }
        let job = try await harness.service.printReceipt(ReceiptTests.receipt, printer: nil, operator: "王五")
        #expect(job.state == .queued && job.cupsJobId != nil)
        let done = try await harness.wait(for: job.id) { $0.state.isFinal }
        #expect(done.state == .completed, "\(done)")
        #expect(try await listener.received(1).map(Array.init) == (try ReceiptTests.receipt.escPOS().bytes))
    }

    /// The whole way in through `tongban serve`: the API prints a form, the job is followed to its end, the notice
    /// is the case's attachment, a preview renders as PNG, and `tongban print` waits for the job to end.
    @Test(.enabled(if: Rig.available)) func theAPIAndCLIPrintThroughTheRunningService() async throws {
        let directory = try makeTemporaryDirectory()
        let token = "print-test-token-0123456789"
        let server = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(directory)/data"],
                                            environment: ["TONGBAN_API_TOKEN": token, "TONGBAN_PRINTERS_CUPS_SERVER": Self.cupsServer,
                                                          "TONGBAN_PRINTERS_NOTICES": Self.queue])
        defer { Task { _ = try? await server.stop(signal: SIGKILL) } }
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let authorization = ["-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json"]
        let example = try String(contentsOfFile: "\(NoticeTests.templates)/examples/receipt-notice.json", encoding: .utf8)

        let printers = try await curl(authorization + ["http://127.0.0.1:\(port)/v1/printers"])
        #expect(printers.status == 200 && printers.body.contains("\"roles\":[\"notices\"]"), "\(printers.body)")
        let accepted = try await curl(authorization + ["-d", "{\"template\":\"receipt-notice\",\"data\":\(example)}", "http://127.0.0.1:\(port)/v1/prints"])
        #expect(accepted.status == 202, "\(accepted.body)")
        let job = try #require(try JSONSerialization.jsonObject(with: Data(accepted.body.utf8)) as? [String: Any])
        let id = try #require(job["id"] as? String)
        #expect(try await Self.finalState(of: id, port: port, authorization: authorization) == "completed")
        let attachments = try await curl(authorization + ["http://127.0.0.1:\(port)/v1/attachments"])
        #expect(attachments.body.contains("\"kind\":\"notice\"") && attachments.body.contains("申请材料接收通知书"), "\(attachments.body)")

        let invalid = try await curl(authorization + ["-d", "{\"template\":\"receipt-notice\",\"data\":{\"caseNumber\":\"A1\"}}", "http://127.0.0.1:\(port)/v1/prints"])
        #expect(invalid.status == 422 && invalid.body.contains("applicantName: required") && invalid.body.contains("materials: required"), "\(invalid.body)")

        let png = "\(directory)/preview.png"
        let preview = try await run("/usr/bin/curl", ["-s", "--noproxy", "*", "-o", png, "-w", "%{http_code} %{content_type}"] + authorization
                              + ["-d", example, "http://127.0.0.1:\(port)/v1/notices/receipt-notice/preview?format=png&dpi=50"]).standardOutput
        #expect(preview == "200 image/png", "\(preview)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: png)).starts(with: [0x89, 0x50, 0x4E, 0x47]))

        let cli = try await run(tongbanBinary, ["print", "receipt-notice", "--data", "\(NoticeTests.templates)/examples/receipt-notice.json"],
                          environment: ["TONGBAN_API_TOKEN": token, "TONGBAN_API_LISTEN": "127.0.0.1:\(port)", "TONGBAN_DATA_DIR": "\(directory)/data"])
        #expect(cli.status == 0, "\(cli.standardOutput) \(cli.standardError)")
        #expect(cli.standardOutput.contains(": completed"), "\(cli.standardOutput)")
    }

    /// The ippget subscription itself: a job submitted through the wrapper shows up as job events, ending in
    /// job-completed, through long-polled Get-Notifications.
    @Test(.enabled(if: Rig.available)) func theIppgetSubscriptionDeliversTheJobsEvents() async throws {
        let watcher = CUPSClient(server: Self.cupsServer), client = CUPSClient(server: Self.cupsServer)
        let subscription = try await watcher.subscribe(leaseSeconds: 60)
        let pdf = try await NoticeTests.renderer().render("receipt-notice", data: try NoticeTests.example("receipt-notice"), format: .pdf)
        let job = try await client.submit(queue: Self.queue, title: "subscription test", document: pdf.files[0],
                                          format: "application/pdf", options: ["copies": "1"])
        var sequence = 0, seen: [String] = []
        let started = ContinuousClock.now
        while !seen.contains("job-completed") && ContinuousClock.now - started < .seconds(60) {
            let answer = try await watcher.notifications(subscription: subscription, after: sequence)
            for event in answer.events where event.jobID == job { seen.append(event.event) }
            sequence = answer.events.map(\.sequence).max() ?? sequence
            if answer.events.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        await watcher.unsubscribe(subscription)
        #expect(seen.contains("job-created") || seen.contains("job-state-changed"), "\(seen)")
        #expect(seen.contains("job-completed"), "\(seen)")
    }

    /// kill -9 right after the API acknowledged a print: after the restart the job is still followed to its end, and
    /// the printer received the document exactly once.
    @Test(.enabled(if: Rig.available)) func killNineAfterAcknowledgingAPrintLosesNothingAndPrintsOnce() async throws {
        let directory = try makeTemporaryDirectory()
        let token = "print-kill-token-0123456789"
        let environment = ["TONGBAN_API_TOKEN": token, "TONGBAN_PRINTERS_CUPS_SERVER": Self.cupsServer,
                           "TONGBAN_PRINTERS_NOTICES": Self.queue]
        let first = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(directory)/data"], environment: environment)
        let port = try #require(try await first.waitUntilReady(), "serve: \(first.standardError)")
        let authorization = ["-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json"]
        guard case .object(var data) = try NoticeTests.example("handover-slip") else { return }
        data["caseNumber"] = .string("KILL-\(UUID().uuidString.prefix(8))")
        let body = String(decoding: try JSONEncoder().encode(JSONValue.object(["template": .string("handover-slip"), "data": .object(data)])),
                          as: UTF8.self)
        let accepted = try await curl(authorization + ["-d", body, "http://127.0.0.1:\(port)/v1/prints"])
        #expect(accepted.status == 202, "\(accepted.body)")
        _ = try await first.stop(signal: SIGKILL)
        let id = try #require((try JSONSerialization.jsonObject(with: Data(accepted.body.utf8)) as? [String: Any])?["id"] as? String)

        let second = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(directory)/data"], environment: environment)
        defer { Task { _ = try? await second.stop(signal: SIGKILL) } }
        let again = try #require(try await second.waitUntilReady(), "serve: \(second.standardError)")
        #expect(try await Self.finalState(of: id, port: again, authorization: authorization) == "completed")
        let spool = Rig["TONGBAN_RIG_IPP_SPOOL"]
        let copies = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.contains(id) && $0.hasSuffix(".pdf") }
        #expect(copies.count == 1, "\(copies)")
        let attachments = try await curl(authorization + ["http://127.0.0.1:\(again)/v1/attachments?case=\(data["caseNumber"]?.stringValue ?? "")"])
        #expect(attachments.body.components(separatedBy: "\"kind\":\"notice\"").count == 2, "\(attachments.body)")
    }
}
