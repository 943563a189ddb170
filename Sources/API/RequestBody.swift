import Foundation
import HTTPTypes
import Hummingbird
import TongbanCore

/// JSON request bodies: a malformed one is a 400 problem naming the field and what was wrong, never a 500.
enum RequestBody {
    /// Decodes a required JSON body.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, what: String) async throws -> T {
        guard let value = try await decodeIfPresent(type, from: request, what: what) else {
            throw Problem(code: "invalid-json", status: 400, title: "请求格式错误 Malformed request",
                          detail: "the \(what) has no body", remedy: "Send a JSON object as the body.")
        }
        return value
    }

    /// Decodes a JSON body when there is one; an empty body is nil.
    static func decodeIfPresent<T: Decodable>(_ type: T.Type, from request: Request, what: String) async throws -> T? {
        var request = request
        let buffer = try await request.collectBody(upTo: BodyLimitMiddleware<BasicRequestContext>.jsonLimit)
        guard buffer.readableBytes > 0 else { return nil }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw Problem(code: "invalid-json", status: 400, title: "请求格式错误 Malformed request",
                          detail: "the \(what) is not valid: \(describe(error))", remedy: "Correct the field named and send it again.")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return joined.isEmpty ? "the body" : joined
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context))\(context.codingPath.isEmpty ? "" : ".")\(key.stringValue) is missing"
        case .typeMismatch(let type, let context): return "\(path(context)) should be \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)) should be \(type), not null"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// Refuses a body larger than its route takes before a byte of it is read: 413 when `Content-Length` says so (an
/// upload of several GiB is refused at once, not read to the limit first). Bodies sent without a length are cut at
/// the same limit while they are read (`RequestBody`, the attachment upload).
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// JSON requests.
    static var jsonLimit: Int { 256 * 1024 }

    /// A PDF sent to the printer as it is.
    static var printedPDFLimit: Int { 64 * 1024 * 1024 }

    /// What a route takes: an attachment upload up to 1 GiB, a PDF to print up to 64 MiB, everything else a JSON body.
    static func limit(method: HTTPRequest.Method, path: String) -> Int {
        guard method == .post else { return jsonLimit }
        switch path {
        case "/v1/attachments": return AttachmentRoutes.maximumSize
        case "/v1/prints": return printedPDFLimit
        default: return jsonLimit
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let limit = Self.limit(method: request.method, path: request.uri.path)
        if let declared = request.headers[.contentLength], let length = Int(declared), length > limit {
            throw Problem(code: "body-too-large", status: 413, title: "内容过大 Too large",
                          detail: "the request declares \(length) bytes; \(request.uri.path) takes at most \(limit)",
                          remedy: request.uri.path == "/v1/attachments" ? "Split the document into several attachments." : "Send a smaller request.")
        }
        return try await next(request, context)
    }
}

extension Request {
    /// A text parameter of the query, decoded as browsers encode it (`application/x-www-form-urlencoded`, WHATWG
    /// URLSearchParams: `+` is a space, `%2B` a plus sign) — a reason typed with spaces is kept with its spaces.
    /// Nil when the parameter is absent; a 400 when its percent-encoding is not UTF-8 (never taken as absent: a
    /// broken case number must not list every case).
    func queryText(_ name: String) throws(Problem) -> String? {
        guard let field = BrowserAccessPolicy.queryFields(uri.query).first(where: { $0.name == name }) else { return nil }
        guard field.valueDecodes else {
            throw Problem(code: "invalid-query-encoding", status: 400, title: "请求参数编码错误 Malformed query",
                          detail: "the query parameter \(name) is not percent-encoded UTF-8",
                          remedy: "Percent-encode the value as UTF-8 (encodeURIComponent).")
        }
        return field.value ?? ""
    }
}
