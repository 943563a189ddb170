import Foundation
import Logging
import TongbanCore

/// One camera shared by every viewer and capture: a thread of its own streams while anyone watches, hands the
/// latest frame to each viewer (a slow viewer skips frames, never holds the others back), takes stills at the
/// camera's largest size between preview frames, and lets the device go a few seconds after the last viewer left.
final class LiveCamera: @unchecked Sendable {
    let id: String
    private let makeSource: () throws(CameraError) -> any FrameSource
    private let settleFrames: Int
    private let idleRelease: TimeInterval
    private let events: EventBus
    private let logger: Logger

    private enum Job {
        case still(CheckedContinuation<CameraFrame, any Error>)
        case control(name: String, value: Int, CheckedContinuation<Int, any Error>)
        case capabilities(CheckedContinuation<CameraCapabilities, any Error>)
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var viewers: [UUID: AsyncThrowingStream<CameraFrame, any Error>.Continuation] = [:]
    private var jobs: [Job] = []
    private var previewRequest = CameraModeRequest.preview
    private var currentMode: CameraMode?
    private var closed = false
    private var thread: Thread?

    /// `makeSource` runs on the camera's thread, when the device is first needed (and again after it failed).
    init(id: String, settleFrames: Int, idleRelease: TimeInterval, events: EventBus, logger: Logger,
         makeSource: @escaping () throws(CameraError) -> any FrameSource) {
        self.id = id
        self.settleFrames = settleFrames
        self.idleRelease = idleRelease
        self.events = events
        self.logger = logger
        self.makeSource = makeSource
    }

    /// The mode the preview streams in now (nil when not streaming).
    var mode: CameraMode? { condition.withLock { currentMode } }
    var viewerCount: Int { condition.withLock { viewers.count } }

    /// Frames for one viewer until it stops iterating or the camera fails. The first viewer's size and rate are used;
    /// later viewers share whatever runs.
    func frames(_ request: CameraModeRequest) -> AsyncThrowingStream<CameraFrame, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: CameraFrame.self, bufferingPolicy: .bufferingNewest(1))
        let viewer = UUID()
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.condition.withLock { _ = self.viewers.removeValue(forKey: viewer) }
        }
        condition.withLock {
            if viewers.isEmpty { previewRequest = request }
            viewers[viewer] = continuation
            startThreadIfNeeded()
            condition.broadcast()
        }
        return stream
    }

    /// A still at the camera's largest size: the preview pauses, the device switches, the first frames (while
    /// exposure settles) are dropped, and the preview resumes.
    func still() async throws -> CameraFrame {
        try await withCheckedThrowingContinuation { continuation in enqueue(.still(continuation)) }
    }

    func setControl(name: String, value: Int) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in enqueue(.control(name: name, value: value, continuation)) }
    }

    func capabilities() async throws -> CameraCapabilities {
        try await withCheckedThrowingContinuation { continuation in enqueue(.capabilities(continuation)) }
    }

    /// Ends every viewer and job and stops the thread.
    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    private func enqueue(_ job: Job) {
        condition.withLock {
            if closed {
                fail(job, CameraError(.failed, device: id, detail: "the service is stopping"))
                return
            }
            jobs.append(job)
            startThreadIfNeeded()
            condition.broadcast()
        }
    }

    /// Caller holds the lock.
    private func startThreadIfNeeded() {
        guard thread == nil else { return }
        let thread = Thread { [self] in run() }
        thread.name = "camera \(id)"
        self.thread = thread
        thread.start()
    }

    private func fail(_ job: Job, _ error: any Error) {
        switch job {
        case .still(let continuation): continuation.resume(throwing: error)
        case .control(_, _, let continuation): continuation.resume(throwing: error)
        case .capabilities(let continuation): continuation.resume(throwing: error)
        }
    }

    // MARK: The camera's thread

    private var source: (any FrameSource)?
    private var streaming: CameraMode?
    private var lastViewerAt = Date()

    private func run() {
        while true {
            condition.lock()
            if viewers.isEmpty && jobs.isEmpty && !closed {
                // Streaming with nobody watching: keep the device warm a little (the next capture is quick), then let go.
                _ = condition.wait(until: Date().addingTimeInterval(source == nil ? 3600 : 0.25))
            }
            let isClosed = closed
            let pending = jobs
            jobs = []
            let watching = !viewers.isEmpty
            let request = previewRequest
            if watching { lastViewerAt = Date() }
            condition.unlock()

            if isClosed {
                release()
                condition.withLock {
                    for job in jobs { fail(job, CameraError(.failed, device: id, detail: "the service is stopping")) }
                    jobs = []
                    for viewer in viewers.values { viewer.finish() }
                    viewers = [:]
                    thread = nil
                }
                return
            }
            for job in pending { handle(job) }
            if watching {
                previewFrame(request)
            } else if source != nil && Date().timeIntervalSince(lastViewerAt) >= idleRelease {
                release()
            }
        }
    }

    /// Controls the clerk set, applied again whenever the device is opened anew (drivers and the simulator may
    /// forget them when it is let go).
    private var controlsSet: [(name: String, value: Int)] = []

    private func openedSource() throws(CameraError) -> any FrameSource {
        if let source { return source }
        let made = try makeSource()
        for control in controlsSet { _ = try made.setControl(name: control.name, value: control.value) }
        source = made
        return made
    }

    private func previewFrame(_ request: CameraModeRequest) {
        do throws(CameraError) {
            let source = try openedSource()
            if streaming == nil {
                let mode = try source.start(request)
                streaming = mode
                condition.withLock { currentMode = mode }
                logger.info("camera streaming", metadata: ["camera": "\(id)", "mode": "\(mode.pixelFormat) \(mode.width)x\(mode.height)"])
                publish("camera.streaming", ["id": .string(id), "width": .number(Double(mode.width)), "height": .number(Double(mode.height)),
                                             "pixelFormat": .string(mode.pixelFormat), "passthrough": .bool(mode.passthrough)])
            }
            let frame = try source.nextFrame()
            condition.withLock { for viewer in viewers.values { viewer.yield(frame) } }
        } catch {
            logger.warning("camera failed", metadata: ["camera": "\(id)", "error": "\(error.description)"])
            publish("camera.error", ["id": .string(id), "code": .string(error.code.rawValue), "message": .string(error.description)])
            condition.withLock {
                for viewer in viewers.values { viewer.finish(throwing: error) }
                viewers = [:]
            }
            release(announce: false)
        }
    }

    private func handle(_ job: Job) {
        do throws(CameraError) {
            let source = try openedSource()
            switch job {
            case .still(let continuation):
                streaming = nil
                condition.withLock { currentMode = nil }
                continuation.resume(returning: try source.still(settleFrames: settleFrames).frame)
            case .control(let name, let value, let continuation):
                let kept = try source.setControl(name: name, value: value)
                controlsSet.removeAll { $0.name.caseInsensitiveCompare(name) == .orderedSame }
                controlsSet.append((name, kept))
                continuation.resume(returning: kept)
            case .capabilities(let continuation):
                continuation.resume(returning: try source.capabilities())
            }
        } catch {
            fail(job, error)
            publish("camera.error", ["id": .string(id), "code": .string(error.code.rawValue), "message": .string(error.description)])
            release(announce: false)
        }
    }

    private func release(announce: Bool = true) {
        guard let source else { return }
        source.stop()
        self.source = nil
        let wasStreaming = streaming != nil
        streaming = nil
        condition.withLock { currentMode = nil }
        if announce && wasStreaming { publish("camera.stopped", ["id": .string(id)]) }
    }

    private func publish(_ type: String, _ data: [String: JSONValue]) {
        let events = events
        Task { _ = await events.publish(type, json: .object(data)) }
    }
}
