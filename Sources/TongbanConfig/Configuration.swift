import TongbanCore

/// Where the API listens.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[v6]:port`. Port 0 asks the system for a free port.
    public init?(parsing text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
    }

    /// True for 127.0.0.0/8, ::1 and `localhost`: addresses no other machine can reach.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How the registry uses simulated devices.
public enum SimulationMode: String, Sendable {
    /// Real hardware only. A configured device that is absent is reported unavailable, never replaced.
    case none
    /// Simulate each device class that has no real device (the demo).
    case missing
    /// Simulated devices only.
    case all
}

/// Tongban's whole configuration, fully typed and validated. Built by `ConfigurationLoader`.
public struct TongbanConfiguration: Sendable, Equatable {
    public struct Counter: Sendable, Equatable {
        public var id: String
        public var hall: String
        /// The 6-digit administrative region code (GB/T 2260).
        public var region: String
        /// The city name printed on forms such as the courier log.
        public var city: String
    }

    public struct API: Sendable, Equatable {
        public var listen: ListenAddress
        /// Browser origins (`scheme://host[:port]`) allowed to call the API and open the event stream.
        public var allowedOrigins: [String]
        /// Bearer token for non-browser clients; when nil, `serve` keeps one in `<dataDir>/api-token`.
        public var token: String?
        /// PEM files of the case systems' ES256 public keys, with which their operators' assertions are checked
        /// (relative paths against the configuration file's folder).
        public var caseSystemKeys: [String] = []
    }

    public struct Devices: Sendable, Equatable {
        public var simulate: SimulationMode
        public var pollIntervalMilliseconds: Int
        public var scannerRefreshMilliseconds: Int
        public var scannerListTimeoutMilliseconds: Int
        /// Path of the device quirk data (USB ids of ID readers, …); relative paths are resolved against the
        /// config file's folder.
        public var quirksFile: String
        /// Device ids the registry ignores.
        public var disabled: [String]
        public var videoDirectory: String
        public var idCardSerialPorts: [String]
        public var idCardBaudRate: Int
        /// Read the card's fingerprint data too (0x30 0x10). Off unless the hall's procedures need it.
        public var idCardReadFingerprint: Bool
        /// The vendor library that decodes card photos (WLT), loaded at run time; nil: photos stay undecoded.
        public var idCardPhotoDecoder: String?
    }

    public struct Scanning: Sendable, Equatable {
        /// The scanner used when a request names none (a registry id `sane:…` or a SANE name); nil: the first found.
        public var device: String?
        public var dotsPerInch: Int
        public var jpegQuality: Int
        /// Threads cleaning and encoding pages; 0 means one per core.
        public var imagingThreads: Int
        /// A page that gets no data for this long is stopped and the batch fails as stalled (pages kept).
        public var stallSeconds: Int
        /// Recognise scanned pages' text (PDF text layer, search) unless a request says otherwise.
        public var recognizeText: Bool = true
        /// Tesseract's languages for it, joined by `+`.
        public var textLanguages: String = "chi_sim"
        /// A batch's attachment format when its request names none: `pdf` (PDF/A-2b) or `ofd` (GB/T 33190).
        public var format: String = "pdf"
    }

    public struct Printers: Sendable, Equatable {
        public var cupsServer: String?
        /// Queue for A4 notices.
        public var notices: String?
        /// Queue or `socket://host:port` for 80 mm receipts.
        public var receipts: String?
        /// Folder of the notice templates (`*.yaml`); relative paths are resolved against the configuration file.
        public var templates: String
        /// Queues that are simulators (the demo's ippeveprinter), labelled so wherever a printer is shown.
        public var simulated: [String] = []
    }

    public struct Cameras: Sendable, Equatable {
        /// Frames dropped after switching to the still size, while exposure and white balance settle.
        public var settleFrames: Int
        /// Seconds the device stays open after the last viewer left (a capture right after is quick), then it is let go.
        public var idleReleaseSeconds: Int
        /// JPEG quality of preview frames encoded here (MJPEG cameras' frames pass through untouched).
        public var previewQuality: Int
        /// Auto-capture: how long the scene must stay still after a change.
        public var autoCaptureStillMilliseconds: Int
        /// The document camera's calibration: how wide the desk it sees is at the mat, in mm (0: not known).
        public var viewWidthMillimetres: Int
        /// The document camera's horizontal field of view in degrees (0: not known).
        public var fieldOfViewDegrees: Int
        /// Folder of the simulated camera's scenes (`*.jpg` / `*.mjpeg`), relative to the configuration file.
        public var simulatorScenes: String
        /// Recognise a document capture's text (PDF text layer, search) unless the request says otherwise; in the
        /// languages of `scanning.ocrLanguages`.
        public var recognizeText: Bool = true
    }

    /// Remote video assistance (counter-to-counter calls through Janus).
    public struct Assist: Sendable, Equatable {
        /// Janus's HTTP API (`http://host:8088/janus`); nil: assistance is off on this counter.
        public var janusURL: String?
        /// The office this counter belongs to (named in its calls).
        public var office: String
        /// Offices whose calls this counter answers (it is online in their rooms).
        public var answersFor: [String]
        /// A call not answered within this is missed.
        public var ringTimeoutSeconds: Int
        /// Missed calls of an office in a month above this are flagged for escalation.
        public var missedCallsPerMonthLimit: Int
        /// Shared by every counter: lets the answering side decline a call (Janus `kick`).
        public var roomSecret: String
        /// `stun://host:port`; empty: none (the hall's LAN).
        public var stunServer: String
        /// `turn://user:password@host:port`; empty: none.
        public var turnServer: String
        /// V4L2 node of the webcam; `test`: a test pattern; empty: not configured (calls are refused).
        public var webcam: String
        /// The headset microphone: `alsa:DEVICE` (ALSA, for the system service) or a PulseAudio source; `test`: a test
        /// tone; empty: not configured.
        public var microphone: String
        /// The document camera shown in a call that asks for it (V4L2 node; `test`: a test pattern; empty: none).
        public var documentCamera: String
        public var width: Int
        public var height: Int
        public var framesPerSecond: Int
        public var videoBitrateKbps: Int
        /// libvpx cpu-used (Benchmarks/results/assist.md).
        public var encoderSpeed: Int
        /// Where a missed call is reported (seed 003 art. 18: the city SMS gateway reminds the office); nil: not reported.
        public var missedCallNotify: MissedCallNotify?

        /// The city SMS gateway's endpoint for missed-call reminders.
        public struct MissedCallNotify: Sendable, Equatable {
            /// The gateway's HTTPS endpoint; each reminder is POSTed there as JSON with `Idempotency-Key: <call id>`.
            public var url: String
            /// A JSON body template file (`{{office}}`, `{{counter}}`, `{{hall}}`, `{{caseNumber}}`, `{{time}}`,
            /// `{{missedThisMonth}}`, `{{callId}}` become JSON values); nil: the built-in body.
            public var templateFile: String?
            /// The longest wait between two attempts.
            public var retryMaxSeconds: Int
            /// The CA bundle the gateway's certificate is checked against (a government extranet's own CA); nil: the
            /// system's.
            public var caFile: String?
        }

        /// The settings a call needs that are left empty (`assist.webcam`, `assist.microphone`): calls are refused
        /// naming them.
        public var unsetCallDevices: [String] {
            [("assist.webcam", webcam), ("assist.microphone", microphone)].filter { $0.1.isEmpty }.map(\.0)
        }
    }

    public struct CaseCore: Sendable, Equatable {
        /// tus endpoint of the case core; nil means the local archive folder.
        public var url: String?
        public var caFile: String?
        public var clientCertificate: String?
        public var clientKey: String?
        /// The local archive folder used when no `url` is set; nil: `<dataDir>/archive`.
        public var archiveDirectory: String?
        /// Bytes per tus PATCH request.
        public var chunkSize: Int
        /// Attachments uploaded at the same time.
        public var parallelUploads: Int
        /// The longest wait between two attempts (exponential backoff with jitter grows up to it).
        public var retryMaxSeconds: Int
        /// How long a new attachment waits before its first delivery attempt: the time a clerk has to take back a
        /// wrong capture (once delivered, only the case system can).
        public var holdSeconds: Int = 0
    }

    public struct Retention: Sendable, Equatable {
        public var identityDays: Int
        public var scanDays: Int
        public var noticeDays: Int
        public var recordingDays: Int
    }

    public struct Security: Sendable, Equatable {
        /// The algorithms new data is sealed, chained and signed with; data of the other suite stays readable.
        public var cryptoSuite: CryptoSuite
    }

    public var counter: Counter
    public var api: API
    public var dataDirectory: String
    public var logLevel: String
    public var devices: Devices
    public var scanning: Scanning
    public var printers: Printers
    public var cameras: Cameras
    public var assist: Assist
    public var caseCore: CaseCore
    public var retention: Retention
    public var security: Security
    /// The file the configuration was read from, if any.
    public var sourceFile: String?
}

extension TongbanConfiguration {
    /// The simulated camera's scenes folder, `cameras.simulatorScenes` resolved against the configuration file's folder.
    public var cameraScenesDirectory: String {
        DeviceQuirks.resolvePath(cameras.simulatorScenes, configFile: sourceFile)
    }

    /// The case systems' public key files, resolved against the configuration file's folder.
    public var caseSystemKeyFiles: [String] {
        api.caseSystemKeys.map { DeviceQuirks.resolvePath($0, configFile: sourceFile) }
    }

    /// The notice templates folder, `printers.templates` resolved against the configuration file's folder.
    public var noticeTemplatesDirectory: String {
        DeviceQuirks.resolvePath(printers.templates, configFile: sourceFile)
    }
}
