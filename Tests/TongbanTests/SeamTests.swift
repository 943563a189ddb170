import Crypto
import Foundation
import Testing

/// Wave 2 · 1/8 against the real service (`tongban serve`, curl, SIGKILL): one clerk action gives one result,
/// nothing personal is left in clear, names that break the file system are refused, and the service keeps answering
/// under abuse. Each test names the finding it guards.
@Suite(.serialized) struct SeamTests {
    static let token = "seam-test-token-0123456789"

    /// A `tongban serve` of its own on a free port (archive delivery into `<data>/archive`).
    struct Service {
        let process: ChildProcess
        let port: Int
        let data: String

        static func start(data: String, environment: [String: String] = [:], arguments: [String] = [],
                          shell: String? = nil) async throws -> Service {
            let env = ["TONGBAN_API_TOKEN": SeamTests.token, "TONGBAN_LOG_LEVEL": "notice"].merging(environment) { $1 }
            let process: ChildProcess
            if let shell {
                // Through a shell, for limits such as `ulimit -n`.
                process = try ChildProcess("/bin/bash", ["-c", "\(shell); exec \"$0\" serve \"$@\"", tongbanBinary,
                                                         "--listen", "127.0.0.1:0", "--data-dir", data] + arguments, environment: env)
            } else {
                process = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", data] + arguments, environment: env)
            }
            let port = try #require(try await process.waitUntilReady(), "serve: \(process.standardError)")
            return Service(process: process, port: port, data: data)
        }

        var base: String { "http://127.0.0.1:\(port)" }

        /// SIGKILL, for a test that ends early: no service outlives its test.
        func killIfRunning() {
            if process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
        }

        /// An answer: status, headers and body (with the body as a JSON object when it is one).
        struct Answer: Sendable {
            var status: Int
            var headers: String
            var body: String
            var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
        }

        /// A request with the token (or the given headers instead); returns status, headers and JSON body.
        func call(_ method: String, _ path: String, json body: String? = nil, headers: [String] = ["Authorization: Bearer \(SeamTests.token)"],
                  extra: [String] = []) async throws -> Answer {
            var arguments = ["-X", method] + headers.flatMap { ["-H", $0] }
            if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
            let answer = try await curl(arguments + extra + ["\(base)\(path)"])
            return Answer(status: answer.status, headers: answer.headers, body: answer.body)
        }

        /// Uploads `file` as an attachment.
        func upload(_ file: String, query: String, headers: [String] = [], extra: [String] = []) async throws -> Answer {
            let answer = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(SeamTests.token)", "-H", "Content-Type: image/jpeg"]
                                        + headers.flatMap { ["-H", $0] } + extra + ["--data-binary", "@\(file)", "\(base)/v1/attachments?\(query)"])
            return Answer(status: answer.status, headers: answer.headers, body: answer.body)
        }

        func attachments(case caseNumber: String) async throws -> [[String: Any]] {
            let answer = try await curl(["-H", "Authorization: Bearer \(SeamTests.token)", "\(base)/v1/attachments?case=\(caseNumber)"])
            return (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [[String: Any]]) ?? []
        }

        func waitUntilDelivered() async throws -> Bool {
            for _ in 0..<600 {
                let outbox = try await call("GET", "/v1/outbox").json
                if outbox["undelivered"] as? Int == 0 { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
    }

    /// A file whose every 64 bytes carry `marker`, so any plain copy of any part of it is found by a byte search.
    static func markedFile(_ path: String, marker: String, size: Int) throws {
        let unit = Array((marker + String(repeating: "#", count: max(0, 64 - marker.utf8.count))).utf8.prefix(64))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        while bytes.count < size { bytes += unit }
        try Data(bytes.prefix(size)).write(to: URL(fileURLWithPath: path))
    }

    /// Every regular file under `directory` whose bytes contain `marker`.
    static func filesContaining(_ marker: String, under directory: String) -> [String] {
        let needle = Data(marker.utf8)
        var found: [String] = []
        for case let relative as String in FileManager.default.enumerator(atPath: directory) ?? .init() {
            let path = "\(directory)/\(relative)"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            if data.range(of: needle) != nil { found.append(relative) }
        }
        return found
    }

    // MARK: Twice

    /// Finding: two finishes at the same moment gave two PDFs; a crash between storing the PDF and marking the batch
    /// finished left a batch that could be finished again.
    @Test(.enabled(if: Rig.available)) func aBatchFinishedTwiceAtOnceOrAcrossAKillIsOneAttachment() async throws {
        let data = try makeTemporaryDirectory() + "/data"
        var service = try await Service.start(data: data)
        defer { service.killIfRunning() }
        func scanReady(_ caseNumber: String, on service: Service) async throws -> String {
            let started = try await service.call("POST", "/v1/scans", json: """
                {"device": "test:0", "source": "adf", "dpi": 75, "caseNumber": "\(caseNumber)", "materialName": "户口簿", "maxPages": 2, "saneOptions": {"test-picture": "Grid"}}
                """)
            #expect(started.status == 202, "\(started.body)")
            let id = try #require(started.json["id"] as? String)
            for _ in 0..<600 {
                if try await service.call("GET", "/v1/scans/\(id)").json["state"] as? String == "ready" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return id
        }
        // Two finishes at the same moment: one attachment, both answers name it.
        let first = try await scanReady("TB-TWICE-1", on: service)
        let running = service
        async let one = running.call("POST", "/v1/scans/\(first)/finish")
        async let two = running.call("POST", "/v1/scans/\(first)/finish")
        let (a, b) = try await (one, two)
        #expect([a.status, b.status].allSatisfy { $0 == 200 || $0 == 201 }, "\(a.body) / \(b.body)")
        #expect(a.json["attachmentId"] as? String != nil && a.json["attachmentId"] as? String == b.json["attachmentId"] as? String)
        #expect(try await service.attachments(case: "TB-TWICE-1").count == 1)
        // A third, later: the same attachment again.
        let again = try await service.call("POST", "/v1/scans/\(first)/finish")
        #expect(again.json["attachmentId"] as? String == a.json["attachmentId"] as? String)
        #expect(try await service.attachments(case: "TB-TWICE-1").count == 1)
        _ = try await service.process.stop()

        // SIGKILL after the PDF and its manifest are on disk but before the transaction: nothing recorded, the
        // debris swept at the restart, and the batch can be finished — once.
        service = try await Service.start(data: data, environment: ["TONGBAN_CRASH_AT": "attachment.manifest-written"])
        let second = try await scanReady("TB-TWICE-2", on: service)
        _ = try? await service.call("POST", "/v1/scans/\(second)/finish")
        #expect(try await service.process.waitForExit() == SIGKILL || !service.process.process.isRunning)
        service = try await Service.start(data: data)
        #expect(try await service.call("GET", "/v1/scans/\(second)").json["state"] as? String == "ready")
        #expect(try await service.attachments(case: "TB-TWICE-2").isEmpty)
        let recorded = Set(try await service.attachments(case: "TB-TWICE-1").compactMap { ($0["attachment"] as? [String: Any])?["attachmentId"] as? String })
        for day in try FileManager.default.contentsOfDirectory(atPath: "\(data)/files") where !day.hasPrefix(".") {
            for folder in try FileManager.default.contentsOfDirectory(atPath: "\(data)/files/\(day)") {
                #expect(recorded.contains(folder), "debris of an unacknowledged attachment left: \(day)/\(folder)")
            }
        }
        let finished = try await service.call("POST", "/v1/scans/\(second)/finish")
        #expect(finished.status == 201)
        #expect(try await service.attachments(case: "TB-TWICE-2").count == 1)
        _ = try await service.process.stop()

        // SIGKILL after the transaction, before the answer: the batch is finished with its one attachment, and the
        // client's retry gets that attachment rather than a second.
        service = try await Service.start(data: data, environment: ["TONGBAN_CRASH_AT": "attachment.recorded"])
        let third = try await scanReady("TB-TWICE-3", on: service)
        _ = try? await service.call("POST", "/v1/scans/\(third)/finish")
        _ = try await service.process.waitForExit()
        service = try await Service.start(data: data)
        let view = try await service.call("GET", "/v1/scans/\(third)").json
        #expect(view["state"] as? String == "finished")
        let retried = try await service.call("POST", "/v1/scans/\(third)/finish")
        #expect(retried.json["attachmentId"] as? String == view["attachmentId"] as? String)
        #expect(try await service.attachments(case: "TB-TWICE-3").count == 1)
        #expect(try await service.process.stop() == 0)
    }

    /// Finding: a client that retried a POST after a lost answer created a second attachment.
    @Test func theSameIdempotencyKeyGivesOneAttachmentAndTheSameAnswer() async throws {
        let directory = try makeTemporaryDirectory()
        let service = try await Service.start(data: "\(directory)/data")
        defer { service.killIfRunning() }
        try Self.markedFile("\(directory)/page.jpg", marker: "IDEMPOTENT", size: 10_000)
        let query = "case=TB-IDEM&material=%E8%BA%AB%E4%BB%BD%E8%AF%81&kind=scan&fileName=page.jpg"
        let first = try await service.upload("\(directory)/page.jpg", query: query, headers: ["Idempotency-Key: key-1"])
        let second = try await service.upload("\(directory)/page.jpg", query: query, headers: ["Idempotency-Key: key-1"])
        #expect(first.status == 201 && second.status == 201)
        #expect(first.json["attachmentId"] as? String == second.json["attachmentId"] as? String)
        #expect(second.headers.lowercased().contains("idempotent-replayed: true"))
        #expect(try await service.attachments(case: "TB-IDEM").count == 1)
        // The same key for another request: 422, nothing stored.
        try Self.markedFile("\(directory)/other.jpg", marker: "OTHER", size: 10_000)
        let reused = try await service.upload("\(directory)/other.jpg", query: query, headers: ["Idempotency-Key: key-1"])
        #expect(reused.status == 422 && reused.json["code"] as? String == "idempotency-key-reused")
        // While the first request with a key is still running: 409 for the second.
        try Self.markedFile("\(directory)/large.jpg", marker: "SLOW", size: 3_000_000)
        let slow = Task { try await service.upload("\(directory)/large.jpg", query: query, headers: ["Idempotency-Key: key-slow"],
                                                   extra: ["--limit-rate", "300K", "--max-time", "120"]) }
        // Once its bytes are arriving in files/.incoming the first request holds the key (it is claimed before the
        // body is read).
        for _ in 0..<600 {
            let incoming = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/data/files/.incoming")) ?? []
            if !incoming.isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        var sawInProgress = false
        for _ in 0..<20 where !sawInProgress {
            let meanwhile = try await service.upload("\(directory)/large.jpg", query: query, headers: ["Idempotency-Key: key-slow"])
            sawInProgress = meanwhile.status == 409 && meanwhile.json["code"] as? String == "idempotency-key-in-use"
            if meanwhile.status == 201 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(sawInProgress)
        let slowAnswer = try await slow.value
        #expect(slowAnswer.status == 201)
        #expect(try await service.attachments(case: "TB-IDEM").count == 2)
        // Kept across a restart.
        _ = try await service.process.stop()
        let restarted = try await Service.start(data: "\(directory)/data")
        defer { restarted.killIfRunning() }
        let third = try await restarted.upload("\(directory)/page.jpg", query: query, headers: ["Idempotency-Key: key-1"])
        #expect(third.json["attachmentId"] as? String == first.json["attachmentId"] as? String)
        #expect(try await restarted.attachments(case: "TB-IDEM").count == 2)
        #expect(try await restarted.process.stop() == 0)

        // SIGKILL after the attachment's transaction but before its answer was kept: the client's retry is told the
        // outcome is not known (409) — it is never done a second time.
        let crashing = try await Service.start(data: "\(directory)/data", environment: ["TONGBAN_CRASH_AT": "attachment.recorded"])
        defer { crashing.killIfRunning() }
        let crashQuery = "case=TB-IDEM-CRASH&material=m&kind=scan&fileName=page.jpg"
        _ = try? await crashing.upload("\(directory)/page.jpg", query: crashQuery, headers: ["Idempotency-Key: key-crash"])
        _ = try await crashing.process.waitForExit()
        let after = try await Service.start(data: "\(directory)/data")
        defer { after.killIfRunning() }
        let retried = try await after.upload("\(directory)/page.jpg", query: crashQuery, headers: ["Idempotency-Key: key-crash"])
        #expect(retried.status == 409 && retried.json["code"] as? String == "idempotency-outcome-unknown", "\(retried.body)")
        #expect(try await after.attachments(case: "TB-IDEM-CRASH").count == 1)
        #expect(try await after.process.stop() == 0)
    }

    // MARK: Nothing in clear

    /// Findings: SIGKILL during an upload left its temporary file in files/.incoming forever, with the plain bytes
    /// of an ID-card picture; the local archive stored ID-card pictures in clear.
    @Test func anIDCardPictureIsNeverOnDiskInClearNotEvenAcrossAKill() async throws {
        let directory = try makeTemporaryDirectory()
        let data = "\(directory)/data"
        let service = try await Service.start(data: data)
        defer { service.killIfRunning() }
        try Self.markedFile("\(directory)/card.jpg", marker: "PLAIN-IDCARD-BYTES", size: 4_000_000)
        let query = "case=TB-SEAL&material=%E8%BA%AB%E4%BB%BD%E8%AF%81&kind=idcard&fileName=card.jpg"
        // A client that sends the headers and the first megabyte of the 4 MB body, then waits: the upload is surely in
        // the middle when the service is killed, however loaded the machine (a rate-limited curl could finish, or give
        // up, before the check saw it).
        let sender = try ChildProcess("/usr/bin/python3", ["-c", """
            import socket, sys, time
            body = open(sys.argv[1], "rb").read()
            connection = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
            connection.sendall(("POST /v1/attachments?" + sys.argv[3] + " HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n"
                                + "Authorization: Bearer " + sys.argv[4] + "\\r\\nContent-Type: image/jpeg\\r\\n"
                                + "Content-Length: " + str(len(body)) + "\\r\\n\\r\\n").encode() + body[:1000000])
            print("sent", flush=True)
            time.sleep(600)
            """, "\(directory)/card.jpg", "\(service.port)", query, Self.token])
        defer { kill(sender.process.processIdentifier, SIGKILL) }
        // Wait until part of it has been written (sealed) into files/.incoming, then kill.
        var partial = false
        for _ in 0..<2400 where !partial {
            let incoming = "\(data)/files/.incoming"
            let sizes = ((try? FileManager.default.contentsOfDirectory(atPath: incoming)) ?? []).compactMap {
                (try? FileManager.default.attributesOfItem(atPath: "\(incoming)/\($0)"))?[.size] as? Int
            }
            partial = sizes.contains { $0 > 300_000 }
            if !partial { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(partial, "the upload never reached files/.incoming")
        #expect(Self.filesContaining("PLAIN-IDCARD-BYTES", under: data).isEmpty, "plain bytes while streaming in")
        _ = try await service.process.stop(signal: SIGKILL)
        kill(sender.process.processIdentifier, SIGKILL)
        let restarted = try await Service.start(data: data)
        defer { restarted.killIfRunning() }
        let incomingAfter = (try? FileManager.default.contentsOfDirectory(atPath: "\(data)/files/.incoming")) ?? []
        #expect(incomingAfter.isEmpty)
        #expect(Self.filesContaining("PLAIN-IDCARD-BYTES", under: data).isEmpty)

        // Whole this time, delivered to the default local archive: sealed there too, and the content route and
        // `tongban archive export` give the plain file back.
        try Self.markedFile("\(directory)/small.jpg", marker: "PLAIN-IDCARD-BYTES", size: 20_000)
        let stored = try await restarted.upload("\(directory)/small.jpg", query: query)
        #expect(stored.status == 201)
        let id = try #require(stored.json["attachmentId"] as? String)
        #expect(try await restarted.waitUntilDelivered())
        #expect(Self.filesContaining("PLAIN-IDCARD-BYTES", under: data).isEmpty, "plain identity bytes in the data folder or archive")
        let content = try await run("/usr/bin/curl", ["-s", "--noproxy", "*", "-H", "Authorization: Bearer \(Self.token)",
                                                      "-o", "\(directory)/back.jpg", "\(restarted.base)/v1/attachments/\(id)/content"])
        #expect(content.status == 0 && FileManager.default.contents(atPath: "\(directory)/back.jpg") == FileManager.default.contents(atPath: "\(directory)/small.jpg"))
        let archived = try #require(FileManager.default.enumerator(atPath: "\(data)/archive")?.compactMap { $0 as? String }
            .first { $0.hasSuffix(".sealed") && ($0 as NSString).lastPathComponent.hasPrefix(id) }, "no sealed file of \(id) in the archive")
        let export = try await run(tongbanBinary, ["archive", "export", "\(data)/archive/\(archived)", "--data-dir", data,
                                                   "--out", "\(directory)/exported.jpg", "--operator", "张三", "--reason", "法院调取"])
        #expect(export.status == 0, "\(export.standardError)")
        #expect(FileManager.default.contents(atPath: "\(directory)/exported.jpg") == FileManager.default.contents(atPath: "\(directory)/small.jpg"))
        #expect(try await restarted.process.stop() == 0)
        let verify = try await run(tongbanBinary, ["audit", "verify", "--data-dir", data])
        #expect(verify.status == 0, "\(verify.standardError)")
    }

    /// Finding: a file named `manifest.json` was overwritten by its own manifest after the 201.
    @Test func aFileNamedManifestJSONKeepsItsBytes() async throws {
        let directory = try makeTemporaryDirectory()
        let service = try await Service.start(data: "\(directory)/data")
        defer { service.killIfRunning() }
        try Data(#"{"mine": "not a manifest"}"#.utf8).write(to: URL(fileURLWithPath: "\(directory)/manifest.json"))
        let stored = try await service.upload("\(directory)/manifest.json", query: "case=TB-NAME&material=x&kind=other&fileName=manifest.json")
        #expect(stored.status == 201)
        let id = try #require(stored.json["attachmentId"] as? String)
        let content = try await service.call("GET", "/v1/attachments/\(id)/content")
        #expect(content.body == #"{"mine": "not a manifest"}"#)
        #expect(try await service.call("GET", "/v1/attachments/\(id)").json["fileName"] as? String == "manifest.json")
        #expect(try await service.waitUntilDelivered())
        _ = try await service.process.stop()
    }

    // MARK: Names

    /// Findings: limits counted characters, not bytes (58 Chinese characters accepted, then never archivable);
    /// NUL, newlines and bidi controls accepted; case numbers `.` and `..` accepted. Refused with 400 before the
    /// body is read; what is accepted is archived.
    @Test func namesThatBreakTheFileSystemAreRefusedBeforeTheBody() async throws {
        let directory = try makeTemporaryDirectory()
        let service = try await Service.start(data: "\(directory)/data")
        defer { service.killIfRunning() }
        try Self.markedFile("\(directory)/doc.pdf", marker: "NAMES", size: 2_000)
        func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
        let longest = String(repeating: "证", count: 66) // 198 bytes: the longest that fits the archive's path limit
        let refused: [(String, String)] = [
            ("case=TB-NAMES&material=m&fileName=\(encoded(String(repeating: "证", count: 67)))", "fileName"),
            ("case=TB-NAMES&material=m&fileName=\(encoded("a\u{0}b.pdf"))", "fileName"),
            ("case=TB-NAMES&material=m&fileName=\(encoded("a\nb.pdf"))", "fileName"),
            ("case=TB-NAMES&material=m&fileName=\(encoded("invoice\u{202E}fdp.exe"))", "fileName"),
            ("case=TB-NAMES&material=m&fileName=\(encoded(".."))", "fileName"),
            ("case=.&material=m&fileName=a.pdf", "caseNumber"),
            ("case=..&material=m&fileName=a.pdf", "caseNumber"),
            ("case=\(encoded("TB\u{2066}1"))&material=m&fileName=a.pdf", "caseNumber"),
            ("case=TB-NAMES&material=\(encoded("m\u{200F}"))&fileName=a.pdf", "materialName"),
        ]
        for (query, field) in refused {
            // A body declared as 500 MB that is never sent: the answer comes from the query alone.
            let answer = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Length: 500000000",
                                         "-H", "Expect:", "--max-time", "20", "\(service.base)/v1/attachments?\(query)&kind=scan"])
            #expect(answer.status == 400 && answer.body.contains(field), "\(query): \(answer.status) \(answer.body)")
        }
        let accepted = try await service.upload("\(directory)/doc.pdf", query: "case=TB-NAMES&material=m&kind=scan&fileName=\(encoded(longest))")
        #expect(accepted.status == 201)
        #expect(try await service.waitUntilDelivered(), "a name that was accepted could not be archived")
        #expect(try await service.attachments(case: "TB-NAMES").count == 1)
        _ = try await service.process.stop()
    }

    // MARK: Abuse

    /// Finding: about 1,000 idle connections (no file limit in the unit, no idle or header timeout) made the
    /// service stop answering.
    @Test func elevenHundredIdleConnectionsLeaveHealthAnswering() async throws {
        let directory = try makeTemporaryDirectory()
        let service = try await Service.start(data: "\(directory)/data", shell: "ulimit -n 1024")
        defer { service.killIfRunning() }
        let holder = try ChildProcess("/usr/bin/python3", ["\(packageRoot)/Tests/tools/idle_connections.py", "\(service.port)", "1100"])
        let held = try #require(try await holder.waitForLine(containing: "holding"), "idle_connections.py: \(holder.standardError)")
        #expect(held.contains("holding"))
        // Health answers while they are held (waiting for a slot, not for the connections to go away by themselves).
        let health = try await curl(["--max-time", "120", "--connect-timeout", "120", "\(service.base)/v1/health"])
        #expect(health.status == 200, "\(health)")
        #expect(service.process.process.isRunning)
        holder.process.terminate()
        _ = try await holder.stop()
        #expect(try await service.process.stop() == 0)
    }

    /// Findings: a 50 MB JSON body got a 500; a declared multi-GiB upload was read to 1 GiB before the 413; errors
    /// carried no CORS header, so the SDK reported every error from an allowed case system as unreachable.
    @Test func oversizedBodiesAre413AtOnceAndAllowedPagesReadProblems() async throws {
        let directory = try makeTemporaryDirectory()
        let service = try await Service.start(data: "\(directory)/data",
                                              environment: ["TONGBAN_API_ALLOWED_ORIGINS": "https://case.example.gov.cn"])
        // Declared too large: refused before a byte of the body is read.
        let declared = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Length: 5368709120",
                                       "-H", "Expect:", "--max-time", "20", "\(service.base)/v1/attachments?case=A&material=m&kind=scan"])
        #expect(declared.status == 413, "\(declared)")
        // A 50 MB JSON body, with and without a declared length.
        let big = "\(directory)/big.json"
        try Data(("{\"caseNumber\": \"" + String(repeating: "x", count: 50_000_000) + "\"}").utf8).write(to: URL(fileURLWithPath: big))
        for chunked in [false, true] {
            let answer = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Type: application/json"]
                                        + (chunked ? ["-H", "Transfer-Encoding: chunked"] : []) + ["--data-binary", "@\(big)", "\(service.base)/v1/prints"])
            #expect(answer.status == 413, "chunked \(chunked): \(answer.status) \(answer.body.prefix(200))")
        }
        // An allowed origin reads a 404's problem: it carries the CORS header.
        let notFound = try await service.call("GET", "/v1/attachments/no-such-attachment", headers: ["Origin: https://case.example.gov.cn"])
        #expect(notFound.status == 404 && notFound.json["code"] as? String == "attachment-not-found")
        #expect(notFound.headers.lowercased().contains("access-control-allow-origin: https://case.example.gov.cn"))
        #expect(try await service.call("GET", "/v1/health").status == 200)
        #expect(try await service.process.stop() == 0)
    }

    // MARK: Small

    /// Finding: `tongban serve` started outside the repository with no configuration file stopped on devices.quirks.
    @Test func theDefaultsStartAnywhere() async throws {
        let directory = try makeTemporaryDirectory()
        let bare = try ChildProcess("/usr/bin/env", ["-u", "TONGBAN_CONFIG", "/bin/bash", "-c",
                                                     "cd \"$1\" && exec \"$0\" serve --listen 127.0.0.1:0 --data-dir \"$1/data\"",
                                                     tongbanBinary, directory])
        let port = try await bare.waitUntilReady()
        #expect(port != nil, "serve outside the repository: \(bare.standardError)")
        #expect(try await bare.stop() == 0)
    }
}
