import HTTPTypes
import Hummingbird
import TongbanCore

/// Who may talk to the local API, decided once per request.
///
/// - The `Host` header must name a loopback address (or the configured listen host): a page that re-binds its
///   own DNS name to 127.0.0.1 cannot reach the API.
/// - A browser request carries `Origin`; it must be one of the configured origins or the service's own
///   (the console). Anything else is refused, including the CORS preflight.
/// - State-changing calls need an allowed Origin or the bearer token; clients without Origin (CLI, scripts)
///   use the token. A valid token is enough on its own.
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
        /// Same-origin or non-browser request that may proceed; `corsOrigin` is set when the response must carry
        /// CORS headers for an allowed cross origin.
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

    /// Decides a request from its method, Host, Origin and Authorization.
    public func verdict(method: HTTPRequest.Method, host: String?, origin: String?, authorization: String?,
                        tokenQuery: String? = nil, requiresCredential: Bool = false) -> Verdict {
        guard let host, allowedHosts.contains(Self.hostName(host)) else {
            return .refused(Problem(code: "host-not-allowed", status: 403, title: "拒绝访问 Host not allowed",
                                    detail: "the API answers only to loopback host names, not '\(host ?? "")'",
                                    remedy: "Call the API at http://127.0.0.1:<port>."))
        }
        let hasToken = token.map { expected in
            authorization == "Bearer \(expected)" || tokenQuery == expected
        } ?? false
        // The token is proof of trusted local software (a page cannot know it), whatever Origin it sends.
        if hasToken { return .allowed(corsOrigin: nil) }
        if let origin {
            let normalised = origin.lowercased()
            let ownOrigin = normalised == "http://\(host.lowercased())"
            guard ownOrigin || allowedOrigins.contains(normalised) else {
                return .refused(Problem(code: "origin-not-allowed", status: 403, title: "来源不允许 Origin not allowed",
                                        detail: "requests from '\(origin)' are not allowed by this counter's Tongban",
                                        remedy: "Add the origin to api.allowedOrigins in tongban.yaml (administrator)."))
            }
            return .allowed(corsOrigin: ownOrigin ? nil : origin)
        }
        if (requiresCredential || Self.stateChangingMethods.contains(method)) && !hasToken {
            return .refused(Problem(code: "credential-required", status: 401, title: "需要凭据 Credential required",
                                    detail: "a request without Origin must carry the API token (Authorization: Bearer …)",
                                    remedy: "Use the token in <dataDir>/api-token, or call from an allowed browser origin."))
        }
        return .allowed(corsOrigin: nil)
    }
}

/// Applies `BrowserAccessPolicy` to every HTTP request and answers CORS preflights, including Chrome's
/// Private Network Access (`Access-Control-Request-Private-Network`).
struct BrowserAccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: BrowserAccessPolicy

    static var allowedMethods: String { "GET, POST, PUT, PATCH, DELETE" }
    static var allowedHeaders: String { "Authorization, Content-Type, Last-Event-ID" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.browserOrigin
        let isPreflight = request.method == .options && origin != nil
            && request.headers[HTTPField.Name("Access-Control-Request-Method")!] != nil
        let verdict = policy.verdict(method: isPreflight ? .get : request.method, host: request.head.authority,
                                     origin: origin, authorization: request.headers[.authorization])
        switch verdict {
        case .refused(let problem):
            throw problem
        case .allowed(let corsOrigin):
            if isPreflight {
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
            var response = try await next(request, context)
            if let corsOrigin {
                response.headers[.accessControlAllowOrigin] = corsOrigin
                response.headers[.vary] = "Origin"
                response.headers[.accessControlExposeHeaders] = "Location"
            }
            return response
        }
    }
}

extension Request {
    /// The origin of the page that sent the request: its `Origin` header, or — for a same-origin request a browser
    /// sends without one (a plain GET from the console) — the service's own origin, told by
    /// `Sec-Fetch-Site: same-origin`, a header no page script can set.
    var browserOrigin: String? {
        if let origin = headers[.origin] { return origin }
        guard headers[HTTPField.Name("Sec-Fetch-Site")!] == "same-origin", let host = head.authority else { return nil }
        return "http://\(host)"
    }
}
