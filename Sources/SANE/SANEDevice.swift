import CSANE
import Foundation
import TongbanCore

/// The type of a SANE option's value.
public enum SANEValueType: Int32, Sendable, Codable {
    case bool = 0, int, fixed, string, button, group
}

/// The physical unit of a SANE option.
public enum SANEUnit: Int32, Sendable, Codable {
    case none = 0, pixel, bit, millimetre, dpi, percent, microsecond
}

/// An option value. Fixed-point values are carried as `Double`; SANE_Fixed is 16.16.
public enum SANEValue: Sendable, Equatable, CustomStringConvertible {
    case bool(Bool)
    case int(Int)
    case fixed(Double)
    case string(String)

    public var description: String {
        switch self {
        case .bool(let value): "\(value)"
        case .int(let value): "\(value)"
        case .fixed(let value): "\(value)"
        case .string(let value): value
        }
    }

    /// The value as a number, for INT and FIXED options alike.
    public var number: Double? {
        switch self {
        case .int(let value): Double(value)
        case .fixed(let value): value
        default: nil
        }
    }
}

/// The values an option accepts.
public enum SANEConstraint: Sendable, Equatable {
    case none
    case range(minimum: Double, maximum: Double, quantum: Double)
    case numbers([Double])
    case strings([String])
}

/// What the backend says about one option.
public struct SANEOptionDescriptor: Sendable, Equatable {
    public var index: Int32
    public var name: String
    public var title: String
    public var type: SANEValueType
    public var unit: SANEUnit
    /// Bytes of the value (strings: the buffer size including the terminator).
    public var size: Int
    /// The frontend may set it (SANE_CAP_SOFT_SELECT) and it is active.
    public var isSettable: Bool
    public var isActive: Bool
    public var constraint: SANEConstraint
}

/// The layout of a frame (`sane_get_parameters`).
public struct SANEParameters: Sendable, Equatable {
    public enum Format: Int32, Sendable { case gray = 0, rgb, red, green, blue }
    public var format: Format
    public var lastFrame: Bool
    public var bytesPerLine: Int
    public var pixelsPerLine: Int
    /// -1 when the height is not known in advance (hand scanners).
    public var lines: Int
    public var depth: Int
}

/// One page as the scanner delivered it: 8-bit grey or packed RGB, whatever the backend's depth or frame layout.
public struct SANEPage: Sendable {
    public var width: Int
    public var height: Int
    /// 1 (grey) or 3 (RGB).
    public var channels: Int
    /// `width × height × channels` bytes, rows packed.
    public var pixels: [UInt8]
    /// The frames' parameters as the backend reported them.
    public var parameters: SANEParameters
}

/// An open scanner. Every call runs on the device's own thread (one thread per open device), except `cancel`,
/// which the SANE standard allows from any thread at any time.
public final class SANEDevice: Sendable {
    /// The name it was opened with, e.g. `test:0`.
    public let name: String
    private let thread: DedicatedThread
    private let handle: OpenedHandle
    private let state = LockedState()
    private let progress = ReadProgress()

    /// Bytes read so far in the page being scanned, and when the last ones came (nil when no page is being read).
    /// A watchdog compares snapshots to see a scanner that stopped sending.
    public final class ReadProgress: @unchecked Sendable {
        private let lock = NSLock()
        private var reading = false
        private var bytes = 0

        func begin() { lock.withLock { reading = true; bytes = 0 } }
        func add(_ count: Int) { lock.withLock { bytes += count } }
        func end() { lock.withLock { reading = false } }

        /// nil when idle; otherwise the bytes received in the current page.
        public var snapshot: Int? { lock.withLock { reading ? bytes : nil } }
    }

    /// The current page's read progress.
    public var readProgress: ReadProgress { progress }

    /// Whether `close` ran (the handle must not be closed twice).
    private final class LockedState: @unchecked Sendable {
        private let lock = NSLock()
        private var closed = false
        func markClosed() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            defer { closed = true }
            return closed
        }
    }

    private init(name: String, handle: OpenedHandle, thread: DedicatedThread) {
        self.name = name
        self.handle = handle
        self.thread = thread
    }

    deinit {
        let handle = self.handle, thread = self.thread
        if !state.markClosed() {
            try? thread.performBlocking { sane_close(handle.pointer) }
        }
        thread.stop()
    }

    /// Opens a scanner by its SANE name. `sane_open` runs on the session's thread (backends keep global state),
    /// everything after on the device's own thread.
    public static func open(_ name: String, session: SANESession = .shared) async throws(SANEError) -> SANEDevice {
        let handle = try await session.open(name)
        return SANEDevice(name: name, handle: handle, thread: DedicatedThread(name: "sane \(name)"))
    }

    /// Closes the device. Further calls fail.
    public func close() async {
        let handle = self.handle
        guard !state.markClosed() else { return }
        await thread.perform { sane_close(handle.pointer) }
    }

    // MARK: Options

    /// Every option the backend offers now (the list can change after setting one, e.g. the mode).
    public func options() async throws(SANEError) -> [SANEOptionDescriptor] {
        let handle = self.handle
        return await thread.perform { Self.readDescriptors(handle.pointer) }
    }

    /// Sets an option by name and returns the value the backend settled on (backends round, e.g. 301 → 300 dpi).
    @discardableResult
    public func set(_ optionName: String, _ value: SANEValue) async throws(SANEError) -> SANEValue {
        let handle = self.handle, name = self.name
        return try await thread.perform { () throws(SANEError) -> SANEValue in
            guard let option = Self.readDescriptors(handle.pointer).first(where: { $0.name == optionName }) else {
                throw SANEError(call: "sane_control_option(\(optionName))", device: name, status: .unsupported,
                                reason: "the scanner has no option '\(optionName)'")
            }
            guard option.isSettable else {
                throw SANEError(call: "sane_control_option(\(optionName))", device: name, status: .invalid,
                                reason: option.isActive ? "the option cannot be set by software" : "the option is inactive in the current mode")
            }
            return try Self.setValue(value, of: option, handle: handle.pointer, device: name)
        }
    }

    /// Reads an option's current value.
    public func get(_ optionName: String) async throws(SANEError) -> SANEValue {
        let handle = self.handle, name = self.name
        return try await thread.perform { () throws(SANEError) -> SANEValue in
            guard let option = Self.readDescriptors(handle.pointer).first(where: { $0.name == optionName }) else {
                throw SANEError(call: "sane_control_option(\(optionName))", device: name, status: .unsupported,
                                reason: "the scanner has no option '\(optionName)'")
            }
            return try Self.getValue(of: option, handle: handle.pointer, device: name)
        }
    }

    // MARK: Scanning

    /// Scans one page: `sane_start`, `sane_get_parameters`, `sane_read` until EOF (every frame of a three-pass scan).
    /// Returns nil when the feeder is empty (`SANE_STATUS_NO_DOCS` from `sane_start`). A page that ends short of
    /// `bytes_per_line × lines` is an error, never a page. The batch stays open: call `endBatch` after the last page.
    public func scanPage(readChunk: Int = 1 << 20) async throws(SANEError) -> SANEPage? {
        let handle = self.handle, name = self.name, progress = self.progress
        return try await thread.perform { () throws(SANEError) -> SANEPage? in
            var planes: [SANEParameters.Format: [UInt8]] = [:]
            var page: SANEPage?
            repeat {
                let started = sane_start(handle.pointer)
                if started == SANE_STATUS_NO_DOCS, planes.isEmpty { return nil }
                guard started == SANE_STATUS_GOOD else {
                    sane_cancel(handle.pointer)
                    throw SANEError(call: "sane_start", device: name, status: SANEStatus(started))
                }
                var raw = SANE_Parameters()
                let status = sane_get_parameters(handle.pointer, &raw)
                guard status == SANE_STATUS_GOOD else {
                    sane_cancel(handle.pointer)
                    throw SANEError(call: "sane_get_parameters", device: name, status: SANEStatus(status))
                }
                let parameters = SANEParameters(raw)
                let bytes: [UInt8]
                do throws(SANEError) {
                    progress.begin()
                    defer { progress.end() }
                    bytes = try Self.readFrame(handle.pointer, parameters, chunk: readChunk, device: name, progress: progress)
                } catch {
                    sane_cancel(handle.pointer)
                    throw error
                }
                switch parameters.format {
                case .gray, .rgb:
                    page = try Self.page(from: bytes, parameters, device: name)
                case .red, .green, .blue:
                    planes[parameters.format] = bytes
                    if parameters.lastFrame { page = try Self.interleave(planes, parameters, device: name) }
                }
                if parameters.lastFrame { break }
            } while true
            return page
        }
    }

    /// Ends the batch (`sane_cancel` after the last page, as the standard asks) so the device is idle again.
    public func endBatch() async {
        let handle = self.handle
        await thread.perform { sane_cancel(handle.pointer) }
    }

    /// Stops the page being read now: the read in progress returns `SANE_STATUS_CANCELLED` and no page.
    /// Safe from any thread while `scanPage` runs.
    public func cancel() {
        sane_cancel(handle.pointer)
    }

    // MARK: On the device thread

    private static func readDescriptors(_ handle: SANE_Handle) -> [SANEOptionDescriptor] {
        var count: SANE_Int = 0
        guard sane_control_option(handle, 0, SANE_ACTION_GET_VALUE, &count, nil) == SANE_STATUS_GOOD else { return [] }
        var options: [SANEOptionDescriptor] = []
        for index in 1..<max(1, count) {
            guard let pointer = sane_get_option_descriptor(handle, index) else { continue }
            let raw = pointer.pointee
            guard let type = SANEValueType(rawValue: Int32(raw.type.rawValue)), type != .group, let rawName = raw.name else { continue }
            let unit = SANEUnit(rawValue: Int32(raw.unit.rawValue)) ?? .none
            let capabilities = Int32(raw.cap)
            let active = capabilities & 32 == 0  // SANE_CAP_INACTIVE
            let softSelect = capabilities & 1 != 0  // SANE_CAP_SOFT_SELECT
            var constraint = SANEConstraint.none
            let toDouble: (SANE_Word) -> Double = { type == .fixed ? Double($0) / 65536 : Double($0) }
            switch raw.constraint_type {
            case SANE_CONSTRAINT_RANGE:
                if let range = raw.constraint.range?.pointee {
                    constraint = .range(minimum: toDouble(range.min), maximum: toDouble(range.max), quantum: toDouble(range.quant))
                }
            case SANE_CONSTRAINT_WORD_LIST:
                if let words = raw.constraint.word_list {
                    constraint = .numbers((0..<Int(words[0])).map { toDouble(words[$0 + 1]) })
                }
            case SANE_CONSTRAINT_STRING_LIST:
                if let strings = raw.constraint.string_list {
                    var list: [String] = []
                    var position = 0
                    while let entry = strings[position] {
                        list.append(String(cString: entry))
                        position += 1
                    }
                    constraint = .strings(list)
                }
            default: break
            }
            options.append(SANEOptionDescriptor(
                index: Int32(index), name: String(cString: rawName), title: raw.title.map { String(cString: $0) } ?? "",
                type: type, unit: unit, size: Int(raw.size), isSettable: softSelect && active, isActive: active,
                constraint: constraint))
        }
        return options
    }

    private static func setValue(_ value: SANEValue, of option: SANEOptionDescriptor, handle: SANE_Handle,
                                 device: String) throws(SANEError) -> SANEValue {
        let call = "sane_control_option(\(option.name))"
        var info: SANE_Int = 0
        let status: SANE_Status
        switch (option.type, value) {
        case (.bool, .bool(let flag)):
            var word: SANE_Word = flag ? SANE_TRUE : SANE_FALSE
            status = sane_control_option(handle, option.index, SANE_ACTION_SET_VALUE, &word, &info)
        case (.int, _), (.fixed, _):
            guard let number = value.number else {
                throw SANEError(call: call, device: device, status: .invalid, reason: "'\(option.name)' takes a number, not '\(value)'")
            }
            let word = option.type == .fixed ? SANE_Word((number * 65536).rounded()) : SANE_Word(number.rounded())
            // Array options take one word per element; set every element.
            var words = [SANE_Word](repeating: word, count: max(1, option.size / MemoryLayout<SANE_Word>.size))
            status = sane_control_option(handle, option.index, SANE_ACTION_SET_VALUE, &words, &info)
        case (.string, .string(let text)):
            var buffer = [CChar](repeating: 0, count: max(option.size, text.utf8.count + 1))
            for (offset, byte) in text.utf8.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
            status = sane_control_option(handle, option.index, SANE_ACTION_SET_VALUE, &buffer, &info)
        default:
            throw SANEError(call: call, device: device, status: .invalid,
                            reason: "'\(option.name)' is a \(option.type) option; '\(value)' does not fit")
        }
        guard status == SANE_STATUS_GOOD else {
            var reason: String?
            if case .strings(let allowed) = option.constraint { reason = "allowed: \(allowed.joined(separator: ", "))" }
            if case .range(let low, let high, _) = option.constraint { reason = "allowed: \(low)…\(high)" }
            throw SANEError(call: call, device: device, status: SANEStatus(status), reason: reason)
        }
        if info & 2 != 0 {
            // SANE_INFO_RELOAD_OPTIONS: descriptors must be fetched again before any value is read (some backends,
            // the test backend among them, refuse until they are).
            _ = readDescriptors(handle)
        }
        return try getValue(of: option, handle: handle, device: device)
    }

    private static func getValue(of option: SANEOptionDescriptor, handle: SANE_Handle, device: String) throws(SANEError) -> SANEValue {
        let call = "sane_control_option(\(option.name))"
        var buffer = [UInt8](repeating: 0, count: max(option.size, 8))
        let status = buffer.withUnsafeMutableBytes { sane_control_option(handle, option.index, SANE_ACTION_GET_VALUE, $0.baseAddress, nil) }
        guard status == SANE_STATUS_GOOD else { throw SANEError(call: call, device: device, status: SANEStatus(status)) }
        let word = buffer.withUnsafeBytes { $0.load(as: SANE_Word.self) }
        switch option.type {
        case .bool: return .bool(word == SANE_TRUE)
        case .int: return .int(Int(word))
        case .fixed: return .fixed(Double(word) / 65536)
        case .string:
            let end = buffer.firstIndex(of: 0) ?? buffer.count
            return .string(String(decoding: buffer[..<end], as: UTF8.self))
        default:
            throw SANEError(call: call, device: device, status: .unsupported, reason: "'\(option.name)' has no value")
        }
    }

    /// Reads one frame until EOF into a buffer sized from the parameters; checks the byte count.
    private static func readFrame(_ handle: SANE_Handle, _ parameters: SANEParameters, chunk: Int,
                                  device: String, progress: ReadProgress) throws(SANEError) -> [UInt8] {
        let expected = parameters.lines > 0 ? parameters.bytesPerLine * parameters.lines : nil
        var bytes = [UInt8](repeating: 0, count: expected ?? parameters.bytesPerLine * 1024)
        var received = 0
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            let full = received == bytes.count
            if full, expected == nil { bytes.append(contentsOf: repeatElement(0, count: max(bytes.count, chunk))) }
            var length: SANE_Int = 0
            let status: SANE_Status
            if full, expected != nil {
                // Everything announced is in: this read should only say EOF.
                status = scratch.withUnsafeMutableBufferPointer { sane_read(handle, $0.baseAddress!, SANE_Int($0.count), &length) }
                if status == SANE_STATUS_GOOD, length > 0 {
                    throw SANEError(call: "sane_read", device: device, status: .ioError,
                                    reason: "the scanner sent more than the \(received) bytes it announced")
                }
            } else {
                let room = min(chunk, bytes.count - received)
                status = bytes.withUnsafeMutableBufferPointer {
                    sane_read(handle, $0.baseAddress! + received, SANE_Int(room), &length)
                }
            }
            if status == SANE_STATUS_EOF { break }
            guard status == SANE_STATUS_GOOD else {
                throw SANEError(call: "sane_read", device: device, status: SANEStatus(status),
                                reason: "after \(received) of \(expected.map(String.init) ?? "?") bytes")
            }
            received += Int(length)
            progress.add(Int(length))
        }
        if let expected {
            guard received == expected else {
                throw SANEError(call: "sane_read", device: device, status: .ioError,
                                reason: "short page: \(received) of \(expected) bytes (bytes_per_line × lines) before EOF")
            }
        } else {
            let whole = received - received % max(1, parameters.bytesPerLine)
            bytes.removeSubrange(whole...)
        }
        return bytes
    }

    /// Converts a grey or RGB frame of any depth to 8-bit samples, dropping any padding at the end of each line.
    private static func page(from bytes: [UInt8], _ parameters: SANEParameters, device: String) throws(SANEError) -> SANEPage {
        let channels = parameters.format == .rgb ? 3 : 1
        let width = parameters.pixelsPerLine
        let lines = bytes.count / max(1, parameters.bytesPerLine)
        let samplesPerLine = width * channels
        var pixels = [UInt8](repeating: 0, count: samplesPerLine * lines)
        switch parameters.depth {
        case 8:
            if parameters.bytesPerLine == samplesPerLine { pixels = bytes }
            else {
                for line in 0..<lines {
                    pixels.replaceSubrange(line * samplesPerLine..<(line + 1) * samplesPerLine,
                                           with: bytes[line * parameters.bytesPerLine..<line * parameters.bytesPerLine + samplesPerLine])
                }
            }
        case 16:
            // Native-endian 16-bit samples: keep the high byte.
            let little = 1.littleEndian == 1
            for line in 0..<lines {
                for sample in 0..<samplesPerLine {
                    let offset = line * parameters.bytesPerLine + sample * 2
                    pixels[line * samplesPerLine + sample] = bytes[offset + (little ? 1 : 0)]
                }
            }
        case 1:
            // Lineart: bit 1 is black for grey frames (SANE standard, 4.3.7), most significant bit first.
            for line in 0..<lines {
                for sample in 0..<samplesPerLine {
                    let byte = bytes[line * parameters.bytesPerLine + sample / 8]
                    let bit = (byte >> (7 - UInt8(sample % 8))) & 1
                    pixels[line * samplesPerLine + sample] = channels == 1 ? (bit == 1 ? 0 : 255) : (bit == 1 ? 255 : 0)
                }
            }
        default:
            throw SANEError(call: "sane_get_parameters", device: device, status: .unsupported,
                            reason: "depth \(parameters.depth) is not supported (1, 8 or 16)")
        }
        return SANEPage(width: width, height: lines, channels: channels, pixels: pixels, parameters: parameters)
    }

    /// Three-pass scanners send red, green and blue as separate frames.
    private static func interleave(_ planes: [SANEParameters.Format: [UInt8]], _ parameters: SANEParameters,
                                   device: String) throws(SANEError) -> SANEPage {
        var gray = parameters
        gray.format = .gray
        guard let red = planes[.red], let green = planes[.green], let blue = planes[.blue] else {
            throw SANEError(call: "sane_read", device: device, status: .ioError, reason: "a three-pass scan ended without all three colour frames")
        }
        let r = try page(from: red, gray, device: device), g = try page(from: green, gray, device: device),
            b = try page(from: blue, gray, device: device)
        var pixels = [UInt8](repeating: 0, count: r.pixels.count * 3)
        for index in 0..<min(r.pixels.count, g.pixels.count, b.pixels.count) {
            pixels[index * 3] = r.pixels[index]
            pixels[index * 3 + 1] = g.pixels[index]
            pixels[index * 3 + 2] = b.pixels[index]
        }
        var rgb = parameters
        rgb.format = .rgb
        return SANEPage(width: r.width, height: r.height, channels: 3, pixels: pixels, parameters: rgb)
    }
}

extension SANEParameters {
    init(_ raw: SANE_Parameters) {
        self.init(format: Format(rawValue: Int32(raw.format.rawValue)) ?? .gray, lastFrame: raw.last_frame == SANE_TRUE,
                  bytesPerLine: Int(raw.bytes_per_line), pixelsPerLine: Int(raw.pixels_per_line), lines: Int(raw.lines),
                  depth: Int(raw.depth))
    }
}

/// A `SANE_Handle` handed from the session's thread to the device's.
struct OpenedHandle: @unchecked Sendable {
    let pointer: SANE_Handle
}

extension SANESession {
    func open(_ name: String) async throws(SANEError) -> OpenedHandle {
        _ = try version()
        return try await perform { () throws(SANEError) -> OpenedHandle in
            var handle: SANE_Handle?
            let status = sane_open(name, &handle)
            guard status == SANE_STATUS_GOOD, let handle else {
                throw SANEError(call: "sane_open", device: name, status: SANEStatus(status))
            }
            return OpenedHandle(pointer: handle)
        }
    }
}
