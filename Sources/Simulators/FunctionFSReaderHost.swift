import Foundation
import Glibc
import IDCard
import SAMProtocol

/// Puts the simulated reader on a real USB bus: a configfs gadget (id 0400:C35A) whose one vendor-class interface
/// is implemented here through FunctionFS, bound to a USB device controller — `dummy_hcd` in the qemu guest, so
/// the host side of the same kernel sees a USB reader and Tongban's libusb path runs against a real USB stack.
///
/// `split` offers the ministry standard's four bulk endpoints (header and body each way), `single` one OUT/IN
/// pair. Needs root, configfs, `libcomposite` and `usb_f_fs`. Unplugging unbinds the controller.
public final class FunctionFSReaderHost: @unchecked Sendable {
    /// The endpoint layout offered.
    public enum Layout: String, Sendable, CaseIterable {
        case split, single
    }

    public let layout: Layout
    public let simulator: SharedReaderSimulator
    private let baudRate: Int
    private let gadget: String
    private let mountPoint: String
    private let instance = "idcard"
    private var controller = ""
    private var ep0: Int32 = -1
    private var endpointFiles: [Int32] = []
    private let firstRequest = NSCondition()
    private var hostHasAsked = false

    /// - Parameters:
    ///   - name: the gadget's directory under `/sys/kernel/config/usb_gadget`.
    ///   - controller: the UDC to bind to; nil takes the first in `/sys/class/udc`.
    public init(layout: Layout, simulator: SharedReaderSimulator = SharedReaderSimulator(), baudRate: Int = 115_200,
                name: String = "tongban-idcard", controller: String? = nil) {
        self.layout = layout
        self.simulator = simulator
        self.baudRate = baudRate
        gadget = "/sys/kernel/config/usb_gadget/\(name)"
        mountPoint = "/run/\(name)-ffs"
        self.controller = controller ?? ""
    }

    /// Builds the gadget, writes the FunctionFS descriptors and binds the controller; returns the controller's name.
    @discardableResult
    public func plugIn() throws -> String {
        if controller.isEmpty {
            let controllers = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/udc"))?.sorted() ?? []
            guard let first = controllers.first else {
                throw SimulatorHostError(call: "list", path: "/sys/class/udc (load dummy_hcd)", errno: ENOENT)
            }
            controller = first
        }
        try makeDirectory(gadget)
        try write("0x0400", to: "\(gadget)/idVendor")
        try write("0xc35a", to: "\(gadget)/idProduct")
        try write("0x0200", to: "\(gadget)/bcdUSB")
        try makeDirectory("\(gadget)/strings/0x409")
        try write("Tongban", to: "\(gadget)/strings/0x409/manufacturer")
        try write("Simulated ID-card reader (\(layout.rawValue) endpoints)", to: "\(gadget)/strings/0x409/product")
        try write("SIM-0001", to: "\(gadget)/strings/0x409/serialnumber")
        try makeDirectory("\(gadget)/configs/c.1/strings/0x409")
        try write("SAM", to: "\(gadget)/configs/c.1/strings/0x409/configuration")
        try makeDirectory("\(gadget)/functions/ffs.\(instance)")
        if readLink("\(gadget)/configs/c.1/ffs.\(instance)") == nil {
            guard symlink("\(gadget)/functions/ffs.\(instance)", "\(gadget)/configs/c.1/ffs.\(instance)") == 0 else {
                throw SimulatorHostError(call: "symlink", path: "\(gadget)/configs/c.1/ffs.\(instance)", errno: errno)
            }
        }
        try makeDirectory(mountPoint)
        if mount(instance, mountPoint, "functionfs", 0, nil) != 0 && errno != EBUSY {
            throw SimulatorHostError(call: "mount functionfs", path: mountPoint, errno: errno)
        }
        ep0 = open("\(mountPoint)/ep0", O_RDWR)
        guard ep0 >= 0 else { throw SimulatorHostError(call: "open", path: "\(mountPoint)/ep0", errno: errno) }
        try writeAll(ep0, Self.descriptors(layout), path: "\(mountPoint)/ep0 (descriptors)")
        try writeAll(ep0, Self.strings(), path: "\(mountPoint)/ep0 (strings)")
        let count = layout == .split ? 4 : 2
        for number in 1...count {
            let file = open("\(mountPoint)/ep\(number)", O_RDWR)
            guard file >= 0 else { throw SimulatorHostError(call: "open", path: "\(mountPoint)/ep\(number)", errno: errno) }
            endpointFiles.append(file)
        }
        let control = ep0
        Thread.detachNewThread { Self.answerControlRequests(control) }
        try bind()
        return controller
    }

    /// Unbinds the controller: to the host the reader was unplugged.
    public func unplug() {
        try? write("\n", to: "\(gadget)/UDC")
    }

    /// Binds the controller again: the reader is plugged back in.
    public func bind() throws {
        try write(controller, to: "\(gadget)/UDC")
    }

    /// Unplugs and removes the gadget and its FunctionFS mount.
    public func tearDown() {
        unplug()
        for file in endpointFiles { close(file) }
        endpointFiles.removeAll()
        if ep0 >= 0 { close(ep0); ep0 = -1 }
        umount(mountPoint)
        rmdir(mountPoint)
        unlink("\(gadget)/configs/c.1/ffs.\(instance)")
        for directory in ["configs/c.1/strings/0x409", "configs/c.1", "functions/ffs.\(instance)", "strings/0x409", ""] {
            rmdir("\(gadget)/\(directory)")
        }
    }

    /// Answers the host on a thread of its own and plays the scenario on this one; returns at the scenario's end
    /// with `exitAfterScenario`, otherwise never. The scenario's clock starts at the host's first request: a newly
    /// plugged USB device is found by the host a moment later, however long that moment is.
    public func run(scenario: [SimulatorStep], exitAfterScenario: Bool) throws {
        if endpointFiles.isEmpty { try plugIn() }
        let files = endpointFiles
        Thread.detachNewThread { self.serve(files) }
        firstRequest.lock()
        while !hostHasAsked { firstRequest.wait() }
        firstRequest.unlock()
        let start = simulator.now
        for step in scenario.sorted(by: { $0.at < $1.at }) {
            let wait = step.at - (simulator.now - start)
            if wait > 0 { Thread.sleep(forTimeInterval: Double(wait) / 1000) }
            simulator.apply(step)
            if let duration = step.unplugFor {
                unplug()
                Thread.sleep(forTimeInterval: Double(duration) / 1000)
                try bind()
            }
        }
        if !exitAfterScenario {
            while true { Thread.sleep(forTimeInterval: 3600) }
        }
    }

    /// Request → reply, forever, on the ep files (in descriptor order). Reads fail while the controller is unbound;
    /// they are retried.
    private func serve(_ endpointFiles: [Int32]) {
        var requests = SAMFrameDecoder(direction: .requests)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            // Split: the header arrives on the first OUT endpoint, the rest on the second; single: all on one.
            let source = layout == .split && requests.bytesNeeded != nil ? endpointFiles[1] : endpointFiles[0]
            let count = read(source, &buffer, buffer.count)
            guard count > 0 else {
                requests.reset()
                Thread.sleep(forTimeInterval: 0.02)
                continue
            }
            for case .request(let command, let parameter, _) in requests.feed(buffer[0..<count]) {
                firstRequest.lock()
                if !hostHasAsked {
                    hostHasAsked = true
                    firstRequest.broadcast()
                }
                firstRequest.unlock()
                let bytes = simulator.answer(command: command, parameter: parameter)
                SimulatorTransport.sleep(nanoseconds: ReaderSimulator.wireTime(bytes: 7 + bytes.count, baudRate: baudRate))
                send(bytes, on: endpointFiles)
            }
        }
    }

    /// Writes a reply: split puts anything before the frame (injected garbage) and then the 7-byte header on the
    /// header endpoint and the rest on the body endpoint; single writes it all to the one IN endpoint.
    private func send(_ bytes: [UInt8], on endpointFiles: [Int32]) {
        guard layout == .split else {
            try? writeAll(endpointFiles[1], bytes, path: "ep2")
            return
        }
        let frameStart = (0...max(0, bytes.count - 5)).first { bytes[$0...].starts(with: SAMFrame.preamble) } ?? 0
        if frameStart > 0 { try? writeAll(endpointFiles[2], Array(bytes[..<frameStart]), path: "ep3") }
        let headerEnd = min(bytes.count, frameStart + 7)
        try? writeAll(endpointFiles[2], Array(bytes[frameStart..<headerEnd]), path: "ep3")
        if headerEnd < bytes.count { try? writeAll(endpointFiles[3], Array(bytes[headerEnd...]), path: "ep4") }
    }

    /// Reads FunctionFS events from ep0; the function has no control requests of its own, so any SETUP is stalled
    /// (by reading for an IN request, writing for an OUT one).
    private static func answerControlRequests(_ ep0: Int32) {
        let eventSize = 12, setupEvent: UInt8 = 4
        var events = [UInt8](repeating: 0, count: eventSize * 4)
        while true {
            let count = read(ep0, &events, events.count)
            if count <= 0 {
                if count < 0 && errno == EINTR { continue }
                return
            }
            for start in stride(from: 0, to: count - eventSize + 1, by: eventSize) where events[start + 8] == setupEvent {
                var none: UInt8 = 0
                if events[start] & 0x80 != 0 { _ = read(ep0, &none, 0) } else { _ = Glibc.write(ep0, &none, 0) }
            }
        }
    }

    // MARK: FunctionFS descriptor blobs

    /// `usb_functionfs_descs_head_v2` with full- and high-speed descriptors: one vendor-class interface and its
    /// bulk endpoints, in the order of the ep files (split: OUT 0x02, OUT 0x06, IN 0x81, IN 0x85).
    static func descriptors(_ layout: Layout) -> [UInt8] {
        let addresses: [UInt8] = layout == .split ? [0x02, 0x06, 0x81, 0x85] : [0x02, 0x81]
        func speed(_ maxPacket: UInt16) -> [UInt8] {
            var bytes: [UInt8] = [9, 4, 0, 0, UInt8(addresses.count), 0xFF, 0, 0, 1]
            for address in addresses {
                bytes += [7, 5, address, 2, UInt8(maxPacket & 0xFF), UInt8(maxPacket >> 8), 0]
            }
            return bytes
        }
        let count = UInt32(1 + addresses.count)
        let body = le32(count) + le32(count) + speed(64) + speed(512)
        let hasFullSpeed: UInt32 = 1, hasHighSpeed: UInt32 = 2
        return le32(3) + le32(UInt32(12 + body.count)) + le32(hasFullSpeed | hasHighSpeed) + body
    }

    /// `usb_functionfs_strings_head`: one string (the interface's name) in US English.
    static func strings() -> [UInt8] {
        let body: [UInt8] = [0x09, 0x04] + Array("SAM ID-card reader".utf8) + [0]
        return le32(2) + le32(UInt32(16 + body.count)) + le32(1) + le32(1) + body
    }

    private static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }

    // MARK: files

    private func makeDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw SimulatorHostError(call: "mkdir", path: path, errno: errno)
        }
    }

    private func write(_ value: String, to path: String) throws {
        let file = open(path, O_WRONLY)
        guard file >= 0 else { throw SimulatorHostError(call: "open", path: path, errno: errno) }
        defer { close(file) }
        try writeAll(file, Array(value.utf8), path: path)
    }

    private func writeAll(_ file: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        repeat {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(file, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SimulatorHostError(call: "write", path: path, errno: errno)
            }
            offset += written
        } while offset < bytes.count
    }

    private func readLink(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }
}
