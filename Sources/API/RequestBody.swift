import Foundation
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
        let buffer = try await request.collectBody(upTo: 256 * 1024)
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
