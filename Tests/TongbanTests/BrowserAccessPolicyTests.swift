import Testing
@testable import API
@testable import TongbanCore

@Suite struct BrowserAccessPolicyTests {
    let policy = BrowserAccessPolicy(allowedOrigins: ["https://case.example.gov.cn"], token: "0123456789abcdef0123",
                                     listenHost: "127.0.0.1")

    func code(_ verdict: BrowserAccessPolicy.Verdict) -> String? {
        if case .refused(let problem) = verdict { return problem.code }
        return nil
    }

    @Test func configuredOriginIsAllowedWithCORS() {
        let verdict = policy.verdict(method: .post, host: "127.0.0.1:8808", origin: "https://case.example.gov.cn", authorization: nil)
        #expect(verdict == .allowed(corsOrigin: "https://case.example.gov.cn"))
    }

    @Test func ownConsoleOriginIsAllowedWithoutCORS() {
        let verdict = policy.verdict(method: .post, host: "127.0.0.1:8808", origin: "http://127.0.0.1:8808", authorization: nil)
        #expect(verdict == .allowed(corsOrigin: nil))
    }

    @Test(arguments: ["https://evil.example", "null", "https://case.example.gov.cn.evil.example", "http://case.example.gov.cn",
                      "http://127.0.0.1:9999"])
    func otherOriginsAreRefused(origin: String) {
        let verdict = policy.verdict(method: .get, host: "127.0.0.1:8808", origin: origin, authorization: nil)
        #expect(code(verdict) == "origin-not-allowed")
    }

    @Test(arguments: ["evil.example", "evil.example:8808", "192.168.1.10:8808", ""])
    func nonLoopbackHostIsRefused(host: String) {
        let verdict = policy.verdict(method: .get, host: host, origin: nil, authorization: nil)
        #expect(code(verdict) == "host-not-allowed")
    }

    @Test func stateChangingCallWithoutOriginNeedsTheToken() {
        #expect(code(policy.verdict(method: .post, host: "localhost:1", origin: nil, authorization: nil)) == "credential-required")
        #expect(code(policy.verdict(method: .delete, host: "localhost:1", origin: nil, authorization: "Bearer wrong")) == "credential-required")
        #expect(policy.verdict(method: .post, host: "localhost:1", origin: nil, authorization: "Bearer 0123456789abcdef0123")
            == .allowed(corsOrigin: nil))
        #expect(policy.verdict(method: .get, host: "[::1]:8808", origin: nil, authorization: nil) == .allowed(corsOrigin: nil))
    }

    @Test func aValidTokenIsEnoughWhateverTheOrigin() {
        #expect(policy.verdict(method: .post, host: "127.0.0.1:1", origin: "ws://localhost", authorization: "Bearer 0123456789abcdef0123")
            == .allowed(corsOrigin: nil))
        #expect(code(policy.verdict(method: .post, host: "127.0.0.1:1", origin: "ws://localhost", authorization: "Bearer nope")) == "origin-not-allowed")
        // The host check still comes first.
        #expect(code(policy.verdict(method: .get, host: "evil.example", origin: nil, authorization: "Bearer 0123456789abcdef0123")) == "host-not-allowed")
    }
}
