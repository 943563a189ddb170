import Assist
import Cameras
import Delivery
import Devices
import Foundation
import IDCard
import Simulators
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Prometheus
import Printing
import Scanning
import Store
import TongbanConfig
import TongbanCore

/// What the API needs from the rest of the service.
public struct APIDependencies: Sendable {
    public var configuration: TongbanConfiguration
    public var registry: DeviceRegistry
    public var events: EventBus
    public var metrics: PrometheusCollectorRegistry
    /// The bearer token non-browser clients present.
    public var token: String?
    public var version: String
    public var startedAt: Date
    /// The ID-card readers, when any are driven.
    public var idCard: IDCardService?
    /// The demo's simulated reader, whose card the console can place and lift.
    public var readerSimulator: SharedReaderSimulator?
    /// The store, for the audit log.
    public var store: Store?
    /// Takes in attachments (captures, uploads) and queues their delivery.
    public var intake: AttachmentIntake?
    /// The outbox sender, woken when something is queued or retried.
    public var outbox: OutboxSender?
    /// Scan batches.
    public var scans: ScanService?
    /// Printing and notices.
    public var prints: PrintService?
    /// Document cameras and webcams.
    public var cameras: CameraService?
    /// Remote video assistance (nil: no Janus configured).
    public var assist: AssistService?
    /// Demo mode: the console's demo clerk may sign in when no clerks are set up.
    public var demo = false

    public init(configuration: TongbanConfiguration, registry: DeviceRegistry, events: EventBus,
                metrics: PrometheusCollectorRegistry, token: String?, version: String, startedAt: Date = Date(),
                idCard: IDCardService? = nil, readerSimulator: SharedReaderSimulator? = nil, store: Store? = nil,
                intake: AttachmentIntake? = nil, outbox: OutboxSender? = nil, scans: ScanService? = nil,
                prints: PrintService? = nil, cameras: CameraService? = nil, assist: AssistService? = nil) {
        self.cameras = cameras
        self.assist = assist
        self.scans = scans
        self.prints = prints
        self.intake = intake
        self.outbox = outbox
        self.idCard = idCard
        self.readerSimulator = readerSimulator
        self.store = store
        self.configuration = configuration
        self.registry = registry
        self.events = events
        self.metrics = metrics
        self.token = token
        self.version = version
        self.startedAt = startedAt
    }
}

/// The local HTTP/WebSocket API: `/v1/*`, `/metrics`, the console and the OpenAPI document.
public enum TongbanAPI {
    /// Builds the Hummingbird application. `onReady` gets the bound port once the server listens.
    public static func makeApplication(_ dependencies: APIDependencies, logger: Logger,
                                       limits: ConnectionLimits = .forThisProcess(),
                                       onReady: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let configuration = dependencies.configuration
        let policy = BrowserAccessPolicy(allowedOrigins: configuration.api.allowedOrigins, token: dependencies.token,
                                         listenHost: configuration.api.listen.host)
        let sessions = ClerkSessions(dataDirectory: configuration.dataDirectory, demo: dependencies.demo)
        let credentials = CredentialResolver(
            token: dependencies.token,
            assertions: try CaseSystemAssertions.load(paths: configuration.caseSystemKeyFiles,
                                                      allowedOrigins: configuration.api.allowedOrigins, counterID: configuration.counter.id),
            sessions: sessions)
        let staticFiles = try StaticFiles.load(connectingTo: configuration.assist.janusURL)
        let router = Router(context: BasicRequestContext.self)
        // Outermost: who may ask (and the CORS headers of every answer to an allowed page, problems included);
        // then every error as a problem; then body limits and idempotency keys, before any route reads the body.
        router.add(middleware: BrowserAccessMiddleware(policy: policy, credentials: credentials))
        router.add(middleware: ProblemMiddleware(logger: logger))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: BodyLimitMiddleware())
        router.add(middleware: IdempotencyMiddleware(store: dependencies.store))
        addRoutes(to: router, dependencies, policy: policy, staticFiles: staticFiles)
        SessionRoutes.add(to: router, sessions: sessions)
        IDCardRoutes.add(to: router, dependencies, policy: policy)
        AttachmentRoutes.add(to: router, dependencies)
        ScanRoutes.add(to: router, dependencies)
        PrintRoutes.add(to: router, dependencies)
        CameraRoutes.add(to: router, dependencies)
        AssistRoutes.add(to: router, dependencies)

        let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
        addEventStream(to: webSocketRouter, dependencies, policy: policy, credentials: credentials, logger: logger)

        let listen = dependencies.configuration.api.listen
        return Application(
            router: router,
            server: .guardedHTTP1WebSocketUpgrade(webSocketRouter: webSocketRouter, maximumFrameSize: 1 << 16, limits: limits),
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "Tongban"),
            onServerRunning: { channel in await onReady(channel.localAddress?.port ?? listen.port) },
            logger: logger)
    }

    /// Bytes of one media type, not cached (page images, thumbnails).
    static func bytes(_ bytes: [UInt8], contentType: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.tongban.encode(value))))
    }

    /// `GET /v1/health`.
    struct Health: Codable {
        var status: String
        var version: String
        var counterId: String
        var hall: String
        var uptimeSeconds: Int
        var devices: [String: Int]
        /// Demo mode (simulated devices; the console offers the demo clerk's sign-in).
        var demo: Bool
    }

    static func addRoutes(to router: Router<BasicRequestContext>, _ dependencies: APIDependencies,
                          policy: BrowserAccessPolicy, staticFiles: StaticFiles) {
        router.get("/") { _, _ in
            Response(status: .seeOther, headers: [.location: "/console"])
        }
        router.get("/v1/health") { _, _ in
            let snapshot = await dependencies.registry.snapshot()
            var counts: [String: Int] = [:]
            for device in snapshot.devices { counts[device.state.availability.rawValue, default: 0] += 1 }
            return try json(Health(status: "ok", version: dependencies.version,
                                   counterId: dependencies.configuration.counter.id,
                                   hall: dependencies.configuration.counter.hall,
                                   uptimeSeconds: Int(Date().timeIntervalSince(dependencies.startedAt)),
                                   devices: counts, demo: dependencies.demo))
        }
        router.get("/v1/devices") { request, _ in
            let snapshot: DeviceSnapshot
            if request.uri.queryParameters["refresh"] == "true" {
                snapshot = await dependencies.registry.refresh()
            } else {
                await dependencies.registry.waitForFirstRound()
                snapshot = await dependencies.registry.snapshot()
            }
            return try json(snapshot)
        }
        router.get("/v1/devices/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let device = await dependencies.registry.snapshot().devices.first(where: { $0.id == id }) else {
                throw Problem(code: "device-not-found", status: 404, title: "设备不存在 No such device",
                              detail: "no device with id '\(id)'", remedy: "List devices with GET /v1/devices.")
            }
            return try json(device)
        }
        router.get("/v1/events") { _, _ -> Response in
            // Reached only when the WebSocket upgrade was refused or not asked for (the access middleware has
            // already refused a caller without a credential).
            throw Problem(code: "upgrade-required", status: 426, title: "需要 WebSocket WebSocket required",
                          detail: "/v1/events is a WebSocket stream", remedy: "Open it with new WebSocket('ws://127.0.0.1:<port>/v1/events').")
        }
        router.get("/v1/openapi.yaml") { _, _ in
            try staticFiles.response(for: "openapi.yaml")
        }
        router.get("/metrics") { _, _ in
            let snapshot = await dependencies.registry.snapshot()
            updateDeviceGauges(dependencies.metrics, snapshot)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers,
                            body: .init(byteBuffer: ByteBuffer(bytes: dependencies.metrics.emitToBuffer())))
        }
        router.get("/console") { _, _ in try staticFiles.response(for: "console/index.html") }
        // The JavaScript SDK a case system imports (CORS-readable from allowed origins) and its declarations.
        router.get("/sdk/:file") { _, context in try staticFiles.response(for: "sdk/" + (try context.parameters.require("file"))) }
        router.get("/vendor/:file") { _, context in try staticFiles.response(for: "vendor/" + (try context.parameters.require("file"))) }
        router.get("/console/**") { _, context in
            try staticFiles.response(for: "console/" + context.parameters.getCatchAll().joined(separator: "/"))
        }
    }

    static func updateDeviceGauges(_ metrics: PrometheusCollectorRegistry, _ snapshot: DeviceSnapshot) {
        for deviceClass in DeviceClass.allCases {
            for availability in [DeviceAvailability.available, .busy, .unavailable, .error] {
                let count = snapshot.devices.filter { $0.deviceClass == deviceClass && $0.state.availability == availability }.count
                metrics.makeGauge(descriptor: .init(namespace: "tongban", metricName: "devices", unitName: "count",
                                                    helpText: "Devices known to the registry by class and state"),
                                  labels: [("class", deviceClass.rawValue), ("state", availability.rawValue)]).set(Int64(count))
            }
        }
        metrics.makeGauge(descriptor: .init(namespace: "tongban", metricName: "discovery_problems", unitName: "count",
                                            helpText: "Discovery sources that failed on the last round"))
            .set(Int64(snapshot.problems.count))
    }

    /// The first message on every event stream.
    struct Hello: Codable {
        var type = "hello"
        /// Sequence of the newest event published before this client connected (0 when none).
        var sequence: UInt64
        /// When this run of the service started: a client that sees it change knows the sequence numbers began
        /// again (the service restarted) and that state it holds may be stale.
        var instance: Date
        var version: String
        var counterId: String
    }

    static func addEventStream(to router: Router<BasicWebSocketRequestContext>, _ dependencies: APIDependencies,
                               policy: BrowserAccessPolicy, credentials: CredentialResolver, logger: Logger) {
        router.ws("/v1/events", shouldUpgrade: { request, _ in
            // The upgrade bypasses the HTTP middleware: the same credential and policy, here.
            let caller = (try? await credentials.caller(of: request).get()) ?? .anonymous
            let verdict = policy.verdict(method: .get, path: "/v1/events", host: request.head.authority, origin: request.headers[.origin],
                                         fetchSite: request.headers[HTTPField.Name("Sec-Fetch-Site")!], caller: caller)
            guard case .allowed = verdict else {
                logger.notice("event stream refused", metadata: ["origin": "\(request.headers[.origin] ?? "-")"])
                return .dontUpgrade
            }
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, context in
            let since = context.request.uri.queryParameters["since"].flatMap { UInt64($0) }
            let stream = await dependencies.events.subscribe(since: since)
            let hello = Hello(sequence: await dependencies.events.upcomingSequence - 1, instance: dependencies.startedAt,
                              version: dependencies.version,
                              counterId: dependencies.configuration.counter.id)
            try await outbound.write(.text(String(decoding: try JSONEncoder.tongban.encode(hello), as: UTF8.self)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Inbound messages are not commands; reading them notices the client closing.
                    for try await _ in inbound {}
                }
                group.addTask {
                    for await event in stream {
                        try await outbound.write(.text(String(decoding: try JSONEncoder.tongban.encode(event), as: UTF8.self)))
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        })
    }
}

/// The console, the OpenAPI document and other files the API serves, read once at start-up from the module's
/// resources so no request does file I/O.
struct StaticFiles: Sendable {
    let files: [String: [UInt8]]
    /// The pages' CSP `connect-src`.
    var connectSources = "'self' ws: wss:"

    /// Janus's JavaScript client and the WebRTC adapter it needs, from Debian's libjs-janus-gateway and
    /// libjs-webrtc-adapter (served at /vendor/ for the console's assist view).
    static let vendorFiles = ["janus.js": "/usr/share/javascript/janus-gateway/janus.js",
                              "adapter.js": "/usr/share/javascript/webrtc-adapter/adapter.js"]

    /// Reads the resources; `janusURL`'s origin is added to the pages' `connect-src` (the assist view talks to Janus).
    static func load(connectingTo janusURL: String? = nil) throws -> StaticFiles {
        let candidates = [Bundle.module.url(forResource: "Resources", withExtension: nil),
                          Bundle.module.bundleURL.appendingPathComponent("Resources")]
        guard let root = candidates.compactMap({ $0 }).first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw Problem(code: "resources-missing", status: 500, title: "缺少资源 Resources missing",
                          detail: "the API's resource bundle was not found next to the executable",
                          remedy: "Reinstall Tongban with its Tongban_API.resources folder.")
        }
        var files: [String: [UInt8]] = [:]
        // Relative paths straight from the enumerator: the bundle may sit behind a symlink (.build/debug).
        for case let relative as String in FileManager.default.enumerator(atPath: root.path) ?? .init() {
            let url = root.appendingPathComponent(relative)
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            files[relative] = Array(try Data(contentsOf: url))
        }
        for (name, path) in vendorFiles {
            if let bytes = FileManager.default.contents(atPath: path) { files["vendor/\(name)"] = Array(bytes) }
        }
        let janusOrigin = janusURL.flatMap(URL.init(string:)).flatMap { url in
            url.scheme.flatMap { scheme in url.host.map { "\(scheme)://\($0)\(url.port.map { ":\($0)" } ?? "")" } }
        }
        return StaticFiles(files: files, connectSources: "'self' ws: wss:" + (janusOrigin.map { " \($0)" } ?? ""))
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "yaml": "application/yaml; charset=utf-8", "json": "application/json", "png": "image/png", "svg": "image/svg+xml",
        "ts": "text/plain; charset=utf-8",
    ]

    func response(for path: String) throws -> Response {
        guard let bytes = files[path] else {
            if path.hasPrefix("vendor/") {
                throw Problem(code: "not-found", status: 404, title: "Not Found", detail: "no file \(path)",
                              remedy: "Install Debian's libjs-janus-gateway and libjs-webrtc-adapter on this PC (scripts/setup does).")
            }
            throw Problem(code: "not-found", status: 404, title: "Not Found", detail: "no file \(path)")
        }
        var headers = HTTPFields()
        headers[.contentType] = Self.contentTypes[(path as NSString).pathExtension] ?? "application/octet-stream"
        headers[.cacheControl] = "no-cache"
        headers[.contentSecurityPolicy] = "default-src 'self'; connect-src \(connectSources); img-src 'self' data: blob:; media-src 'self' blob:; frame-ancestors 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The bearer token for non-browser clients: configured, or generated once and kept 0600 in the data folder.
public enum APIToken {
    public static func loadOrCreate(dataDirectory: String) throws(StorageError) -> String {
        let path = "\(dataDirectory)/api-token"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           existing.count >= 16 {
            return existing
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        try DurableFile.write(Array(token.utf8), to: path, permissions: 0o600)
        return token
    }
}
