import ArgumentParser
import Devices
import Foundation
import LibUSB
import CUPS
import Logging
import TongbanConfig
import TongbanCore

/// Options every command that reads the configuration shares.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $TONGBAN_CONFIG, ./Config/tongban.yaml, /etc/tongban/tongban.yaml).")
    var config: String?

    @Option(name: .customLong("data-dir"), help: "Data folder (overrides dataDir).")
    var dataDirectory: String?

    /// Loads the configuration with this command line's overrides, or exits with the problem.
    func load(extraOverrides: [String: String] = [:]) -> TongbanConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let file = config ?? environment["TONGBAN_CONFIG"] ?? ConfigurationLoader.defaultFile()
        var overrides = extraOverrides
        if let dataDirectory { overrides["dataDir"] = dataDirectory }
        do {
            return try ConfigurationLoader.load(file: file, environment: environment, overrides: overrides)
        } catch {
            fail(error.problem, exitCode: 78)
        }
    }
}

/// Installs the PII-masking log handler around stderr output, once per process.
func bootstrapLogging(level: String) {
    let logLevel = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in
        var handler = MaskingLogHandler(wrapping: StreamLogHandler.standardError(label: label))
        handler.logLevel = logLevel
        return handler
    }
}

/// Builds the discovery sources the configuration asks for. Quirk data that cannot be read stops the command:
/// without it USB readers would silently go unrecognised.
/// - Parameter usbContext: the libusb context USB readers are found (and driven) with; nil when libusb cannot start.
func makeDiscoverers(_ configuration: TongbanConfiguration, usbContext: USBContext? = try? USBContext()) throws(ConfigurationError) -> [any DeviceDiscoverer] {
    let devices = configuration.devices
    var discoverers: [any DeviceDiscoverer] = []
    if devices.simulate != .all {
        let quirks = try DeviceQuirks.load(from: DeviceQuirks.resolveQuirksFile(devices.quirksFile, configFile: configuration.sourceFile))
        discoverers += [
            SANEDiscoverer(refreshInterval: .milliseconds(devices.scannerRefreshMilliseconds),
                           timeout: .milliseconds(devices.scannerListTimeoutMilliseconds)),
            CUPSDiscoverer(client: CUPSClient(server: configuration.printers.cupsServer),
                           simulatedQueues: Set(configuration.printers.simulated)),
            VideoDiscoverer(directory: devices.videoDirectory),
            USBReaderDiscoverer(context: usbContext, quirks: quirks),
            SerialReaderDiscoverer(ports: devices.idCardSerialPorts, baudRate: devices.idCardBaudRate),
        ]
    }
    if devices.simulate != .none { discoverers.append(SimulatedDiscoverer()) }
    return discoverers
}
