/// The kinds of hardware a counter has. Each has its own module and driver protocol.
public enum DeviceClass: String, Codable, Sendable, CaseIterable, Comparable {
    case idReader = "idcard"
    case scanner
    case camera
    case printer

    public static func < (lhs: DeviceClass, rhs: DeviceClass) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// The clerk-facing name, Chinese first.
    public var displayName: String {
        switch self {
        case .idReader: "身份证阅读器 ID-card reader"
        case .scanner: "扫描仪 scanner"
        case .camera: "高拍仪/摄像头 camera"
        case .printer: "打印机 printer"
        }
    }
}

/// How Tongban reaches a device.
public enum DeviceTransport: String, Codable, Sendable {
    case usb, serial, sane, cups, v4l2, simulator
}

/// What a device can do right now.
public enum DeviceAvailability: String, Codable, Sendable {
    case available, busy, unavailable, error
}

/// A device's state plus, when it is not available, what is wrong and what the clerk can do.
public struct DeviceState: Codable, Sendable, Equatable {
    public var availability: DeviceAvailability
    /// What is wrong, for the clerk (Chinese, with English alongside). Nil when available.
    public var message: String?
    /// What to do about it. Nil when available.
    public var remedy: String?

    public init(_ availability: DeviceAvailability, message: String? = nil, remedy: String? = nil) {
        self.availability = availability
        self.message = message
        self.remedy = remedy
    }

    public static let available = DeviceState(.available)
}

/// One device as the registry reports it.
public struct Device: Codable, Sendable, Equatable, Identifiable {
    /// Stable id, prefixed by transport: `sane:test:0`, `cups:Counter_A4`, `v4l2:/dev/video0`,
    /// `usb:0400:c35a@1-2`, `serial:/dev/ttyUSB0`, `sim:idcard`.
    public var id: String
    public var deviceClass: DeviceClass
    public var model: String
    public var transport: DeviceTransport
    public var state: DeviceState
    /// Transport-specific facts (driver, bus info, device URI, …) for `tongban devices` and support staff.
    public var details: [String: String]

    public init(id: String, deviceClass: DeviceClass, model: String, transport: DeviceTransport,
                state: DeviceState = .available, details: [String: String] = [:]) {
        self.id = id
        self.deviceClass = deviceClass
        self.model = model
        self.transport = transport
        self.state = state
        self.details = details
    }

    enum CodingKeys: String, CodingKey {
        case id, deviceClass = "class", model, transport, state, details
    }
}
