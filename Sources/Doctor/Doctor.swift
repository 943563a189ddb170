import Assist
import CUPS
import Devices
import Foundation
import GStreamer
import IDCard
import Leptonica
import LibCrypto
import LibUSB
import Notices
import PangoCairo
import SANE
import Store
import Tesseract
import TongbanConfig
import TongbanCore
import TurboJPEG
import V4L2
import ZBar
import Zint

/// One line of `tongban doctor`.
public struct DoctorCheck: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable { case ok, warning, fail }

    public var name: String
    public var outcome: Outcome
    public var detail: String
    /// What to do; set for warnings and failures.
    public var remedy: String?

    public init(_ name: String, _ outcome: Outcome, _ detail: String, remedy: String? = nil) {
        self.name = name
        self.outcome = outcome
        self.detail = detail
        self.remedy = remedy
    }
}

/// Checks that a counter PC can run Tongban: libraries, fonts, device permissions, SANE, CUPS, the data folder,
/// the case core, and the browser policy an administrator deploys.
public enum DoctorChecks {
    public static func run(configuration: TongbanConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) async -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        checks.append(DoctorCheck("configuration", .ok, configuration.sourceFile.map { "read \($0)" } ?? "defaults (no file)"))
        checks.append(contentsOf: libraryChecks())
        checks.append(fontCheck())
        checks.append(quirksCheck(configuration))
        checks.append(noticeTemplatesCheck(configuration))
        // Loading the languages reads tens of megabytes: on a thread of its own, not the cooperative pool.
        let loader = DedicatedThread(name: "doctor text recognition")
        checks.append(await loader.perform { textRecognitionCheck(configuration) })
        loader.stop()
        if let photoDecoder = configuration.devices.idCardPhotoDecoder { checks.append(photoDecoderCheck(photoDecoder)) }
        checks.append(contentsOf: devicePermissionChecks(configuration))
        checks.append(await saneCheck(timeout: .milliseconds(configuration.devices.scannerListTimeoutMilliseconds)))
        checks.append(contentsOf: await cupsChecks(configuration))
        checks.append(dataDirectoryCheck(configuration.dataDirectory))
        // SM4's million-round vector is CPU work: on a thread of its own, not the cooperative pool.
        let tester = DedicatedThread(name: "doctor known-answer tests")
        checks.append(await tester.perform { cryptoSuiteCheck(configuration) })
        tester.stop()
        if FileManager.default.fileExists(atPath: "\(configuration.dataDirectory)/tongban.sqlite") {
            checks.append(auditCheck(configuration.dataDirectory, suite: configuration.security.cryptoSuite))
        }
        checks.append(caseCoreCheck(configuration))
        checks.append(contentsOf: await assistChecks(configuration.assist))
        return checks
    }

    static func libraryChecks() -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        do {
            checks.append(DoctorCheck("libsane", .ok, "SANE \(try SANESession.shared.version())"))
        } catch {
            checks.append(DoctorCheck("libsane", .fail, error.description, remedy: "apt-get install libsane1 sane-utils"))
        }
        checks.append(DoctorCheck("libusb", .ok, "libusb \(USBContext.libraryVersion)"))
        checks.append(DoctorCheck("leptonica", .ok, Leptonica.version))
        do {
            let encoder = try JPEGEncoder()
            let jpeg = try encoder.encode(pixels: [UInt8](repeating: 200, count: 16 * 16 * 3), width: 16, height: 16,
                                          layout: .rgb, quality: 85)
            let isJPEG = jpeg.starts(with: [0xFF, 0xD8]) && jpeg.suffix(2).elementsEqual([0xFF, 0xD9])
            checks.append(DoctorCheck("libturbojpeg", isJPEG ? .ok : .fail,
                                      isJPEG ? "encoded a test image (\(jpeg.count) bytes)" : "encoder produced no JPEG",
                                      remedy: isJPEG ? nil : "apt-get install --reinstall libturbojpeg0"))
        } catch {
            checks.append(DoctorCheck("libturbojpeg", .fail, error.description, remedy: "apt-get install libturbojpeg0"))
        }
        checks.append(DoctorCheck("pango/cairo", .ok, "pango \(PangoCairo.pangoVersion), cairo \(PangoCairo.cairoVersion)"))
        checks.append(DoctorCheck("libzint", .ok, "zint \(Zint.version)"))
        checks.append(DoctorCheck("libzbar", .ok, "zbar \(BarcodeReader.version)"))
        do {
            try GStreamer.initialise()
            let missing = ["webrtcbin", "vp8enc", "opusenc", "splitmuxsink", "v4l2src"].filter { !GStreamer.hasElement($0) }
            checks.append(missing.isEmpty
                ? DoctorCheck("gstreamer", .ok, GStreamer.version)
                : DoctorCheck("gstreamer", .warning, "\(GStreamer.version); missing elements: \(missing.joined(separator: ", "))",
                              remedy: "apt-get install gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice (needed for video assistance)"))
        } catch {
            checks.append(DoctorCheck("gstreamer", .fail, error.description, remedy: "apt-get install libgstreamer1.0-0"))
        }
        return checks
    }

    /// Scanned pages' and document captures' text is read with the configured languages: the recogniser must load
    /// them (this loads it once).
    static func textRecognitionCheck(_ configuration: TongbanConfiguration) -> DoctorCheck {
        let languages = configuration.scanning.textLanguages
        let name = "text recognition (\(languages))"
        let byDefault = configuration.scanning.recognizeText || configuration.cameras.recognizeText
        do {
            _ = try TextRecognizer(languages: languages)
            return DoctorCheck(name, .ok, "tesseract \(TextRecognizer.version) loads \(languages)"
                + (byDefault ? "" : "; scanning.ocr and cameras.ocr are off (only requests asking for ocr are read)"))
        } catch {
            return DoctorCheck(name, byDefault ? .fail : .warning, error.description,
                               remedy: "apt-get install tesseract-ocr-chi-sim (or the packages of scanning.ocrLanguages); pages are kept without text until then")
        }
    }

    /// Notices are rendered with Noto Sans CJK SC; without it Chinese prints as boxes.
    public static func fontCheck() -> DoctorCheck {
        let families = PangoCairo.fontFamilies()
        if families.contains("Noto Sans CJK SC") {
            return DoctorCheck("font Noto Sans CJK SC", .ok, "found among \(families.count) font families")
        }
        return DoctorCheck("font Noto Sans CJK SC", .fail, "not found among \(families.count) font families",
                           remedy: "apt-get install fonts-noto-cjk (notices would print Chinese as empty boxes)")
    }

    /// The configured vendor photo library loads and has `unpack` (whether its licence check passes shows at the
    /// first read).
    static func photoDecoderCheck(_ path: String) -> DoctorCheck {
        do {
            _ = try VendorPhotoDecoder(libraryPath: path)
            return DoctorCheck("card photo decoder", .ok, "\(path) loaded, unpack() found")
        } catch {
            return DoctorCheck("card photo decoder", .fail, error.description,
                               remedy: "Install the reader vendor's Linux SDK and point devices.idcard.photoDecoder at its libwlt2bmp.so, or clear the setting.")
        }
    }

    static func quirksCheck(_ configuration: TongbanConfiguration) -> DoctorCheck {
        let path = DeviceQuirks.resolveQuirksFile(configuration.devices.quirksFile, configFile: configuration.sourceFile)
        do {
            let quirks = try DeviceQuirks.load(from: path)
            return DoctorCheck("device quirk data", .ok, "\(path): \(quirks.idReaders.usb.count) USB reader ids")
        } catch {
            return DoctorCheck("device quirk data", .fail, error.description,
                               remedy: configuration.devices.quirksFile.isEmpty
                                   ? "Reinstall Tongban with the Tongban_TongbanConfig.resources folder beside the executable."
                                   : "Correct devices.quirks, or clear it to use the built-in list.")
        }
    }

    static func noticeTemplatesCheck(_ configuration: TongbanConfiguration) -> DoctorCheck {
        let folder = configuration.noticeTemplatesDirectory
        do {
            let library = try NoticeLibrary.load(directory: folder)
            return DoctorCheck("notice templates", library.templates.isEmpty ? .warning : .ok,
                               "\(folder): \(library.templates.keys.sorted().joined(separator: ", "))")
        } catch {
            return DoctorCheck("notice templates", .fail, error.description,
                               remedy: "Fix the file named, or set printers.templates to the notices folder shipped in Config/")
        }
    }

    static func devicePermissionChecks(_ configuration: TongbanConfiguration) -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        let nodes = V4L2.deviceNodes(in: configuration.devices.videoDirectory)
        let unreadable = nodes.filter { access($0, R_OK | W_OK) != 0 }
        if nodes.isEmpty {
            checks.append(DoctorCheck("video devices", .warning, "no /dev/video* nodes",
                                      remedy: "Plug in the document camera; no camera means no document photos."))
        } else if unreadable.isEmpty {
            checks.append(DoctorCheck("video devices", .ok, "\(nodes.count) node(s) accessible"))
        } else {
            checks.append(DoctorCheck("video devices", .fail, "no read/write access to \(unreadable.joined(separator: ", "))",
                                      remedy: "Install udev/70-tongban.rules and add the service user to the tongban group."))
        }
        if FileManager.default.fileExists(atPath: "/dev/bus/usb") {
            checks.append(DoctorCheck("usb bus", .ok, "/dev/bus/usb present"))
        } else {
            checks.append(DoctorCheck("usb bus", .warning, "/dev/bus/usb missing: USB ID-card readers cannot be used",
                                      remedy: "Run on a machine with USB, or use a serial reader (devices.idcard.serialPorts)."))
        }
        for port in configuration.devices.idCardSerialPorts {
            if !FileManager.default.fileExists(atPath: port) {
                checks.append(DoctorCheck("serial \(port)", .warning, "not present", remedy: "Plug in the ID-card reader."))
            } else if access(port, R_OK | W_OK) != 0 {
                checks.append(DoctorCheck("serial \(port)", .fail, "no read/write access",
                                          remedy: "Install udev/70-tongban.rules or add the service user to dialout."))
            } else {
                checks.append(DoctorCheck("serial \(port)", .ok, "accessible"))
            }
        }
        return checks
    }

    /// Lists scanners the way the registry does: raced against the timeout, since network backends can hang.
    static func saneCheck(timeout: Duration) async -> DoctorCheck {
        let result = await SANEDiscoverer(refreshInterval: .zero, timeout: timeout).discover()
        if let problem = result.problem {
            return DoctorCheck("SANE scanners", .fail, problem.message, remedy: problem.remedy)
        }
        if result.devices.isEmpty {
            return DoctorCheck("SANE scanners", .warning, "libsane found no scanner",
                               remedy: "Connect the scanner and check `scanimage -L`; network scanners need their backend in dll.conf.")
        }
        return DoctorCheck("SANE scanners", .ok, result.devices.compactMap { $0.details["saneName"] }.joined(separator: ", "))
    }

    static func cupsChecks(_ configuration: TongbanConfiguration) async -> [DoctorCheck] {
        let client = CUPSClient(server: configuration.printers.cupsServer)
        do {
            let destinations = try await client.destinations()
            var checks = [DoctorCheck("CUPS", .ok, "\(await client.effectiveServer()): \(destinations.count) queue(s)")]
            for (role, queue) in [("notices", configuration.printers.notices), ("receipts", configuration.printers.receipts)] {
                guard let queue, !queue.hasPrefix("socket://") else { continue }
                checks.append(destinations.contains { $0.name == queue }
                    ? DoctorCheck("printer for \(role)", .ok, queue)
                    : DoctorCheck("printer for \(role)", .fail, "queue '\(queue)' does not exist on \(await client.effectiveServer())",
                                  remedy: "Create it with lpadmin or correct printers.\(role)."))
            }
            return checks
        } catch {
            return [DoctorCheck("CUPS", .fail, error.description, remedy: error.problem.remedy)]
        }
    }

    static func dataDirectoryCheck(_ directory: String) -> DoctorCheck {
        let probe = "\(directory)/.doctor-probe"
        do {
            try DurableFile.prepareDirectory(directory)
            try DurableFile.write(Array("ok".utf8), to: probe)
            unlink(probe)
            return DoctorCheck("data folder", .ok, "\(directory) writable, fsync works")
        } catch {
            return DoctorCheck("data folder", .fail, "\(directory): \(error)",
                               remedy: "Create it and make it writable by the service user, or set dataDir.")
        }
    }

    /// The crypto suite in use; under `sm` the national algorithms' known-answer tests against the system libcrypto
    /// and, once the service has run, the fingerprint of the SM2 key manifests are signed with.
    static func cryptoSuiteCheck(_ configuration: TongbanConfiguration) -> DoctorCheck {
        let suite = configuration.security.cryptoSuite
        guard suite == .sm else { return DoctorCheck("crypto suite", .ok, "standard: \(suite.algorithms)") }
        let outcomes = KnownAnswerTests.run()
        let failed = outcomes.filter { !$0.passed }
        guard failed.isEmpty else {
            return DoctorCheck("crypto suite", .fail,
                               "sm: \(failed.count) of \(outcomes.count) known-answer tests failed in \(LibCrypto.version): "
                                   + failed.map { "\($0.name): \($0.detail)" }.joined(separator: "; "),
                               remedy: "国密算法自检失败：系统 libcrypto 不可用。Install Debian's libssl3 (OpenSSL 3.0 or later, with SM2/SM3/SM4), "
                                   + "then run tongban crypto selftest; until then set security.cryptoSuite: standard.")
        }
        var detail = "sm: \(suite.algorithms); \(outcomes.count) known-answer tests passed (\(LibCrypto.version))"
        if FileManager.default.fileExists(atPath: "\(configuration.dataDirectory)/keys/signing-sm2.pem"),
           let fingerprint = try? CounterKeys(directory: configuration.dataDirectory, suite: suite).signingKeyFingerprint {
            detail += "; manifests signed by SM2 key \(fingerprint.prefix(16))…"
        }
        return DoctorCheck("crypto suite", .ok, detail)
    }

    /// The audit log's keyed chain and its anchor, as `tongban audit verify` checks them.
    static func auditCheck(_ directory: String, suite: CryptoSuite) -> DoctorCheck {
        do {
            switch try Store(directory: directory, cryptoSuite: suite).verifyAudit() {
            case .intact(let records): return DoctorCheck("audit log", .ok, "\(records) record(s), chain and anchor intact")
            case .broken(let sequence, let reason):
                return DoctorCheck("audit log", .fail, "broken at record \(sequence): \(reason)",
                                   remedy: "Keep the data folder as it is and report it to the auditor: the log was cut, edited or re-chained.")
            }
        } catch {
            return DoctorCheck("audit log", .fail, error.description, remedy: "Run as the service user (sudo -u tongban).")
        }
    }

    static func caseCoreCheck(_ configuration: TongbanConfiguration) -> DoctorCheck {
        guard let url = configuration.caseCore.url, let parsed = URL(string: url), let host = parsed.host else {
            return DoctorCheck("case core", .ok, "none configured: attachments go to the local archive folder")
        }
        let port = parsed.port ?? (parsed.scheme == "https" ? 443 : 80)
        switch TCPProbe.connect(host: host, port: port, timeoutMilliseconds: 3000) {
        case .success: return DoctorCheck("case core", .ok, "\(host):\(port) accepts connections")
        case .failure(let message):
            return DoctorCheck("case core", .fail, "\(host):\(port): \(message)",
                               remedy: "Check the network to the case core; captures are kept and delivered when it is back.")
        }
    }

    /// Video assistance: the Janus server answers and has the VideoRoom plugin; webcam, microphone and document
    /// camera are set (calls are refused without the first two) and the V4L2 nodes exist.
    static func assistChecks(_ assist: TongbanConfiguration.Assist) async -> [DoctorCheck] {
        guard let janus = assist.janusURL else {
            return [DoctorCheck("video assistance", .ok, "off (assist.janusUrl not set)")]
        }
        var checks: [DoctorCheck] = []
        do {
            let info = try await JanusSession.serverInfo(url: janus)
            checks.append(info.plugins.contains(VideoRoom.plugin)
                ? DoctorCheck("video server", .ok, "Janus \(info.version) at \(janus), VideoRoom loaded")
                : DoctorCheck("video server", .fail, "Janus \(info.version) at \(janus) has no VideoRoom (plugins: \(info.plugins.joined(separator: ", ")))",
                              remedy: "Enable janus.plugin.videoroom in the Janus configuration (janus.jcfg, plugins: disable) and restart Janus."))
        } catch {
            checks.append(DoctorCheck("video server", .fail, error.description,
                                      remedy: "Check that Janus runs and that assist.janusUrl is its HTTP API (http://host:8088/janus)."))
        }
        let missing = assist.unsetCallDevices
        if !missing.isEmpty {
            checks.append(DoctorCheck("call devices", .warning, "\(missing.joined(separator: " and ")) not set: calls are refused",
                                      remedy: AssistService.notSetUp(missing).remedy))
        }
        var absentCameras: [DoctorCheck] = []
        for (key, node) in [("assist.webcam", assist.webcam), ("assist.documentCamera", assist.documentCamera)]
        where node.hasPrefix("/") && access(node, R_OK | W_OK) != 0 {
            absentCameras.append(DoctorCheck(key, .fail, "\(node): \(String(cString: strerror(errno)))",
                                             remedy: "Plug the camera in, or point \(key) at its node (tongban devices), and add the service user to the video group."))
        }
        checks += absentCameras
        if missing.isEmpty && absentCameras.isEmpty {
            checks.append(DoctorCheck("call devices", .ok, "webcam \(assist.webcam), microphone \(assist.microphone)"
                                      + (assist.documentCamera.isEmpty ? "" : ", document camera \(assist.documentCamera)")))
        }
        return checks
    }

    /// The Chrome enterprise policy that lets the case system's pages reach Tongban on loopback
    /// (Local Network Access), as JSON for /etc/opt/chrome/policies/managed/ or the Windows registry.
    public static func browserPolicy(allowedOrigins: [String]) -> String {
        let list = allowedOrigins.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
        {
          "LocalNetworkAccessAllowedForUrls": [\(list)],
          "LoopbackNetworkAllowedForUrls": [\(list)]
        }
        """
    }
}
