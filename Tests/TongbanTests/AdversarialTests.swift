import Foundation
import Store
import Testing

/// What an attacker on the counter PC — or a curious page in the clerk's browser — would try after the first wave's
/// findings were fixed: other people's credentials and answers, the PIN, the sealed files, the HTTP parser, slow
/// and broken uploads. Each against the real service.
@Suite(.serialized) struct AdversarialTests {
    typealias Service = SeamTests.Service
    static let pin = "246810"

    /// A service with one clerk set up the installer's way (`tongban clerk set`, PIN on standard input).
    static func serviceWithClerk(_ environment: [String: String] = [:]) async throws -> (Service, String) {
        let directory = try makeTemporaryDirectory()
        let set = try await run("/bin/bash", ["-c", "echo \(pin) | \"$0\" clerk set 0107 --name 张三 --data-dir \"$1\"", tongbanBinary, "\(directory)/data"])
        #expect(set.status == 0, "\(set.standardError)")
        return (try await Service.start(data: "\(directory)/data", environment: environment), directory)
    }

    /// Signs the clerk in as the console does; returns the session key.
    static func signIn(_ service: Service, pin: String = pin) async throws -> (status: Int, key: String?, headers: String, body: String) {
        let answer = try await service.call("POST", "/v1/session", json: #"{"clerk": "0107", "pin": "\#(pin)"}"#,
                                            headers: ["Origin: \(service.base)"])
        return (answer.status, answer.json["sessionKey"] as? String, answer.headers, answer.body)
    }

    /// Review finding: a session cookie would reach every program listening on another port of 127.0.0.1 (cookies are
    /// not scoped by port). The clerk's session is a key the console keeps in its own sessionStorage and sends as a
    /// bearer credential; no cookie is set, a signed-out key is refused, and pages of other ports still reach nothing.
    @Test func theClerksSessionIsAKeyThatEndsWithSignOut() async throws {
        let (service, _) = try await Self.serviceWithClerk(["TONGBAN_API_ALLOWED_ORIGINS": "http://127.0.0.1:1"])
        defer { service.killIfRunning() }
        let signedIn = try await Self.signIn(service)
        #expect(signedIn.status == 200, "\(signedIn.body)")
        #expect(!signedIn.headers.lowercased().contains("set-cookie"))
        let key = try #require(signedIn.key)
        #expect(signedIn.body.contains("张三"))
        let asConsole = try await service.call("POST", "/v1/sim/idcard", json: #"{"action": "lift"}"#,
                                               headers: ["Authorization: Bearer \(key)", "Origin: \(service.base)"])
        #expect(asConsole.status != 401 && asConsole.status != 403, "\(asConsole.status) \(asConsole.body)")
        #expect(try await service.call("GET", "/v1/session", headers: ["Authorization: Bearer \(key)"]).json["clerk"] as? String == "0107")
        // A page of another port (same site) loading the preview with the key in its URL: refused all the same.
        let image = try await service.call("GET", "/v1/cameras/sim:camera/preview?session=\(key)",
                                           headers: ["Sec-Fetch-Site: same-site", "Sec-Fetch-Mode: no-cors"])
        #expect(image.status == 403)
        // A page of another origin cannot sign a clerk in.
        let foreign = try await service.call("POST", "/v1/session", json: #"{"clerk": "0107", "pin": "\#(Self.pin)"}"#,
                                             headers: ["Origin: http://127.0.0.1:1"])
        #expect(foreign.status == 403)
        // After sign-out the key is worth nothing.
        #expect(try await service.call("DELETE", "/v1/session", headers: ["Authorization: Bearer \(key)", "Origin: \(service.base)"]).status == 204)
        let after = try await service.call("POST", "/v1/sim/idcard", json: #"{"action": "lift"}"#,
                                           headers: ["Authorization: Bearer \(key)", "Origin: \(service.base)"])
        #expect(after.status == 401 && after.json["code"] as? String == "credential-invalid")
        // A guessed key of the right shape is no better.
        let guessed = try await service.call("GET", "/v1/attachments/x/content", headers: ["Authorization: Bearer tbs_" + String(repeating: "0", count: 64)])
        #expect(guessed.status == 401)
        #expect(try await service.process.stop() == 0)
    }

    /// Review finding: the reveal check read the raw query, so `reveal=%74rue` passed it while the route, which
    /// decodes, revealed the record to a caller without a credential.
    @Test func anEncodedRevealIsStillARevealThatNeedsACredential() async throws {
        let (service, _) = try await Self.serviceWithClerk()
        defer { service.killIfRunning() }
        for query in ["reveal=%74rue", "reveal=true", "%72eveal=true", "reveal=TRUE", "reveal=1"] {
            let answer = try await service.call("GET", "/v1/idcard/records/anything?\(query)", headers: [])
            #expect(answer.status == 401, "\(query): \(answer.status)")
        }
        #expect(try await service.process.stop() == 0)
    }

    /// Guessing the PIN: five wrong tries lock the clerk (429 with Retry-After) — even the right PIN is refused
    /// until the lock passes — and the audit log never sees a PIN.
    @Test func guessingThePINLocksTheClerk() async throws {
        let (service, directory) = try await Self.serviceWithClerk()
        defer { service.killIfRunning() }
        for guess in ["000000", "111111", "123456", "654321", "999999"] {
            #expect(try await Self.signIn(service, pin: guess).status == 401)
        }
        let locked = try await service.call("POST", "/v1/session", json: #"{"clerk": "0107", "pin": "\#(Self.pin)"}"#,
                                            headers: ["Origin: \(service.base)"])
        #expect(locked.status == 429 && locked.json["code"] as? String == "sign-in-locked")
        #expect(locked.headers.lowercased().contains("retry-after:"))
        #expect(try await service.process.stop() == 0)
        let clerks = try String(contentsOfFile: "\(directory)/data/clerks.json", encoding: .utf8)
        #expect(!clerks.contains(Self.pin), "the PIN is kept in clear")
    }

    /// Idempotency keys belong to their caller: another caller who guesses (or sees) a key gets no replay of the
    /// first caller's answer — which may hold an identity record.
    @Test func anIdempotencyKeyIsNoWayIntoAnotherCallersAnswer() async throws {
        let (service, directory) = try await Self.serviceWithClerk()
        defer { service.killIfRunning() }
        let key = try #require(try await Self.signIn(service).key)
        try SeamTests.markedFile("\(directory)/a.jpg", marker: "KEYED", size: 5_000)
        let query = "case=TB-ADV&material=m&kind=scan&fileName=a.jpg"
        let byToken = try await service.upload("\(directory)/a.jpg", query: query, headers: ["Idempotency-Key: shared-key"])
        let byClerk = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(key)", "-H", "Origin: \(service.base)", "-H", "Idempotency-Key: shared-key",
                                      "-H", "Content-Type: image/jpeg", "--data-binary", "@\(directory)/a.jpg", "\(service.base)/v1/attachments?\(query)"])
        #expect(byToken.status == 201 && byClerk.status == 201)
        #expect(!byClerk.headers.lowercased().contains("idempotent-replayed"))
        #expect(!byClerk.body.contains(byToken.json["attachmentId"] as? String ?? "-"))
        // The audit log names who captured each, as their credential proved it — not the page's address.
        _ = try await service.process.stop()
        let actors = try Store(directory: "\(directory)/data").auditRecords().filter { $0.action == "capture" }.map(\.actor)
        #expect(actors.contains("clerk 0107 (张三)") && actors.contains("api-token"), "\(actors)")
    }

    /// A key that is not a plain token is refused rather than stored.
    @Test func anIdempotencyKeyThatIsNotAPlainTokenIsRefused() async throws {
        let (service, directory) = try await Self.serviceWithClerk()
        defer { service.killIfRunning() }
        try SeamTests.markedFile("\(directory)/a.jpg", marker: "KEYED", size: 5_000)
        let query = "case=TB-ADV&material=m&kind=scan&fileName=a.jpg"
        let bad = try await service.upload("\(directory)/a.jpg", query: query, headers: ["Idempotency-Key: two words"])
        #expect(bad.status == 400)
        #expect(try await service.process.stop() == 0)
    }

    /// A wrong credential is refused, not quietly taken as none (which could let it fall through to what anonymous
    /// callers may do and hide a misconfigured client).
    @Test func aWrongCredentialIsRefusedNotIgnored() async throws {
        let (service, _) = try await Self.serviceWithClerk(["TONGBAN_API_ALLOWED_ORIGINS": "https://case.example.gov.cn"])
        defer { service.killIfRunning() }
        for header in ["Authorization: Bearer not-the-token-0000000", "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
            let answer = try await service.call("GET", "/v1/devices", headers: [header, "Origin: https://case.example.gov.cn"])
            #expect(answer.status == 401, "\(header): \(answer.status)")
            #expect(answer.headers.lowercased().contains("access-control-allow-origin"), "the page cannot read why")
        }
        #expect(try await service.process.stop() == 0)
    }

    /// A sealed file altered on disk is an error naming the attachment — never bytes that pass for the picture.
    @Test func aTamperedSealedFileIsAnErrorNotGarbage() async throws {
        let (service, directory) = try await Self.serviceWithClerk(["TONGBAN_CASE_CORE_URL": "http://127.0.0.1:9/files"])
        defer { service.killIfRunning() }
        try SeamTests.markedFile("\(directory)/card.jpg", marker: "CARD", size: 50_000)
        let stored = try await service.upload("\(directory)/card.jpg", query: "case=TB-TAMPER&material=m&kind=idcard&fileName=card.jpg")
        let id = try #require(stored.json["attachmentId"] as? String)
        let sealed = try #require(FileManager.default.enumerator(atPath: "\(directory)/data/files")?.compactMap { $0 as? String }
            .first { $0.hasSuffix("\(id)/content.sealed") })
        let path = "\(directory)/data/files/\(sealed)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: path))
        let content = try await service.call("GET", "/v1/attachments/\(id)/content")
        #expect(content.status >= 400 && !content.body.contains("CARD"), "\(content.status)")
        #expect(try await service.call("GET", "/v1/health").status == 200)
        #expect(try await service.process.stop() == 0)
    }

    /// The HTTP layer: a request that is both chunked and length-delimited (smuggling), a huge header, a path that
    /// climbs out of the console's folder, a head sent a byte at a time. The service answers each and goes on.
    @Test func theHTTPLayerHoldsAgainstMalformedAndSlowRequests() async throws {
        let (service, _) = try await Self.serviceWithClerk()
        defer { service.killIfRunning() }
        let smuggled = try await run("/usr/bin/python3", ["-c", """
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
            s.sendall(b"POST /v1/prints HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Length: 4\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /v1/outbox HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk: break
                    data += chunk
            except socket.timeout:
                pass
            print(data.decode("latin-1").split("\\r\\n")[0])
            print("answers", data.count(b"HTTP/1.1 "))
            """, "\(service.port)"])
        #expect(!smuggled.standardOutput.contains("HTTP/1.1 200") && !smuggled.standardOutput.contains("answers 2"),
                "a smuggled second request was answered: \(smuggled.standardOutput)")
        let headerFile = try makeTemporaryDirectory() + "/header"
        try "X-Junk: \(String(repeating: "a", count: 200_000))\n".write(toFile: headerFile, atomically: true, encoding: .utf8)
        let huge = try await curl(["-H", "@\(headerFile)", "\(service.base)/v1/health"])
        #expect(huge.status != 200)
        for path in ["/console/../../../etc/passwd", "/console/%2e%2e/%2e%2e/etc/passwd", "/sdk/..%2f..%2fetc%2fpasswd", "/vendor/../Package.swift"] {
            let answer = try await curl(["--path-as-is", "\(service.base)\(path)"])
            #expect(answer.status == 404 || answer.status == 400, "\(path): \(answer.status)")
            #expect(!answer.body.contains("root:"))
        }
        // Slow head: one byte a second never completes a request; the connection is closed by the head timeout.
        let slow = try await run("/usr/bin/python3", ["-c", """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
            start = time.monotonic()
            try:
                for b in b"GET /v1/health HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nX-Slow: " + b"a" * 100:
                    s.send(bytes([b]))
                    time.sleep(0.5)
                    if time.monotonic() - start > 55: break
                print("not closed")
            except (BrokenPipeError, ConnectionResetError):
                print("closed")
            """, "\(service.port)"])
        #expect(slow.standardOutput.contains("closed") && !slow.standardOutput.contains("not closed"), "\(slow.standardOutput)")
        #expect(try await service.call("GET", "/v1/health").status == 200)
        #expect(try await service.process.stop() == 0)
    }

    /// An upload that announces more than it sends and hangs up: nothing kept, no debris.
    @Test func anUploadCutShortLeavesNothing() async throws {
        let (service, directory) = try await Self.serviceWithClerk()
        defer { service.killIfRunning() }
        let cut = try await run("/usr/bin/python3", ["-c", """
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
            s.sendall(b"POST /v1/attachments?case=TB-CUT&material=m&kind=idcard&fileName=a.jpg HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n"
                      b"Authorization: Bearer " + sys.argv[2].encode() + b"\\r\\nContent-Length: 1000000\\r\\n\\r\\n" + b"x" * 300000)
            s.close()
            print("sent")
            """, "\(service.port)", SeamTests.token])
        #expect(cut.standardOutput.contains("sent"))
        var incomingEmpty = false
        for _ in 0..<200 where !incomingEmpty {
            incomingEmpty = ((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/data/files/.incoming")) ?? []).isEmpty
            if !incomingEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(incomingEmpty, "a half-received upload was kept")
        #expect(try await service.attachments(case: "TB-CUT").isEmpty)
        #expect(try await service.process.stop() == 0)
    }
}
