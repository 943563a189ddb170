import CUPS
import Foundation
import LibUSB
import SANE
import TongbanConfig
import TongbanCore
import V4L2

/// What one discovery source found: its devices, or why it could not look.
public struct DiscoveryResult: Sendable {
    public var devices: [Device]
    /// Set when the source itself failed (CUPS down, SANE timed out, no USB); its devices are then unknown.
    public var problem: DiscoveryProblem?

    public init(devices: [Device], problem: DiscoveryProblem? = nil) {
        self.devices = devices
        self.problem = problem
    }
}

/// A discovery source that could not answer, for `/v1/devices` and `tongban doctor`.
public struct DiscoveryProblem: Sendable, Equatable, Codable {
    public var source: String
    public var message: String
    public var remedy: String
}

/// One place devices are found: libsane, the CUPS scheduler, /dev/video*, the USB bus, serial ports, simulators.
public protocol DeviceDiscoverer: Sendable {
    var source: String { get }
    func discover() async -> DiscoveryResult
}

/// Scanners through libsane. The device list is slow on network backends, so it is refreshed at most every
/// `refreshInterval`, raced against `timeout`, and the last answer is kept meanwhile.
public actor SANEDiscoverer: DeviceDiscoverer {
    public nonisolated let source = "sane"
    private let refreshInterval: Duration
    private let timeout: Duration
    private var cached: DiscoveryResult?
    private var cachedAt: ContinuousClock.Instant?
    private var inFlight: Task<DiscoveryResult, Never>?

    public init(refreshInterval: Duration, timeout: Duration) {
        self.refreshInterval = refreshInterval
        self.timeout = timeout
    }

    public func discover() async -> DiscoveryResult {
        if let cached, let cachedAt, ContinuousClock.now - cachedAt < refreshInterval { return cached }
        let listing = inFlight ?? Task { await Self.list() }
        inFlight = listing
        let timeout = self.timeout
        let result = await withTaskGroup(of: DiscoveryResult?.self) { group in
            group.addTask { await listing.value }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        guard let result else {
            // Still listing: keep the previous answer and say so; the listing finishes in the background.
            var stale = cached ?? DiscoveryResult(devices: [])
            stale.problem = DiscoveryProblem(source: source, message: "SANE device listing took longer than \(timeout)",
                                             remedy: "Check network scanner backends in SANE's dll.conf; disable the ones not used.")
            return stale
        }
        inFlight = nil
        cached = result
        cachedAt = .now
        return result
    }

    private static func list() async -> DiscoveryResult {
        do {
            let devices = try await SANESession.shared.devices()
            return DiscoveryResult(devices: devices.map { scanner in
                Device(id: "sane:\(scanner.name)", deviceClass: .scanner, model: "\(scanner.vendor) \(scanner.model)",
                       transport: .sane, details: Self.details(of: scanner))
            })
        } catch {
            return DiscoveryResult(devices: [], problem: DiscoveryProblem(
                source: "sane", message: error.description,
                remedy: "Install sane-utils and check `scanimage -L`; see tongban doctor."))
        }
    }

    /// What the registry keeps of a SANE device. libsane's `test` backend is a simulator — pictures made up by the
    /// backend, no paper — and is marked so, as Tongban's own simulated devices are.
    static func details(of scanner: SANEDeviceDescription) -> [String: String] {
        var details = ["saneName": scanner.name, "type": scanner.type]
        if scanner.name.hasPrefix("test:") { details["simulated"] = "true" }
        return details
    }
}

/// Printers: the CUPS scheduler's queues with their state.
public struct CUPSDiscoverer: DeviceDiscoverer {
    public let source = "cups"
    private let client: CUPSClient
    private let simulatedQueues: Set<String>

    /// `simulatedQueues`: queues that are simulators (`printers.simulated`), marked `simulated` in their details.
    public init(client: CUPSClient, simulatedQueues: Set<String> = []) {
        self.client = client
        self.simulatedQueues = simulatedQueues
    }

    public func discover() async -> DiscoveryResult {
        do {
            let destinations = try await client.destinations()
            return DiscoveryResult(devices: destinations.map { destination in
                var device = Self.device(destination)
                if simulatedQueues.contains(destination.name) { device.details["simulated"] = "true" }
                return device
            })
        } catch {
            return DiscoveryResult(devices: [], problem: DiscoveryProblem(
                source: source, message: error.description, remedy: error.problem.remedy ?? ""))
        }
    }

    static func device(_ destination: CUPSDestination) -> Device {
        var details = ["queue": destination.name]
        if let uri = destination.options["device-uri"] { details["deviceURI"] = uri }
        if !destination.stateReasons.isEmpty { details["stateReasons"] = destination.stateReasons.joined(separator: ",") }
        if destination.isDefault { details["default"] = "true" }
        return Device(id: "cups:\(destination.name)", deviceClass: .printer,
                      model: destination.makeAndModel ?? destination.options["printer-info"] ?? destination.name,
                      transport: .cups, state: PrinterStateText.state(of: destination), details: details)
    }
}

/// Clerk-facing printer states from IPP printer-state and printer-state-reasons.
public enum PrinterStateText {
    /// Reasons that stop printing, with what to tell the clerk.
    static let reasons: [(keyword: String, message: String, remedy: String)] = [
        ("media-empty", "纸盒无纸 Paper tray empty", "在纸盒中放入 A4 纸。Load A4 paper into the tray."),
        ("media-needed", "需要装纸 Paper needed", "在纸盒中放入纸张。Load paper into the tray."),
        ("media-jam", "打印机卡纸 Paper jam", "打开打印机取出卡住的纸。Open the printer and remove the jammed paper."),
        ("toner-empty", "墨粉用尽 Toner empty", "更换墨粉盒。Replace the toner cartridge."),
        ("marker-supply-empty", "耗材用尽 Supply empty", "更换墨粉或墨盒。Replace the toner or ink."),
        ("door-open", "打印机门打开 Printer door open", "关上打印机的门。Close the printer's door."),
        ("cover-open", "打印机盖打开 Printer cover open", "合上打印机盖。Close the printer cover."),
        ("offline", "打印机离线 Printer offline", "打开打印机电源并检查网线/数据线。Switch the printer on and check its cable."),
    ]

    public static func state(of destination: CUPSDestination) -> DeviceState {
        for reason in destination.stateReasons {
            let keyword = reason.replacingOccurrences(of: "-error", with: "").replacingOccurrences(of: "-warning", with: "")
                .replacingOccurrences(of: "-report", with: "")
            if reason.hasSuffix("-report") || reason.hasSuffix("-warning") { continue }
            if let known = reasons.first(where: { $0.keyword == keyword }) {
                return DeviceState(.error, message: known.message, remedy: known.remedy)
            }
        }
        switch destination.printerState {
        case 5:
            return DeviceState(.error, message: "打印队列已停止 Print queue stopped (\(destination.name))",
                               remedy: "在打印机恢复后运行 cupsenable \(destination.name)，或联系管理员。Run cupsenable \(destination.name) once the printer is fixed, or call the administrator.")
        case 4: return DeviceState(.busy)
        default:
            if !destination.isAcceptingJobs {
                return DeviceState(.error, message: "打印队列拒绝任务 Queue rejecting jobs (\(destination.name))",
                                   remedy: "运行 cupsaccept \(destination.name)。Run cupsaccept \(destination.name).")
            }
            return .available
        }
    }
}

/// Cameras: `/dev/video*` nodes that can capture.
public struct VideoDiscoverer: DeviceDiscoverer {
    public let source = "v4l2"
    private let directory: String

    public init(directory: String = "/dev") {
        self.directory = directory
    }

    public func discover() async -> DiscoveryResult {
        var devices: [Device] = []
        for path in V4L2.deviceNodes(in: directory) {
            do {
                let description = try await V4L2.describe(path)
                guard description.canCapture else { continue }
                devices.append(Device(id: "v4l2:\(path)", deviceClass: .camera, model: description.card, transport: .v4l2,
                                      details: ["driver": description.driver, "busInfo": description.busInfo,
                                                "multiplanar": String(description.isMultiplanar)]))
            } catch {
                let state: DeviceState = switch error.errno {
                case EACCES, EPERM:
                    DeviceState(.error, message: "无权访问摄像头 No permission for \(path)",
                                remedy: "安装 udev/70-tongban.rules 并把服务用户加入 tongban 组。Install udev/70-tongban.rules and add the service user to the tongban group.")
                case EBUSY:
                    DeviceState(.busy, message: "摄像头被占用 \(path) is in use", remedy: "关闭占用摄像头的其他程序。Close the other program using the camera.")
                default:
                    DeviceState(.error, message: error.description, remedy: "重新插拔摄像头。Re-plug the camera.")
                }
                devices.append(Device(id: "v4l2:\(path)", deviceClass: .camera, model: path, transport: .v4l2, state: state))
            }
        }
        return DiscoveryResult(devices: devices)
    }
}

/// ID-card readers on the USB bus, recognised by the USB ids of the quirk data.
public struct USBReaderDiscoverer: DeviceDiscoverer {
    public let source = "usb"
    private let context: USBContext?
    private let quirks: DeviceQuirks

    /// - Parameter context: nil when libusb could not start on this machine (reported as a discovery problem).
    public init(context: USBContext?, quirks: DeviceQuirks) {
        self.context = context
        self.quirks = quirks
    }

    public func discover() async -> DiscoveryResult {
        guard let context else {
            return DiscoveryResult(devices: [], problem: DiscoveryProblem(
                source: source, message: "libusb could not be initialised (no USB subsystem)",
                remedy: "Check that /dev/bus/usb exists and is readable by the service user."))
        }
        do {
            let found = try await context.devices()
            return DiscoveryResult(devices: found.compactMap { usb in
                guard let reader = quirks.usbReader(id: usb.usbID) else { return nil }
                let state: DeviceState = reader.endpoints == .hid
                    ? DeviceState(.error, message: "HID 阅读器暂不支持 HID reader \(usb.usbID) is not supported yet",
                                  remedy: "换用 USB 批量传输或串口型号的阅读器。Use a USB-bulk or serial model.")
                    : .available
                return Device(id: "usb:\(usb.usbID)@\(usb.location)", deviceClass: .idReader, model: reader.name,
                              transport: .usb, state: state,
                              details: ["usbId": usb.usbID, "location": usb.location, "endpoints": reader.endpoints.rawValue])
            })
        } catch {
            return DiscoveryResult(devices: [], problem: DiscoveryProblem(
                source: source, message: error.description, remedy: "Check USB permissions (udev/70-tongban.rules)."))
        }
    }
}

/// ID-card readers on the serial ports the configuration names. A named port that is absent is a reader that
/// is unplugged, never silently replaced.
public struct SerialReaderDiscoverer: DeviceDiscoverer {
    public let source = "serial"
    private let ports: [String]
    private let baudRate: Int

    public init(ports: [String], baudRate: Int) {
        self.ports = ports
        self.baudRate = baudRate
    }

    public func discover() async -> DiscoveryResult {
        DiscoveryResult(devices: ports.map { port in
            let state: DeviceState
            if !FileManager.default.fileExists(atPath: port) {
                state = DeviceState(.unavailable, message: "身份证阅读器未连接 ID-card reader not connected (\(port))",
                                    remedy: "插好阅读器的 USB 线。Plug in the reader's USB cable.")
            } else if access(port, R_OK | W_OK) != 0 {
                state = DeviceState(.error, message: "无权访问 \(port) No permission for \(port)",
                                    remedy: "安装 udev/70-tongban.rules 或把服务用户加入 dialout 组。Install udev/70-tongban.rules or add the service user to dialout.")
            } else {
                state = .available
            }
            return Device(id: "serial:\(port)", deviceClass: .idReader, model: "SAM 串口阅读器 serial SAM reader",
                          transport: .serial, state: state, details: ["port": port, "baudRate": String(baudRate)])
        })
    }
}

/// Simulated devices for the classes the registry is told to simulate. Each is clearly a simulator.
public struct SimulatedDiscoverer: DeviceDiscoverer {
    public let source = "simulator"

    public init() {}

    public static func device(for deviceClass: DeviceClass) -> Device {
        let model = switch deviceClass {
        case .idReader: "模拟身份证阅读器 Simulated ID-card reader"
        case .scanner: "模拟扫描仪 Simulated scanner"
        case .camera: "模拟高拍仪 Simulated document camera"
        case .printer: "模拟打印机 Simulated printer"
        }
        return Device(id: "sim:\(deviceClass.rawValue)", deviceClass: deviceClass, model: model, transport: .simulator,
                      details: ["simulated": "true"])
    }

    public func discover() async -> DiscoveryResult {
        DiscoveryResult(devices: DeviceClass.allCases.map(Self.device))
    }
}
