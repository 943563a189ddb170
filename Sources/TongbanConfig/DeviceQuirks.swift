import Foundation
import Yams

/// Device facts kept as data, so a hall can add a reader model without a new build: the list built into Tongban
/// (`Sources/TongbanConfig/Resources/devices.yaml`, installed beside the binary), or a file of the hall's own named
/// by `devices.quirks`.
public struct DeviceQuirks: Sendable, Equatable, Codable {
    /// How a USB ID-card reader moves SAM frames.
    public enum EndpointLayout: String, Sendable, Codable {
        /// Ministry standard: header out on 0x02, rest on 0x06; replies header on 0x81, rest on 0x85.
        case split
        /// One OUT/IN bulk pair, frames in 64-byte chunks.
        case single
        /// HID with a vendor wrapper (not supported yet: listed so it is recognised and reported).
        case hid
    }

    public struct USBReader: Sendable, Equatable, Codable {
        /// `vvvv:pppp`, lower-case hex.
        public var id: String
        public var name: String
        public var endpoints: EndpointLayout
    }

    public struct SerialBridge: Sendable, Equatable, Codable {
        public var id: String
        public var name: String
    }

    public struct IDReaders: Sendable, Equatable, Codable {
        public var usb: [USBReader]
        public var serialBridges: [SerialBridge]
    }

    public var idReaders: IDReaders

    public init(idReaders: IDReaders) {
        self.idReaders = idReaders
    }

    /// The reader entry for a USB id, if it is one.
    public func usbReader(id: String) -> USBReader? {
        idReaders.usb.first { $0.id == id.lowercased() }
    }

    /// Resolves the configured quirks path: absolute as is, relative against the config file's folder (or the
    /// current folder's `Config/` when there is no file).
    public static func resolvePath(_ path: String, configFile: String?) -> String {
        if path.hasPrefix("/") { return path }
        if let configFile { return ((configFile as NSString).deletingLastPathComponent as NSString).appendingPathComponent(path) }
        return FileManager.default.currentDirectoryPath + "/Config/" + path
    }

    /// The quirk data file to read: the one `devices.quirks` names (relative to the configuration file's folder),
    /// or — when it names none — the list built into Tongban. A file the configuration names is never replaced:
    /// if it cannot be read, that is the error.
    public static func resolveQuirksFile(_ path: String, configFile: String?) -> String {
        path.isEmpty ? builtInFile : resolvePath(path, configFile: configFile)
    }

    /// The built-in list: `Tongban_TongbanConfig.resources/devices.yaml` beside the executable (SwiftPM's resource
    /// bundle, which the installation copies along).
    public static var builtInFile: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return ((executable as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("Tongban_TongbanConfig.resources/devices.yaml")
    }

    /// Reads and validates a quirks file.
    public static func load(from path: String) throws(ConfigurationError) -> DeviceQuirks {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigurationError(source: path, key: "devices.quirks",
                                     message: "the device quirk file cannot be read (\(error.localizedDescription)); set devices.quirks to the path of devices.yaml")
        }
        let quirks: DeviceQuirks
        do { quirks = try YAMLDecoder().decode(DeviceQuirks.self, from: text) } catch {
            throw ConfigurationError(source: path, key: nil, message: "is not valid device quirk data: \(error)")
        }
        for entry in quirks.idReaders.usb.map(\.id) + quirks.idReaders.serialBridges.map(\.id) {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, parts.allSatisfy({ $0.count == 4 && UInt16($0, radix: 16) != nil }), entry == entry.lowercased() else {
                throw ConfigurationError(source: path, key: nil, message: "'\(entry)' is not a USB id in lower-case vvvv:pppp form")
            }
        }
        return quirks
    }
}
