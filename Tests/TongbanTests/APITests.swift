import Crypto
import Devices
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Logging
import NIOCore
import Prometheus
import Testing
import TongbanConfig
import TongbanCore
import Yams
@testable import API

/// The API against a live server on a free loopback port, with simulated devices.
@Suite struct APITests {
    static let token = "test-token-0123456789"
    static let allowedOrigin = "https://case.example.gov.cn"
    /// The stand-in case system's signing key; its public half is configured in `api.caseSystemKeys`.
    static let caseSystemKeyBytes = P256.Signing.PrivateKey().rawRepresentation
    static var caseSystemKey: P256.Signing.PrivateKey { try! P256.Signing.PrivateKey(rawRepresentation: caseSystemKeyBytes) }
    static let caseSystemKeyFile: String = {
        let path = NSTemporaryDirectory() + "tongban-api-test-case-system-\(UUID().uuidString.prefix(8)).pem"
        try? caseSystemKey.publicKey.pemRepresentation.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    /// A fresh assertion of the allowed case system for its operator.
    static func assertion() throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        return try CaseSystemAssertionTests.assertion(["iss": allowedOrigin, "sub": "op-1", "aud": "tongban", "iat": now, "exp": now + 120],
                                                      key: caseSystemKey)
    }

    struct Harness {
        let application: any ApplicationProtocol
        let events: EventBus
    }

    static func harness() async throws -> Harness {
        let configuration = try ConfigurationLoader.load(file: nil, environment: [:], overrides: [
            "api.listen": "127.0.0.1:0", "api.allowedOrigins": allowedOrigin, "devices.simulate": "all",
            "api.caseSystemKeys": caseSystemKeyFile,
        ])
        let events = EventBus()
        let registry = DeviceRegistry(discoverers: [SimulatedDiscoverer()], simulate: .all, pollInterval: .seconds(60),
                                      events: events, store: nil, logger: Logger(label: "test"))
        await registry.refresh()
        let dependencies = APIDependencies(configuration: configuration, registry: registry, events: events,
                                           metrics: PrometheusCollectorRegistry(), token: token, version: "test")
        return Harness(application: try TongbanAPI.makeApplication(dependencies, logger: Logger(label: "test")),
                       events: events)
    }

    func withLiveServer(_ body: @Sendable (any TestClientProtocol, Harness) async throws -> Void) async throws {
        let harness = try await Self.harness()
        try await harness.application.test(.live) { client in try await body(client, harness) }
    }

    static func decodeProblem(_ buffer: ByteBuffer) throws -> Problem {
        try JSONDecoder().decode(Problem.self, from: Data(buffer.readableBytesView))
    }

    @Test func healthAnswersWithDeviceSummary() async throws {
        try await withLiveServer { client, _ in
            try await client.execute(uri: "/v1/health", method: .get) { response in
                #expect(response.status == .ok)
                let health = try JSONDecoder().decode(TongbanAPI.Health.self, from: Data(response.body.readableBytesView))
                #expect(health.status == "ok")
                #expect(health.devices["available"] == 4)
            }
        }
    }

    @Test func devicesListsEveryClass() async throws {
        try await withLiveServer { client, _ in
            try await client.execute(uri: "/v1/devices", method: .get) { response in
                #expect(response.status == .ok)
                let snapshot = try JSONDecoder.tongban.decode(DeviceSnapshot.self, from: Data(response.body.readableBytesView))
                #expect(Set(snapshot.devices.map(\.deviceClass)) == Set(DeviceClass.allCases))
                #expect(snapshot.devices.allSatisfy { $0.transport == .simulator })
            }
            try await client.execute(uri: "/v1/devices/sim:scanner", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/devices/nope", method: .get) { response in
                #expect(response.status == .notFound)
                let problem = try Self.decodeProblem(response.body)
                #expect(problem.code == "device-not-found")
            }
        }
    }

    @Test func foreignOriginIsRefusedAndAllowedOriginGetsCORS() async throws {
        try await withLiveServer { client, _ in
            try await client.execute(uri: "/v1/devices", method: .get, headers: [.origin: "https://evil.example"]) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.headers[.accessControlAllowOrigin] == nil)
                let problem = try Self.decodeProblem(response.body)
                #expect(problem.code == "origin-not-allowed")
            }
            try await client.execute(uri: "/v1/devices", method: .get, headers: [.origin: Self.allowedOrigin]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == Self.allowedOrigin)
                #expect(response.headers[.vary] == "Origin")
            }
        }
    }

    @Test func preflightIncludingPrivateNetworkAccessOnlyForConfiguredOrigins() async throws {
        try await withLiveServer { client, _ in
            var headers: HTTPFields = [.origin: Self.allowedOrigin]
            headers[HTTPField.Name("Access-Control-Request-Method")!] = "POST"
            headers[HTTPField.Name("Access-Control-Request-Private-Network")!] = "true"
            try await client.execute(uri: "/v1/devices", method: .options, headers: headers) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == Self.allowedOrigin)
                #expect(response.headers[HTTPField.Name("Access-Control-Allow-Private-Network")!] == "true")
                #expect(response.headers[.accessControlAllowMethods]?.contains("POST") == true)
            }
            headers[.origin] = "https://evil.example"
            try await client.execute(uri: "/v1/devices", method: .options, headers: headers) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[HTTPField.Name("Access-Control-Allow-Private-Network")!] == nil)
            }
        }
    }

    @Test func stateChangingCallWithoutOriginNeedsToken() async throws {
        try await withLiveServer { client, _ in
            try await client.execute(uri: "/v1/anything", method: .post) { response in
                #expect(response.status == .unauthorized)
                let problem = try Self.decodeProblem(response.body)
                #expect(problem.code == "credential-required")
            }
            try await client.execute(uri: "/v1/anything", method: .post, headers: [.authorization: "Bearer \(Self.token)"]) { response in
                // Past the guard: the path itself does not exist.
                #expect(response.status == .notFound)
                let problem = try Self.decodeProblem(response.body)
                #expect(problem.code == "not-found")
            }
        }
    }

    @Test func openAPIDocumentIsServedAndDescribesEveryRoute() async throws {
        try await withLiveServer { client, _ in
            try await client.execute(uri: "/v1/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                let document = try Yams.load(yaml: String(buffer: response.body)) as? [String: Any]
                let paths = (document?["paths"] as? [String: Any]).map { Set($0.keys) } ?? []
                #expect(paths.isSuperset(of: ["/v1/health", "/v1/devices", "/v1/devices/{id}", "/v1/events", "/metrics",
                                               "/v1/idcard/read", "/v1/idcard/records/{id}", "/v1/sim/idcard",
                                               "/v1/attachments", "/v1/outbox", "/v1/outbox/{id}/retry",
                                               "/v1/scans", "/v1/scans/{id}", "/v1/scans/{id}/pages", "/v1/scans/{id}/order",
                                               "/v1/scans/{id}/pages/{page}", "/v1/scans/{id}/pages/{page}/thumbnail",
                                               "/v1/scans/{id}/pages/{page}/image", "/v1/scans/{id}/finish",
                                               "/v1/printers", "/v1/prints", "/v1/prints/{id}", "/v1/notices",
                                               "/v1/notices/{template}/preview", "/v1/cameras", "/v1/cameras/{id}/preview",
                                               "/v1/cameras/{id}/capture", "/v1/idcard-copies", "/v1/attachments/{id}/content"]))
            }
        }
    }

    @Test func metricsAreInPrometheusFormat() async throws {
        try await withLiveServer { client, _ in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains("# TYPE tongban_devices_count gauge"))
                #expect(text.contains("tongban_devices_count{class=\"scanner\",state=\"available\"} 1"))
            }
        }
    }

    @Test func consoleIsServed() async throws {
        try await withLiveServer { client, _ in
            try await client.execute(uri: "/console", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("/console/console.js"))
            }
            try await client.execute(uri: "/console/console.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/javascript") == true)
            }
        }
    }

    /// Opens the event stream with exact headers through `Tests/tools/ws_probe.py` (python3-websockets): Swift's
    /// WebSocket client always adds an Origin of its own, which would hide what the server does without one.
    static func probe(port: Int, query: String = "", messages: Int, headers: [String]) throws -> ChildProcess {
        try ChildProcess("\(packageRoot)/Tests/tools/ws_probe.py",
                         ["ws://127.0.0.1:\(port)/v1/events\(query)", String(messages)] + headers)
    }

    @Test func eventStreamSendsHelloThenEventsToAnAllowedOrigin() async throws {
        try await withLiveServer { client, harness in
            let port = try #require(client.port)
            let probe = try Self.probe(port: port, query: "?assertion=\(try Self.assertion())", messages: 2, headers: ["Origin: \(Self.allowedOrigin)"])
            let hello = try await probe.waitForLine(containing: "hello")
            #expect(hello?.contains("\"sequence\":4") == true, "hello after the four device.added events: \(hello ?? "none")")
            await harness.events.publish("device.changed", SimulatedDiscoverer.device(for: .scanner))
            #expect(try await probe.waitForExit() == 0, "\(probe.standardOutput) \(probe.standardError)")
            let event = probe.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
            #expect(event.contains("\"type\":\"device.changed\""))
            #expect(event.contains("\"sequence\":5"))
            #expect(event.contains("sim:scanner"))
        }
    }

    @Test func eventStreamResumesAfterASequenceNumber() async throws {
        try await withLiveServer { client, _ in
            let port = try #require(client.port)
            // The registry's first round published device.added 1…4; resuming after 2 replays 3 and 4.
            let probe = try Self.probe(port: port, query: "?since=2", messages: 3,
                                       headers: ["Origin: \(Self.allowedOrigin)", "Authorization: Bearer \(try Self.assertion())"])
            #expect(try await probe.waitForExit() == 0)
            let lines = probe.standardOutput.split(separator: "\n")
            #expect(lines.count == 3)
            #expect(lines.dropFirst().map { $0.contains("\"type\":\"device.added\"") } == [true, true])
            #expect(lines.last?.contains("\"sequence\":4") == true)
        }
    }

    /// Finding (wave 2): the allowed origin's header alone opened the event stream; now it needs the assertion too.
    @Test(arguments: [["Origin: https://evil.example"], [], ["Authorization: Bearer wrong-token-000000"], ["Origin: null"],
                      ["Origin: \(allowedOrigin)"], ["Sec-Fetch-Site: same-origin"]])
    func eventStreamRefusesForeignOriginsAndTokenlessClients(headers: [String]) async throws {
        try await withLiveServer { client, _ in
            let port = try #require(client.port)
            let probe = try Self.probe(port: port, messages: 1, headers: headers)
            #expect(try await probe.waitForExit() == 3, "upgrade should be refused: \(probe.standardOutput)")
            #expect(probe.standardOutput.hasPrefix("refused"))
        }
    }

    @Test func eventStreamAcceptsTheTokenFromAClientWithoutOrigin() async throws {
        try await withLiveServer { client, _ in
            let port = try #require(client.port)
            let byHeader = try Self.probe(port: port, messages: 1, headers: ["Authorization: Bearer \(Self.token)"])
            #expect(try await byHeader.waitForExit() == 0)
            let byQuery = try Self.probe(port: port, query: "?token=\(Self.token)", messages: 1, headers: [])
            #expect(try await byQuery.waitForExit() == 0)
            #expect(byQuery.standardOutput.contains("\"type\":\"hello\""))
        }
    }

    @Test func eventsPathWithoutUpgradeAnswersWithAProblem() async throws {
        try await withLiveServer { client, _ in
            try await client.execute(uri: "/v1/events", method: .get, headers: [.origin: "https://evil.example"]) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/v1/events", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/events", method: .get, headers: [.origin: Self.allowedOrigin]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/events", method: .get,
                                     headers: [.origin: Self.allowedOrigin, .authorization: "Bearer \(try Self.assertion())"]) { response in
                #expect(response.status == .upgradeRequired)
            }
        }
    }
}
