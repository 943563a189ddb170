import CSANE
import CSANECancelGuard
import TongbanCore

/// A SANE status as a Swift value, with the clerk-facing meaning of each.
public enum SANEStatus: Int32, Sendable, CustomStringConvertible {
    case good = 0, unsupported, cancelled, deviceBusy, invalid, endOfFile, jammed, noDocuments, coverOpen,
         ioError, outOfMemory, accessDenied

    init(_ status: SANE_Status) {
        self = SANEStatus(rawValue: Int32(status.rawValue)) ?? .ioError
    }

    public var description: String {
        switch self {
        case .good: "SANE_STATUS_GOOD"
        case .unsupported: "SANE_STATUS_UNSUPPORTED"
        case .cancelled: "SANE_STATUS_CANCELLED"
        case .deviceBusy: "SANE_STATUS_DEVICE_BUSY"
        case .invalid: "SANE_STATUS_INVAL"
        case .endOfFile: "SANE_STATUS_EOF"
        case .jammed: "SANE_STATUS_JAMMED"
        case .noDocuments: "SANE_STATUS_NO_DOCS"
        case .coverOpen: "SANE_STATUS_COVER_OPEN"
        case .ioError: "SANE_STATUS_IO_ERROR"
        case .outOfMemory: "SANE_STATUS_NO_MEM"
        case .accessDenied: "SANE_STATUS_ACCESS_DENIED"
        }
    }
}

/// A failed SANE call: which call, on which device, and the status it returned.
public struct SANEError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var device: String?
    public var status: SANEStatus
    /// What Tongban found wrong beyond the status (a short page, a value out of range).
    public var reason: String?

    public init(call: String, device: String? = nil, status: SANEStatus, reason: String? = nil) {
        self.call = call
        self.device = device
        self.status = status
        self.reason = reason
    }

    public var description: String {
        "\(call)\(device.map { " on \($0)" } ?? "") failed: \(status)" + (reason.map { " (\($0))" } ?? "")
    }
}

extension SANEError: ProblemConvertible {
    public var problem: Problem {
        let device = self.device
        func make(_ code: String, _ status: Int, _ title: String, _ remedy: String) -> Problem {
            Problem(code: code, status: status, title: title, detail: description, remedy: remedy, device: device)
        }
        switch self.status {
        case .jammed: return make("scanner-jammed", 409, "扫描仪卡纸 Scanner jammed", "打开进纸器取出卡住的纸张，已扫描的页面已保留。Open the feeder, remove the jammed sheet; pages already scanned are kept.")
        case .noDocuments: return make("scanner-feeder-empty", 409, "进纸器无纸 Feeder empty", "把材料放入进纸器后重试。Put the documents in the feeder and try again.")
        case .coverOpen: return make("scanner-cover-open", 409, "扫描仪盖板打开 Scanner cover open", "合上扫描仪盖板后重试。Close the scanner cover and try again.")
        case .deviceBusy: return make("scanner-busy", 409, "扫描仪忙 Scanner busy", "等当前扫描结束，或关闭占用扫描仪的其他程序。Wait for the current scan or close the other program using the scanner.")
        case .accessDenied: return make("scanner-access-denied", 403, "无权使用扫描仪 Scanner access denied", "确认服务用户属于 tongban 组并已安装 udev 规则。Check the service user is in the tongban group and the udev rules are installed.")
        case .ioError: return make("scanner-io-error", 502, "扫描仪通信错误 Scanner I/O error", "检查扫描仪电源和数据线，然后重试。Check the scanner's power and cable, then retry.")
        case .cancelled: return make("scan-cancelled", 409, "扫描已取消 Scan cancelled", "需要时重新开始扫描。Start the scan again if needed.")
        case .invalid, .unsupported: return make("scanner-option-invalid", 400, "扫描参数无效 Invalid scan setting", "按提示修改扫描参数（分辨率、颜色模式、纸张来源）。Change the setting as the detail says (resolution, colour mode, source).")
        case .outOfMemory: return make("scanner-out-of-memory", 503, "内存不足 Out of memory", "关闭其他程序或降低分辨率后重试。Close other programs or lower the resolution, then retry.")
        default: return make("scanner-error", 502, "扫描仪错误 Scanner error", "重试；仍失败请运行 tongban doctor。Retry; if it persists run tongban doctor.")
        }
    }
}

/// What `sane_get_devices` reports about one scanner.
public struct SANEDeviceDescription: Sendable, Equatable, Codable {
    /// The name to open it with, e.g. `test:0`, `epsonds:libusb:001:004`.
    public var name: String
    public var vendor: String
    public var model: String
    public var type: String

    public init(name: String, vendor: String, model: String, type: String) {
        self.name = name
        self.vendor = vendor
        self.model = model
        self.type = type
    }
}

/// The process's one SANE session: `sane_init` runs once, on the session's own thread, and every call that
/// does not belong to an open device runs there too.
public final class SANESession: Sendable {
    /// The process-wide session. libsane must be initialised once per process.
    public static let shared = SANESession()

    private let thread = DedicatedThread(name: "sane")
    private let initialisation: Result<(major: Int, minor: Int, build: Int), SANEError>

    private init() {
        // Links the guard that keeps backends' reader threads from being cancelled inside malloc (cancel_guard.c).
        _ = tongban_sane_cancel_guard_linked()
        initialisation = try! thread.performBlocking {
            var versionCode: SANE_Int = 0
            let status = sane_init(&versionCode, nil)
            guard status == SANE_STATUS_GOOD else {
                return .failure(SANEError(call: "sane_init", status: SANEStatus(status)))
            }
            return .success((Int(tongban_sane_version_major(versionCode)),
                             Int(tongban_sane_version_minor(versionCode)),
                             Int(tongban_sane_version_build(versionCode))))
        }
    }

    /// The SANE version the library reports, `major.minor.build`.
    public func version() throws(SANEError) -> String {
        let version = try initialisation.get()
        return "\(version.major).\(version.minor).\(version.build)"
    }

    /// Runs `body` on the session's thread (calls that touch the backends' global state).
    func perform<T: Sendable>(_ body: @escaping @Sendable () throws(SANEError) -> T) async throws(SANEError) -> T {
        try await thread.perform(body)
    }

    /// Lists scanners. Network backends can take seconds: callers that must stay responsive race this
    /// against a timeout and keep the last answer.
    public func devices(localOnly: Bool = false) async throws(SANEError) -> [SANEDeviceDescription] {
        _ = try initialisation.get()
        return try await thread.perform { () throws(SANEError) -> [SANEDeviceDescription] in
            var list: UnsafeMutablePointer<UnsafePointer<SANE_Device>?>?
            let status = sane_get_devices(&list, localOnly ? SANE_TRUE : SANE_FALSE)
            guard status == SANE_STATUS_GOOD else {
                throw SANEError(call: "sane_get_devices", status: SANEStatus(status))
            }
            var devices: [SANEDeviceDescription] = []
            var index = 0
            while let entry = list?[index] {
                let device = entry.pointee
                devices.append(SANEDeviceDescription(
                    name: String(cString: device.name), vendor: String(cString: device.vendor),
                    model: String(cString: device.model), type: String(cString: device.type)))
                index += 1
            }
            return devices
        }
    }
}
