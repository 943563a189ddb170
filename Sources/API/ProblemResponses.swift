import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TongbanCore

extension Problem {
    /// The problem as an `application/problem+json` response.
    func response() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        let body = (try? JSONEncoder.tongban.encode(self)) ?? Data()
        return Response(status: HTTPResponse.Status(code: status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error into RFC 9457 problem details: Tongban's typed errors keep their code and remedy,
/// Hummingbird's own errors (unknown route, bad body) get a code from their status, anything else is a 500
/// that names the error without leaking internals.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ProblemConvertible {
            return error.problem.response()
        } catch let error as HTTPError {
            let code = switch error.status.code {
            case 404: "not-found"
            case 405: "method-not-allowed"
            case 413: "payload-too-large"
            case 400: "bad-request"
            default: "http-\(error.status.code)"
            }
            var problem = Problem(code: code, status: error.status.code, title: error.status.reasonPhrase,
                                  detail: error.body ?? "\(request.method) \(request.uri.path)")
            if error.status.code == 404 { problem.remedy = "See /v1/openapi.yaml for the API's paths." }
            var response = problem.response()
            for field in error.headers { response.headers.append(field) }
            return response
        } catch let error as NIOTooManyBytesError {
            // A body sent without a declared length that grew past what the route takes.
            return Problem(code: "body-too-large", status: 413, title: "内容过大 Too large",
                           detail: "the request body is larger than \(request.uri.path) takes (\(error.maxBytes.map { "\($0) bytes" } ?? "its limit"))",
                           remedy: "Send a smaller request.")
                .response()
        } catch let error as DecodingError {
            return Problem(code: "bad-request", status: 400, title: "请求格式错误 Malformed request",
                               detail: "\(error)", remedy: "Check the request body against /v1/openapi.yaml.")
                .response()
        } catch {
            logger.error("unhandled error", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return Problem(code: "internal-error", status: 500, title: "内部错误 Internal error",
                               detail: String(describing: type(of: error)),
                               remedy: "Retry; if it persists, send the service log to support.")
                .response()
        }
    }
}
