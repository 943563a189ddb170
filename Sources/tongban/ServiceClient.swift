import Foundation
import FoundationNetworking
import HTTPTypes
import Logging
import TongbanConfig
import TongbanCore
import WSClient

/// The CLI's way into the running service: its API address and the token from the configuration or
/// `<dataDir>/api-token`.
struct ServiceClient {
    let base: String
    let token: String

    init(configuration: TongbanConfiguration) {
        let listen = configuration.api.listen
        let host = ["0.0.0.0", "::"].contains(listen.host) ? "127.0.0.1" : listen.host
        base = "http://\(host.contains(":") ? "[\(host)]" : host):\(listen.port)"
        guard let token = configuration.api.token
            ?? (try? String(contentsOfFile: "\(configuration.dataDirectory)/api-token", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) else {
            fail(Problem(code: "no-token", status: 401, title: "找不到 API 令牌 No API token",
                         detail: "neither api.token nor \(configuration.dataDirectory)/api-token",
                         remedy: "Run this as the service user (it can read the data folder), or set api.token."))
        }
        self.token = token
    }

    /// POSTs JSON and returns the body, or exits with the service's problem (or with "not running").
    func post(_ path: String, json: [String: Any], timeout: TimeInterval) async -> Data {
        var request = URLRequest(url: URL(string: base + path)!, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try? JSONSerialization.data(withJSONObject: json)
        return await send(request)
    }

    /// GETs a path and returns the body, or exits with the service's problem.
    func get(_ path: String, timeout: TimeInterval) async -> Data {
        await send(URLRequest(url: URL(string: base + path)!, timeoutInterval: timeout))
    }

    private func send(_ request: URLRequest) async -> Data {
        var request = request
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let data: Data, response: URLResponse
        do { (data, response) = try await URLSession.shared.data(for: request) } catch {
            fail(notRunning(error))
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            fail((try? JSONDecoder().decode(Problem.self, from: data))
                 ?? Problem(code: "http-\(status)", status: status, title: "请求失败 Request failed", detail: String(decoding: data, as: UTF8.self)))
        }
        return data
    }

    func notRunning(_ error: any Error) -> Problem {
        Problem(code: "service-not-running", status: 503, title: "通办服务未运行 Tongban is not running",
                detail: "\(base): \(error.localizedDescription)",
                remedy: "Start it (systemctl start tongban, or tongban serve) and try again.")
    }

    /// DELETEs a path and returns the body, or exits with the service's problem.
    func delete(_ path: String, timeout: TimeInterval) async -> Data {
        var request = URLRequest(url: URL(string: base + path)!, timeoutInterval: timeout)
        request.httpMethod = "DELETE"
        return await send(request)
    }

    /// Prints every event whose type starts with `prefix` until interrupted, or until `stop` says so of one.
    /// `alreadyDone` runs once the stream is open (events from then on are kept for the loop) and ends the watch
    /// when what it waits for happened before — so nothing falls between looking and listening.
    func watch(prefix: String, alreadyDone: @escaping @Sendable () async -> Bool = { false },
               until stop: @escaping @Sendable (JSONValue) -> Bool = { _ in false }) async {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        let url = base.replacingOccurrences(of: "http://", with: "ws://") + "/v1/events"
        do {
            try await WebSocketClient.connect(url: url, configuration: .init(additionalHeaders: headers),
                                              logger: Logger(label: "tongban.watch")) { inbound, _, _ in
                if await alreadyDone() { return }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message,
                          let event = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
                          let type = event["type"]?.stringValue, type.hasPrefix(prefix) else { continue }
                    print(text)
                    fflush(nil)
                    if stop(event) { return }
                }
            }
        } catch {
            fail(notRunning(error))
        }
    }
}

