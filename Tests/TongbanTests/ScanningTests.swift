import ArchivalPDF
import Crypto
import Delivery
import Foundation
import Imaging
import Leptonica
import Logging
import SANE
import Scanning
import Store
import Testing
import TurboJPEG
import TongbanCore

/// Scanning against libsane's test backend (the rig's SANE_CONFIG_DIR): the feeder loop, its failures, cancel,
/// the clerk's edits, the PDF, and a kill -9 in the middle of a batch.
@Suite(.serialized) struct ScanningTests {
    static var saneReady: Bool { RigTests.saneReady }

    /// A scan service over a fresh store, with its events.
    struct Harness {
        let directory: String
        let store: Store
        let events: EventBus
        let service: ScanService

        init(_ name: String = #function) throws {
            directory = try makeTemporaryDirectory(name)
            store = try Store(directory: directory)
            events = EventBus(recentLimit: 4096)
            let intake = AttachmentIntake(store: store, vault: try IdentityVault(store: store), counterID: "counter-test")
            service = ScanService(store: store, intake: intake, events: events, pool: try ImagingPool(workers: 2),
                                  logger: Logger(label: "test.scan"), defaultScanner: "test:0", defaultDPI: 150,
                                  jpegQuality: 85) { "test:0" }
        }

        /// The events of one type published so far.
        func events(_ type: String) async -> [TongbanEvent] {
            let last = await events.upcomingSequence - 1
            guard last > 0 else { return [] }
            var found: [TongbanEvent] = []
            for await event in await events.subscribe(since: 0) {
                if event.type == type { found.append(event) }
                if event.sequence >= last { break }
            }
            return found
        }

        func scan(_ request: ScanRequest) async throws -> ScanView {
            let started = try await service.start(request)
            await service.waitUntilIdle(started.id)
            return try await service.view(started.id)
        }
    }

    /// The test backend keeps option values across open and close within a process, so every request sets the
    /// ones tests change back to their defaults unless it overrides them.
    static let backendDefaults = ["test-picture": "Grid", "read-return-value": "Default", "read-delay": "false", "read-limit": "false"]

    static func request(source: String = "adf", dpi: Int = 150, options: [String: String] = [:], maxPages: Int? = nil,
                        mode: String? = nil) -> ScanRequest {
        ScanRequest(device: "test:0", source: source, dpi: dpi, mode: mode, caseNumber: "TB-SCAN-1", materialName: "营业执照",
                    saneOptions: backendDefaults.merging(options) { $1 }, maxPages: maxPages)
    }

    static func sha256(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { SHA256.hash(data: $0).map { String(format: "%02x", $0) }.joined() }
    }

    // MARK: The feeder

    @Test(.enabled(if: saneReady)) func tenPageFeederBatchEndsOnNoDocsWithTenPages() async throws {
        let harness = try Harness()
        let scan = try await harness.scan(Self.request())
        #expect(scan.state == .ready)
        #expect(scan.problem == nil)
        #expect(scan.pageCount == 10)
        #expect(scan.pages.map(\.position) == Array(1...10))
        #expect(await harness.events("scan.page").count == 10)
        let finished = await harness.events("scan.finished")
        #expect(finished.count == 1)
        #expect(finished.first?.data["pagesScanned"] == .number(10))
        for page in try harness.store.scanPages(scanId: scan.id) {
            #expect(Self.sha256(page.path) == page.sha256, "page \(page.sequence) on disk differs from what was acknowledged")
            #expect(page.dotsPerInch == 150 && page.width == 1240)
        }
    }

    @Test(.enabled(if: saneReady)) func jamAtPageThreeKeepsPagesOneAndTwo() async throws {
        let device = try await SANEDevice.open("test:0")
        for (name, value) in Self.backendDefaults { try await device.set(name, name == "read-delay" || name == "read-limit" ? .bool(false) : .string(value)) }
        try await device.set("source", .string("Automatic Document Feeder"))
        try await device.set("resolution", .fixed(100))
        try await device.set("test-picture", .string("Grid"))
        let kept = PageCounter()
        let (pages, end) = await ScanAcquisition(pool: try ImagingPool(workers: 2)).run(
            device: device, dotsPerInch: 100, cleanup: PageCleanup(), maxPages: nil, expectsFeeder: true, isCancelled: { false },
            beforePage: { number, device throws(SANEError) in
                if number == 3 { try await device.set("read-return-value", .string("SANE_STATUS_JAMMED")) }
            },
            commit: { _ in await kept.add() })
        await device.close()
        #expect(pages == 2)
        #expect(await kept.count == 2)
        guard case .failed(let problem) = end else {
            Issue.record("expected the jam to end the scan, got \(end)")
            return
        }
        #expect(problem.code == "scanner-jammed")
        #expect(problem.detail.contains("sane_read") && problem.detail.contains("test:0") && problem.detail.contains("SANE_STATUS_JAMMED"))
        #expect(problem.remedy?.contains("pages already scanned are kept") == true)
    }

    /// A scanner that stops sending mid-page is cancelled by the watchdog; the batch fails as stalled with the
    /// pages before it kept. (The test backend pauses 0.2 s before each 1-byte read; the limit here is 0.05 s.)
    @Test(.enabled(if: saneReady)) func aScannerThatStopsSendingIsStoppedWithPagesKept() async throws {
        let device = try await SANEDevice.open("test:0")
        for (name, value) in Self.backendDefaults { try await device.set(name, name == "read-delay" || name == "read-limit" ? .bool(false) : .string(value)) }
        try await device.set("source", .string("Automatic Document Feeder"))
        try await device.set("resolution", .fixed(50))
        let kept = PageCounter()
        // Page 2 gets a byte every 200 ms, so a 50 ms window always sees it stall, however loaded the machine; page 1
        // (no delay) has an hour, so a busy machine that pauses the reader cannot make it look stalled.
        let (pages, end) = await ScanAcquisition(pool: try ImagingPool(workers: 2), stallSeconds: 0.05, firstPageStallSeconds: 3600).run(
            device: device, dotsPerInch: 50, cleanup: PageCleanup(), maxPages: nil, expectsFeeder: true, isCancelled: { false },
            beforePage: { number, device throws(SANEError) in
                if number == 2 {
                    try await device.set("read-limit", .bool(true))
                    try await device.set("read-limit-size", .int(1))
                    try await device.set("read-delay", .bool(true))
                    try await device.set("read-delay-duration", .int(200_000))
                }
            },
            commit: { _ in await kept.add() })
        for (name, value) in ["read-delay": false, "read-limit": false] { try await device.set(name, .bool(value)) }
        await device.close()
        let committed = await kept.count
        #expect(pages == 1 && committed == 1)
        guard case .failed(let problem) = end else {
            Issue.record("expected a stall, got \(end)")
            return
        }
        #expect(problem.code == "scanner-stalled" && problem.detail.contains("page 2"), "\(problem)")
    }

    @Test(.enabled(if: saneReady)) func coverOpenBeforeTheFirstPageFailsWithTheRemedy() async throws {
        let harness = try Harness()
        let scan = try await harness.scan(Self.request(options: ["read-return-value": "SANE_STATUS_COVER_OPEN"]))
        #expect(scan.state == .failed)
        #expect(scan.pageCount == 0)
        #expect(scan.problem?.code == "scanner-cover-open")
        #expect(scan.problem?.remedy?.contains("Close the scanner cover") == true)
        let failed = await harness.events("scan.failed")
        #expect(failed.count == 1)
        // The service goes on: the next batch on the same scanner works.
        let next = try await harness.scan(Self.request(maxPages: 1))
        #expect(next.state == .ready && next.pageCount == 1)
    }

    @Test(.enabled(if: saneReady)) func cancelMidPageKeepsOnlyWholePages() async throws {
        let harness = try Harness()
        let stream = await harness.events.subscribe()
        // Slow reads (8 KiB every 4 ms): a 100 dpi page takes about a second, so the cancel lands inside a page.
        let started = try await harness.service.start(Self.request(dpi: 100, options: [
            "read-limit": "true", "read-limit-size": "8192", "read-delay": "true", "read-delay-duration": "4000",
        ]))
        for await event in stream where event.type == "scan.page" || event.type == "scan.failed" { break }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await harness.service.cancel(started.id))
        await harness.service.waitUntilIdle(started.id)
        let scan = try await harness.service.view(started.id)
        #expect(scan.state == .ready)
        #expect((1..<10).contains(scan.pageCount))
        let finished = await harness.events("scan.finished")
        #expect(finished.first?.data["cancelled"] == .bool(true))
        for page in try harness.store.scanPages(scanId: started.id) {
            #expect(page.height > 1100, "page \(page.sequence) is \(page.height) lines: truncated")
            #expect(Self.sha256(page.path) == page.sha256)
        }
        // Nothing half-written is left in the batch's folder.
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(harness.store.scansDirectory)/\(started.id)")
        #expect(files.count == scan.pageCount * 2, "\(files)")
    }

    @Test(.enabled(if: saneReady)) func flatbedScansOnePage() async throws {
        let harness = try Harness()
        let scan = try await harness.scan(Self.request(source: "flatbed"))
        #expect(scan.state == .ready && scan.pageCount == 1)
        #expect(scan.settings?.source == "flatbed")
    }

    @Test(.enabled(if: saneReady)) func aSecondScanOnABusyScannerIsRefused() async throws {
        let harness = try Harness()
        let first = try await harness.service.start(Self.request(options: ["read-delay": "true", "read-delay-duration": "2000"]))
        await #expect(throws: Problem.self) { try await harness.service.start(Self.request()) }
        _ = await harness.service.cancel(first.id)
        await harness.service.waitUntilIdle(first.id)
    }

    @Test func malformedRequestsListEveryProblem() async throws {
        let harness = try Harness()
        var request = Self.request(dpi: 5000, mode: "sepia")
        request.caseNumber = ""
        let error = await #expect(throws: Problem.self) { try await harness.service.start(request) }
        #expect(error?.status == 400)
        for part in ["caseNumber is empty", "dpi must be", "mode must be"] {
            #expect(error?.detail.contains(part) == true, "\(error?.detail ?? "")")
        }
    }

    @Test(.enabled(if: saneReady)) func anUnknownBackendOptionIsNamed() async throws {
        let harness = try Harness()
        let scan = try await harness.scan(Self.request(options: ["no-such-option": "1"]))
        #expect(scan.state == .failed)
        #expect(scan.problem?.detail.contains("no-such-option") == true)
    }

    // MARK: Crash

    /// kill -9 while the feeder runs: at the restart the batch is `interrupted` with every page the API had
    /// acknowledged, byte for byte; the clerk can still finish it.
    @Test(.enabled(if: saneReady)) func killNineMidBatchKeepsEveryAcknowledgedPage() async throws {
        let directory = try makeTemporaryDirectory()
        let token = "scan-test-token-0123456789"
        func serve() async throws -> (ChildProcess, Int) {
            let server = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(directory)/data"],
                                                environment: ["TONGBAN_API_TOKEN": token])
            let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
            return (server, port)
        }
        func call(_ port: Int, _ method: String, _ path: String, _ body: String? = nil) async throws -> (status: Int, json: [String: Any]) {
            var arguments = ["-X", method, "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json"]
            if let body { arguments += ["-d", body] }
            let answer = try await curl(arguments + ["http://127.0.0.1:\(port)\(path)"])
            return (answer.status, (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]) ?? [:])
        }
        let (server, port) = try await serve()
        // A slow feeder (8 KiB reads, 3 ms apart): about a second a page at 100 dpi.
        let started = try await call(port, "POST", "/v1/scans", """
            {"device": "test:0", "source": "adf", "dpi": 100, "caseNumber": "TB-KILL-SCAN", "materialName": "户口簿",
             "saneOptions": {"test-picture": "Grid", "read-limit": "true", "read-limit-size": "8192",
                             "read-delay": "true", "read-delay-duration": "3000"}}
            """)
        #expect(started.status == 202)
        let id = try #require(started.json["id"] as? String)
        var acknowledged: [String: String] = [:]
        for _ in 0..<600 where acknowledged.count < 3 {
            let view = try await call(port, "GET", "/v1/scans/\(id)").json
            for page in view["pages"] as? [[String: Any]] ?? [] {
                acknowledged[page["id"] as? String ?? ""] = page["sha256"] as? String
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(acknowledged.count >= 3)
        _ = try await server.stop(signal: SIGKILL)

        let (again, port2) = try await serve()
        let view = try await call(port2, "GET", "/v1/scans/\(id)").json
        #expect(view["state"] as? String == "interrupted")
        let pages = view["pages"] as? [[String: Any]] ?? []
        #expect(pages.count >= acknowledged.count && pages.count < 10, "\(pages.count) pages after the restart")
        var kept: [String: String] = [:]
        for page in pages { kept[page["id"] as? String ?? ""] = page["sha256"] as? String }
        for (pageId, sha) in acknowledged {
            #expect(kept[pageId] == sha, "acknowledged page \(pageId) lost or changed")
            let image = try await run("/usr/bin/curl", ["-s", "--noproxy", "*", "-o", "\(directory)/page.jpg", "-H", "Authorization: Bearer \(token)",
                                                  "http://127.0.0.1:\(port2)/v1/scans/\(id)/pages/\(pageId)/image"])
            #expect(image.status == 0 && Self.sha256("\(directory)/page.jpg") == sha)
        }
        // No debris: exactly two files (image, thumbnail) per recorded page.
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/data/scans/\(id)")
        #expect(files.count == pages.count * 2, "\(files)")
        let finished = try await call(port2, "POST", "/v1/scans/\(id)/finish")
        #expect(finished.status == 201 && finished.json["pages"] as? Int == pages.count)
        #expect(try await again.stop() == 0)
    }

    // MARK: Edits and the PDF

    @Test(.enabled(if: saneReady)) func clerkEditsThenFinishesAnArchivalPDF() async throws {
        let harness = try Harness()
        let scan = try await harness.scan(Self.request(maxPages: 3))
        #expect(scan.pageCount == 3)
        let ids = scan.pages.map(\.id)
        // Reverse, turn the new first page, delete the middle one.
        var view = try await harness.service.reorder(scan.id, pageIds: ids.reversed())
        #expect(view.pages.map(\.id) == ids.reversed())
        view = try await harness.service.rotate(scan.id, pageId: ids[2], rotation: 90)
        view = try await harness.service.deletePage(scan.id, pageId: ids[1])
        #expect(view.pages.map(\.id) == [ids[2], ids[0]])
        await #expect(throws: Problem.self) { try await harness.service.reorder(scan.id, pageIds: [ids[0]]) }
        // Rescan one sheet from the flatbed into first place, then replace the last page.
        _ = try await harness.service.scanMore(scan.id, ScanMoreRequest(position: 1, source: "flatbed"))
        await harness.service.waitUntilIdle(scan.id)
        view = try await harness.service.view(scan.id)
        #expect(view.pageCount == 3 && view.pages[1].id == ids[2] && view.pages[2].id == ids[0])
        let inserted = view.pages[0].id
        _ = try await harness.service.scanMore(scan.id, ScanMoreRequest(replace: ids[0], source: "flatbed"))
        await harness.service.waitUntilIdle(scan.id)
        view = try await harness.service.view(scan.id)
        #expect(view.pageCount == 3 && view.pages[0].id == inserted && view.pages[1].id == ids[2] && !view.pages.map(\.id).contains(ids[0]))

        let manifest = try await harness.service.finish(scan.id, operator: "clerk-7")
        #expect(manifest.kind == .scan && manifest.pages == 3 && manifest.contentType == "application/pdf")
        let (_, file) = try #require(try harness.store.attachment(id: manifest.attachmentId))
        let check = try await run("/usr/bin/qpdf", ["--check", file.path])
        #expect(check.status == 0, "\(check.standardOutput)")
        let archival = try await archivalCheck(file.path)
        #expect(archival.passed, "\(archival.report)")
        let images = try await run("/usr/bin/pdfimages", ["-list", file.path]).standardOutput
        let rows = images.split(separator: "\n").dropFirst(2).map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.count == 3)
        for row in rows {
            #expect(row[2] == "image" && row[8] == "jpeg" && row[12] == "150" && row[13] == "150", "\(row)")
        }
        let info = try await run("/usr/bin/pdfinfo", ["-f", "1", "-l", "3", file.path]).standardOutput
        #expect(info.contains("Title:           营业执照"))
        #expect(info.contains("Keywords:        TB-SCAN-1"))
        #expect(info.contains("Page    2 rot:   90"), "\(info)")
        #expect(info.contains("Page    1 size:  595.2 x 841"), "\(info)")
        // The page renders at its real size: A4 width at 150 dpi.
        let render = try await run("/usr/bin/pdftoppm", ["-r", "150", "-f", "1", "-l", "1", "-gray", file.path, "\(harness.directory)/render"])
        #expect(render.status == 0)
        let pgm = try #require(FileManager.default.contents(atPath: "\(harness.directory)/render-1.pgm"))
        #expect(String(decoding: pgm.prefix(20), as: UTF8.self).contains("1240 "))
        let pdf = try #require(FileManager.default.contents(atPath: file.path))
        let text = String(decoding: pdf, as: UTF8.self)
        #expect(text.contains("<pdfaid:part>2</pdfaid:part>") && text.contains("<pdfaid:conformance>B</pdfaid:conformance>"))
        #expect(text.contains("/OutputIntents") && text.contains("/GTS_PDFA1"))
        #expect(try harness.store.scan(id: scan.id)?.state == .finished)
        // A finished batch is not finished again: a second finish (a double click, a retry) answers its one attachment.
        let again = try await harness.service.finish(scan.id, operator: nil)
        #expect(again.attachmentId == manifest.attachmentId)
        #expect(try harness.store.attachments(caseNumber: "TB-SCAN-1").count == 1)
    }

    @Test(.enabled(if: saneReady)) func blankPagesAreFlaggedAndLeftOutUnlessAskedFor() async throws {
        let harness = try Harness()
        let scan = try await harness.scan(Self.request(options: ["test-picture": "Solid white"], maxPages: 2))
        #expect(scan.pageCount == 2 && scan.blankPages == 2)
        await #expect(throws: Problem.self) { try await harness.service.finish(scan.id, operator: nil) }
        let manifest = try await harness.service.finish(scan.id, includeBlank: true, operator: nil)
        #expect(manifest.pages == 2)
    }

    /// Finding: a solid dark page was dropped as blank. Blank means paper without ink; dark all over is content.
    @Test(.enabled(if: saneReady)) func aDarkPageIsContentNotBlank() async throws {
        let harness = try Harness()
        let scan = try await harness.scan(Self.request(options: ["test-picture": "Solid black"], maxPages: 2))
        #expect(scan.pageCount == 2 && scan.blankPages == 0, "\(scan.pages.map(\.blank))")
        let manifest = try await harness.service.finish(scan.id, operator: nil)
        #expect(manifest.pages == 2)
    }

    @Test(.enabled(if: saneReady)) func lineartPagesAreGroupFourAndRenderTheRightWayRound() async throws {
        let directory = try makeTemporaryDirectory()
        let result = try await run(tongbanBinary, ["scan", "--device", "test:0", "--source", "flatbed", "--mode", "lineart", "--dpi", "100",
                                             "--option", "test-picture=Grid", "--out", "\(directory)/g4.pdf"])
        #expect(result.status == 0, "\(result.standardError)")
        let images = try await run("/usr/bin/pdfimages", ["-list", "\(directory)/g4.pdf"]).standardOutput
        #expect(images.contains("ccitt"), "\(images)")
        _ = try await run("/usr/bin/pdftoppm", ["-r", "50", "-gray", "\(directory)/g4.pdf", "\(directory)/g4"])
        let rendered = try Self.readPGM("\(directory)/g4-1.pgm")
        // The same grid from scanimage at 50 dpi (the test backend draws it to physical size): a page kept inverted,
        // shifted or empty would not match.
        let reference = try await run("/usr/bin/scanimage", ["-d", "test:0", "--mode", "Gray", "--resolution", "50", "-x", "210", "-y", "297",
                                                       "--test-picture", "Grid", "--source", "Flatbed", "--format=pnm",
                                                       "-o", "\(directory)/reference.pgm"])
        #expect(reference.status == 0, "\(reference.standardError)")
        let expected = try Self.readPGM("\(directory)/reference.pgm")
        var agreeing = 0, compared = 0, dark = 0
        for row in 0..<min(rendered.height, expected.height) {
            for column in 0..<min(rendered.width, expected.width) {
                let ours = rendered.pixels[row * rendered.width + column] < 128
                compared += 1
                if ours { dark += 1 }
                if ours == (expected.pixels[row * expected.width + column] < 128) { agreeing += 1 }
            }
        }
        #expect(Double(agreeing) / Double(max(1, compared)) > 0.8, "only \(agreeing) of \(compared) pixels agree")
        #expect((0.35...0.65).contains(Double(dark) / Double(max(1, compared))), "dark share \(dark) of \(compared)")
    }

    /// A binary PGM (P5, 8-bit), comments allowed in the header.
    static func readPGM(_ path: String) throws -> (pixels: [UInt8], width: Int, height: Int) {
        let data = try #require(FileManager.default.contents(atPath: path))
        var fields: [Int] = []
        var index = 2
        while fields.count < 3, index < data.count {
            if data[index] == UInt8(ascii: "#") {
                while index < data.count, data[index] != 0x0A { index += 1 }
            } else if (0x30...0x39).contains(data[index]) {
                var value = 0
                while index < data.count, (0x30...0x39).contains(data[index]) { value = value * 10 + Int(data[index] - 0x30); index += 1 }
                fields.append(value)
                continue
            }
            index += 1
        }
        let width = fields[0], height = fields[1]
        return (Array(data.suffix(width * height)), width, height)
    }

    @Test(.enabled(if: saneReady)) func scanCommandReportsAJamAfterWritingWhatItHas() async throws {
        let directory = try makeTemporaryDirectory()
        let result = try await run(tongbanBinary, ["scan", "--device", "test:0", "--dpi", "75",
                                             "--option", "read-return-value=SANE_STATUS_JAMMED", "--out", "\(directory)/jam.pdf"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("Scanner jammed") && result.standardError.contains("sane_read"), "\(result.standardError)")
    }

    @Test func pdfWriterIsDeterministic() {
        func document() -> [UInt8] {
            var writer = ArchivalPDFWriter()
            let image = PDFPageImage(encoding: .jpeg(components: 1), data: [0xFF, 0xD8, 0xFF, 0xD9], pixelWidth: 10, pixelHeight: 20,
                                     dotsPerInch: 100)
            return writer.begin() + writer.page(image)
                + writer.finish(PDFDocumentInfo(title: "营业执照 (副本)", subject: "受理编号 X", keywords: "X",
                                                created: Date(timeIntervalSince1970: 1_800_000_000), timeZone: TimeZone(identifier: "Asia/Shanghai")!))
        }
        #expect(document() == document())
        let text = String(decoding: document(), as: UTF8.self)
        #expect(text.contains("/MediaBox [0 0 7.20 14.40]"))
        #expect(text.contains("/CreationDate (D:20270115160000+08'00')"))
        #expect(text.contains("<xmp:CreateDate>2027-01-15T16:00:00+08:00</xmp:CreateDate>"))
        #expect(text.contains("/Title <FEFF"))
        #expect(SRGBProfile.bytes.count > 2000 && Array(SRGBProfile.bytes[36..<40]) == Array("acsp".utf8))
    }

    // MARK: Imaging

    @Test func deskewBringsATwoDegreePageUnderAFifthOfADegree() throws {
        // A synthetic A4 page at 300 dpi: lines of "words" (black bars) on white, then turned 2°.
        let width = 2480, height = 3508
        var pixels = [UInt8](repeating: 255, count: width * height)
        // Lines far enough apart that the measurement below cannot mistake one for its neighbour at 2°.
        for line in stride(from: 300, to: height - 300, by: 160) {
            var x = 250
            var word = 0
            while x < width - 250 {
                let length = 60 + (word * 37 + line) % 140
                for row in line..<(line + 22) {
                    for column in x..<min(x + length, width - 250) { pixels[row * width + column] = 20 }
                }
                x += length + 30
                word += 1
            }
        }
        let turned = try pixels.withUnsafeBytes {
            try LeptonicaImage.gray($0, width: width, height: height, stride: width)
        }.rotated(degrees: 2).packedPixels()
        let page = RawPage(width: width, height: height, channels: 1, pixels: turned, dotsPerInch: 300)
        #expect(abs(abs(Self.measuredSkew(turned, width: width, height: height)) - 2) < 0.1, "the test page itself is not turned 2°")
        let processed = try PageProcessor().process(page, PageCleanup())
        #expect(processed.straightened)
        #expect(abs(abs(processed.skewDegrees ?? 0) - 2) < 0.2)
        // Decode what was kept and measure the remaining skew independently of Leptonica's search.
        let decoded = try Self.decodeGray(processed.data)
        let residual = Self.measuredSkew(decoded.pixels, width: decoded.width, height: decoded.height)
        #expect(abs(residual) < 0.2, "residual skew \(residual)°")
    }

    @Test func straightPagesAreLeftAlone() throws {
        let width = 1240, height = 1754
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for row in stride(from: 200, to: 1500, by: 40) {
            for column in 150..<1100 { for channel in 0..<3 { pixels[(row * width + column) * 3 + channel] = 30 } }
        }
        let processed = try PageProcessor().process(RawPage(width: width, height: height, channels: 3, pixels: pixels, dotsPerInch: 150),
                                                    PageCleanup())
        #expect(!processed.straightened && !processed.blank)
        #expect(processed.width == width && processed.height == height)
        // The JPEG carries the real resolution.
        #expect(processed.data[13] == 1 && processed.data[14] == 0 && processed.data[15] == 150)
    }

    @Test func theScannersDarkBorderIsCropped() throws {
        let width = 1000, height = 1400
        var pixels = [UInt8](repeating: 10, count: width * height)
        for row in 60..<1340 { for column in 40..<960 { pixels[row * width + column] = 240 } }
        for row in stride(from: 200, to: 1200, by: 50) { for column in 100..<900 { pixels[row * width + column] = 0 } }
        let processed = try PageProcessor().process(RawPage(width: width, height: height, channels: 1, pixels: pixels, dotsPerInch: 100),
                                                    PageCleanup())
        #expect(abs(processed.width - 920) <= 2 && abs(processed.height - 1280) <= 2, "\(processed.width)×\(processed.height)")
    }

    /// The angle of the text line nearest the middle, from the centre of its dark rows in a band at the left and
    /// one at the right (positive: the right end is higher).
    static func measuredSkew(_ pixels: [UInt8], width: Int, height: Int) -> Double {
        func centre(_ columns: Range<Int>, near target: Double) -> Double {
            var best: (distance: Double, y: Double) = (.infinity, 0)
            var row = 0
            while row < height {
                var dark = 0
                for column in columns where pixels[row * width + column] < 128 { dark += 1 }
                if dark * 2 > columns.count {
                    let start = row
                    var weight = 0.0, sum = 0.0
                    while row < height {
                        var darkHere = 0
                        for column in columns where pixels[row * width + column] < 128 { darkHere += 1 }
                        if darkHere * 2 <= columns.count { break }
                        weight += 1
                        sum += Double(row)
                        row += 1
                    }
                    let y = sum / max(weight, 1)
                    if abs(y - target) < best.distance, row - start < 60 { best = (abs(y - target), y) }
                }
                row += 1
            }
            return best.y
        }
        // Bands narrow enough that a 2° line stays within them; wide enough to hold a word.
        let left = (width / 2 - 900)..<(width / 2 - 860), right = (width / 2 + 860)..<(width / 2 + 900)
        let middle = centre((width / 2 - 20)..<(width / 2 + 20), near: Double(height) / 2)
        let yLeft = centre(left, near: middle), yRight = centre(right, near: middle)
        return atan((yLeft - yRight) / Double(right.lowerBound - left.lowerBound)) * 180 / .pi
    }

    static func decodeGray(_ jpeg: [UInt8]) throws -> (pixels: [UInt8], width: Int, height: Int) {
        try JPEGDecoder().decode(jpeg, layout: .gray)
    }
}

actor PageCounter {
    private(set) var count = 0
    func add() { count += 1 }
}
