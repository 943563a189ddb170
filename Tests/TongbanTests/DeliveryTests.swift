import Crypto
import Foundation
import Testing

/// Attachments through `tongban serve` to a real tus server (aiohttp-tus, `Tests/tools/tus_server.py`): each arrives
/// once and whole, across a kill -9 mid-upload and a case core that is down for a while.
@Suite(.serialized) struct DeliveryTests {
    static let token = "delivery-token-0123456789"
    static var tusReady: Bool { FileManager.default.isExecutableFile(atPath: Rig["TONGBAN_RIG_PYTHON"]) }

    @Test func tusServerIsThereWhenRequired() {
        if Rig.required { #expect(Self.tusReady, "TONGBAN_REQUIRE_RIG=1 but the rig has no tus server (scripts/setup's venv)") }
    }

    /// A private tus server for one test: its folder, and the process.
    struct TusServer {
        let directory: String
        let process: ChildProcess
        let url: String

        /// - Parameter tool: `tus_server.py` (aiohttp-tus) or `tus_checksum_server.py` (resumable-upload, checks checksums).
        static func start(in directory: String, port: Int = 0, tls: [String] = [], tool: String = "tus_server.py",
                          options: [String] = []) async throws -> TusServer {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let process = try ChildProcess(Rig["TONGBAN_RIG_PYTHON"], ["\(packageRoot)/Tests/tools/\(tool)", "--dir", directory, "--port", "\(port)"]
                                           + tls + options)
            let line = try #require(try await process.waitForLine(containing: "tus: listening on"), "tus: \(process.standardError)")
            let scheme = tls.isEmpty ? "http" : "https"
            return TusServer(directory: directory, process: process, url: "\(scheme)://127.0.0.1:\(line.split(separator: " ").last!)/files")
        }

        /// Completed uploads as the server recorded them.
        var delivered: [[String: Any]] { Self.lines("\(directory)/delivered.jsonl") }
        var requests: [[String: Any]] { Self.lines("\(directory)/requests.jsonl") }

        static func lines(_ path: String) -> [[String: Any]] {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    static func serve(dataDir: String, caseCore: String, extra: [String: String] = [:]) throws -> ChildProcess {
        try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", dataDir],
                               environment: ["TONGBAN_API_TOKEN": token, "TONGBAN_CASE_CORE_URL": caseCore,
                                             "TONGBAN_CASE_CORE_RETRY_MAX_SECONDS": "2"].merging(extra) { $1 })
    }

    /// POSTs a file as an attachment; returns the manifest.
    static func capture(port: Int, file: String, caseNumber: String, kind: String = "scan") async throws -> [String: Any] {
        manifest(try await run("/usr/bin/curl", captureArguments(port: port, file: file, caseNumber: caseNumber, kind: kind)))
    }

    /// `capture` for a plain thread (the kill -9 rounds capture from one, apart from the cooperative pool).
    static func captureBlocking(port: Int, file: String, caseNumber: String) throws -> [String: Any] {
        manifest(try runBlocking("/usr/bin/curl", captureArguments(port: port, file: file, caseNumber: caseNumber, kind: "scan")))
    }

    private static func captureArguments(port: Int, file: String, caseNumber: String, kind: String) -> [String] {
        ["-s", "--noproxy", "*", "--max-time", "300", "-X", "POST",
         "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/pdf", "--data-binary", "@\(file)",
         "http://127.0.0.1:\(port)/v1/attachments?case=\(caseNumber)&material=scan&kind=\(kind)&fileName=doc.pdf"]
    }

    private static func manifest(_ result: ProcessResult) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]) ?? ["error": result.standardOutput]
    }

    static func outbox(port: Int) async throws -> [String: Any] {
        let answer = try await curl(["http://127.0.0.1:\(port)/v1/outbox"])
        return (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]) ?? [:]
    }

    /// Waits (a guard against hanging, not a timing assertion) until nothing is undelivered.
    static func waitUntilDelivered(port: Int, seconds: Int = 300) async throws -> Bool {
        for _ in 0..<(seconds * 4) {
            if (try await outbox(port: port)["undelivered"] as? Int) == 0 { return true }
            try await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    /// Expects everything delivered within `seconds`; the outbox is shown when it is not.
    static func expectDelivered(port: Int, seconds: Int = 300, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let delivered = try await waitUntilDelivered(port: port, seconds: seconds)
        let outbox = delivered ? [:] : (try? await outbox(port: port)) ?? [:]
        #expect(delivered, "outbox: \(outbox)", sourceLocation: sourceLocation)
    }

    static func randomFile(_ path: String, size: Int) throws -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 8) {
            let value = generator.next()
            for offset in 0..<min(8, size - index) { bytes[index + offset] = UInt8(truncatingIfNeeded: value >> (offset * 8)) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Captures `count` files of random bytes (sizes from `size`); returns attachment id → SHA-256.
    static func captureRandomFiles(_ count: Int, port: Int, directory: String, caseNumber: (Int) -> String,
                                   size: (Int) -> Int) async throws -> [String: String] {
        var captured: [String: String] = [:]
        for index in 0..<count {
            let hash = try randomFile("\(directory)/file", size: size(index))
            let manifest = try await capture(port: port, file: "\(directory)/file", caseNumber: caseNumber(index))
            #expect(manifest["sha256"] as? String == hash, "\(manifest)")
            if let id = manifest["attachmentId"] as? String { captured[id] = hash }
        }
        return captured
    }

    /// Every captured attachment completed exactly once at the server, with the bytes it was captured with.
    static func expectDeliveredOnce(_ captured: [String: String], at tus: TusServer) {
        let delivered = tus.delivered
        let ids = delivered.compactMap { $0["attachmentId"] as? String }
        #expect(ids.count == captured.count && Set(ids) == Set(captured.keys),
                "\(ids.count) completed uploads for \(Set(ids).count) of \(captured.count) attachments")
        for record in delivered {
            let id = record["attachmentId"] as? String ?? ""
            #expect(record["receivedSha256"] as? String == captured[id], "\(id) arrived changed")
            #expect(record["sha256"] as? String == captured[id])
        }
    }

    @Test(.enabled(if: tusReady)) func hundredAttachmentsArriveOnceWithTheirHashes() async throws {
        let directory = try makeTemporaryDirectory()
        let tus = try await TusServer.start(in: "\(directory)/tus")
        defer { kill(tus.process.process.processIdentifier, SIGKILL) }
        let server = try Self.serve(dataDir: "\(directory)/data", caseCore: tus.url)
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let captured = try await Self.captureRandomFiles(100, port: port, directory: directory, caseNumber: { "TB-\($0 % 7)" },
                                                   size: { 1000 + $0 * 997 })
        #expect(captured.count == 100)
        try await Self.expectDelivered(port: port)
        Self.expectDeliveredOnce(captured, at: tus)
        #expect(try await server.stop() == 0)
        let audit = try await run(tongbanBinary, ["audit", "verify", "--data-dir", "\(directory)/data"])
        #expect(audit.status == 0 && audit.standardOutput.contains("intact: 200 record(s)"), "\(audit.standardOutput)\(audit.standardError)")
    }

    /// kill -9 in the middle of a 200 MB upload: after the restart the same upload resumes from the server's offset.
    @Test(.enabled(if: tusReady)) func killedMidUploadResumesFromTheServersOffset() async throws {
        let directory = try makeTemporaryDirectory()
        let size = 200 * 1024 * 1024, chunk = 4 * 1024 * 1024
        // The case core holds the upload after five chunks until told to go on: the kill lands mid-upload for sure.
        let tus = try await TusServer.start(in: "\(directory)/tus", options: ["--hold-from", "\(5 * chunk)"])
        defer { kill(tus.process.process.processIdentifier, SIGKILL) }
        let hash = try Self.randomFile("\(directory)/big", size: size)
        let first = try Self.serve(dataDir: "\(directory)/data", caseCore: tus.url, extra: ["TONGBAN_CASE_CORE_CHUNK_KILOBYTES": "4096"])
        let port = try #require(try await first.waitUntilReady(), "serve: \(first.standardError)")
        let manifest = try await Self.capture(port: port, file: "\(directory)/big", caseNumber: "TB-BIG")
        let id = try #require(manifest["attachmentId"] as? String, "\(manifest)")
        // Kill it once the server has confirmed the five chunks it takes before holding.
        var confirmed = 0
        for _ in 0..<3000 where confirmed < 5 * chunk {
            guard let entry = (try await Self.outbox(port: port)["entries"] as? [[String: Any]])?.first else { break }  // delivered
            confirmed = entry["offset"] as? Int ?? 0
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(confirmed == 5 * chunk, "confirmed \(confirmed)")
        _ = try await first.stop(signal: SIGKILL)
        #expect(FileManager.default.createFile(atPath: "\(directory)/tus/release", contents: nil))

        let second = try Self.serve(dataDir: "\(directory)/data", caseCore: tus.url, extra: ["TONGBAN_CASE_CORE_CHUNK_KILOBYTES": "4096"])
        let secondPort = try #require(try await second.waitUntilReady(), "serve: \(second.standardError)")
        try await Self.expectDelivered(port: secondPort)
        #expect(try await second.stop() == 0)

        let arrivals = tus.delivered.filter { $0["attachmentId"] as? String == id }
        #expect(arrivals.count == 1)
        #expect(arrivals.first?["receivedSha256"] as? String == hash)
        let requests = tus.requests
        #expect(requests.filter { $0["method"] as? String == "POST" }.count == 1, "one upload, resumed — not a second one")
        let sent = requests.filter { $0["method"] as? String == "PATCH" }.compactMap { $0["length"] as? Int }.reduce(0, +)
        let resent = sent - size
        #expect(resent >= 0 && resent < 2 * chunk, "re-sent \(resent) bytes")
        let resumedAt = requests.filter { $0["method"] as? String == "PATCH" }.compactMap { $0["offset"] as? Int }
        // Offsets only grow, except the one chunk that was in flight when the process died.
        #expect(zip(resumedAt, resumedAt.dropFirst()).filter { $0 >= $1 }.count <= 1, "\(resumedAt)")
        let note = "resend after kill: \(resent) bytes (chunk \(chunk)); confirmed before kill \(confirmed)\n"
        try? note.write(toFile: "\(directory)/resume.txt", atomically: true, encoding: .utf8)
    }

    /// kill -9 at random moments while attachments are being captured and delivered: every capture that was
    /// acknowledged arrives, once, whole; nothing arrives twice.
    @Test(.enabled(if: tusReady)) func killNineWhileCapturingLosesNothingAcknowledged() async throws {
        let directory = try makeTemporaryDirectory()
        let tus = try await TusServer.start(in: "\(directory)/tus")
        defer { kill(tus.process.process.processIdentifier, SIGKILL) }
        let acknowledged = LockedDictionary()
        for round in 0..<4 {
            let server = try Self.serve(dataDir: "\(directory)/data", caseCore: tus.url, extra: ["TONGBAN_CASE_CORE_CHUNK_KILOBYTES": "64"])
            let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
            let stop = LockedFlag()
            // A thread of its own kills the service after the round's time — mid-capture, mid-delivery — however busy
            // the test runner's cooperative pool is (a late Task.sleep once let a round capture for minutes and left
            // thousands of attachments to deliver).
            let killAt = Date().addingTimeInterval(Double(800 + round * 450) / 1000)
            let serverPID = server.process.processIdentifier
            Thread {
                Thread.sleep(until: killAt)
                kill(serverPID, SIGKILL)
                stop.set()
            }.start()
            let capturing = Thread {
                var index = 0
                while !stop.isSet {
                    index += 1
                    let file = "\(directory)/file-\(round)"
                    guard let hash = try? Self.randomFile(file, size: 20_000 + index * 3_331 % 400_000),
                          let manifest = try? Self.captureBlocking(port: port, file: file, caseNumber: "TB-KILL-\(round)"),
                          let id = manifest["attachmentId"] as? String else { continue }
                    acknowledged.set(id, hash)
                }
                stop.done()
            }
            capturing.start()
            while !stop.isDone { try await Task.sleep(for: .milliseconds(20)) }
            _ = try await server.stop(signal: SIGKILL)
        }
        let last = try Self.serve(dataDir: "\(directory)/data", caseCore: tus.url)
        let port = try #require(try await last.waitUntilReady(), "serve: \(last.standardError)")
        try await Self.expectDelivered(port: port)
        #expect(try await last.stop() == 0)
        let captured = acknowledged.snapshot
        #expect(captured.count >= 4, "too few captures to mean anything: \(captured.count)")
        let delivered = tus.delivered
        let ids = delivered.compactMap { $0["attachmentId"] as? String }
        #expect(ids.count == Set(ids).count, "delivered twice: \(ids.count - Set(ids).count)")
        #expect(Set(captured.keys).isSubset(of: Set(ids)), "acknowledged but never delivered: \(Set(captured.keys).subtracting(ids))")
        for record in delivered {
            if let hash = captured[record["attachmentId"] as? String ?? ""] { #expect(record["receivedSha256"] as? String == hash) }
        }
        let audit = try await run(tongbanBinary, ["audit", "verify", "--data-dir", "\(directory)/data"])
        #expect(audit.status == 0, "\(audit.standardError)")
    }

    /// The case core is down: captures are still taken at once and queue; when it comes up everything arrives once.
    @Test(.enabled(if: tusReady)) func caseCoreDownThenUp() async throws {
        let directory = try makeTemporaryDirectory()
        let port = try await freePort()
        let server = try Self.serve(dataDir: "\(directory)/data", caseCore: "http://127.0.0.1:\(port)/files")
        let apiPort = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let captured = try await Self.captureRandomFiles(10, port: apiPort, directory: directory, caseNumber: { _ in "TB-DOWN" },
                                                   size: { 50_000 + $0 })
        #expect(captured.count == 10, "captures were refused while the case core was down")
        var waiting: [String: Any] = [:]
        var errors: [String] = []
        for _ in 0..<240 where errors.isEmpty {
            try await Task.sleep(for: .milliseconds(250))
            waiting = try await Self.outbox(port: apiPort)
            errors = (waiting["entries"] as? [[String: Any]] ?? []).compactMap { $0["lastError"] as? String }
        }
        #expect(waiting["undelivered"] as? Int == 10)
        #expect(!errors.isEmpty, "the outbox says why nothing moves: \(waiting)")

        let tus = try await TusServer.start(in: "\(directory)/tus", port: port)
        defer { kill(tus.process.process.processIdentifier, SIGKILL) }
        try await Self.expectDelivered(port: apiPort)
        Self.expectDeliveredOnce(captured, at: tus)
        #expect(try await server.stop() == 0)
    }

    /// A proxy between Tongban and the case core answers 503, resets connections before and after the server acted,
    /// and stalls: every attachment still arrives exactly once, whole.
    @Test(.enabled(if: tusReady)) func faultyLinkStillDeliversEachAttachmentOnce() async throws {
        let directory = try makeTemporaryDirectory()
        let tus = try await TusServer.start(in: "\(directory)/tus")
        defer { kill(tus.process.process.processIdentifier, SIGKILL) }
        let upstream = tus.url.replacingOccurrences(of: "http://", with: "").replacingOccurrences(of: "/files", with: "")
        let proxy = try ChildProcess(Rig["TONGBAN_RIG_PYTHON"], ["\(packageRoot)/Tests/tools/fault_proxy.py", "--upstream", upstream,
                                                                  "--port-file", "\(directory)/proxy.port"])
        defer { kill(proxy.process.processIdentifier, SIGKILL) }
        let line = try #require(try await proxy.waitForLine(containing: "proxy: listening on"), "proxy: \(proxy.standardError)")
        let proxyURL = "http://127.0.0.1:\(line.split(separator: " ").last!)/files"
        let server = try Self.serve(dataDir: "\(directory)/data", caseCore: proxyURL,
                                    extra: ["TONGBAN_CASE_CORE_CHUNK_KILOBYTES": "128", "TONGBAN_CASE_CORE_PARALLEL_UPLOADS": "4"])
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let captured = try await Self.captureRandomFiles(30, port: port, directory: directory, caseNumber: { _ in "TB-FAULT" },
                                                   size: { 50_000 + $0 * 37_000 })
        #expect(captured.count == 30)
        try await Self.expectDelivered(port: port)
        Self.expectDeliveredOnce(captured, at: tus)
        let counts = (try? String(contentsOfFile: "\(directory)/proxy.port.counts", encoding: .utf8)) ?? ""
        for fault in ["unavailable", "reset-before", "lose-response", "stall"] {
            #expect(!counts.contains("\"\(fault)\": 0"), "the proxy never injected \(fault): \(counts)")
        }
        #expect(try await server.stop() == 0)
    }

    /// A server that offers the checksum extension gets `Upload-Checksum` with every chunk: chunks damaged on the way
    /// (a proxy flips a byte) are refused with 460 and sent again, and every attachment arrives whole.
    @Test(.enabled(if: tusReady)) func checksumsCatchChunksDamagedOnTheWay() async throws {
        let directory = try makeTemporaryDirectory()
        let tus = try await TusServer.start(in: "\(directory)/tus", tool: "tus_checksum_server.py")
        defer { kill(tus.process.process.processIdentifier, SIGKILL) }
        let upstream = tus.url.replacingOccurrences(of: "http://", with: "").replacingOccurrences(of: "/files", with: "")
        let proxy = try ChildProcess(Rig["TONGBAN_RIG_PYTHON"], ["\(packageRoot)/Tests/tools/fault_proxy.py", "--upstream", upstream, "--no-faults",
                                                                  "--corrupt-rate", "0.3", "--port-file", "\(directory)/proxy.port"])
        defer { kill(proxy.process.processIdentifier, SIGKILL) }
        let line = try #require(try await proxy.waitForLine(containing: "proxy: listening on"), "proxy: \(proxy.standardError)")
        let server = try Self.serve(dataDir: "\(directory)/data", caseCore: "http://127.0.0.1:\(line.split(separator: " ").last!)/files",
                                    extra: ["TONGBAN_CASE_CORE_CHUNK_KILOBYTES": "64"])
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let captured = try await Self.captureRandomFiles(5, port: port, directory: directory, caseNumber: { _ in "TB-SUM" },
                                                   size: { 300_000 + $0 * 50_000 })
        try await Self.expectDelivered(port: port)
        Self.expectDeliveredOnce(captured, at: tus)
        let counts = (try? String(contentsOfFile: "\(directory)/proxy.port.counts", encoding: .utf8)) ?? ""
        #expect(!counts.contains("\"corrupt\": 0") && counts.contains("corrupt"), "the proxy damaged nothing: \(counts)")
        #expect(try await server.stop() == 0)
    }

    /// The data folder on a 4 MB filesystem fills up: the capture that does not fit is refused with a clear 507, what
    /// was stored before stays whole, the service keeps answering, and captures work again once there is room.
    @Test(.enabled(if: getuid() == 0)) func diskFullRefusesCaptureAndKeepsWhatIsStored() async throws {
        let directory = try makeTemporaryDirectory()
        let dataDir = "\(directory)/data"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let mounted = try await run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dataDir])
        try #require(mounted.status == 0, "cannot mount a small filesystem: \(mounted.standardError)")
        defer { _ = try? runBlocking("/bin/umount", ["-l", dataDir]) }
        // The case core is unreachable, so every attachment stays in the data folder.
        let server = try Self.serve(dataDir: dataDir, caseCore: "http://127.0.0.1:\(try await freePort())/files")
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        var stored: [String: String] = [:]
        var refusal: (status: Int, headers: String, body: String)?
        for _ in 0..<40 where refusal == nil {
            let hash = try Self.randomFile("\(directory)/file", size: 300_000)
            let answer = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Type: application/pdf",
                                   "--data-binary", "@\(directory)/file",
                                   "http://127.0.0.1:\(port)/v1/attachments?case=TB-FULL&material=scan&kind=scan&fileName=doc.pdf"])
            if answer.status == 201, let id = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])?["attachmentId"] as? String {
                stored[id] = hash
            } else {
                refusal = answer
            }
        }
        let refused = try #require(refusal, "4 MB never filled up")
        #expect(refused.status == 507, "\(refused.body)")
        #expect(refused.body.contains("disk-full") && refused.body.contains("Free space"), "\(refused.body)")
        #expect(!stored.isEmpty)
        #expect(try await curl(["http://127.0.0.1:\(port)/v1/health"]).status == 200, "the service keeps running")
        // Everything acknowledged before is whole and listed.
        let listed = try await curl(["http://127.0.0.1:\(port)/v1/attachments?case=TB-FULL"])
        for (id, hash) in stored {
            #expect(listed.body.contains(id))
            let files = try await run("/usr/bin/find", [dataDir + "/files", "-path", "*\(id)/content"]).standardOutput
                .split(separator: "\n").map(String.init)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: try #require(files.first, "file of \(id)")))
            #expect(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() == hash)
        }
        // Room again: captures are taken again.
        #expect(try await run("/bin/mount", ["-o", "remount,size=16m", dataDir]).status == 0)
        let again = try await Self.capture(port: port, file: "\(directory)/file", caseNumber: "TB-FULL")
        #expect(again["attachmentId"] != nil, "\(again)")
        #expect(try await server.stop() == 0)
        let audit = try await run(tongbanBinary, ["audit", "verify", "--data-dir", dataDir])
        #expect(audit.status == 0, "\(audit.standardError)")
    }

    /// Mutual TLS as on the government extranet: the case core's certificate from a private CA (caseCore.caFile),
    /// and the counter's client certificate. Without the client certificate nothing is delivered, and the outbox
    /// says why.
    @Test(.enabled(if: tusReady)) func mutualTLSWithAPrivateCA() async throws {
        let directory = try makeTemporaryDirectory()
        let pki = "\(directory)/pki"
        try FileManager.default.createDirectory(atPath: pki, withIntermediateDirectories: true)
        let script = """
            set -e; cd '\(pki)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=Tongban Test CA" 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=counter-1" 2>/dev/null
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
            """
        let made = try await run("/bin/sh", ["-c", script])
        try #require(made.status == 0, "openssl: \(made.standardError)")
        let tus = try await TusServer.start(in: "\(directory)/tus", tls: ["--tls-cert", "\(pki)/server.pem", "--tls-key", "\(pki)/server.key",
                                                                          "--client-ca", "\(pki)/ca.pem"])
        defer { kill(tus.process.process.processIdentifier, SIGKILL) }
        let tlsSettings = ["TONGBAN_CASE_CORE_CA_FILE": "\(pki)/ca.pem", "TONGBAN_CASE_CORE_CLIENT_CERTIFICATE": "\(pki)/client.pem",
                           "TONGBAN_CASE_CORE_CLIENT_KEY": "\(pki)/client.key"]
        let server = try Self.serve(dataDir: "\(directory)/data", caseCore: tus.url, extra: tlsSettings)
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        _ = try Self.randomFile("\(directory)/file", size: 100_000)
        let id = try await #require(try Self.capture(port: port, file: "\(directory)/file", caseNumber: "TB-TLS")["attachmentId"] as? String)
        try await Self.expectDelivered(port: port, seconds: 60)
        #expect(tus.delivered.compactMap { $0["attachmentId"] as? String } == [id])
        #expect(try await server.stop() == 0)

        // Only the CA, no client certificate: the case core refuses the connection; the capture waits, with a reason.
        let refused = try Self.serve(dataDir: "\(directory)/data2", caseCore: tus.url, extra: ["TONGBAN_CASE_CORE_CA_FILE": "\(pki)/ca.pem"])
        let refusedPort = try #require(try await refused.waitUntilReady(), "serve: \(refused.standardError)")
        _ = try await Self.capture(port: refusedPort, file: "\(directory)/file", caseNumber: "TB-TLS")
        var lastError: String?
        for _ in 0..<240 where lastError == nil {
            try await Task.sleep(for: .milliseconds(250))
            lastError = (try await Self.outbox(port: refusedPort)["entries"] as? [[String: Any]])?.first?["lastError"] as? String
        }
        #expect(lastError != nil)
        #expect(try await Self.outbox(port: refusedPort)["undelivered"] as? Int == 1)
        #expect(tus.delivered.count == 1)
        #expect(try await refused.stop() == 0)
    }

    /// Cancelling an attachment mid-upload stops its delivery and terminates the partial upload at the case core.
    @Test(.enabled(if: tusReady)) func cancelMidUploadTerminatesIt() async throws {
        let directory = try makeTemporaryDirectory()
        // The case core holds the upload after its first chunk: the cancel lands mid-upload for sure.
        let tus = try await TusServer.start(in: "\(directory)/tus", options: ["--hold-from", "65536"])
        defer { kill(tus.process.process.processIdentifier, SIGKILL) }
        let server = try Self.serve(dataDir: "\(directory)/data", caseCore: tus.url, extra: ["TONGBAN_CASE_CORE_CHUNK_KILOBYTES": "64"])
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        _ = try Self.randomFile("\(directory)/file", size: 30 * 1024 * 1024)
        let id = try await #require(try Self.capture(port: port, file: "\(directory)/file", caseNumber: "TB-CANCEL")["attachmentId"] as? String)
        for _ in 0..<400 {
            if let offset = (try await Self.outbox(port: port)["entries"] as? [[String: Any]])?.first?["offset"] as? Int, offset > 0 { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        let cancelled = try await curl(["-X", "DELETE", "-H", "Authorization: Bearer \(Self.token)", "http://127.0.0.1:\(port)/v1/outbox/\(id)"])
        #expect(cancelled.status == 204, "\(cancelled.body)")
        #expect(try await Self.outbox(port: port)["undelivered"] as? Int == 0)
        let again = try await curl(["-X", "DELETE", "-H", "Authorization: Bearer \(Self.token)", "http://127.0.0.1:\(port)/v1/outbox/\(id)"])
        #expect(again.status == 404)
        for _ in 0..<300 where !tus.requests.contains(where: { $0["method"] as? String == "DELETE" }) {
            try await Task.sleep(for: .milliseconds(100))  // the termination may follow the answer
        }
        #expect(tus.requests.contains { $0["method"] as? String == "DELETE" }, "no tus termination: \(tus.requests.suffix(3))")
        #expect(!tus.delivered.contains { $0["attachmentId"] as? String == id })
        #expect(try await server.stop() == 0)
    }

    /// The audit chain detects a record edited behind the service's back (its triggers dropped first, as an
    /// intruder with the file would).
    @Test func auditVerifyCatchesAnEditedRecord() async throws {
        let directory = try makeTemporaryDirectory()
        let server = try ChildProcess.serve(["--demo", "--listen", "127.0.0.1:0", "--data-dir", "\(directory)/data"],
                                            environment: ["TONGBAN_API_TOKEN": Self.token])
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        _ = try Self.randomFile("\(directory)/file", size: 1000)
        for _ in 0..<3 { _ = try await Self.capture(port: port, file: "\(directory)/file", caseNumber: "TB-AUDIT") }
        #expect(try await Self.waitUntilDelivered(port: port))
        #expect(try await server.stop() == 0)
        let intact = try await run(tongbanBinary, ["audit", "verify", "--data-dir", "\(directory)/data"])
        #expect(intact.status == 0, "\(intact.standardError)")
        let edit = try await run("/usr/bin/sqlite3", ["\(directory)/data/tongban.sqlite",
                                                "DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'nothing happened' WHERE sequence = 2;"])
        #expect(edit.status == 0, "\(edit.standardError)")
        let broken = try await run(tongbanBinary, ["audit", "verify", "--data-dir", "\(directory)/data"])
        #expect(broken.status == 1)
        #expect(broken.standardError.contains("BROKEN at record 2"), "\(broken.standardError)")
    }
}

/// A TCP port nothing listens on right now.
func freePort() async throws -> Int {
    let result = try await run("/usr/bin/python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"])
    return Int(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
}

/// Attachment id → SHA-256, written by a capturing thread, read by the test.
final class LockedDictionary: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: String] = [:]
    func set(_ key: String, _ value: String) { lock.withLock { values[key] = value } }
    var snapshot: [String: String] { lock.withLock { values } }
}

/// A stop request to a thread, and its answer.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var finished = false
    func set() { lock.withLock { requested = true } }
    var isSet: Bool { lock.withLock { requested } }
    func done() { lock.withLock { finished = true } }
    var isDone: Bool { lock.withLock { finished } }
}
