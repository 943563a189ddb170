import Foundation
import Glibc
import TurboJPEG
import V4L2

/// One frame as previews and captures use it: a whole JPEG.
public struct CameraFrame: Sendable {
    public var sequence: Int
    public var width: Int
    public var height: Int
    public var jpeg: [UInt8]
    /// The camera's own JPEG (MJPEG), passed through untouched rather than encoded here.
    public var passthrough: Bool

    public init(sequence: Int, width: Int, height: Int, jpeg: [UInt8], passthrough: Bool) {
        self.sequence = sequence
        self.width = width
        self.height = height
        self.jpeg = jpeg
        self.passthrough = passthrough
    }
}

/// The size and rate a client asks for; the camera's nearest offer is used.
public struct CameraModeRequest: Sendable, Hashable {
    public var width: Int?
    public var height: Int?
    public var framesPerSecond: Double?
    /// The largest size the camera has (stills).
    public var largest: Bool

    public init(width: Int? = nil, height: Int? = nil, framesPerSecond: Double? = nil, largest: Bool = false) {
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
        self.largest = largest
    }

    /// Previews default to 1280×720 or the nearest size offered.
    public static let preview = CameraModeRequest(width: 1280, height: 720, framesPerSecond: 15)
}

/// What a stream actually runs at.
public struct CameraMode: Sendable, Hashable, Codable {
    public var pixelFormat: String
    public var width: Int
    public var height: Int
    public var framesPerSecond: Double?
    /// True when frames are the camera's own JPEGs.
    public var passthrough: Bool
}

/// What a camera offers.
public struct CameraCapabilities: Sendable, Codable {
    public var formats: [V4L2FormatDescription]
    public var controls: [V4L2Control]
}

/// A failed camera operation, with the device and what the clerk can do.
public struct CameraError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case busy = "camera-busy", unplugged = "camera-unplugged", unsupported = "camera-format-unsupported"
        case noFrame = "camera-no-frame", failed = "camera-failed"
    }
    public var code: Code
    public var device: String
    public var detail: String

    public var description: String { "\(device): \(detail)" }

    /// Classifies a V4L2 error.
    init(_ error: V4L2Error, device: String) {
        self.device = device
        detail = error.description
        code = error.isBusy ? .busy : error.isGone ? .unplugged : error.errno == ETIMEDOUT ? .noFrame
            : error.errno == EINVAL ? .unsupported : .failed
    }

    init(_ code: Code, device: String, detail: String) {
        self.code = code
        self.device = device
        self.detail = detail
    }
}

/// Where a camera's frames come from. Used on its camera's own thread only: every call may block.
protocol FrameSource: AnyObject {
    func capabilities() throws(CameraError) -> CameraCapabilities
    /// Starts streaming in the offered mode nearest `request`.
    func start(_ request: CameraModeRequest) throws(CameraError) -> CameraMode
    /// The next frame, waiting up to a few seconds.
    func nextFrame() throws(CameraError) -> CameraFrame
    /// Stops streaming and lets the device go, so other programs (or a format change) can have it.
    func stop()
    /// Sets a control by its name (case-insensitive); returns the value kept.
    func setControl(name: String, value: Int) throws(CameraError) -> Int
}

extension FrameSource {
    /// A still at the largest size: streaming stops, the format switches, `settleFrames` frames are dropped while
    /// exposure settles, one is kept, streaming stops again. Returns it with the mode it was taken in.
    func still(settleFrames: Int) throws(CameraError) -> (frame: CameraFrame, mode: CameraMode) {
        stop()
        let mode = try start(CameraModeRequest(largest: true))
        defer { stop() }
        for _ in 0..<settleFrames { _ = try nextFrame() }
        return (try nextFrame(), mode)
    }
}

/// Picks the size nearest what was asked: the smallest area ratio, a size at least as large winning ties.
func nearestSize(_ sizes: [V4L2FrameSize], to request: CameraModeRequest) -> V4L2FrameSize? {
    if request.largest { return sizes.max { $0.width * $0.height < $1.width * $1.height } }
    let wanted = Double((request.width ?? 1280) * (request.height ?? 720))
    return sizes.min { a, b in
        let ra = abs(log(Double(a.width * a.height) / wanted)), rb = abs(log(Double(b.width * b.height) / wanted))
        return ra != rb ? ra < rb : a.width * a.height > b.width * b.height
    }
}

/// A V4L2 capture node. MJPEG is preferred and passed through; otherwise frames come as RGB (libv4l2 converts from
/// the device's own format) and are encoded here, once, whatever the number of viewers.
final class V4L2FrameSource: FrameSource {
    let path: String
    private var device: V4L2Device?
    private var mode: CameraMode?
    /// The device's formats, enumerated once (hundreds of ioctls on a camera with many sizes and rates): every
    /// preview start and every still chooses from them. A new source is made after a failure, so a different camera
    /// on the same node is enumerated afresh.
    private var knownFormats: [V4L2FormatDescription]?
    private var sequence = 0
    private let encoder: JPEGEncoder
    /// JPEG quality for frames encoded here.
    let quality: Int

    init(path: String, quality: Int) throws(CameraError) {
        self.path = path
        self.quality = quality
        do { encoder = try JPEGEncoder() } catch { throw CameraError(.failed, device: path, detail: "\(error)") }
    }

    private func opened() throws(CameraError) -> V4L2Device {
        if let device { return device }
        do {
            let device = try V4L2Device(path: path)
            self.device = device
            return device
        } catch { throw CameraError(error, device: path) }
    }

    private func formats(of device: V4L2Device) throws(V4L2Error) -> [V4L2FormatDescription] {
        if let knownFormats { return knownFormats }
        let formats = try device.formats()
        knownFormats = formats
        return formats
    }

    func capabilities() throws(CameraError) -> CameraCapabilities {
        let device = try opened()
        do { return CameraCapabilities(formats: try formats(of: device), controls: device.controls()) } catch {
            throw CameraError(error, device: path)
        }
    }

    func start(_ request: CameraModeRequest) throws(CameraError) -> CameraMode {
        let device = try opened()
        device.stopStreaming()
        do {
            let formats = try formats(of: device)
            // The device's own JPEG first (passed through), else RGB through libv4l2.
            let chosen = formats.first { !$0.emulated && PixelFormat(code: $0.pixelFormat)?.isJPEG == true && !$0.sizes.isEmpty }
                ?? formats.first { PixelFormat(code: $0.pixelFormat) == .rgb24 && !$0.sizes.isEmpty }
            guard let chosen, let pixelFormat = PixelFormat(code: chosen.pixelFormat), let size = nearestSize(chosen.sizes, to: request) else {
                throw CameraError(.unsupported, device: path,
                                  detail: "offers neither MJPEG nor a format libv4l2 converts to RGB (formats: \(formats.map(\.pixelFormat)))")
            }
            let actual = try device.setFormat(pixelFormat, width: size.width, height: size.height)
            let rate = request.framesPerSecond.map { wanted in size.framesPerSecond.min { abs($0 - wanted) < abs($1 - wanted) } ?? wanted }
            if let rate { device.setFramesPerSecond(rate) }
            try device.startStreaming()
            let mode = CameraMode(pixelFormat: actual.pixelFormat.description, width: actual.width, height: actual.height,
                                  framesPerSecond: rate, passthrough: actual.pixelFormat.isJPEG)
            self.mode = mode
            return mode
        } catch let error as CameraError {
            throw error
        } catch let error as V4L2Error {
            throw CameraError(error, device: path)
        } catch {
            throw CameraError(.failed, device: path, detail: "\(error)")
        }
    }

    func nextFrame() throws(CameraError) -> CameraFrame {
        guard let device, let mode, let format = device.format else {
            throw CameraError(.failed, device: path, detail: "not streaming")
        }
        sequence += 1
        do {
            return try device.nextFrame(timeoutMilliseconds: 3000) { bytes in
                if mode.passthrough {
                    return CameraFrame(sequence: sequence, width: mode.width, height: mode.height, jpeg: Array(bytes), passthrough: true)
                }
                guard bytes.count >= format.bytesPerLine * (format.height - 1) + format.width * 3 else {
                    throw CameraError(.failed, device: path, detail: "short frame: \(bytes.count) bytes for \(format.width)×\(format.height) RGB")
                }
                let jpeg = try encoder.encode(bytes.baseAddress!, width: format.width, height: format.height,
                                              stride: format.bytesPerLine, layout: .rgb, quality: quality)
                return CameraFrame(sequence: sequence, width: format.width, height: format.height, jpeg: jpeg, passthrough: false)
            }
        } catch let error as V4L2Error {
            throw CameraError(error, device: path)
        } catch let error as CameraError {
            throw error
        } catch {
            throw CameraError(.failed, device: path, detail: "\(error)")
        }
    }

    func stop() {
        device?.stopStreaming()
        device = nil  // closes it
        mode = nil
    }

    func setControl(name: String, value: Int) throws(CameraError) -> Int {
        let device = try opened()
        guard let control = device.controls().first(where: { $0.name.caseInsensitiveCompare(name) == .orderedSame }) else {
            throw CameraError(.unsupported, device: path, detail: "has no control named '\(name)' (it has: \(device.controls().map(\.name).joined(separator: ", ")))")
        }
        guard (control.minimum...control.maximum).contains(value) else {
            throw CameraError(.unsupported, device: path, detail: "\(control.name) takes \(control.minimum)…\(control.maximum), not \(value)")
        }
        do { return try device.setControl(id: control.id, value: value) } catch { throw CameraError(error, device: path) }
    }
}

/// The simulator's camera: pictures from files, each scene a JPEG file or a recorded MJPEG stream (JPEGs back to
/// back), served at a steady rate, bytes untouched. Its one control, "Scene", picks what lies under it.
final class PictureFrameSource: FrameSource {
    let name: String
    private let scenes: [(name: String, frames: [[UInt8]], width: Int, height: Int)]
    private var scene = 0
    private var index = 0
    private var sequence = 0
    private var interval: Double = 1.0 / 15
    private var nextAt = Date()
    private var streaming = false

    /// `scenes`: name and file (`.jpg` or `.mjpeg`) of each scene, the first shown at start.
    init(name: String, scenes: [(name: String, path: String)]) throws(CameraError) {
        self.name = name
        var loaded: [(String, [[UInt8]], Int, Int)] = []
        for (sceneName, path) in scenes {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CameraError(.failed, device: name, detail: "cannot read the picture \(path)")
            }
            let frames = Self.splitJPEGs(Array(data))
            guard let first = frames.first, let size = try? JPEGDecoder().dimensions(first) else {
                throw CameraError(.failed, device: name, detail: "\(path) holds no JPEG")
            }
            loaded.append((sceneName, frames, size.width, size.height))
        }
        guard !loaded.isEmpty else { throw CameraError(.failed, device: name, detail: "no scenes") }
        self.scenes = loaded
    }

    /// Cuts a recorded MJPEG stream into its JPEGs (each from its start-of-image to its end-of-image marker).
    static func splitJPEGs(_ bytes: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var start: Int?
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == 0xFF {
                let marker = bytes[index + 1]
                if marker == 0xD8 && start == nil { start = index }
                if marker == 0xD9, let begin = start {
                    frames.append(Array(bytes[begin...(index + 1)]))
                    start = nil
                    index += 2
                    continue
                }
                // Skip a marker segment's payload so bytes inside it (and entropy-coded data) are not misread.
                if start != nil, marker != 0xD8, marker != 0x00, marker != 0xFF, !(0xD0...0xD7).contains(marker), index + 3 < bytes.count,
                   marker != 0xDA {
                    index += 2 + (Int(bytes[index + 2]) << 8 | Int(bytes[index + 3]))
                    continue
                }
            }
            index += 1
        }
        return frames
    }

    func capabilities() throws(CameraError) -> CameraCapabilities {
        let sizes = Set(scenes.map { [$0.width, $0.height] }).map { V4L2FrameSize(width: $0[0], height: $0[1], framesPerSecond: [30, 15, 5]) }
        return CameraCapabilities(
            formats: [V4L2FormatDescription(pixelFormat: "MJPG", description: "Motion-JPEG (pictures)", compressed: true, emulated: false, sizes: sizes)],
            controls: [V4L2Control(id: 1, name: "Scene", type: "menu", minimum: 0, maximum: scenes.count - 1, step: 1, defaultValue: 0, value: scene,
                             menuItems: scenes.map(\.name))])
    }

    /// The scenes' names, in control order.
    var sceneNames: [String] { scenes.map(\.name) }

    func start(_ request: CameraModeRequest) throws(CameraError) -> CameraMode {
        interval = 1 / max(1, min(30, request.framesPerSecond ?? 15))
        nextAt = Date()
        streaming = true
        let current = scenes[scene]
        return CameraMode(pixelFormat: "MJPG", width: current.width, height: current.height, framesPerSecond: 1 / interval, passthrough: true)
    }

    func nextFrame() throws(CameraError) -> CameraFrame {
        guard streaming else { throw CameraError(.failed, device: name, detail: "not streaming") }
        let wait = nextAt.timeIntervalSinceNow
        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        nextAt = max(nextAt, Date().addingTimeInterval(-interval)).addingTimeInterval(interval)
        let current = scenes[scene]
        let frame = current.frames[index % current.frames.count]
        index += 1
        sequence += 1
        return CameraFrame(sequence: sequence, width: current.width, height: current.height, jpeg: frame, passthrough: true)
    }

    func stop() { streaming = false }

    func setControl(name control: String, value: Int) throws(CameraError) -> Int {
        guard control.caseInsensitiveCompare("Scene") == .orderedSame else {
            throw CameraError(.unsupported, device: name, detail: "has no control named '\(control)' (it has: Scene)")
        }
        guard scenes.indices.contains(value) else {
            throw CameraError(.unsupported, device: name, detail: "Scene takes 0…\(scenes.count - 1) (\(sceneNames.joined(separator: ", "))), not \(value)")
        }
        scene = value
        index = 0
        return value
    }
}

/// A V4L2 camera driven directly from the calling thread, for the command line (`tongban camera …`); the service
/// shares cameras through `CameraService` instead. Every call blocks.
public final class DirectCamera {
    private let source: V4L2FrameSource

    public init(path: String, quality: Int = 85) throws(CameraError) {
        source = try V4L2FrameSource(path: path, quality: quality)
    }

    public func capabilities() throws(CameraError) -> CameraCapabilities { try source.capabilities() }
    public func start(_ request: CameraModeRequest) throws(CameraError) -> CameraMode { try source.start(request) }
    public func nextFrame() throws(CameraError) -> CameraFrame { try source.nextFrame() }
    public func stop() { source.stop() }
    public func setControl(name: String, value: Int) throws(CameraError) -> Int { try source.setControl(name: name, value: value) }

    /// A still at the largest size, after `settleFrames` dropped frames; returns it with the mode it was taken in.
    public func still(settleFrames: Int) throws(CameraError) -> (frame: CameraFrame, mode: CameraMode) {
        try source.still(settleFrames: settleFrames)
    }
}
