import CV4L2
import Foundation
import TongbanCore

/// A failed V4L2 call: which call on which device node, and the errno it set.
public struct V4L2Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var device: String
    public var errno: Int32

    public init(call: String, device: String, errno: Int32) {
        self.call = call
        self.device = device
        self.errno = errno
    }

    public var description: String { "\(call)(\(device)) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// What `VIDIOC_QUERYCAP` says about a video device node.
public struct V4L2DeviceDescription: Sendable, Equatable, Codable {
    public var path: String
    public var card: String
    public var driver: String
    public var busInfo: String
    /// The node's own capabilities (`device_caps`), falling back to the device's when the driver gives none.
    public var capabilities: UInt32

    public init(path: String, card: String, driver: String, busInfo: String, capabilities: UInt32) {
        self.path = path
        self.card = card
        self.driver = driver
        self.busInfo = busInfo
        self.capabilities = capabilities
    }

    public var canCapture: Bool {
        capabilities & UInt32(V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE) != 0
    }
    public var isMultiplanar: Bool { capabilities & UInt32(V4L2_CAP_VIDEO_CAPTURE_MPLANE) != 0 }
    public var canStream: Bool { capabilities & UInt32(V4L2_CAP_STREAMING) != 0 }
}

/// Enumeration of video device nodes. Opening and querying run on one dedicated thread.
public enum V4L2 {
    private static let thread = DedicatedThread(name: "v4l2-enumerate")

    /// The `/dev/video*` nodes present, in numeric order (a directory other than /dev is for tests).
    public static func deviceNodes(in directory: String = "/dev") -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("video") && Int($0.dropFirst(5)) != nil }
            .sorted { Int($0.dropFirst(5))! < Int($1.dropFirst(5))! }
            .map { "\(directory)/\($0)" }
    }

    /// Queries one node's capabilities as the device has them (plain open and ioctl, no libv4l2 plugins).
    /// Opening non-blocking and only querying does not disturb another program's stream.
    public static func describe(_ path: String) async throws(V4L2Error) -> V4L2DeviceDescription {
        try await thread.perform { () throws(V4L2Error) -> V4L2DeviceDescription in try query(path) }
    }

    /// `describe` on the calling thread (it blocks briefly in open and ioctl): for the command line.
    public static func query(_ path: String) throws(V4L2Error) -> V4L2DeviceDescription {
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw V4L2Error(call: "open", device: path, errno: tongban_errno()) }
        defer { close(fd) }
        var capability = v4l2_capability()
        guard tongban_querycap_raw(fd, &capability) == 0 else {
            throw V4L2Error(call: "VIDIOC_QUERYCAP", device: path, errno: tongban_errno())
        }
        let deviceCaps = capability.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0
            ? capability.device_caps : capability.capabilities
        return V4L2DeviceDescription(
            path: path, card: cString(&capability.card), driver: cString(&capability.driver),
            busInfo: cString(&capability.bus_info), capabilities: deviceCaps)
    }

    /// Reads a fixed-size C char array (a tuple in Swift) as a string.
    private static func cString<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
