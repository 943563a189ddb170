import Crypto
import Delivery
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Store
import TongbanCore

/// How long answered idempotency keys are kept, and how much of a request or response is kept for them.
public enum IdempotencyMiddlewareSettings {
    /// Keys are answered again for at least 24 hours (they are forgotten after 48, by the retention service).
    public static let keptSeconds: TimeInterval = RetentionService.idempotencyKeySeconds
    /// Request bodies up to this size are part of the request's fingerprint; larger ones (uploads) are fingerprinted
    /// by their declared length and type.
    static let fingerprintedBodyLimit = 1 << 20
    /// Responses up to this size are kept for replay.
    static let keptResponseLimit = 1 << 20
}

/// One clerk action, one result: every state-changing request may carry an `Idempotency-Key`
/// (draft-ietf-httpapi-idempotency-key-header). The first request with a key runs and its answer is kept (in the
/// store, so a restart keeps it too); the same key with the same request is answered the kept response again
/// (`Idempotent-Replayed: true`), with a different request 422, and while the first is still running 409.
///
/// Keys are scoped to the caller (as its credential proved it) and the route. Only successful answers are kept:
/// a request that failed changed nothing, and its retry with the same key runs again.
struct IdempotencyMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: Store?

    static var headerName: HTTPField.Name { HTTPField.Name("Idempotency-Key")! }

    /// POSTs that change nothing — reading a card, previewing a form, signing in — are answered afresh every time:
    /// their answers (an unmasked record, a filled form, a session key) are never kept outside the vault.
    static func changesNothing(_ request: Request) -> Bool {
        let path = request.uri.path
        return path == "/v1/idcard/read" || path == "/v1/session" || (path.hasPrefix("/v1/notices/") && path.hasSuffix("/preview"))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard BrowserAccessPolicy.stateChangingMethods.contains(request.method), let key = request.headers[Self.headerName],
              let store, !Self.changesNothing(request) else {
            return try await next(request, context)
        }
        guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ (0x21...0x7e).contains($0.value) }) else {
            throw Problem(code: "invalid-idempotency-key", status: 400, title: "请求标识无效 Invalid Idempotency-Key",
                          detail: "an Idempotency-Key must be 1 to 255 visible ASCII characters",
                          remedy: "Send a fresh UUID per user action (the SDK does).")
        }
        var request = request
        let scope = Self.scope(of: request)
        let fingerprint = try await Self.fingerprint(of: &request)
        switch try store.claimIdempotencyKey(scope: scope, key: key, fingerprint: fingerprint) {
        case .answered(let kept):
            var headers = HTTPFields()
            if let contentType = kept.contentType { headers[.contentType] = contentType }
            if let location = kept.location { headers[.location] = location }
            headers[HTTPField.Name("Idempotent-Replayed")!] = "true"
            headers[.cacheControl] = "no-store"
            return Response(status: HTTPResponse.Status(code: kept.status), headers: headers,
                            body: .init(byteBuffer: ByteBuffer(bytes: kept.body)))
        case .inProgress:
            throw Problem(code: "idempotency-key-in-use", status: 409, title: "正在处理 Already being done",
                          detail: "a request with Idempotency-Key '\(key)' is still being served",
                          remedy: "请稍候，上一次操作尚未完成。Wait for the first request's answer; do not send it again.")
        case .interrupted:
            throw Problem(code: "idempotency-outcome-unknown", status: 409, title: "上次操作结果不明 Outcome unknown",
                          detail: "the service stopped while a request with Idempotency-Key '\(key)' was being done; it may or may not have been done",
                          remedy: "请先查看本案已有的附件和打印记录，确有需要再重新操作。Check the case's attachments and print jobs before doing it again (a new action gets a new key).")
        case .mismatch:
            throw Problem(code: "idempotency-key-reused", status: 422, title: "请求标识已用于其他操作 Idempotency-Key reused",
                          detail: "Idempotency-Key '\(key)' was used for a different request",
                          remedy: "Use a fresh key for each new action.")
        case .claimed:
            break
        }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            try? store.releaseIdempotencyKey(scope: scope, key: key)
            throw error
        }
        guard (200..<300).contains(response.status.code),
              let length = response.body.contentLength, length <= IdempotencyMiddlewareSettings.keptResponseLimit else {
            try? store.releaseIdempotencyKey(scope: scope, key: key)
            return response
        }
        let collector = ResponseCollector()
        let body: [UInt8]
        do {
            try await response.body.write(CollectingWriter(collector: collector))
            body = Array(collector.buffer.readableBytesView)
            try store.completeIdempotencyKey(scope: scope, key: key, response: IdempotentResponse(
                status: response.status.code, contentType: response.headers[.contentType], location: response.headers[.location], body: body))
        } catch {
            // Done, but its answer could not be kept: the key is given back rather than left claimed forever.
            try? store.releaseIdempotencyKey(scope: scope, key: key)
            throw error
        }
        var replayable = response
        replayable.body = .init(byteBuffer: ByteBuffer(bytes: body))
        return replayable
    }

    /// Whose key it is and for which route: the caller its credential proved (not the credential's bytes: a case
    /// system's assertion is fresh on every call, its operator is the same) and the method and path.
    static func scope(of request: Request) -> String {
        "\(Caller.current.auditName) \(request.method.rawValue) \(request.uri.path)"
    }

    /// A digest of what the request asks: method, path and query, content type and its body (or, for an upload
    /// too large to hold or one sent without a length, its declared length or the fact that it has none).
    static func fingerprint(of request: inout Request) async throws -> String {
        var parts = [request.method.rawValue, request.uri.description, request.headers[.contentType] ?? ""]
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > IdempotencyMiddlewareSettings.fingerprintedBodyLimit {
            parts.append("length \(declared)")
        } else if declared == nil && request.headers[.transferEncoding] != nil {
            parts.append("streamed")
        } else {
            let body = try await request.collectBody(upTo: IdempotencyMiddlewareSettings.fingerprintedBodyLimit)
            parts.append(digest(Array(body.readableBytesView)))
        }
        return digest(Array(parts.joined(separator: "\n").utf8))
    }

    static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// Where `CollectingWriter` puts a response's bytes.
final class ResponseCollector: @unchecked Sendable {
    var buffer = ByteBuffer()
}

/// Reads a response body into memory (a small JSON answer kept for an idempotent replay).
struct CollectingWriter: ResponseBodyWriter {
    let collector: ResponseCollector

    mutating func write(_ buffer: ByteBuffer) async throws {
        collector.buffer.writeImmutableBuffer(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
