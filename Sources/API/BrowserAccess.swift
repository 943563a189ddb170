import HTTPTypes
import Hummingbird
import TongbanCore

/// Who may talk to the local API, decided once per request. Loopback is not a credential — any program on the PC
/// can connect and send any header — so browser headers only ever narrow access:
///
/// - The `Host` header must name a loopback address (or the configured listen host): a page that re-binds its
///   own DNS name to 127.0.0.1 cannot reach the API.
/// - A request with `Origin` must come from one of the configured origins or the service's own (the console).
/// - A page's request without `Origin` that a browser marks as coming from another site or port
///   (`Sec-Fetch-Site: cross-site|same-site`: an `<img>`, a `<script>`, a link) reaches only what is open to every
///   page (`/v1/health`, the SDK's files) — it cannot switch a camera on or read a picture.
/// - Everything that changes state, and every read of personal data (an unmasked card, an attachment's bytes, a page
///   image, the camera preview, the event stream), needs a credential that a local program cannot make up: the API
///   token, a clerk's console session key, or a case system's signed assertion (`Caller`).
public struct BrowserAccessPolicy: Sendable {
    public let allowedOrigins: Set<String>
    public let token: String?
    /// Host names (without port) the API answers to.
    public let allowedHosts: Set<String>

    public init(allowedOrigins: [String], token: String?, listenHost: String) {
        self.allowedOrigins = Set(allowedOrigins.map { $0.lowercased() })
        self.token = token
        self.allowedHosts = Set(["127.0.0.1", "localhost", "[::1]", "::1",
                                 listenHost.contains(":") ? "[\(listenHost)]" : listenHost].map { $0.lowercased() })
    }

    /// The verdict on one request.
    public enum Verdict: Equatable, Sendable {
        /// The request may proceed; `corsOrigin` is set when the response must carry CORS headers for an allowed
        /// cross origin.
        case allowed(corsOrigin: String?)
        case refused(Problem)
    }

    static let stateChangingMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    /// Host without port, lower-cased: `127.0.0.1:8808` → `127.0.0.1`, `[::1]:8808` → `[::1]`.
    static func hostName(_ host: String) -> String {
        let lowered = host.lowercased()
        if lowered.hasPrefix("[") { return String(lowered.prefix { $0 != "]" }) + "]" }
        return String(lowered.prefix { $0 != ":" })
    }

    /// Paths any page may load without a credential, also from another site: health, and the service's public
    /// files (the SDK a case system imports, the console a link may open, the OpenAPI document).
    static func isOpenToPages(_ path: String) -> Bool {
        path == "/v1/health" || path == "/" || path == "/console" || path == "/v1/openapi.yaml"
            || ["/sdk/", "/console/", "/vendor/"].contains { path.hasPrefix($0) }
    }

    /// Reads of personal data, which need a credential even though they change nothing.
    static func isPersonalRead(path: String, query: String?) -> Bool {
        // Split as the router matches (it skips empty components: `//v1/events` and `/v1/events/` are `/v1/events`).
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        if parts == ["v1", "events"] { return true }
        if parts.count == 4, parts[0] == "v1", parts[1] == "cameras", parts[3] == "preview" { return true }
        if parts.count == 4, parts[0] == "v1", parts[1] == "attachments", ["content", "thumbnail", "text"].contains(parts[3]) { return true }
        // A search of the recognised text answers whether a name is in a case's papers: a read of them.
        if parts == ["v1", "attachments"], Self.queryFields(query).contains(where: { $0.name == "text" }) { return true }
        if parts.count == 6, parts[0] == "v1", parts[1] == "scans", parts[3] == "pages", ["image", "thumbnail"].contains(parts[5]) { return true }
        if parts.count == 4, parts[0] == "v1", parts[1] == "idcard", parts[2] == "records" {
            // Decoded as the route decodes it (`reveal=%74rue` is `reveal=true`); any value but false counts.
            return queryFields(query).contains { $0.name == "reveal" && $0.value?.lowercased() != "false" }
        }
        return false
    }

    /// One field of a query string.
    struct QueryField: Equatable {
        /// The name, decoded (left as sent when its percent-encoding is not UTF-8).
        var name: String
        /// The value, decoded; nil when the field has no `=`. Left as sent when it does not decode.
        var value: String?
        /// False when the value's percent-encoding is not UTF-8.
        var valueDecodes: Bool
    }

    /// The query's fields, as both the access decision and the routes read them (one parser, so they cannot
    /// disagree): `application/x-www-form-urlencoded` — `+` a space, `%2B` a plus sign, `reveal=%74rue` is
    /// `reveal=true`.
    static func queryFields(_ query: String?) -> [QueryField] {
        func decoded(_ part: Substring) -> String? { part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
        return (query ?? "").split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decoded(parts[0]) ?? String(parts[0])
            guard parts.count > 1 else { return QueryField(name: name, value: nil, valueDecodes: true) }
            let value = decoded(parts[1])
            return QueryField(name: name, value: value ?? String(parts[1]), valueDecodes: value != nil)
        }
    }

    /// Whether `origin` is this service's own (the console).
    static func isOwnOrigin(_ origin: String, host: String) -> Bool {
        origin.lowercased() == "http://\(host.lowercased())"
    }

    /// Decides a request from what it asks for, the headers a browser sets and the caller its credential proved.
    public func verdict(method: HTTPRequest.Method, path: String = "/v1/x", query: String? = nil, host: String?, origin: String?,
                        fetchSite: String? = nil, caller: Caller) -> Verdict {
        guard let host, allowedHosts.contains(Self.hostName(host)) else {
            return .refused(Problem(code: "host-not-allowed", status: 403, title: "拒绝访问 Host not allowed",
                                    detail: "the API answers only to loopback host names, not '\(host ?? "")'",
                                    remedy: "Call the API at http://127.0.0.1:<port>."))
        }
        // The token is proof of trusted local software (a page cannot know it), whatever Origin it sends.
        if caller == .apiToken { return .allowed(corsOrigin: nil) }
        var corsOrigin: String?
        if let origin {
            let own = Self.isOwnOrigin(origin, host: host)
            guard own || allowedOrigins.contains(origin.lowercased()) else {
                return .refused(Problem(code: "origin-not-allowed", status: 403, title: "来源不允许 Origin not allowed",
                                        detail: "requests from '\(origin)' are not allowed by this counter's Tongban",
                                        remedy: "Add the origin to api.allowedOrigins in tongban.yaml (administrator)."))
            }
            corsOrigin = own ? nil : origin
        } else if let fetchSite, ["cross-site", "same-site"].contains(fetchSite.lowercased()), !Self.isOpenToPages(path) {
            return .refused(Problem(code: "cross-site-refused", status: 403, title: "拒绝跨站请求 Cross-site request refused",
                                    detail: "a page on another site or port may not load \(path)",
                                    remedy: "Call the API through the SDK from an allowed origin."))
        }
        let signingIn = method == .post && path == "/v1/session"
        if !caller.hasCredential && !signingIn && (Self.stateChangingMethods.contains(method) || Self.isPersonalRead(path: path, query: query)) {
            return .refused(Problem(code: "credential-required", status: 401, title: "需要登录 Sign-in required",
                                    detail: "\(method.rawValue) \(path) needs a credential: a clerk signed in to the console, a case system's assertion, or the API token",
                                    remedy: "请先登录控制台。Sign in to the console; scripts use the token in <dataDir>/api-token."))
        }
        return .allowed(corsOrigin: corsOrigin)
    }
}

/// Resolves the caller's credential, applies `BrowserAccessPolicy` to every HTTP request and answers CORS
/// preflights (including Chrome's Private Network Access), and puts CORS headers on every answer to an allowed
/// page — problems included, so the page reads them instead of seeing the service as unreachable.
struct BrowserAccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: BrowserAccessPolicy
    let credentials: CredentialResolver

    static var allowedMethods: String { "GET, POST, PUT, PATCH, DELETE" }
    static var allowedHeaders: String { "Authorization, Content-Type, Last-Event-ID, Idempotency-Key" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        let isPreflight = request.method == .options && origin != nil
            && request.headers[HTTPField.Name("Access-Control-Request-Method")!] != nil
        if isPreflight {
            let verdict = policy.verdict(method: .get, path: "/", host: request.head.authority, origin: origin, caller: .anonymous)
            guard case .allowed = verdict else { return Self.refusal(verdict) }
            var headers = HTTPFields()
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowMethods] = Self.allowedMethods
            headers[.accessControlAllowHeaders] = Self.allowedHeaders
            headers[.accessControlMaxAge] = "600"
            headers[.vary] = "Origin"
            if request.headers[HTTPField.Name("Access-Control-Request-Private-Network")!] == "true" {
                headers[HTTPField.Name("Access-Control-Allow-Private-Network")!] = "true"
            }
            return Response(status: .noContent, headers: headers)
        }
        let caller: Caller
        switch await credentials.caller(of: request) {
        case .success(let resolved): caller = resolved
        case .failure(let problem): return Self.withCORS(problem.response(), origin: policy.allowedOrigins.contains(origin?.lowercased() ?? "") ? origin : nil)
        }
        let verdict = policy.verdict(method: request.method, path: request.uri.path, query: request.uri.query,
                                     host: request.head.authority, origin: origin,
                                     fetchSite: request.headers[HTTPField.Name("Sec-Fetch-Site")!], caller: caller)
        guard case .allowed(let corsOrigin) = verdict else {
            return Self.withCORS(Self.refusal(verdict), origin: policy.allowedOrigins.contains(origin?.lowercased() ?? "") ? origin : nil)
        }
        // Every error has become a problem response inside (ProblemMiddleware).
        let response = try await Caller.$current.withValue(caller) { try await next(request, context) }
        return Self.withCORS(response, origin: corsOrigin)
    }

    static func refusal(_ verdict: BrowserAccessPolicy.Verdict) -> Response {
        if case .refused(let problem) = verdict { return problem.response() }
        return Response(status: .forbidden)
    }

    static func withCORS(_ response: Response, origin: String?) -> Response {
        guard let origin else { return response }
        var response = response
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        response.headers[.accessControlExposeHeaders] = "Location, Idempotent-Replayed, Retry-After, X-Page-Count"
        return response
    }
}

/// Turns a request's credential into the `Caller` it proves: the API token, a clerk's session key or a case
/// system's assertion — as `Authorization: Bearer …`, or in the query (`token=`, `session=`, `assertion=`) where a
/// page cannot set a header (the event stream, an `<img>`). A credential that is present but wrong is refused
/// outright (401), never taken as none.
struct CredentialResolver: Sendable {
    let token: String?
    let assertions: CaseSystemAssertions
    let sessions: ClerkSessions

    /// The credential a request presents, from its header or its query.
    static func presented(in request: Request) -> String? {
        if let value = request.headers[.authorization], value.hasPrefix("Bearer ") {
            return String(value.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        }
        let query = request.uri.queryParameters
        return (query["token"] ?? query["session"] ?? query["assertion"]).map(String.init)
    }

    func caller(of request: Request) async -> Result<Caller, Problem> {
        guard let presented = Self.presented(in: request) else { return .success(.anonymous) }
        if let token, Self.constantTimeEqual(presented, token) { return .success(.apiToken) }
        if presented.hasPrefix(ClerkSessions.keyPrefix) {
            if let session = await sessions.session(key: presented) { return .success(.clerk(id: session.clerk, name: session.name)) }
            return .failure(Problem(code: "credential-invalid", status: 401, title: "登录已失效 Signed out",
                                    detail: "the clerk's session has ended (signed out, expired, or the service restarted)",
                                    remedy: "请重新登录。Sign in again."))
        }
        if CaseSystemAssertions.looksLikeAssertion(presented) {
            return assertions.verify(presented, requestOrigin: request.headers[.origin])
        }
        return .failure(Problem(code: "credential-invalid", status: 401, title: "凭据无效 Credential not valid",
                                detail: "the credential is not this counter's API token, a clerk's session or a case-system assertion",
                                remedy: "Use the token in <dataDir>/api-token, or sign in to the console."))
    }

    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8), b = Array(right.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
