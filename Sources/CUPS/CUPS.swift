import CCUPS
import TongbanCore

/// A failed libcups call, with the IPP status and message libcups recorded for this thread.
public struct CUPSError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var ippStatus: Int
    public var message: String

    public init(call: String, ippStatus: Int, message: String) {
        self.call = call
        self.ippStatus = ippStatus
        self.message = message
    }

    public var description: String { "\(call) failed: \(message) (IPP status 0x\(String(ippStatus, radix: 16)))" }

    /// Reads libcups' per-thread last error. Must run on the client's thread.
    static func last(_ call: String) -> CUPSError {
        CUPSError(call: call, ippStatus: Int(cupsLastError().rawValue),
                  message: cupsLastErrorString().map { String(cString: $0) } ?? "unknown error")
    }

    /// True when the CUPS scheduler itself could not be reached.
    public var schedulerUnreachable: Bool {
        ippStatus == Int(IPP_STATUS_ERROR_SERVICE_UNAVAILABLE.rawValue)
    }
}

extension CUPSError: ProblemConvertible {
    public var problem: Problem {
        if schedulerUnreachable {
            return Problem(code: "cups-unreachable", status: 503, title: "打印服务不可用 Print service unreachable",
                           detail: "\(description) — for the administrator: start CUPS (systemctl start cups) or check printers.cupsServer",
                           remedy: "打印服务没有运行：请联系技术支持。The print service is not running: call technical support.")
        }
        if ippStatus == Int(IPP_STATUS_ERROR_NOT_FOUND.rawValue) {
            return Problem(code: "printer-not-found", status: 404, title: "没有这台打印机 No such printer", detail: description,
                           remedy: "请从列表中另选一台打印机。Choose another printer from the list.")
        }
        return Problem(code: "cups-error", status: 502, title: "打印服务错误 Print service error", detail: description,
                       remedy: "重试；仍失败请运行 tongban doctor。Retry; if it persists run tongban doctor.")
    }
}

/// A CUPS destination (queue) with the state the scheduler reports.
public struct CUPSDestination: Sendable, Equatable, Codable {
    public var name: String
    public var instance: String?
    public var isDefault: Bool
    /// The scheduler's option values for the queue: `printer-state`, `printer-state-reasons`,
    /// `printer-make-and-model`, `printer-info`, `device-uri`, `printer-is-accepting-jobs`, …
    public var options: [String: String]

    public init(name: String, instance: String? = nil, isDefault: Bool = false, options: [String: String] = [:]) {
        self.name = name
        self.instance = instance
        self.isDefault = isDefault
        self.options = options
    }

    /// IPP printer-state: 3 idle, 4 processing, 5 stopped.
    public var printerState: Int? { options["printer-state"].flatMap { Int($0) } }
    /// printer-state-reasons keywords, `none` removed.
    public var stateReasons: [String] {
        (options["printer-state-reasons"] ?? "").split(separator: ",").map(String.init).filter { $0 != "none" && !$0.isEmpty }
    }
    public var makeAndModel: String? { options["printer-make-and-model"] }
    public var isAcceptingJobs: Bool { options["printer-is-accepting-jobs"] != "false" }
}

/// One connection to a CUPS scheduler, confined to its own thread: libcups keeps the server name, the default
/// connection and the last error per thread, so every call for this client runs on that one thread.
public final class CUPSClient: Sendable {
    let thread: DedicatedThread
    /// The scheduler this client talks to (`host:port` or a socket path); nil means libcups' default
    /// (`CUPS_SERVER`, client.conf, then the local socket).
    public let server: String?

    public init(server: String? = nil) {
        self.server = server
        thread = DedicatedThread(name: "cups")
        if let server {
            try? thread.performBlocking { cupsSetServer(server) }
        }
    }

    deinit { thread.stop() }

    /// The scheduler address libcups uses on this client's thread: `host:port`, or a socket path.
    public func effectiveServer() async -> String {
        await thread.perform {
            let server = cupsServer().map { String(cString: $0) } ?? ""
            return server.hasPrefix("/") ? server : "\(server):\(ippPort())"
        }
    }

    /// The scheduler's queues with their state. Throws when the scheduler cannot be reached.
    public func destinations() async throws(CUPSError) -> [CUPSDestination] {
        try await thread.perform { () throws(CUPSError) -> [CUPSDestination] in
            var dests: UnsafeMutablePointer<cups_dest_t>?
            let count = Int(cupsGetDests2(nil, &dests))
            defer { cupsFreeDests(Int32(count), dests) }
            if count == 0 {
                let status = cupsLastError()
                if status.rawValue > IPP_STATUS_OK_EVENTS_COMPLETE.rawValue {
                    throw CUPSError.last("cupsGetDests2")
                }
                return []
            }
            var result: [CUPSDestination] = []
            for index in 0..<count {
                let dest = dests![index]
                var options: [String: String] = [:]
                for optionIndex in 0..<Int(dest.num_options) {
                    let option = dest.options[optionIndex]
                    options[String(cString: option.name)] = String(cString: option.value)
                }
                result.append(CUPSDestination(name: String(cString: dest.name),
                                              instance: dest.instance.map { String(cString: $0) },
                                              isDefault: dest.is_default != 0, options: options))
            }
            return result
        }
    }
}
