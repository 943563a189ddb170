import Foundation
import Testing
@testable import TongbanConfig

@Suite struct ConfigurationTests {
    func write(_ text: String) throws -> String {
        let path = try makeTemporaryDirectory() + "/tongban.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func defaultsListenOnLoopbackWithNoOrigins() throws {
        let configuration = try ConfigurationLoader.load(file: nil, environment: [:])
        #expect(configuration.api.listen == ListenAddress(host: "127.0.0.1", port: 8808))
        #expect(configuration.api.listen.isLoopback)
        #expect(configuration.api.allowedOrigins.isEmpty)
        #expect(configuration.devices.simulate == .none)
        #expect(configuration.retention.recordingDays == 183)
    }

    @Test func shippedFileParsesAndDocumentsEveryKey() throws {
        let path = "\(packageRoot)/Config/tongban.yaml"
        let configuration = try ConfigurationLoader.load(file: path, environment: [:])
        #expect(configuration.sourceFile == path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in ConfigurationKeys.all {
            let leaf = String(key.path.split(separator: ".").last!)
            #expect(text.contains("\(leaf):"), "Config/tongban.yaml does not document \(key.path)")
        }
        let quirks = try DeviceQuirks.load(from: DeviceQuirks.resolveQuirksFile(configuration.devices.quirksFile, configFile: path))
        #expect(quirks.usbReader(id: "0400:C35A")?.endpoints == .split)
    }

    @Test func commandLineBeatsEnvironmentBeatsFileBeatsDefaults() throws {
        let file = try write("""
            counter:
              id: from-file
              hall: 东区大厅
            api:
              listen: 127.0.0.1:9001
            dataDir: /from/file
            """)
        let environment = ["TONGBAN_API_LISTEN": "127.0.0.1:9002", "TONGBAN_DATA_DIR": "/from/env",
                           "TONGBAN_API_ALLOWED_ORIGINS": "https://a.example, https://b.example:8443"]
        let configuration = try ConfigurationLoader.load(file: file, environment: environment,
                                                         overrides: ["api.listen": "127.0.0.1:9003"])
        #expect(configuration.api.listen.port == 9003)
        #expect(configuration.dataDirectory == "/from/env")
        #expect(configuration.counter.id == "from-file")
        #expect(configuration.counter.hall == "东区大厅")
        #expect(configuration.counter.region == "000000")
        #expect(configuration.api.allowedOrigins == ["https://a.example", "https://b.example:8443"])
    }

    @Test func unknownKeyIsNamedWithItsLineAndTheKnownKeys() throws {
        let file = try write("""
            api:
              lisen: 127.0.0.1:9001
            """)
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(file: file, environment: [:]) }
        #expect(error?.source == "\(file):2")
        #expect(error?.key == "api.lisen")
        #expect(error?.message.contains("listen, allowedOrigins, token") == true)
    }

    @Test(arguments: [
        ("api:\n  listen: localhost\n", "api.listen", "is not host:port"),
        ("api:\n  allowedOrigins: [https://case.example/path]\n", "api.allowedOrigins", "is not an origin"),
        ("counter:\n  region: 4402\n", "counter.region", "6-digit"),
        ("devices:\n  pollIntervalMs: fast\n", "devices.pollIntervalMs", "not a whole number"),
        ("devices:\n  pollIntervalMs: 5\n", "devices.pollIntervalMs", "outside"),
        ("devices:\n  simulate: sometimes\n", "devices.simulate", "not one of"),
        ("retention:\n  recordingDays: 30\n", "retention.recordingDays", "outside"),
        ("api:\n  token: short\n", "api.token", "too short"),
        ("caseCore:\n  clientCertificate: /c.pem\n", "caseCore.clientKey", "together"),
        ("caseCore:\n  url: ftp://x\n", "caseCore.url", "http(s) URL"),
        ("counter:\n  id: [a, b]\n", "counter.id", "single value"),
    ])
    func badValueNamesKeyAndProblem(yaml: String, key: String, fragment: String) throws {
        let file = try write(yaml)
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(file: file, environment: [:]) }
        #expect(error?.key == key)
        #expect(error?.description.contains(fragment) == true, "\(error?.description ?? "no error")")
        #expect(error?.source.hasPrefix(file) == true)
    }

    @Test func badEnvironmentValueNamesTheVariable() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(file: nil, environment: ["TONGBAN_DEVICES_POLL_INTERVAL_MS": "soon"])
        }
        #expect(error?.source == "environment TONGBAN_DEVICES_POLL_INTERVAL_MS")
        #expect(error?.key == "devices.pollIntervalMs")
    }

    @Test func invalidYAMLAndUnreadableFileAreReportedWithTheFile() throws {
        let file = try write("api: [unclosed\n")
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(file: file, environment: [:]) }
        #expect(error?.description.contains("not valid YAML") == true)
        let missing = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(file: "/nonexistent/tongban.yaml", environment: [:])
        }
        #expect(missing?.description.contains("cannot be read") == true)
    }

    @Test func emptySectionsAndEmptyValuesFallBackToDefaults() throws {
        let file = try write("printers:\ncaseCore:\n  url:\nlog:\n  level: debug\n")
        let configuration = try ConfigurationLoader.load(file: file, environment: [:])
        #expect(configuration.printers.notices == nil)
        #expect(configuration.caseCore.url == nil)
        #expect(configuration.logLevel == "debug")
    }

    @Test func environmentNamesFollowTheKeyPaths() {
        let names = Dictionary(uniqueKeysWithValues: ConfigurationKeys.all.map { ($0.path, $0.environmentName) })
        #expect(names["api.allowedOrigins"] == "TONGBAN_API_ALLOWED_ORIGINS")
        #expect(names["dataDir"] == "TONGBAN_DATA_DIR")
        #expect(names["devices.idcard.serialPorts"] == "TONGBAN_DEVICES_IDCARD_SERIAL_PORTS")
    }

    @Test func listenAddressParsing() {
        #expect(ListenAddress(parsing: "[::1]:8808") == ListenAddress(host: "::1", port: 8808))
        #expect(ListenAddress(parsing: "[::1]:8808")?.isLoopback == true)
        #expect(ListenAddress(parsing: "0.0.0.0:8808")?.isLoopback == false)
        #expect(ListenAddress(parsing: "127.0.0.1:70000") == nil)
        #expect(ListenAddress(parsing: "::1:80") == nil)
    }

    @Test func quirkFileWithBadUSBIdIsRejected() throws {
        let path = try makeTemporaryDirectory() + "/devices.yaml"
        try "idReaders:\n  usb:\n    - {id: \"0400:C35A\", name: x, endpoints: split}\n  serialBridges: []\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigurationError.self) { try DeviceQuirks.load(from: path) }
        #expect(error?.message.contains("0400:C35A") == true)
    }

    /// Case numbers go to the SMS gateway: over HTTPS, or plain HTTP only on this machine.
    @Test func theSMSGatewayIsReachedOverHTTPS() throws {
        let secure = try ConfigurationLoader.load(file: nil, environment: ["TONGBAN_ASSIST_MISSED_CALL_NOTIFY_URL": "https://sms.example.gov.cn/r"])
        #expect(secure.assist.missedCallNotify?.url == "https://sms.example.gov.cn/r" && secure.assist.missedCallNotify?.retryMaxSeconds == 300)
        let local = try ConfigurationLoader.load(file: nil, environment: ["TONGBAN_ASSIST_MISSED_CALL_NOTIFY_URL": "http://127.0.0.1:9/r"])
        #expect(local.assist.missedCallNotify != nil)
        #expect(try ConfigurationLoader.load(file: nil, environment: [:]).assist.missedCallNotify == nil)
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(file: nil, environment: ["TONGBAN_ASSIST_MISSED_CALL_NOTIFY_URL": "http://sms.example.gov.cn/r"])
        }
        #expect(error?.key == "assist.missedCallNotify.url")
    }
}
