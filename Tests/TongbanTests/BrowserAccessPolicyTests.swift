import Crypto
import Foundation
import Testing
@testable import API
@testable import TongbanCore

/// Browser headers narrow access and never grant it: what a request may do depends on the caller its credential
/// proves; Origin and Sec-Fetch-Site can only take away.
@Suite struct BrowserAccessPolicyTests {
    static let allowed = "https://case.example.gov.cn"
    let policy = BrowserAccessPolicy(allowedOrigins: [Self.allowed], token: "0123456789abcdef0123", listenHost: "127.0.0.1")
    static let clerk = Caller.clerk(id: "0107", name: "张三")
    static let caseSystem = Caller.caseSystem(origin: allowed, operatorID: "op-7", name: "王小明")

    func code(_ verdict: BrowserAccessPolicy.Verdict) -> String? {
        if case .refused(let problem) = verdict { return problem.code }
        return nil
    }

    @Test func configuredOriginReadsWithCORS() {
        #expect(policy.verdict(method: .get, path: "/v1/devices", host: "127.0.0.1:8808", origin: Self.allowed, caller: .anonymous)
            == .allowed(corsOrigin: Self.allowed))
        #expect(policy.verdict(method: .post, path: "/v1/prints", host: "127.0.0.1:8808", origin: Self.allowed, caller: Self.caseSystem)
            == .allowed(corsOrigin: Self.allowed))
    }

    /// Finding: any local program got the whole API, unmasked identity included, by sending the console's Origin or
    /// `Sec-Fetch-Site: same-origin`.
    @Test(arguments: [["Origin": "http://127.0.0.1:8808"], ["Origin": allowed], ["Sec-Fetch-Site": "same-origin"],
                      ["Origin": "http://127.0.0.1:8808", "Sec-Fetch-Site": "same-origin"]])
    func forgedBrowserHeadersGrantNothing(headers: [String: String]) {
        for (method, path, query) in [("POST", "/v1/idcard/read", nil), ("GET", "/v1/idcard/records/r1", "reveal=true"),
                                      ("GET", "/v1/attachments/a1/content", nil), ("GET", "/v1/cameras/sim:camera/preview", nil),
                                      ("GET", "/v1/events", nil), ("DELETE", "/v1/outbox/a1", nil),
                                      ("GET", "/v1/scans/s1/pages/p1/image", nil)] as [(String, String, String?)] {
            let verdict = policy.verdict(method: .init(method)!, path: path, query: query, host: "127.0.0.1:8808", origin: headers["Origin"],
                                         fetchSite: headers["Sec-Fetch-Site"], caller: .anonymous)
            #expect(code(verdict) == "credential-required", "\(method) \(path) with \(headers)")
        }
    }

    @Test func personalReadsAndChangesAreForCallersWithACredential() {
        for caller in [Self.clerk, .apiToken] {
            #expect(policy.verdict(method: .get, path: "/v1/attachments/a1/content", host: "127.0.0.1:8808", origin: nil, caller: caller)
                == .allowed(corsOrigin: nil))
            #expect(policy.verdict(method: .post, path: "/v1/scans", host: "127.0.0.1:8808", origin: "http://127.0.0.1:8808", caller: caller)
                == .allowed(corsOrigin: nil))
        }
        // A masked record is not a personal read; only ?reveal=true is.
        #expect(policy.verdict(method: .get, path: "/v1/idcard/records/r1", host: "127.0.0.1:8808", origin: nil, caller: .anonymous)
            == .allowed(corsOrigin: nil))
    }

    /// Review finding: the router skips empty path components, so `/v1/attachments/?text=` and `//v1/events` reach
    /// the same routes as their plain spellings — and must need the same credential.
    @Test(arguments: [("/v1/attachments", "case=C1&text=%E5%BC%A0"), ("/v1/attachments/", "case=C1&text=a"), ("//v1/attachments", "text=a"),
                      ("/v1//attachments", "text"), ("/v1/events", nil), ("/v1/events/", nil), ("//v1/events", nil),
                      ("/v1/attachments//a1/text", nil), ("/v1/idcard/records/r1/", "reveal=%74rue"), ("/v1/idcard/records/r1", "reveal=%ZZ")])
    func personalReadsNeedACredentialHoweverThePathIsSpelt(path: String, query: String?) {
        #expect(code(policy.verdict(method: .get, path: path, query: query, host: "127.0.0.1:8808", origin: nil, caller: .anonymous))
            == "credential-required", "\(path)?\(query ?? "")")
    }

    /// Finding: a cross-site `<img>` switched the camera preview on.
    @Test(arguments: ["cross-site", "same-site"])
    func pagesOfOtherSitesReachOnlyHealthAndTheSDK(fetchSite: String) {
        for path in ["/v1/cameras/sim:camera/preview", "/v1/devices", "/v1/attachments", "/v1/scans/s1/pages/p1/thumbnail"] {
            #expect(code(policy.verdict(method: .get, path: path, host: "127.0.0.1:8808", origin: nil, fetchSite: fetchSite, caller: Self.clerk))
                == "cross-site-refused", "\(path)")
        }
        for path in ["/v1/health", "/sdk/tongban.js", "/console", "/console/console.js"] {
            #expect(policy.verdict(method: .get, path: path, host: "127.0.0.1:8808", origin: nil, fetchSite: fetchSite, caller: .anonymous)
                == .allowed(corsOrigin: nil))
        }
    }

    @Test(arguments: ["https://evil.example", "null", "https://case.example.gov.cn.evil.example", "http://case.example.gov.cn",
                      "http://127.0.0.1:9999"])
    func otherOriginsAreRefused(origin: String) {
        for caller in [Caller.anonymous, Self.clerk] {
            #expect(code(policy.verdict(method: .get, host: "127.0.0.1:8808", origin: origin, caller: caller)) == "origin-not-allowed")
        }
    }

    @Test(arguments: ["evil.example", "evil.example:8808", "192.168.1.10:8808", ""])
    func nonLoopbackHostIsRefused(host: String) {
        #expect(code(policy.verdict(method: .get, host: host, origin: nil, caller: .apiToken)) == "host-not-allowed")
    }

    @Test func aSignInNeedsNoCredentialButEverythingElseThatChangesDoes() {
        #expect(policy.verdict(method: .post, path: "/v1/session", host: "127.0.0.1:8808", origin: "http://127.0.0.1:8808", caller: .anonymous)
            == .allowed(corsOrigin: nil))
        #expect(code(policy.verdict(method: .post, path: "/v1/anything", host: "localhost:1", origin: nil, caller: .anonymous)) == "credential-required")
        #expect(policy.verdict(method: .get, path: "/v1/devices", host: "[::1]:8808", origin: nil, caller: .anonymous) == .allowed(corsOrigin: nil))
    }

    @Test func aValidTokenIsEnoughWhateverTheOrigin() {
        #expect(policy.verdict(method: .post, host: "127.0.0.1:1", origin: "ws://localhost", caller: .apiToken) == .allowed(corsOrigin: nil))
        #expect(code(policy.verdict(method: .post, host: "127.0.0.1:1", origin: "ws://localhost", caller: .anonymous)) == "origin-not-allowed")
    }
}

/// Case systems vouch for their operators with a short ES256 assertion: only the holder of the configured key's
/// private half can make one, for its own origin, for a few minutes.
@Suite struct CaseSystemAssertionTests {
    static let origin = "https://case.example.gov.cn"
    let key = P256.Signing.PrivateKey()

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A JWT with `claims` over the header `{"alg": alg}`, signed with `key`.
    static func assertion(_ claims: [String: Any], key: P256.Signing.PrivateKey, alg: String = "ES256") throws -> String {
        let header = base64URL(try JSONSerialization.data(withJSONObject: ["alg": alg, "typ": "JWT"]))
        let payload = base64URL(try JSONSerialization.data(withJSONObject: claims))
        let signature = try key.signature(for: Data("\(header).\(payload)".utf8))
        return "\(header).\(payload).\(base64URL(signature.rawRepresentation))"
    }

    func claims(now: Date = Date(), _ changes: [String: Any] = [:]) -> [String: Any] {
        let time = now.timeIntervalSince1970
        return ["iss": Self.origin, "sub": "op-7", "name": "王小明", "aud": "tongban", "iat": Int(time), "exp": Int(time) + 120,
                "jti": UUID().uuidString].merging(changes) { $1 }
    }

    var verifier: CaseSystemAssertions {
        CaseSystemAssertions(keys: [key.publicKey], allowedOrigins: [Self.origin], counterID: "counter-9")
    }

    @Test func aFreshAssertionProvesTheOperator() throws {
        let caller = try verifier.verify(try Self.assertion(claims(), key: key), requestOrigin: Self.origin).get()
        #expect(caller == .caseSystem(origin: Self.origin, operatorID: "op-7", name: "王小明"))
        #expect(caller.auditName == "case-system https://case.example.gov.cn operator op-7 (王小明)")
        // No Origin (the SDK's event stream from a worker, a server-side call): the issuer still has to be allowed.
        #expect((try? verifier.verify(try Self.assertion(claims(["aud": "tongban:counter-9"]), key: key), requestOrigin: nil).get()) != nil)
    }

    @Test func forgedExpiredOrMisdirectedAssertionsAreRefused() throws {
        let now = Date()
        let cases: [(String, String?)] = [
            (try Self.assertion(claims(), key: P256.Signing.PrivateKey()), Self.origin),                       // another key
            (try Self.assertion(claims(now: now.addingTimeInterval(-600)), key: key), Self.origin),             // expired
            (try Self.assertion(claims(["exp": Int(now.timeIntervalSince1970) + 3600]), key: key), Self.origin), // lives an hour
            (try Self.assertion(claims(["iss": "https://evil.example"]), key: key), "https://evil.example"),     // issuer not allowed
            (try Self.assertion(claims(), key: key), "https://other.example"),                                   // for another page
            (try Self.assertion(claims(["aud": "someone-else"]), key: key), Self.origin),                        // audience
            (try Self.assertion(claims(["sub": ""]), key: key), Self.origin),                                    // no operator
            (try Self.assertion(claims(), key: key, alg: "none"), Self.origin),                                  // alg none
            ("a.b.c", Self.origin),
        ]
        for (token, origin) in cases {
            guard case .failure(let problem) = verifier.verify(token, requestOrigin: origin) else {
                Issue.record("accepted: \(token.prefix(40))…")
                continue
            }
            #expect(problem.code == "assertion-invalid" && problem.status == 401)
        }
        // A signature over other claims (the payload swapped) does not verify.
        let good = try Self.assertion(claims(), key: key).split(separator: ".")
        let swapped = try Self.assertion(claims(["sub": "admin"]), key: key).split(separator: ".")
        guard case .failure = verifier.verify("\(good[0]).\(swapped[1]).\(good[2])", requestOrigin: Self.origin) else {
            Issue.record("a swapped payload verified")
            return
        }
    }
}
