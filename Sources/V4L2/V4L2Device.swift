import CV4L2
import Glibc

/// A V4L2 pixel format code (FourCC), such as `MJPG`, `YUYV` or `RGB3`.
public struct PixelFormat: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// From its four characters; nil unless exactly four ASCII characters.
    public init?(code: String) {
        let bytes = Array(code.utf8)
        guard bytes.count == 4, bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        rawValue = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    public var description: String {
        String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: rawValue >> (8 * $0)) }, as: UTF8.self)
    }

    /// Motion JPEG: every frame a whole JPEG.
    public static let mjpeg = PixelFormat(code: "MJPG")!
    /// JPEG, as some document cameras name their MJPEG.
    public static let jpeg = PixelFormat(code: "JPEG")!
    /// Packed 8-bit RGB (libv4l2 converts to it from any format it knows).
    public static let rgb24 = PixelFormat(code: "RGB3")!

    /// Whether each frame is already a JPEG file.
    public var isJPEG: Bool { self == .mjpeg || self == .jpeg }
}

/// A frame size and the frame rates the device offers at it.
public struct V4L2FrameSize: Sendable, Hashable, Codable {
    public var width: Int
    public var height: Int
    /// Frames per second, highest first (empty when the driver does not say).
    public var framesPerSecond: [Double]

    public init(width: Int, height: Int, framesPerSecond: [Double]) {
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
    }
}

/// One pixel format a device offers, with its frame sizes.
public struct V4L2FormatDescription: Sendable, Hashable, Codable {
    public var pixelFormat: String
    public var description: String
    public var compressed: Bool
    /// Converted by libv4l2 rather than produced by the device.
    public var emulated: Bool
    /// Largest first.
    public var sizes: [V4L2FrameSize]

    public init(pixelFormat: String, description: String, compressed: Bool, emulated: Bool, sizes: [V4L2FrameSize]) {
        self.pixelFormat = pixelFormat
        self.description = description
        self.compressed = compressed
        self.emulated = emulated
        self.sizes = sizes
    }
}

/// One user control (brightness, focus, exposure, …) with its range and current value.
public struct V4L2Control: Sendable, Hashable, Codable {
    public var id: UInt32
    /// The driver's name, e.g. "Brightness".
    public var name: String
    /// `integer`, `boolean`, `menu` or `button`.
    public var type: String
    public var minimum: Int
    public var maximum: Int
    public var step: Int
    public var defaultValue: Int
    public var value: Int?
    /// A menu's item names, by value from `minimum` (when known: the simulated camera's scenes).
    public var menuItems: [String]?

    public init(id: UInt32, name: String, type: String, minimum: Int, maximum: Int, step: Int, defaultValue: Int, value: Int?,
                menuItems: [String]? = nil) {
        self.menuItems = menuItems
        self.id = id
        self.name = name
        self.type = type
        self.minimum = minimum
        self.maximum = maximum
        self.step = step
        self.defaultValue = defaultValue
        self.value = value
    }
}

/// The format a stream actually runs in (the driver may adjust what was asked).
public struct V4L2StreamFormat: Sendable, Hashable {
    public var pixelFormat: PixelFormat
    public var width: Int
    public var height: Int
    public var bytesPerLine: Int
}

extension V4L2Error {
    /// Another program (or another open of ours) holds the device's streaming resources.
    public var isBusy: Bool { errno == EBUSY }
    /// The device went away: unplugged, or its driver unloaded.
    public var isGone: Bool { errno == ENODEV || errno == ENXIO || errno == EIO || errno == ENOENT }
}

/// An open video capture node, through libv4l2 (which converts exotic formats to RGB and presents multi-planar
/// devices through its mplane plugin as single-planar ones). Not thread-safe: one thread opens, streams and closes it.
public final class V4L2Device {
    public let path: String
    private let descriptor: Int32
    private var mapped: [(start: UnsafeMutableRawPointer, length: Int)] = []
    private var streaming = false
    /// The format set last (`setFormat`).
    public private(set) var format: V4L2StreamFormat?

    /// Opens `path` for streaming.
    public init(path: String) throws(V4L2Error) {
        self.path = path
        let descriptor = tongban_v4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw V4L2Error(call: "v4l2_open", device: path, errno: tongban_errno()) }
        self.descriptor = descriptor
    }

    deinit {
        stopStreaming()
        _ = tongban_v4l2_close(descriptor)
    }

    private func fail(_ call: String) -> V4L2Error { V4L2Error(call: call, device: path, errno: tongban_errno()) }

    private static let captureType = UInt32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)

    /// Every pixel format with its sizes and frame rates (`VIDIOC_ENUM_FMT`, `_FRAMESIZES`, `_FRAMEINTERVALS`).
    public func formats() throws(V4L2Error) -> [V4L2FormatDescription] {
        var formats: [V4L2FormatDescription] = []
        for index in 0..<64 {
            var description = v4l2_fmtdesc()
            description.index = UInt32(index)
            description.type = Self.captureType
            guard tongban_v4l2_enum_fmt(descriptor, &description) == 0 else {
                if tongban_errno() == EINVAL { break }
                throw fail("VIDIOC_ENUM_FMT")
            }
            let pixelFormat = PixelFormat(rawValue: description.pixelformat)
            formats.append(V4L2FormatDescription(
                pixelFormat: pixelFormat.description, description: Self.string(&description.description),
                compressed: description.flags & UInt32(V4L2_FMT_FLAG_COMPRESSED) != 0,
                emulated: description.flags & UInt32(V4L2_FMT_FLAG_EMULATED) != 0,
                sizes: frameSizes(pixelFormat)))
        }
        return formats
    }

    /// Discrete sizes as listed; a stepwise or continuous range as the common sizes inside it plus its largest.
    private func frameSizes(_ pixelFormat: PixelFormat) -> [V4L2FrameSize] {
        var sizes: [(Int, Int)] = []
        for index in 0..<128 {
            var size = v4l2_frmsizeenum()
            size.index = UInt32(index)
            size.pixel_format = pixelFormat.rawValue
            guard tongban_v4l2_enum_framesizes(descriptor, &size) == 0 else { break }
            if size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                sizes.append((Int(size.discrete.width), Int(size.discrete.height)))
            } else {
                let range = size.stepwise
                let common = [(640, 480), (1280, 720), (1600, 1200), (1920, 1080), (2592, 1944), (3840, 2160)]
                sizes += common.filter { $0.0 >= range.min_width && $0.0 <= range.max_width && $0.1 >= range.min_height && $0.1 <= range.max_height }
                sizes.append((Int(range.max_width), Int(range.max_height)))
                break
            }
        }
        var seen = Set<[Int]>()
        return sizes.filter { seen.insert([$0.0, $0.1]).inserted }
            .sorted { $0.0 * $0.1 > $1.0 * $1.1 }
            .map { V4L2FrameSize(width: $0.0, height: $0.1, framesPerSecond: framesPerSecond(pixelFormat, $0.0, $0.1)) }
    }

    private func framesPerSecond(_ pixelFormat: PixelFormat, _ width: Int, _ height: Int) -> [Double] {
        var rates: [Double] = []
        for index in 0..<32 {
            var interval = v4l2_frmivalenum()
            interval.index = UInt32(index)
            interval.pixel_format = pixelFormat.rawValue
            interval.width = UInt32(width)
            interval.height = UInt32(height)
            guard tongban_v4l2_enum_frameintervals(descriptor, &interval) == 0 else { break }
            let fraction = interval.type == V4L2_FRMIVAL_TYPE_DISCRETE.rawValue ? interval.discrete : interval.stepwise.min
            if fraction.numerator > 0 { rates.append((Double(fraction.denominator) / Double(fraction.numerator) * 100).rounded() / 100) }
            if interval.type != V4L2_FRMIVAL_TYPE_DISCRETE.rawValue { break }
        }
        return Array(Set(rates)).sorted(by: >)
    }

    /// Every user control with its current value (`VIDIOC_QUERYCTRL` with the next-control flag).
    public func controls() -> [V4L2Control] {
        var controls: [V4L2Control] = []
        var query = v4l2_queryctrl()
        query.id = tongban_v4l2_next_ctrl_flag()
        while tongban_v4l2_queryctrl(descriptor, &query) == 0 {
            defer { query.id |= tongban_v4l2_next_ctrl_flag() }
            guard query.flags & UInt32(V4L2_CTRL_FLAG_DISABLED) == 0 else { continue }
            let type: String
            switch query.type {
            case V4L2_CTRL_TYPE_INTEGER.rawValue: type = "integer"
            case V4L2_CTRL_TYPE_BOOLEAN.rawValue: type = "boolean"
            case V4L2_CTRL_TYPE_MENU.rawValue, V4L2_CTRL_TYPE_INTEGER_MENU.rawValue: type = "menu"
            case V4L2_CTRL_TYPE_BUTTON.rawValue: type = "button"
            default: continue  // classes, strings, compound controls: not user settings
            }
            var control = v4l2_control()
            control.id = query.id
            let value = type != "button" && tongban_v4l2_g_ctrl(descriptor, &control) == 0 ? Int(control.value) : nil
            controls.append(V4L2Control(id: query.id, name: Self.string(&query.name), type: type, minimum: Int(query.minimum),
                                        maximum: Int(query.maximum), step: Int(query.step),
                                        defaultValue: Int(query.default_value), value: value))
        }
        return controls
    }

    /// Sets a control (`VIDIOC_S_CTRL`); returns the value the driver kept.
    @discardableResult
    public func setControl(id: UInt32, value: Int) throws(V4L2Error) -> Int {
        var control = v4l2_control()
        control.id = id
        control.value = Int32(clamping: value)
        guard tongban_v4l2_s_ctrl(descriptor, &control) == 0 else { throw fail("VIDIOC_S_CTRL") }
        guard tongban_v4l2_g_ctrl(descriptor, &control) == 0 else { return value }
        return Int(control.value)
    }

    /// Sets the capture format (`VIDIOC_S_FMT`); the driver picks the nearest size it has. Fails with EBUSY
    /// while another open of the device streams.
    @discardableResult
    public func setFormat(_ pixelFormat: PixelFormat, width: Int, height: Int) throws(V4L2Error) -> V4L2StreamFormat {
        var format = v4l2_format()
        format.type = Self.captureType
        format.fmt.pix.pixelformat = pixelFormat.rawValue
        format.fmt.pix.width = UInt32(width)
        format.fmt.pix.height = UInt32(height)
        format.fmt.pix.field = UInt32(V4L2_FIELD_NONE.rawValue)
        guard tongban_v4l2_s_fmt(descriptor, &format) == 0 else { throw fail("VIDIOC_S_FMT(\(pixelFormat) \(width)×\(height))") }
        let actual = V4L2StreamFormat(pixelFormat: PixelFormat(rawValue: format.fmt.pix.pixelformat), width: Int(format.fmt.pix.width),
                                      height: Int(format.fmt.pix.height), bytesPerLine: Int(format.fmt.pix.bytesperline))
        self.format = actual
        return actual
    }

    /// Asks for a frame rate (`VIDIOC_S_PARM`). Drivers without frame-rate control keep their own: not an error.
    public func setFramesPerSecond(_ rate: Double) {
        var parameters = v4l2_streamparm()
        parameters.type = Self.captureType
        parameters.parm.capture.timeperframe = v4l2_fract(numerator: 1000, denominator: UInt32(max(1, rate) * 1000))
        _ = tongban_v4l2_s_parm(descriptor, &parameters)
    }

    /// Requests `count` mmap buffers, queues them all and starts the stream.
    public func startStreaming(bufferCount: Int = 4) throws(V4L2Error) {
        guard !streaming else { return }
        var request = v4l2_requestbuffers()
        request.count = UInt32(bufferCount)
        request.type = Self.captureType
        request.memory = UInt32(V4L2_MEMORY_MMAP.rawValue)
        guard tongban_v4l2_reqbufs(descriptor, &request) == 0 else { throw fail("VIDIOC_REQBUFS") }
        guard request.count > 0 else { throw V4L2Error(call: "VIDIOC_REQBUFS", device: path, errno: ENOMEM) }
        do throws(V4L2Error) {
            for index in 0..<Int(request.count) {
                var buffer = Self.buffer(index: index)
                guard tongban_v4l2_querybuf(descriptor, &buffer) == 0 else { throw fail("VIDIOC_QUERYBUF") }
                let start = tongban_v4l2_mmap(descriptor, Int(buffer.length), Int(buffer.m.offset))
                guard let start, start != tongban_map_failed() else { throw fail("v4l2_mmap") }
                mapped.append((start, Int(buffer.length)))
                guard tongban_v4l2_qbuf(descriptor, &buffer) == 0 else { throw fail("VIDIOC_QBUF") }
            }
            guard tongban_v4l2_streamon(descriptor, Int32(Self.captureType)) == 0 else { throw fail("VIDIOC_STREAMON") }
        } catch {
            releaseBuffers()
            throw error
        }
        streaming = true
    }

    /// Waits up to `timeoutMilliseconds` for the next frame, hands its bytes to `body` and gives the buffer back.
    public func nextFrame<T>(timeoutMilliseconds: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&waiting, 1, timeoutMilliseconds)
        if ready < 0 && tongban_errno() != EINTR { throw fail("poll") }
        if ready == 0 { throw V4L2Error(call: "poll (no frame within \(timeoutMilliseconds) ms)", device: path, errno: ETIMEDOUT) }
        if waiting.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && waiting.revents & Int16(POLLIN) == 0 {
            throw V4L2Error(call: "poll", device: path, errno: ENODEV)
        }
        var buffer = Self.buffer(index: 0)
        guard tongban_v4l2_dqbuf(descriptor, &buffer) == 0 else { throw fail("VIDIOC_DQBUF") }
        defer { _ = tongban_v4l2_qbuf(descriptor, &buffer) }
        let index = Int(buffer.index)
        guard index < mapped.count else { throw V4L2Error(call: "VIDIOC_DQBUF (buffer \(index))", device: path, errno: EINVAL) }
        if buffer.flags & UInt32(V4L2_BUF_FLAG_ERROR) != 0 {
            throw V4L2Error(call: "VIDIOC_DQBUF (frame marked corrupt)", device: path, errno: EIO)
        }
        return try body(UnsafeRawBufferPointer(start: mapped[index].start, count: Int(buffer.bytesused)))
    }

    /// Stops the stream and frees its buffers (so the format can change, or another program can stream).
    public func stopStreaming() {
        if streaming { _ = tongban_v4l2_streamoff(descriptor, Int32(Self.captureType)) }
        streaming = false
        releaseBuffers()
    }

    private func releaseBuffers() {
        for buffer in mapped { _ = tongban_v4l2_munmap(buffer.start, buffer.length) }
        if !mapped.isEmpty {
            var request = v4l2_requestbuffers()
            request.type = Self.captureType
            request.memory = UInt32(V4L2_MEMORY_MMAP.rawValue)
            _ = tongban_v4l2_reqbufs(descriptor, &request)
        }
        mapped = []
    }

    private static func buffer(index: Int) -> v4l2_buffer {
        var buffer = v4l2_buffer()
        buffer.index = UInt32(index)
        buffer.type = captureType
        buffer.memory = UInt32(V4L2_MEMORY_MMAP.rawValue)
        return buffer
    }

    private static func string<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
