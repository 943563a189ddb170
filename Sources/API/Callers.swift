import Crypto
import Foundation
import LibCrypto
import Store
import TongbanCore

/// Checks the assertions case systems sign for their operators: a JWT (RFC 7519) signed ES256 (P-256) or, for case
/// systems on the national suite, `SM2` (SM2 with SM3, signer id `1234567812345678`, the signature as the 64 bytes
/// r ‖ s like ES256) with a key whose public half the installer put in `api.caseSystemKeys`. Its issuer must be an
/// allowed origin (and the page's origin, when the request has one); its audience `tongban` or
/// `tongban:<counter id>`; it lives at most five minutes. A local program without the case system's private key cannot make one.
public struct CaseSystemAssertions: Sendable {
    /// The keys' X9.63 bytes (the key type itself is not Sendable).
    let keyBytes: [Data]
    /// The SM2 keys (PEM SubjectPublicKeyInfo with the SM2 curve).
    let sm2Keys: [SM2PublicKey]
    let allowedOrigins: Set<String>
    let counterID: String
    static let maximumLifetime: TimeInterval = 300
    static let clockSkew: TimeInterval = 30

    var keys: [P256.Signing.PublicKey] { keyBytes.compactMap { try? P256.Signing.PublicKey(x963Representation: $0) } }

    public init(keys: [P256.Signing.PublicKey], sm2Keys: [SM2PublicKey] = [], allowedOrigins: [String], counterID: String) {
        self.keyBytes = keys.map(\.x963Representation)
        self.sm2Keys = sm2Keys
        self.allowedOrigins = Set(allowedOrigins.map { $0.lowercased() })
        self.counterID = counterID
    }

    /// Reads the configured PEM public keys (P-256 or SM2); names the file that cannot be used.
    public static func load(paths: [String], allowedOrigins: [String], counterID: String) throws(Problem) -> CaseSystemAssertions {
        var keys: [P256.Signing.PublicKey] = []
        var sm2Keys: [SM2PublicKey] = []
        for path in paths {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw Problem(code: "case-system-key-unusable", status: 500, title: "案件系统公钥不可用 Case-system key unusable",
                              detail: "api.caseSystemKeys: \(path) is not readable",
                              remedy: "Put the case system's public key (PEM) there, readable by the service user.")
            }
            if let key = try? P256.Signing.PublicKey(pemRepresentation: text) {
                keys.append(key)
            } else if let key = try? SM2PublicKey(pemRepresentation: text) {
                sm2Keys.append(key)
            } else {
                throw Problem(code: "case-system-key-unusable", status: 500, title: "案件系统公钥不可用 Case-system key unusable",
                              detail: "api.caseSystemKeys: \(path) is neither a PEM P-256 (ES256) nor an SM2 public key",
                              remedy: "Put the case system's ES256 or SM2 public key (PEM) there, readable by the service user.")
            }
        }
        return CaseSystemAssertions(keys: keys, sm2Keys: sm2Keys, allowedOrigins: allowedOrigins, counterID: counterID)
    }

    /// Whether `text` has the shape of a JWT (three base64url parts), so it is checked as one.
    static func looksLikeAssertion(_ text: String) -> Bool {
        text.split(separator: ".", omittingEmptySubsequences: false).count == 3
    }

    /// The caller an assertion proves, or the problem with it.
    public func verify(_ assertion: String, requestOrigin: String?, now: Date = Date()) -> Result<Caller, Problem> {
        func refused(_ why: String) -> Result<Caller, Problem> {
            .failure(Problem(code: "assertion-invalid", status: 401, title: "案件系统凭据无效 Case-system assertion refused",
                             detail: why, remedy: "The case system must sign a fresh assertion for its operator (ES256 or SM2, at most 5 minutes)."))
        }
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerData = Self.base64URL(parts[0]), let payloadData = Self.base64URL(parts[1]),
              let signatureData = Self.base64URL(parts[2]) else { return refused("not a JWT") }
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
              let algorithm = header["alg"] as? String, algorithm == "ES256" || algorithm == "SM2" else {
            return refused("only ES256 and SM2 assertions are accepted")
        }
        let signed = Data((parts[0] + "." + parts[1]).utf8)
        switch algorithm {
        case "ES256":
            guard !keys.isEmpty else { return refused("no ES256 case-system key is configured (api.caseSystemKeys)") }
            guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureData),
                  keys.contains(where: { $0.isValidSignature(signature, for: signed) }) else {
                return refused("the signature does not match any configured case-system key")
            }
        default:
            guard !sm2Keys.isEmpty else { return refused("no SM2 case-system key is configured (api.caseSystemKeys)") }
            guard let signature = try? SM2.derSignature(fromRaw: Array(signatureData)),
                  sm2Keys.contains(where: { $0.isValidSignature(signature, for: Array(signed)) }) else {
                return refused("the signature does not match any configured case-system key")
            }
        }
        guard let claims = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any] else { return refused("the claims are not JSON") }
        guard let issuer = (claims["iss"] as? String)?.lowercased(), allowedOrigins.contains(issuer) else {
            return refused("the issuer is not one of api.allowedOrigins")
        }
        if let requestOrigin, requestOrigin.lowercased() != issuer { return refused("the assertion was issued for \(issuer), not for \(requestOrigin)") }
        let audiences = (claims["aud"] as? String).map { [$0] } ?? (claims["aud"] as? [String]) ?? []
        guard audiences.contains("tongban") || audiences.contains("tongban:\(counterID)") else {
            return refused("the audience must be 'tongban' or 'tongban:\(counterID)'")
        }
        guard let expires = (claims["exp"] as? NSNumber)?.doubleValue, let issued = (claims["iat"] as? NSNumber)?.doubleValue else {
            return refused("exp and iat are required")
        }
        let time = now.timeIntervalSince1970
        guard time < expires + Self.clockSkew else { return refused("the assertion has expired") }
        guard issued <= time + Self.clockSkew, expires - issued <= Self.maximumLifetime else {
            return refused("the assertion must be issued now and live at most \(Int(Self.maximumLifetime)) s")
        }
        guard let subject = claims["sub"] as? String, !subject.isEmpty, subject.utf8.count <= 128,
              !TextChecks.hasControlCharacters(subject) else { return refused("sub must name the operator") }
        let name = (claims["name"] as? String).flatMap { $0.isEmpty || $0.utf8.count > 128 || TextChecks.hasControlCharacters($0) ? nil : $0 }
        return .success(.caseSystem(origin: issuer, operatorID: subject, name: name))
    }

    static func base64URL(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

/// Clerks' console sessions: signed in with a PIN the installer set (`tongban clerk set`), held in memory (a
/// restart signs everyone out). The session key goes back to the console in the answer, which keeps it in
/// `sessionStorage` — scoped to the console's origin, port included — and sends it as `Authorization: Bearer tbs_…`
/// (or `?session=` where a page cannot set a header). Not a cookie: browsers send cookies to every port of
/// 127.0.0.1, so any other local program with a listening port could collect one.
///
/// Guessing is slowed, counted before the PIN is checked so that concurrent guesses count too: five wrong PINs for a
/// clerk lock that clerk for a minute, doubling each time up to fifteen; at most two checks run at once; thirty
/// failures a minute lock every sign-in for a minute.
public actor ClerkSessions {
    public struct Session: Sendable, Codable, Equatable {
        public var clerk: String
        public var name: String
        public var expiresAt: Date
    }

    /// The answer to a sign-in: the session and the key that proves it.
    struct SignedIn: Encodable {
        var clerk: String
        var name: String
        var expiresAt: Date
        var sessionKey: String
    }

    static let keyPrefix = "tbs_"
    static let lifetime: TimeInterval = 10 * 3600

    private let dataDirectory: String
    /// The demo's clerk (`demo`, PIN 000000), when the service runs in demo mode with no clerks on file.
    private let demoClerk: ClerkAccount?
    private var sessions: [String: Session] = [:]
    private var failures: [String: (count: Int, lockedUntil: Date?, lockSeconds: TimeInterval)] = [:]
    private var recentFailures: [Date] = []
    private var checking = 0
    private let hashing = DedicatedThread(name: "sign-in")

    public init(dataDirectory: String, demo: Bool) {
        self.dataDirectory = dataDirectory
        if demo, (try? ClerkDirectory.load(dataDirectory: dataDirectory).isEmpty) ?? true {
            demoClerk = try? ClerkDirectory.demoAccount()
        } else {
            demoClerk = nil
        }
    }

    deinit { hashing.stop() }

    /// Signs a clerk in; returns the session with its key.
    func signIn(clerk: String, pin: String, now: Date = Date()) async throws(Problem) -> SignedIn {
        recentFailures.removeAll { now.timeIntervalSince($0) > 60 }
        if recentFailures.count >= 30 { throw Self.locked(seconds: 60) }
        if let until = failures[clerk]?.lockedUntil, until > now { throw Self.locked(seconds: Int(until.timeIntervalSince(now).rounded(.up))) }
        // Checks in flight count as failures until they succeed: a burst of concurrent guesses meets the limit too.
        guard checking < 2 else { throw Self.locked(seconds: 1) }
        let accounts: [ClerkAccount]
        do { accounts = try ClerkDirectory.load(dataDirectory: dataDirectory) } catch { throw error.problem }
        let account = (accounts.isEmpty ? demoClerk.map { [$0] } ?? [] : accounts).first { $0.id == clerk }
        recordFailure(clerk, now: now)
        checking += 1
        let matches = await hashing.perform { account.map { ClerkDirectory.verify($0, pin: pin) } ?? false }
        checking -= 1
        guard let account, matches else {
            throw Problem(code: "sign-in-failed", status: 401, title: "柜员号或 PIN 不正确 Clerk or PIN not recognised",
                          detail: "sign-in refused for '\(clerk.prefix(64))'",
                          remedy: accounts.isEmpty && demoClerk == nil
                              ? "本机尚未设置柜员：由管理员运行 tongban clerk set。No clerk is set up on this PC: the installer runs tongban clerk set."
                              : "请核对柜员号和 PIN；连续输错 5 次将暂时锁定。Check the clerk id and PIN; five wrong tries lock it for a while.")
        }
        // The right PIN: this attempt was no failure after all.
        failures[clerk] = nil
        if let index = recentFailures.lastIndex(of: now) { recentFailures.remove(at: index) }
        var generator = SystemRandomNumberGenerator()
        let key = Self.keyPrefix + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let session = Session(clerk: account.id, name: account.name, expiresAt: now.addingTimeInterval(Self.lifetime))
        sessions[key] = session
        return SignedIn(clerk: session.clerk, name: session.name, expiresAt: session.expiresAt, sessionKey: key)
    }

    private func recordFailure(_ clerk: String, now: Date) {
        recentFailures.append(now)
        var record = failures[clerk] ?? (0, nil, 30)
        record.count += 1
        if record.count >= 5 {
            record.lockSeconds = min(record.lockSeconds * 2, 900)
            record.lockedUntil = now.addingTimeInterval(record.lockSeconds)
            record.count = 0
        }
        failures[clerk] = record
    }

    /// The session a key names, if it has not expired.
    public func session(key: String, now: Date = Date()) -> Session? {
        guard let session = sessions[key] else { return nil }
        guard session.expiresAt > now else {
            sessions[key] = nil
            return nil
        }
        return session
    }

    public func signOut(key: String) {
        sessions[key] = nil
    }

    static func locked(seconds: Int) -> Problem {
        var problem = Problem(code: "sign-in-locked", status: 429, title: "登录已暂时锁定 Sign-in locked for now",
                              detail: "too many wrong PINs; try again in \(seconds) s",
                              remedy: "请 \(seconds) 秒后再试，或请管理员重设 PIN。Wait \(seconds) s, or ask the installer to reset the PIN.")
        problem.retryAfterSeconds = seconds
        return problem
    }
}

extension ClerkDirectory {
    /// The demo's clerk: `demo`, 演示柜员, PIN 000000 — only in `--demo` with no clerks on file.
    static func demoAccount() throws(StoreError) -> ClerkAccount {
        try account(id: "demo", name: "演示柜员", pin: "000000")
    }
}
