import CLibUSB

/// A bulk endpoint as the interface descriptor states it.
public struct USBBulkEndpoint: Sendable, Equatable, Hashable {
    /// The endpoint address; bit 7 set for IN (device → host).
    public var address: UInt8
    public var maxPacketSize: Int

    public init(address: UInt8, maxPacketSize: Int) {
        self.address = address
        self.maxPacketSize = maxPacketSize
    }

    public var isInput: Bool { address & 0x80 != 0 }
}

/// One interface of the active configuration (alternate setting 0) and its bulk endpoints, in descriptor order.
public struct USBInterfaceDescription: Sendable, Equatable {
    public var number: UInt8
    public var interfaceClass: UInt8
    public var bulkEndpoints: [USBBulkEndpoint]

    public init(number: UInt8, interfaceClass: UInt8, bulkEndpoints: [USBBulkEndpoint]) {
        self.number = number
        self.interfaceClass = interfaceClass
        self.bulkEndpoints = bulkEndpoints
    }
}

extension USBError {
    /// The transfer timed out (not a failure of the device).
    public var isTimeout: Bool { code == LIBUSB_ERROR_TIMEOUT.rawValue }
    /// The device is gone (unplugged).
    public var isNoDevice: Bool { code == LIBUSB_ERROR_NO_DEVICE.rawValue }
    /// The caller lacks the rights to open the device node.
    public var isAccessDenied: Bool { code == LIBUSB_ERROR_ACCESS.rawValue }
    /// No device matched.
    public static func notFound(_ call: String) -> USBError { USBError(call: call, code: LIBUSB_ERROR_NOT_FOUND.rawValue) }
}

extension USBContext {
    /// Opens the device with `usbID` (`vvvv:pppp`) plugged into `location` (`bus-port.port…`), or the first with
    /// that id when `location` is nil, and detaches kernel drivers automatically when interfaces are claimed.
    ///
    /// Blocking (it reads sysfs and opens the device node): call it from a thread of your own, such as a reader's
    /// driver thread, never from the cooperative pool. Fails with `LIBUSB_ERROR_NOT_FOUND` when no such device is
    /// plugged in.
    public func openDevice(usbID: String, location: String?) throws(USBError) -> USBDeviceHandle {
        let context = rawContext
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0 else { throw USBError(call: "libusb_get_device_list", code: Int32(count)) }
        defer { libusb_free_device_list(list, 1) }
        for index in 0..<count {
            guard let device = list?[index] else { continue }
            guard let description = Self.describe(device), description.usbID == usbID,
                  location == nil || description.location == location else { continue }
            var raw: OpaquePointer?
            let status = libusb_open(device, &raw)
            guard status == 0, let raw else { throw USBError(call: "libusb_open", code: status) }
            _ = libusb_set_auto_detach_kernel_driver(raw, 1)
            do {
                let interfaces = try Self.interfaces(of: device)
                return USBDeviceHandle(raw: raw, context: self, description: description, interfaces: interfaces)
            } catch {
                libusb_close(raw)
                throw error
            }
        }
        throw .notFound("libusb_open(\(usbID)@\(location ?? "any"))")
    }

    static func describe(_ device: OpaquePointer) -> USBDeviceDescription? {
        var descriptor = libusb_device_descriptor()
        guard libusb_get_device_descriptor(device, &descriptor) == 0 else { return nil }
        var ports = [UInt8](repeating: 0, count: 8)
        let depth = libusb_get_port_numbers(device, &ports, Int32(ports.count))
        return USBDeviceDescription(
            vendorID: descriptor.idVendor, productID: descriptor.idProduct,
            bus: libusb_get_bus_number(device), address: libusb_get_device_address(device),
            portPath: Array(ports.prefix(max(0, Int(depth)))), deviceClass: descriptor.bDeviceClass)
    }

    private static func interfaces(of device: OpaquePointer) throws(USBError) -> [USBInterfaceDescription] {
        var configuration: UnsafeMutablePointer<libusb_config_descriptor>?
        let status = libusb_get_active_config_descriptor(device, &configuration)
        guard status == 0, let configuration else { throw USBError(call: "libusb_get_active_config_descriptor", code: status) }
        defer { libusb_free_config_descriptor(configuration) }
        var result: [USBInterfaceDescription] = []
        for interfaceIndex in 0..<Int(configuration.pointee.bNumInterfaces) {
            let interface = configuration.pointee.interface[interfaceIndex]
            guard interface.num_altsetting > 0 else { continue }
            let setting = interface.altsetting[0]
            var endpoints: [USBBulkEndpoint] = []
            for endpointIndex in 0..<Int(setting.bNumEndpoints) {
                let endpoint = setting.endpoint[endpointIndex]
                guard endpoint.bmAttributes & 0x03 == UInt8(LIBUSB_TRANSFER_TYPE_BULK.rawValue) else { continue }
                endpoints.append(USBBulkEndpoint(address: endpoint.bEndpointAddress, maxPacketSize: Int(endpoint.wMaxPacketSize)))
            }
            result.append(USBInterfaceDescription(number: setting.bInterfaceNumber, interfaceClass: setting.bInterfaceClass,
                                                  bulkEndpoints: endpoints))
        }
        return result
    }
}

/// An open USB device. Its transfer calls block: use it from one thread of your own (a reader's driver thread).
public final class USBDeviceHandle: @unchecked Sendable {
    private var raw: OpaquePointer?
    /// Keeps the libusb context alive as long as the handle is open.
    private let context: USBContext
    public let description: USBDeviceDescription
    /// The active configuration's interfaces with their bulk endpoints.
    public let interfaces: [USBInterfaceDescription]
    private var claimed: [Int32] = []

    init(raw: OpaquePointer, context: USBContext, description: USBDeviceDescription, interfaces: [USBInterfaceDescription]) {
        self.raw = raw
        self.context = context
        self.description = description
        self.interfaces = interfaces
    }

    deinit { close() }

    /// Claims an interface (detaching a kernel driver bound to it).
    public func claimInterface(_ number: UInt8) throws(USBError) {
        guard let raw else { throw USBError(call: "libusb_claim_interface", code: LIBUSB_ERROR_NO_DEVICE.rawValue) }
        let status = libusb_claim_interface(raw, Int32(number))
        guard status == 0 else { throw USBError(call: "libusb_claim_interface", code: status) }
        claimed.append(Int32(number))
    }

    /// Writes all of `bytes` to a bulk OUT endpoint (libusb splits them into packets). A timeout throws
    /// `LIBUSB_ERROR_TIMEOUT` (`isTimeout`).
    public func bulkWrite(endpoint: UInt8, _ bytes: [UInt8], timeoutMilliseconds: Int) throws(USBError) {
        guard let raw else { throw USBError(call: "libusb_bulk_transfer", code: LIBUSB_ERROR_NO_DEVICE.rawValue) }
        var copy = bytes
        var transferred: Int32 = 0
        let status = libusb_bulk_transfer(raw, endpoint, &copy, Int32(copy.count), &transferred, UInt32(max(1, timeoutMilliseconds)))
        guard status == 0 else { throw USBError(call: "libusb_bulk_transfer(OUT 0x\(String(endpoint, radix: 16)))", code: status) }
    }

    /// Reads up to `maxLength` bytes from a bulk IN endpoint; a short packet ends the transfer. On timeout it returns
    /// what arrived before it (possibly nothing) rather than throwing.
    public func bulkRead(endpoint: UInt8, maxLength: Int, timeoutMilliseconds: Int) throws(USBError) -> [UInt8] {
        guard let raw else { throw USBError(call: "libusb_bulk_transfer", code: LIBUSB_ERROR_NO_DEVICE.rawValue) }
        var buffer = [UInt8](repeating: 0, count: maxLength)
        var transferred: Int32 = 0
        let status = libusb_bulk_transfer(raw, endpoint, &buffer, Int32(maxLength), &transferred, UInt32(max(1, timeoutMilliseconds)))
        guard status == 0 || status == LIBUSB_ERROR_TIMEOUT.rawValue else {
            throw USBError(call: "libusb_bulk_transfer(IN 0x\(String(endpoint, radix: 16)))", code: status)
        }
        return Array(buffer.prefix(Int(transferred)))
    }

    /// Releases the claimed interfaces and closes the device. Idempotent.
    public func close() {
        guard let raw else { return }
        for interface in claimed { _ = libusb_release_interface(raw, interface) }
        claimed.removeAll()
        libusb_close(raw)
        self.raw = nil
    }
}
