import Foundation
import TongbanCore
import Yams

/// A configuration problem: which key (or file), from which source, and what is wrong with it.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `file.yaml:12`, `environment TONGBAN_API_LISTEN`, `command line`, or the file alone.
    public var source: String
    /// The dotted key, when the problem is about one key.
    public var key: String?
    public var message: String

    public init(source: String, key: String?, message: String) {
        self.source = source
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key { return "\(source): \(key): \(message)" }
        return "\(source): \(message)"
    }
}

extension ConfigurationError: ProblemConvertible {
    public var problem: Problem {
        Problem(code: "bad-configuration", status: 500, title: "配置错误 Configuration error", detail: description,
                remedy: "改正配置后重新启动服务。Correct the configuration and restart the service.")
    }
}

/// Reads the configuration from its layers — defaults < file < environment < command line — and validates
/// every key before anything starts, so the service never runs half-configured.
public enum ConfigurationLoader {
    /// A raw value with the place it came from.
    struct RawValue {
        enum Content { case scalar(String), list([String]) }
        var content: Content
        var source: String
    }

    /// The config file to read when none is named: `./Config/tongban.yaml` in a checkout, else
    /// `/etc/tongban/tongban.yaml`, else none (defaults only).
    public static func defaultFile(currentDirectory: String = FileManager.default.currentDirectoryPath) -> String? {
        for candidate in ["\(currentDirectory)/Config/tongban.yaml", "/etc/tongban/tongban.yaml"]
        where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        return nil
    }

    /// Loads and validates.
    /// - Parameters:
    ///   - file: YAML file to read, nil for none.
    ///   - environment: variables; `TONGBAN_<KEY>` override file values (lists comma-separated).
    ///   - overrides: dotted key → value from the command line, highest precedence.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: [String: String] = [:]) throws(ConfigurationError) -> TongbanConfiguration {
        var values: [String: RawValue] = [:]
        for key in ConfigurationKeys.all {
            if let value = key.defaultValue { values[key.path] = RawValue(content: .scalar(value), source: "default") }
        }
        if let file {
            for (path, value) in try readFile(file) { values[path] = value }
        }
        for key in ConfigurationKeys.all {
            if let value = environment[key.environmentName] {
                values[key.path] = RawValue(content: .scalar(value), source: "environment \(key.environmentName)")
            }
        }
        for (path, value) in overrides {
            guard ConfigurationKeys.byPath[path] != nil else {
                throw ConfigurationError(source: "command line", key: path, message: "unknown key")
            }
            values[path] = RawValue(content: .scalar(value), source: "command line")
        }
        return try TypedReader(values: values).build(sourceFile: file)
    }

    /// Flattens a YAML file into dotted keys, rejecting unknown keys and non-scalar values with their line.
    static func readFile(_ path: String) throws(ConfigurationError) -> [String: RawValue] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(source: path, key: nil, message: "cannot be read (\(error.localizedDescription))")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationError(source: path, key: nil, message: "is not valid YAML: \(error)")
        } catch {
            throw ConfigurationError(source: path, key: nil, message: "is not valid YAML: \(error)")
        }
        guard let root else { return [:] }
        guard case .mapping = root else {
            throw ConfigurationError(source: location(path, root), key: nil, message: "the top level must be a mapping of keys")
        }
        var result: [String: RawValue] = [:]
        try flatten(root, prefix: "", file: path, into: &result)
        return result
    }

    private static func location(_ file: String, _ node: Node) -> String {
        node.mark.map { "\(file):\($0.line)" } ?? file
    }

    private static func flatten(_ node: Node, prefix: String, file: String, into result: inout [String: RawValue]) throws(ConfigurationError) {
        guard case .mapping(let mapping) = node else { return }
        for (keyNode, valueNode) in mapping {
            guard let name = keyNode.scalar?.string else {
                throw ConfigurationError(source: location(file, keyNode), key: prefix.isEmpty ? nil : prefix, message: "keys must be plain names")
            }
            let path = prefix.isEmpty ? name : "\(prefix).\(name)"
            let source = location(file, keyNode)
            switch valueNode {
            case .mapping:
                guard ConfigurationKeys.all.contains(where: { $0.path.hasPrefix(path + ".") }) else {
                    throw unknownKey(path, source: source)
                }
                try flatten(valueNode, prefix: path, file: file, into: &result)
            case .sequence(let sequence):
                guard ConfigurationKeys.byPath[path] != nil else { throw unknownKey(path, source: source) }
                var items: [String] = []
                for item in sequence {
                    guard let scalar = item.scalar?.string else {
                        throw ConfigurationError(source: location(file, item), key: path, message: "list items must be plain values")
                    }
                    items.append(scalar)
                }
                result[path] = RawValue(content: .list(items), source: source)
            case .scalar(let scalar):
                // `key:` with nothing after it means "not set": fall back to the default. The same holds for a
                // section whose keys are all commented out.
                let isEmpty = scalar.string.isEmpty || (scalar.style == .plain && ["~", "null"].contains(scalar.string))
                let isSection = ConfigurationKeys.all.contains { $0.path.hasPrefix(path + ".") }
                guard ConfigurationKeys.byPath[path] != nil || (isSection && isEmpty) else { throw unknownKey(path, source: source) }
                if isEmpty { continue }
                result[path] = RawValue(content: .scalar(scalar.string), source: source)
            }
        }
    }

    private static func unknownKey(_ path: String, source: String) -> ConfigurationError {
        let parent = path.split(separator: ".").dropLast().joined(separator: ".")
        let siblings = ConfigurationKeys.all.map(\.path)
            .filter { parent.isEmpty ? true : $0.hasPrefix(parent + ".") }
            .map { parent.isEmpty ? String($0.split(separator: ".")[0]) : String($0.dropFirst(parent.count + 1).split(separator: ".")[0]) }
        var unique: [String] = []
        for sibling in siblings where !unique.contains(sibling) { unique.append(sibling) }
        let scope = parent.isEmpty ? "at the top level" : "under '\(parent)'"
        return ConfigurationError(source: source, key: path,
                                  message: "unknown key; the keys \(scope) are: \(unique.joined(separator: ", "))")
    }

    /// Turns raw values into typed fields, failing on the first bad one with its key and source.
    struct TypedReader {
        let values: [String: RawValue]

        func raw(_ path: String) -> RawValue? { values[path] }

        func string(_ path: String) throws(ConfigurationError) -> String? {
            guard let raw = raw(path) else { return nil }
            guard case .scalar(let text) = raw.content else {
                throw ConfigurationError(source: raw.source, key: path, message: "expected a single value, found a list")
            }
            return text
        }

        func requiredString(_ path: String) throws(ConfigurationError) -> String {
            try string(path) ?? ""
        }

        func integer(_ path: String) throws(ConfigurationError) -> Int {
            let raw = raw(path)!
            let text = try string(path)!
            guard case .integer(let range) = ConfigurationKeys.byPath[path]!.kind else { fatalError("\(path) is not an integer key") }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigurationError(source: raw.source, key: path, message: "'\(text)' is not a whole number")
            }
            guard range.contains(value) else {
                throw ConfigurationError(source: raw.source, key: path, message: "\(value) is outside \(range.lowerBound)…\(range.upperBound)")
            }
            return value
        }

        func boolean(_ path: String) throws(ConfigurationError) -> Bool {
            let text = try string(path)!
            switch text.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw ConfigurationError(source: raw(path)!.source, key: path, message: "'\(text)' is not true or false")
            }
        }

        func choice(_ path: String) throws(ConfigurationError) -> String {
            let raw = raw(path)!
            let text = try string(path)!
            guard case .choice(let choices) = ConfigurationKeys.byPath[path]!.kind else { fatalError("\(path) is not a choice key") }
            guard choices.contains(text) else {
                throw ConfigurationError(source: raw.source, key: path, message: "'\(text)' is not one of: \(choices.joined(separator: ", "))")
            }
            return text
        }

        func list(_ path: String) throws(ConfigurationError) -> [String] {
            guard let raw = raw(path) else { return [] }
            switch raw.content {
            case .list(let items): return items
            case .scalar(let text):
                return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
        }

        func origins(_ path: String) throws(ConfigurationError) -> [String] {
            let items = try list(path)
            for origin in items {
                guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme),
                      url.host != nil, url.path.isEmpty, url.query == nil, url.fragment == nil else {
                    throw ConfigurationError(source: raw(path)!.source, key: path,
                                             message: "'\(origin)' is not an origin (scheme://host[:port], no path), e.g. https://case.example.gov.cn")
                }
            }
            return items
        }

        func listen(_ path: String) throws(ConfigurationError) -> ListenAddress {
            let text = try string(path)!
            guard let address = ListenAddress(parsing: text) else {
                throw ConfigurationError(source: raw(path)!.source, key: path, message: "'\(text)' is not host:port, e.g. 127.0.0.1:8808")
            }
            return address
        }

        func url(_ path: String) throws(ConfigurationError) -> String? {
            guard let text = try string(path) else { return nil }
            guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw ConfigurationError(source: raw(path)!.source, key: path, message: "'\(text)' is not an http(s) URL")
            }
            return text
        }

        func build(sourceFile: String?) throws(ConfigurationError) -> TongbanConfiguration {
            let region = try requiredString("counter.region")
            guard region.count == 6, region.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw ConfigurationError(source: raw("counter.region")!.source, key: "counter.region",
                                         message: "'\(region)' is not a 6-digit region code (GB/T 2260), e.g. 440203")
            }
            let counterID = try requiredString("counter.id")
            guard !counterID.isEmpty else {
                throw ConfigurationError(source: raw("counter.id")?.source ?? "default", key: "counter.id", message: "must not be empty")
            }
            let dataDirectory = try requiredString("dataDir")
            guard !dataDirectory.isEmpty else {
                throw ConfigurationError(source: raw("dataDir")?.source ?? "default", key: "dataDir", message: "must not be empty")
            }
            let token = try string("api.token")
            if let token, token.count < 16 {
                throw ConfigurationError(source: raw("api.token")!.source, key: "api.token",
                                         message: "is too short (at least 16 characters; leave it out to have one generated)")
            }
            let certificate = try string("caseCore.clientCertificate")
            let key = try string("caseCore.clientKey")
            if (certificate == nil) != (key == nil) {
                let missing = certificate == nil ? "caseCore.clientCertificate" : "caseCore.clientKey"
                throw ConfigurationError(source: raw(certificate == nil ? "caseCore.clientKey" : "caseCore.clientCertificate")!.source,
                                         key: missing, message: "must be set together with its pair for mutual TLS")
            }
            return TongbanConfiguration(
                counter: .init(id: counterID, hall: try requiredString("counter.hall"), region: region,
                               city: try requiredString("counter.city")),
                api: .init(listen: try listen("api.listen"), allowedOrigins: try origins("api.allowedOrigins"), token: token,
                           caseSystemKeys: try list("api.caseSystemKeys")),
                dataDirectory: dataDirectory,
                logLevel: try choice("log.level"),
                devices: .init(
                    simulate: SimulationMode(rawValue: try choice("devices.simulate"))!,
                    pollIntervalMilliseconds: try integer("devices.pollIntervalMs"),
                    scannerRefreshMilliseconds: try integer("devices.scannerRefreshMs"),
                    scannerListTimeoutMilliseconds: try integer("devices.scannerListTimeoutMs"),
                    quirksFile: try requiredString("devices.quirks"),
                    disabled: try list("devices.disabled"),
                    videoDirectory: try requiredString("devices.videoDirectory"),
                    idCardSerialPorts: try list("devices.idcard.serialPorts"),
                    idCardBaudRate: Int(try choice("devices.idcard.baudRate"))!,
                    idCardReadFingerprint: try boolean("devices.idcard.readFingerprint"),
                    idCardPhotoDecoder: try string("devices.idcard.photoDecoder").flatMap { $0.isEmpty ? nil : $0 }),
                scanning: .init(device: try string("scanning.device").flatMap { $0.isEmpty ? nil : $0 },
                                dotsPerInch: try integer("scanning.dpi"), jpegQuality: try integer("scanning.jpegQuality"),
                                imagingThreads: try integer("scanning.imagingThreads"),
                                stallSeconds: try integer("scanning.stallSeconds"),
                                recognizeText: try boolean("scanning.ocr"),
                                textLanguages: try requiredString("scanning.ocrLanguages"),
                                format: try choice("scanning.format")),
                printers: .init(cupsServer: try string("printers.cupsServer"), notices: try string("printers.notices"),
                                receipts: try string("printers.receipts"),
                                templates: try requiredString("printers.templates"),
                                simulated: try list("printers.simulated")),
                cameras: .init(settleFrames: try integer("cameras.settleFrames"),
                               idleReleaseSeconds: try integer("cameras.idleReleaseSeconds"),
                               previewQuality: try integer("cameras.previewQuality"),
                               autoCaptureStillMilliseconds: try integer("cameras.autoCaptureStillMs"),
                               viewWidthMillimetres: try integer("cameras.viewWidthMillimetres"),
                               fieldOfViewDegrees: try integer("cameras.fieldOfViewDegrees"),
                               simulatorScenes: try requiredString("cameras.simulatorScenes"),
                               recognizeText: try boolean("cameras.ocr")),
                assist: .init(janusURL: try url("assist.janusUrl"), office: try string("assist.office") ?? "",
                              answersFor: try list("assist.answersFor"), ringTimeoutSeconds: try integer("assist.ringTimeoutSeconds"),
                              missedCallsPerMonthLimit: try integer("assist.missedCallsPerMonthLimit"),
                              roomSecret: try requiredString("assist.roomSecret"), stunServer: try string("assist.stunServer") ?? "",
                              turnServer: try string("assist.turnServer") ?? "", webcam: try string("assist.webcam") ?? "",
                              microphone: try string("assist.microphone") ?? "",
                              documentCamera: try string("assist.documentCamera") ?? "", width: try integer("assist.width"),
                              height: try integer("assist.height"), framesPerSecond: try integer("assist.framesPerSecond"),
                              videoBitrateKbps: try integer("assist.videoBitrateKbps"), encoderSpeed: try integer("assist.encoderSpeed"),
                              missedCallNotify: try url("assist.missedCallNotify.url").map { endpoint throws(ConfigurationError) in
                                  // Case numbers go to the gateway: over HTTPS, or plain HTTP only to this machine.
                                  let parsed = URL(string: endpoint)
                                  let host = parsed?.host ?? ""
                                  guard parsed?.scheme == "https" || host == "127.0.0.1" || host == "localhost" || host == "::1" else {
                                      throw ConfigurationError(source: raw("assist.missedCallNotify.url")!.source, key: "assist.missedCallNotify.url",
                                                               message: "the SMS gateway must be reached over https (plain http only on loopback)")
                                  }
                                  return .init(url: endpoint,
                                               templateFile: try string("assist.missedCallNotify.template").flatMap {
                                                   $0.isEmpty ? nil : DeviceQuirks.resolvePath($0, configFile: sourceFile)
                                               },
                                               retryMaxSeconds: try integer("assist.missedCallNotify.retryMaxSeconds"),
                                               caFile: try string("assist.missedCallNotify.caFile").flatMap {
                                                   $0.isEmpty ? nil : DeviceQuirks.resolvePath($0, configFile: sourceFile)
                                               })
                              }),
                caseCore: .init(url: try url("caseCore.url"), caFile: try string("caseCore.caFile"),
                                clientCertificate: certificate, clientKey: key,
                                archiveDirectory: try string("caseCore.archiveDir").flatMap { $0.isEmpty ? nil : $0 },
                                chunkSize: try integer("caseCore.chunkKilobytes") * 1024,
                                parallelUploads: try integer("caseCore.parallelUploads"),
                                retryMaxSeconds: try integer("caseCore.retryMaxSeconds"),
                                holdSeconds: try integer("caseCore.holdSeconds")),
                retention: .init(identityDays: try integer("retention.identityDays"), scanDays: try integer("retention.scanDays"),
                                 noticeDays: try integer("retention.noticeDays"), recordingDays: try integer("retention.recordingDays")),
                security: .init(cryptoSuite: CryptoSuite(rawValue: try choice("security.cryptoSuite")) ?? .standard),
                sourceFile: sourceFile)
        }
    }
}
