import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Why a delivery attempt did not finish.
public enum DeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Worth retrying later: the case core is down, slow, overloaded, or the link dropped. `retryAfter` from the server.
    case transient(String, retryAfter: Int?)
    /// The case core refuses this attachment; retrying the same request cannot help.
    case permanent(String)
    /// The local file is unreadable (a capture that lost its file): needs an engineer.
    case localFile(String)
    /// The receiver already holds an attachment with this id (tus creation answered 409): delivered before.
    case duplicate(String)

    public var description: String {
        switch self {
        case .transient(let message, let retryAfter): message + (retryAfter.map { " (retry after \($0) s)" } ?? "")
        case .permanent(let message): message
        case .localFile(let message): message
        case .duplicate(let message): message
        }
    }
}

/// A tus 1.0 client (core, creation, termination; checksum when the server offers it) over AsyncHTTPClient.
public struct TusClient: Sendable {
    public let endpoint: URL
    private let http: HTTPClient
    /// Deadline for sending one chunk.
    private let transferTimeout: TimeAmount
    /// Deadline for the small requests (OPTIONS, creation, HEAD, DELETE): a case core that is down shows as an error
    /// within it (the HTTP client keeps retrying the connection until the deadline).
    private let controlTimeout: TimeAmount

    /// What the server said it supports (OPTIONS).
    public struct Capabilities: Sendable, Equatable {
        public var extensions: Set<String>
        public var checksumAlgorithms: Set<String>
        public var maxSize: Int?
    }

    public init(endpoint: URL, http: HTTPClient, transferTimeout: TimeAmount = .seconds(120), controlTimeout: TimeAmount = .seconds(15)) {
        self.endpoint = endpoint
        self.http = http
        self.transferTimeout = transferTimeout
        self.controlTimeout = controlTimeout
    }

    /// OPTIONS on the creation endpoint.
    public func capabilities() async throws(DeliveryError) -> Capabilities {
        let response = try await send(.OPTIONS, endpoint)
        guard response.status.code / 100 == 2 else { throw Self.failure(response, doing: "say what it supports (OPTIONS)") }
        func list(_ name: String) -> Set<String> {
            Set(response.headers[name].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        }
        return Capabilities(extensions: list("Tus-Extension"), checksumAlgorithms: list("Tus-Checksum-Algorithm"),
                            maxSize: response.headers.first(name: "Tus-Max-Size").flatMap(Int.init))
    }

    /// Creates an upload; returns its URL (absolute).
    public func create(length: Int, metadata: [(String, String)]) async throws(DeliveryError) -> URL {
        let encoded = metadata.map { key, value in "\(key) \(Data(value.utf8).base64EncodedString())" }.joined(separator: ",")
        let response = try await send(.POST, endpoint, headers: [("Upload-Length", "\(length)"), ("Upload-Metadata", encoded)])
        if response.status == .conflict { throw .duplicate("case core already holds an upload with this attachment id") }
        guard response.status == .created else { throw Self.failure(response, doing: "create upload") }
        guard let location = response.headers.first(name: "Location"), let url = URL(string: location, relativeTo: endpoint) else {
            throw .permanent("the case core created an upload but sent no Location header")
        }
        return url.absoluteURL
    }

    /// The server's offset and length of an upload; nil when the server no longer has it (404, 410).
    public func offset(of upload: URL) async throws(DeliveryError) -> (offset: Int, length: Int?)? {
        let response = try await send(.HEAD, upload)
        if response.status == .notFound || response.status == .gone || response.status == .forbidden { return nil }
        guard response.status.code / 100 == 2, let offset = response.headers.first(name: "Upload-Offset").flatMap(Int.init) else {
            throw Self.failure(response, doing: "ask for the upload's offset")
        }
        return (offset, response.headers.first(name: "Upload-Length").flatMap(Int.init))
    }

    /// Sends one chunk at `offset`; returns the server's new offset. `checksum` is `algorithm base64digest`.
    public func patch(_ upload: URL, offset: Int, chunk: ByteBuffer, checksum: String?) async throws(DeliveryError) -> Int {
        var headers = [("Upload-Offset", "\(offset)"), ("Content-Type", "application/offset+octet-stream")]
        if let checksum { headers.append(("Upload-Checksum", checksum)) }
        let response = try await send(.PATCH, upload, headers: headers, body: chunk)
        guard response.status == .noContent || response.status == .ok,
              let newOffset = response.headers.first(name: "Upload-Offset").flatMap(Int.init) else {
            throw Self.failure(response, doing: "send bytes at offset \(offset)")
        }
        return newOffset
    }

    /// Termination: tells the server to drop an upload.
    public func terminate(_ upload: URL) async throws(DeliveryError) {
        let response = try await send(.DELETE, upload)
        guard response.status.code / 100 == 2 || response.status == .notFound || response.status == .gone else {
            throw Self.failure(response, doing: "terminate the upload")
        }
    }

    struct Answer {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: String
    }

    private func send(_ method: HTTPMethod, _ url: URL, headers: [(String, String)] = [], body: ByteBuffer? = nil) async throws(DeliveryError) -> Answer {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(name: "Tus-Resumable", value: "1.0.0")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(body)
        } else if method == .POST || method == .PATCH {
            request.headers.add(name: "Content-Length", value: "0")
        }
        do {
            let response = try await http.execute(request, timeout: body == nil ? controlTimeout : transferTimeout)
            let text = try await response.body.collect(upTo: 64 * 1024)
            return Answer(status: response.status, headers: response.headers, body: String(buffer: text))
        } catch {
            throw .transient("case core unreachable (\(method) \(url.absoluteString)): \(error)", retryAfter: nil)
        }
    }

    /// 5xx, 408, 423, 429 and 460 (checksum mismatch: the chunk was damaged on the way) are retried, honouring
    /// Retry-After; other answers are the server refusing.
    static func failure(_ answer: Answer, doing what: String) -> DeliveryError {
        let message = "case core answered \(answer.status.code) \(answer.status.reasonPhrase) to \(what)"
            + (answer.body.isEmpty ? "" : ": \(answer.body.prefix(200))")
        let retryAfter = answer.headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        switch answer.status.code {
        case 500...599, 408, 423, 429, 460: return .transient(message, retryAfter: retryAfter)
        default: return .permanent(message)
        }
    }
}

extension TusClient {
    /// An HTTP client for the case core (or another of the hall's services, named by `settings`): the configured CA
    /// bundle (government extranets run their own CA) and, when both are given, the client certificate and key for
    /// mutual TLS. Fails naming the file that cannot be used.
    public static func makeHTTPClient(caFile: String?, clientCertificate: String?, clientKey: String?, settings: String = "caseCore",
                                      readTimeout: TimeAmount = .seconds(60),
                                      redirects: HTTPClient.Configuration.RedirectConfiguration? = nil) throws(DeliveryError) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else { throw .localFile("\(settings).caFile \(caFile) is not readable") }
            tls.trustRoots = .file(caFile)
        }
        if let clientCertificate, let clientKey {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKey, format: .pem))
            } catch {
                throw .localFile("\(settings).clientCertificate/clientKey (\(clientCertificate), \(clientKey)) cannot be used: \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: readTimeout)
        if let redirects { configuration.redirectConfiguration = redirects }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
