import AsyncHTTPClient
import Delivery
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Store
import TongbanCore

/// The JSON body of a missed-call reminder: a template whose `{{name}}` placeholders become JSON values (strings
/// quoted and escaped, numbers as they are), so no office or case number can break the JSON the gateway reads.
public struct ReminderTemplate: Sendable, Equatable {
    /// What a template may name.
    public static let placeholders: Set<String> = ["office", "counter", "hall", "caseNumber", "time", "missedThisMonth", "callId"]

    /// The body without a template of the hall's own.
    public static let builtIn = #"""
        {"type": "assist.missed", "office": {{office}}, "counter": {{counter}}, "hall": {{hall}}, "caseNumber": {{caseNumber}}, "time": {{time}}, "missedThisMonth": {{missedThisMonth}}, "callId": {{callId}}}
        """#

    /// One placeholder's value.
    public enum Value: Sendable {
        case text(String)
        case number(Int)

        var json: String {
            switch self {
            case .number(let number): return "\(number)"
            case .text(let text):
                let encoder = JSONEncoder()
                encoder.outputFormatting = .withoutEscapingSlashes
                return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
            }
        }
    }

    let text: String

    /// A template, checked: every placeholder is known and the body it makes is a JSON object.
    public init(text: String, source: String = "the built-in template") throws(Problem) {
        // A template saved by Notepad starts with a byte-order mark, which is not JSON.
        self.text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let unknown = Set(Self.names(in: self.text)).subtracting(Self.placeholders)
        // Checked with each placeholder's real kind of value (the month's count is a number).
        let sample = render(Dictionary(uniqueKeysWithValues: Self.placeholders.map {
            ($0, $0 == "missedThisMonth" ? Value.number(12) : Value.text("x\"\\y"))
        }))
        guard unknown.isEmpty,
              (try? JSONSerialization.jsonObject(with: Data(sample.utf8))) as? [String: Any] != nil else {
            throw Problem(code: "reminder-template-invalid", status: 500, title: "短信提醒模板无效 Reminder template invalid",
                          detail: unknown.isEmpty ? "\(source) does not make a JSON object"
                              : "\(source) names \(unknown.sorted().joined(separator: ", ")), which the reminder does not have",
                          remedy: "Use only \(Self.placeholders.sorted().map { "{{\($0)}}" }.joined(separator: " ")) as values of a JSON object (no quotes around them).")
        }
    }

    /// The body with `values` in place.
    public func render(_ values: [String: Value]) -> String {
        var output = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            output += rest[..<open.lowerBound]
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            output += values[name]?.json ?? "null"
            rest = rest[close.upperBound...]
        }
        return output + rest
    }

    static func names(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            names.append(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return names
    }
}

/// Where and how missed calls are reported.
public struct MissedCallNotifySettings: Sendable {
    public var url: String
    public var template: ReminderTemplate
    /// The hall named in the body.
    public var hall: String
    public var retryMaxSeconds: Int
    /// The CA bundle for the gateway's certificate; nil: the system's.
    public var caFile: String?

    public init(url: String, template: ReminderTemplate, hall: String, retryMaxSeconds: Int, caFile: String? = nil) {
        self.url = url
        self.template = template
        self.hall = hall
        self.retryMaxSeconds = retryMaxSeconds
        self.caFile = caFile
    }
}

/// Sends the stored missed-call reminders to the city SMS gateway (the configured URL): each POSTed as JSON with `Idempotency-Key: <call id>` until the gateway answers 2xx (or 409: it holds that
/// key already), retried with the outbox's backoff (a gateway that is down, 5xx, 408, 429 or no answer;
/// `Retry-After` honoured); another 4xx, or a redirect (which would turn the POST into a GET, or carry the case
/// number elsewhere), is kept as failed for the engineer. What is stored survives restarts; one call gives one
/// reminder — sent at least once, and with its idempotency key a gateway that honours it sends one SMS.
public actor MissedCallReminders: Service {
    let store: Store
    let settings: MissedCallNotifySettings
    /// The outbox's backoff: exponential with jitter, `Retry-After` honoured.
    let backoff: Backoff
    let logger: Logger

    public init(store: Store, settings: MissedCallNotifySettings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.backoff = Backoff(maximumSeconds: Double(settings.retryMaxSeconds))
        self.logger = logger
    }

    /// The client the reminders go out through: the hall's CA, no redirects, a read timeout (a gateway that stops
    /// answering half-way does not hold the service).
    public static func makeClient(_ settings: MissedCallNotifySettings) throws(DeliveryError) -> HTTPClient {
        try TusClient.makeHTTPClient(caFile: settings.caFile, clientCertificate: nil, clientKey: nil, settings: "assist.missedCallNotify",
                                     readTimeout: .seconds(15), redirects: .disallow)
    }

    public func run() async throws {
        let client: HTTPClient
        do { client = try Self.makeClient(settings) } catch {
            logger.error("missed-call reminders cannot be sent", metadata: ["error": "\(error)"])
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let due: [(reminder: Reminder, body: String)]
            do { due = try store.dueReminders() } catch {
                logger.error("cannot read the reminders", metadata: ["error": "\(error)"])
                due = []
            }
            for (reminder, body) in due where !Task.isShuttingDownGracefully && !Task.isCancelled {
                await send(reminder, body: body, client: client)
            }
            try? await Task.sleep(for: .seconds(1))
        }
        try? await client.shutdown()
    }

    func send(_ reminder: Reminder, body: String, client: HTTPClient) async {
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "Idempotency-Key", value: reminder.id)
        request.headers.add(name: "User-Agent", value: "tongban")
        request.body = .bytes(ByteBuffer(string: body))
        let outcome: String
        var permanent = false
        var retryAfter: Int?
        do {
            let response = try await client.execute(request, timeout: .seconds(15))
            // The answer is decided by its status line; the body is read only to free the connection (under the
            // client's read timeout).
            let status = Int(response.status.code)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if (200..<300).contains(status) || status == 409 {
                do { try store.reminderSent(id: reminder.id) } catch {
                    logger.error("cannot record a sent reminder", metadata: ["call": "\(reminder.id)", "error": "\(error)"])
                }
                logger.info("missed-call reminder sent", metadata: ["call": "\(reminder.id)", "attempt": "\(reminder.attempts + 1)"])
                return
            }
            outcome = "HTTP \(status)"
            permanent = (300..<500).contains(status) && status != 408 && status != 429
            retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }
        } catch {
            outcome = "\(error)"
        }
        let next = permanent ? nil : Date().addingTimeInterval(backoff.delay(afterAttempts: reminder.attempts, retryAfter: retryAfter))
        do { try store.reminderFailed(id: reminder.id, error: outcome, next: next) } catch {
            logger.error("cannot record a failed reminder", metadata: ["call": "\(reminder.id)", "error": "\(error)"])
        }
        if permanent {
            logger.error("missed-call reminder refused by the gateway; kept as failed", metadata: ["call": "\(reminder.id)", "answer": "\(outcome)"])
        } else {
            logger.warning("missed-call reminder not taken; will retry", metadata: ["call": "\(reminder.id)", "answer": "\(outcome)",
                                                                                    "attempt": "\(reminder.attempts + 1)"])
        }
    }
}
