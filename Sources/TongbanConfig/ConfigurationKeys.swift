import TongbanCore

/// The type of one configuration key, used to parse and to report problems.
public enum ConfigurationValueKind: Sendable, Equatable {
    case string
    case integer(ClosedRange<Int>)
    case boolean
    case choice([String])
    case stringList
    case listenAddress
    case originList
    case url
}

/// One key of `tongban.yaml`: its dotted path, type and default.
public struct ConfigurationKey: Sendable {
    /// Dotted path in the YAML file, e.g. `api.listen`.
    public let path: String
    public let kind: ConfigurationValueKind
    /// Default as text, nil when the key has no default (optional setting).
    public let defaultValue: String?

    /// The environment variable that overrides the key: `TONGBAN_` + path upper-cased, dots and camel case
    /// split by `_` (`api.allowedOrigins` → `TONGBAN_API_ALLOWED_ORIGINS`).
    public var environmentName: String {
        var name = "TONGBAN_"
        for character in path {
            if character == "." { name += "_" }
            else if character.isUppercase { name += "_" + String(character) }
            else { name += character.uppercased() }
        }
        return name
    }
}

/// Every key Tongban understands. A key not listed here is an error in a config file.
public enum ConfigurationKeys {
    public static let all: [ConfigurationKey] = [
        .init(path: "counter.id", kind: .string, defaultValue: "counter-1"),
        .init(path: "counter.hall", kind: .string, defaultValue: "政务服务中心"),
        .init(path: "counter.region", kind: .string, defaultValue: "000000"),
        .init(path: "counter.city", kind: .string, defaultValue: ""),
        .init(path: "api.listen", kind: .listenAddress, defaultValue: "127.0.0.1:8808"),
        .init(path: "api.allowedOrigins", kind: .originList, defaultValue: ""),
        .init(path: "api.token", kind: .string, defaultValue: nil),
        .init(path: "api.caseSystemKeys", kind: .stringList, defaultValue: ""),
        .init(path: "dataDir", kind: .string, defaultValue: "/var/lib/tongban"),
        .init(path: "log.level", kind: .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]), defaultValue: "info"),
        .init(path: "devices.simulate", kind: .choice(["none", "missing", "all"]), defaultValue: "none"),
        .init(path: "devices.pollIntervalMs", kind: .integer(100...60_000), defaultValue: "2000"),
        .init(path: "devices.scannerRefreshMs", kind: .integer(1_000...3_600_000), defaultValue: "30000"),
        .init(path: "devices.scannerListTimeoutMs", kind: .integer(100...60_000), defaultValue: "5000"),
        .init(path: "devices.quirks", kind: .string, defaultValue: ""),
        .init(path: "devices.disabled", kind: .stringList, defaultValue: ""),
        .init(path: "devices.videoDirectory", kind: .string, defaultValue: "/dev"),
        .init(path: "devices.idcard.serialPorts", kind: .stringList, defaultValue: ""),
        .init(path: "devices.idcard.baudRate", kind: .choice(["9600", "19200", "38400", "57600", "115200"]), defaultValue: "115200"),
        .init(path: "devices.idcard.readFingerprint", kind: .boolean, defaultValue: "false"),
        .init(path: "devices.idcard.photoDecoder", kind: .string, defaultValue: ""),
        .init(path: "scanning.device", kind: .string, defaultValue: ""),
        .init(path: "scanning.dpi", kind: .integer(75...1200), defaultValue: "300"),
        .init(path: "scanning.jpegQuality", kind: .integer(1...100), defaultValue: "85"),
        .init(path: "scanning.imagingThreads", kind: .integer(0...64), defaultValue: "0"),
        .init(path: "scanning.stallSeconds", kind: .integer(5...600), defaultValue: "60"),
        .init(path: "scanning.ocr", kind: .boolean, defaultValue: "true"),
        .init(path: "scanning.ocrLanguages", kind: .string, defaultValue: "chi_sim"),
        .init(path: "scanning.format", kind: .choice(["pdf", "ofd"]), defaultValue: "pdf"),
        .init(path: "printers.cupsServer", kind: .string, defaultValue: nil),
        .init(path: "printers.notices", kind: .string, defaultValue: nil),
        .init(path: "printers.receipts", kind: .string, defaultValue: nil),
        .init(path: "printers.templates", kind: .string, defaultValue: "notices"),
        .init(path: "printers.simulated", kind: .stringList, defaultValue: ""),
        .init(path: "cameras.settleFrames", kind: .integer(0...30), defaultValue: "3"),
        .init(path: "cameras.idleReleaseSeconds", kind: .integer(0...600), defaultValue: "5"),
        .init(path: "cameras.previewQuality", kind: .integer(30...95), defaultValue: "80"),
        .init(path: "cameras.autoCaptureStillMs", kind: .integer(100...10_000), defaultValue: "1200"),
        .init(path: "cameras.viewWidthMillimetres", kind: .integer(0...2000), defaultValue: "0"),
        .init(path: "cameras.fieldOfViewDegrees", kind: .integer(0...150), defaultValue: "0"),
        .init(path: "cameras.simulatorScenes", kind: .string, defaultValue: "camera"),
        .init(path: "cameras.ocr", kind: .boolean, defaultValue: "true"),
        .init(path: "assist.janusUrl", kind: .url, defaultValue: nil),
        .init(path: "assist.office", kind: .string, defaultValue: ""),
        .init(path: "assist.answersFor", kind: .stringList, defaultValue: ""),
        .init(path: "assist.ringTimeoutSeconds", kind: .integer(2...600), defaultValue: "30"),
        .init(path: "assist.missedCallsPerMonthLimit", kind: .integer(0...1000), defaultValue: "3"),
        .init(path: "assist.roomSecret", kind: .string, defaultValue: "tongban-assist"),
        .init(path: "assist.stunServer", kind: .string, defaultValue: ""),
        .init(path: "assist.turnServer", kind: .string, defaultValue: ""),
        .init(path: "assist.webcam", kind: .string, defaultValue: ""),
        .init(path: "assist.microphone", kind: .string, defaultValue: ""),
        .init(path: "assist.documentCamera", kind: .string, defaultValue: ""),
        .init(path: "assist.width", kind: .integer(160...1920), defaultValue: "1280"),
        .init(path: "assist.height", kind: .integer(120...1080), defaultValue: "720"),
        .init(path: "assist.framesPerSecond", kind: .integer(5...60), defaultValue: "30"),
        .init(path: "assist.videoBitrateKbps", kind: .integer(100...8000), defaultValue: "1500"),
        .init(path: "assist.encoderSpeed", kind: .integer(0...16), defaultValue: "8"),
        .init(path: "assist.missedCallNotify.url", kind: .url, defaultValue: nil),
        .init(path: "assist.missedCallNotify.template", kind: .string, defaultValue: ""),
        .init(path: "assist.missedCallNotify.retryMaxSeconds", kind: .integer(1...86_400), defaultValue: "300"),
        .init(path: "assist.missedCallNotify.caFile", kind: .string, defaultValue: nil),
        .init(path: "caseCore.url", kind: .url, defaultValue: nil),
        .init(path: "caseCore.caFile", kind: .string, defaultValue: nil),
        .init(path: "caseCore.clientCertificate", kind: .string, defaultValue: nil),
        .init(path: "caseCore.clientKey", kind: .string, defaultValue: nil),
        .init(path: "caseCore.archiveDir", kind: .string, defaultValue: ""),
        .init(path: "caseCore.chunkKilobytes", kind: .integer(64...262_144), defaultValue: "4096"),
        .init(path: "caseCore.parallelUploads", kind: .integer(1...16), defaultValue: "2"),
        .init(path: "caseCore.retryMaxSeconds", kind: .integer(1...86_400), defaultValue: "300"),
        .init(path: "caseCore.holdSeconds", kind: .integer(0...600), defaultValue: "0"),
        .init(path: "retention.identityDays", kind: .integer(1...3650), defaultValue: "7"),
        .init(path: "retention.scanDays", kind: .integer(1...3650), defaultValue: "30"),
        .init(path: "retention.noticeDays", kind: .integer(1...3650), defaultValue: "30"),
        .init(path: "retention.recordingDays", kind: .integer(183...3650), defaultValue: "183"),
        .init(path: "security.cryptoSuite", kind: .choice(CryptoSuite.allCases.map(\.rawValue)), defaultValue: "standard"),
    ]

    static let byPath: [String: ConfigurationKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.path, $0) })
}
