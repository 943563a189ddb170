import CLibUSB
import TongbanCore

/// A failed libusb call with its `libusb_error` code and name.
public struct USBError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var code: Int32

    public init(call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    /// libusb's symbolic name, e.g. `LIBUSB_ERROR_ACCESS`.
    public var name: String { String(cString: libusb_error_name(code)) }

    public var description: String { "\(call) failed: \(name)" }
}

/// A USB device as enumeration sees it, without opening it.
public struct USBDeviceDescription: Sendable, Equatable, Hashable, Codable {
    public var vendorID: UInt16
    public var productID: UInt16
    public var bus: UInt8
    public var address: UInt8
    /// Port numbers from the root hub, e.g. `[1, 4]`: stable across re-plugs into the same socket.
    public var portPath: [UInt8]
    public var deviceClass: UInt8

    public init(vendorID: UInt16, productID: UInt16, bus: UInt8, address: UInt8, portPath: [UInt8], deviceClass: UInt8) {
        self.vendorID = vendorID
        self.productID = productID
        self.bus = bus
        self.address = address
        self.portPath = portPath
        self.deviceClass = deviceClass
    }

    /// `vvvv:pppp` in lower-case hex, the form of `lsusb` and the quirk data.
    public var usbID: String { String(format4: vendorID) + ":" + String(format4: productID) }

    /// `bus-port.port…`, the form of sysfs: stable for a socket, unlike the address.
    public var location: String {
        "\(bus)-" + portPath.map(String.init).joined(separator: ".")
    }
}

extension String {
    init(format4 value: UInt16) {
        let hex = String(value, radix: 16)
        self = String(repeating: "0", count: 4 - hex.count) + hex
    }
}

/// A libusb context on its own thread. Every call that touches libusb for this context runs there.
public final class USBContext: Sendable {
    private let thread: DedicatedThread
    private let handle: USBContextHandle

    /// Creates a libusb context on a thread of its own.
    public init() throws(USBError) {
        let thread = DedicatedThread(name: "libusb")
        let result: Result<USBContextHandle, USBError> = try! thread.performBlocking {
            var raw: OpaquePointer?
            let status = libusb_init(&raw)
            guard status == 0, let raw else { return .failure(USBError(call: "libusb_init", code: status)) }
            return .success(USBContextHandle(raw))
        }
        switch result {
        case .success(let handle):
            self.thread = thread
            self.handle = handle
        case .failure(let error):
            thread.stop()
            throw error
        }
    }

    deinit {
        let handle = self.handle
        try? thread.performBlocking { libusb_exit(handle.raw) }
        thread.stop()
    }

    /// libusb's version, `major.minor.micro`.
    public static var libraryVersion: String {
        let version = libusb_get_version().pointee
        return "\(version.major).\(version.minor).\(version.micro)"
    }

    /// The devices on every bus right now.
    public func devices() async throws(USBError) -> [USBDeviceDescription] {
        let handle = self.handle
        return try await thread.perform { () throws(USBError) -> [USBDeviceDescription] in
            var list: UnsafeMutablePointer<OpaquePointer?>?
            let count = libusb_get_device_list(handle.raw, &list)
            guard count >= 0 else { throw USBError(call: "libusb_get_device_list", code: Int32(count)) }
            defer { libusb_free_device_list(list, 1) }
            return (0..<count).compactMap { index in list?[index].flatMap(USBContext.describe) }
        }
    }

    /// The context pointer, for blocking calls made on a caller's own thread (libusb is thread-safe).
    var rawContext: OpaquePointer { handle.raw }
}

/// Owns the raw context pointer. Enumeration runs on the context's thread; a device handle's blocking transfers run
/// on its owner's thread (libusb is thread-safe).
private struct USBContextHandle: @unchecked Sendable {
    let raw: OpaquePointer
    init(_ raw: OpaquePointer) { self.raw = raw }
}
