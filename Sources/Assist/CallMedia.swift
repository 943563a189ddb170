import Foundation
import NIOConcurrencyHelpers
import GStreamer
import TongbanCore

/// Where a counter's picture and sound come from, and how they are encoded (once, for the call and the recording).
public struct MediaSettings: Sendable, Equatable {
    /// V4L2 node of the webcam; `nil`: a moving test pattern (the demo, tests).
    public var webcam: String?
    /// The headset microphone: `alsa:DEVICE` captures from ALSA directly (`alsa:plughw:CARD=Headset` — what a system
    /// service without a sound server uses), anything else is a PulseAudio/PipeWire source (`default`); `nil`: a test tone.
    public var microphone: String?
    public var width: Int
    public var height: Int
    public var framesPerSecond: Int
    /// VP8 target bitrate in bits per second.
    public var videoBitrate: Int
    /// libvpx `cpu-used` (0 best … 16 fastest): the speed/quality trade-off measured in Benchmarks/results/assist.md.
    public var encoderSpeed: Int
    /// Keyframe at least this often (frames): the recording's segments start on keyframes, and splitmuxsink holds
    /// back one whole GOP before writing it — what a crash can lose. Default: every 2 seconds.
    public var keyframeInterval: Int
    /// Longest recording segment.
    public var segmentSeconds: Int
    /// The document camera shown as a second video when a call asks for it: a V4L2 node, `test` for a test pattern
    /// (the demo), nil for none.
    public var documentCamera: String?
    /// `stun://host:port` and `turn://user:password@host:port` for webrtcbin (none on the hall's LAN).
    public var stunServer: String?
    public var turnServer: String?

    public init(webcam: String? = nil, microphone: String? = nil, width: Int = 1280, height: Int = 720, framesPerSecond: Int = 30,
                videoBitrate: Int = 1_500_000, encoderSpeed: Int = 8, keyframeInterval: Int? = nil, segmentSeconds: Int = 60,
                stunServer: String? = nil, turnServer: String? = nil, documentCamera: String? = nil) {
        self.documentCamera = documentCamera
        self.stunServer = stunServer
        self.turnServer = turnServer
        self.webcam = webcam
        self.microphone = microphone
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
        self.videoBitrate = videoBitrate
        self.encoderSpeed = encoderSpeed
        self.keyframeInterval = keyframeInterval ?? 2 * framesPerSecond
        self.segmentSeconds = segmentSeconds
    }
}

/// A counter's media in a call: webcam and microphone encoded once (VP8, Opus), `tee`d to `webrtcbin` — published
/// into the Janus room — and to keyframe-aligned WebM segments (`splitmuxsink`) on disk.
public final class CallMedia: @unchecked Sendable {
    public let pipeline: Pipeline
    public let endpoint: WebRTCEndpoint
    /// The folder the segments are written to.
    public let recordingDirectory: String
    private let lock = NSLock()
    private var fragmentsClosed = 0
    /// Recorders whose last segment `finish` waits for (the webcam's, and the document camera's when sent).
    private let recorders: Int
    private var firstError: BusMessage?
    private var busReader: Task<Void, Never>?

    /// The launch description (pure; tested without GStreamer running).
    /// The RTP caps name their SSRC so the SDP carries `a=ssrc` lines: Janus routes a publisher's packets by them
    /// (without, it drops them as "unknown SSRC").
    /// With `withDocument` (and a document camera configured) the document camera is a second video: encoded once at
    /// up to 15 fps (paper does not move), sent as a second track, recorded to `own-document-*.webm`.
    public static func description(_ settings: MediaSettings, segmentPattern: String, withDocument: Bool = false,
                                   videoSSRC: UInt32 = 0x5456_0001, audioSSRC: UInt32 = 0x5441_0001,
                                   documentSSRC: UInt32 = 0x5444_0001) -> String {
        let ice = (settings.stunServer.map { " stun-server=\"\($0)\"" } ?? "") + (settings.turnServer.map { " turn-server=\"\($0)\"" } ?? "")
        return """
        webrtcbin name=peer bundle-policy=max-bundle\(ice) \
        splitmuxsink name=recorder muxer-factory=webmmux location="\(segmentPattern)" max-size-time=\(UInt64(settings.segmentSeconds) * 1_000_000_000) \
        \(encodedVideo(settings)) ! tee name=videotee \
        videotee. ! queue ! rtpvp8pay pt=96 ssrc=\(videoSSRC) picture-id-mode=15-bit ! \
        application/x-rtp,media=video,encoding-name=VP8,payload=96,ssrc=(uint)\(videoSSRC) ! peer. \
        videotee. ! queue ! recorder.video \
        \(encodedAudio(settings)) ! tee name=audiotee \
        audiotee. ! queue ! rtpopuspay pt=111 ssrc=\(audioSSRC) ! \
        application/x-rtp,media=audio,encoding-name=OPUS,payload=111,ssrc=(uint)\(audioSSRC) ! peer. \
        audiotee. ! queue ! recorder.audio_0
        """ + (withDocument ? documentBranch(settings, segmentPattern: segmentPattern, ssrc: documentSSRC) : "")
    }

    /// The webcam (or its test pattern) encoded as in a call: VP8 in real time, keyframes for the segments.
    static func encodedVideo(_ settings: MediaSettings) -> String {
        encodedCamera(settings.webcam ?? "test", testPattern: "ball", settings, framesPerSecond: settings.framesPerSecond,
                      bitrate: settings.videoBitrate, keyframeInterval: settings.keyframeInterval)
    }

    /// A camera (V4L2 node, or `test` for `testPattern`) scaled to the call's size at `framesPerSecond` and encoded
    /// VP8 in real time; late frames are dropped before the encoder rather than delaying the call.
    static func encodedCamera(_ camera: String, testPattern: String, _ settings: MediaSettings, framesPerSecond: Int,
                              bitrate: Int, keyframeInterval: Int) -> String {
        let source = camera == "test" ? "videotestsrc is-live=true pattern=\(testPattern)"
            : "v4l2src device=\"\(camera)\" ! videoconvert ! videoscale ! videorate"
        return """
        \(source) ! video/x-raw,width=\(settings.width),height=\(settings.height),framerate=\(framesPerSecond)/1 ! \
        queue max-size-buffers=2 leaky=downstream ! \
        vp8enc deadline=1 cpu-used=\(settings.encoderSpeed) target-bitrate=\(bitrate) keyframe-max-dist=\(keyframeInterval) \
        threads=2 error-resilient=partitions end-usage=cbr
        """
    }

    /// The microphone (or its test tone) encoded as in a call: Opus, 48 kHz mono.
    static func encodedAudio(_ settings: MediaSettings) -> String {
        let source = settings.microphone.map(microphoneSource) ?? "audiotestsrc is-live=true wave=sine freq=440 volume=0.2"
        return "\(source) ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ! opusenc bitrate=32000"
    }

    /// Records `seconds` of the webcam and microphone, encoded as in a call, into one WebM `file` — no call, no
    /// video server: what `tongban assist check` runs to show an installer that the devices work for the service
    /// user. Throws the first error an element reported (the webcam missing, the microphone refused).
    public static func recordCheck(_ settings: MediaSettings, to file: String, seconds: Double) async throws(GStreamerError) {
        // Unbounded queues before the muxer: a few seconds wait in memory while a slow encoder catches up, instead of
        // a live source blocking on a full queue.
        let unbounded = "queue max-size-buffers=0 max-size-bytes=0 max-size-time=0"
        let pipeline = try Pipeline("""
            webmmux name=mux ! filesink location="\(file)" \
            \(encodedVideo(settings)) ! \(unbounded) ! mux. \
            \(encodedAudio(settings)) ! \(unbounded) ! mux.
            """)
        var failure: GStreamerError?
        do {
            try await pipeline.run(for: .milliseconds(Int(seconds * 1000)))
        } catch {
            failure = error
        }
        // Stopping blocks briefly: not on the cooperative pool.
        let stopper = DedicatedThread(name: "assist-check")
        await stopper.perform { pipeline.stop() }
        stopper.stop()
        if let failure { throw failure }
    }

    /// The GStreamer source for `assist.microphone` (see `MediaSettings.microphone`).
    static func microphoneSource(_ microphone: String) -> String {
        microphone.hasPrefix("alsa:") ? "alsasrc device=\"\(microphone.dropFirst(5))\"" : "pulsesrc device=\"\(microphone)\""
    }

    static func documentBranch(_ settings: MediaSettings, segmentPattern: String, ssrc: UInt32) -> String {
        guard let camera = settings.documentCamera else { return "" }
        let pattern = segmentPattern.replacingOccurrences(of: "own-", with: "own-document-")
        let encoded = encodedCamera(camera, testPattern: "smpte", settings, framesPerSecond: min(15, settings.framesPerSecond),
                                    bitrate: settings.videoBitrate * 2 / 3, keyframeInterval: 30)
        return """
         splitmuxsink name=documentrecorder muxer-factory=webmmux location="\(pattern)" \
        max-size-time=\(UInt64(settings.segmentSeconds) * 1_000_000_000) \
        \(encoded) ! tee name=documenttee \
        documenttee. ! queue ! rtpvp8pay pt=96 ssrc=\(ssrc) picture-id-mode=15-bit ! \
        application/x-rtp,media=video,encoding-name=VP8,payload=96,ssrc=(uint)\(ssrc) ! peer. \
        documenttee. ! queue ! documentrecorder.video
        """
    }

    /// Builds the pipeline; segments go to `recordingDirectory/own-00000.webm`, ….
    public init(_ settings: MediaSettings, recordingDirectory: String, withDocument: Bool = false) throws(GStreamerError) {
        try? FileManager.default.createDirectory(atPath: recordingDirectory, withIntermediateDirectories: true)
        self.recordingDirectory = recordingDirectory
        recorders = withDocument && settings.documentCamera != nil ? 2 : 1
        pipeline = try Pipeline(Self.description(settings, segmentPattern: "\(recordingDirectory)/own-%05d.webm", withDocument: withDocument,
                                                 videoSSRC: UInt32.random(in: 1...UInt32.max), audioSSRC: UInt32.random(in: 1...UInt32.max),
                                                 documentSSRC: UInt32.random(in: 1...UInt32.max)))
        endpoint = try WebRTCEndpoint(pipeline, name: "peer")
        let messages = pipeline.messages
        busReader = Task { [weak self] in
            for await message in messages {
                guard let self else { return }
                switch message {
                case .element(_, "splitmuxsink-fragment-closed", _):
                    self.lock.withLock { self.fragmentsClosed += 1 }
                case .error:
                    self.lock.withLock { if self.firstError == nil { self.firstError = message } }
                default:
                    break
                }
            }
        }
    }

    deinit { busReader?.cancel() }

    /// The first error an element reported (the webcam unplugged, the encoder failed), if any.
    public var error: BusMessage? { lock.withLock { firstError } }

    /// Starts capturing and encoding (the recording starts with it).
    public func start() throws(GStreamerError) {
        try pipeline.play()
    }

    /// Ends the recording cleanly — end-of-stream makes the muxer write the last segment's index — and stops the
    /// pipeline. With webrtcbin in the pipeline the bus's EOS may never come: the recorder's
    /// `splitmuxsink-fragment-closed` for the last segment is what is waited for (at most `timeout`).
    /// Blocking: call it on a thread of its own.
    public func finish(timeout: Duration = .seconds(5)) -> [String] {
        let closedBefore = lock.withLock { fragmentsClosed }
        pipeline.sendEndOfStream()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, lock.withLock({ fragmentsClosed }) < closedBefore + recorders {
            Thread.sleep(forTimeInterval: 0.05)
        }
        pipeline.stop()
        return recordedFiles(in: recordingDirectory, prefix: "own-")
    }
}

/// The other side's media in a call, received from Janus (a subscription to its feed) and recorded as it arrives:
/// VP8 and Opus depayloaded into one WebM file per track, without decoding or re-encoding.
public final class RemoteMedia: @unchecked Sendable {
    public let pipeline: Pipeline
    public let endpoint: WebRTCEndpoint
    public let recordingDirectory: String
    private let lock = NSLock()
    private var problems: [String] = []
    private var busReader: Task<Void, Never>?
    /// Remote tracks seen per kind (pad-added runs on streaming threads).
    private let trackCounts = NIOLockedValueBox<[String: Int]>([:])

    /// The route of each remote track (pure): depayloaded and muxed as it is. `index` counts the tracks of the
    /// same kind (a second video is the other side's document camera: `remote-video-2.webm`).
    public static func route(_ stream: IncomingStream, index: Int, directory: String) -> StreamRoute? {
        let suffix = index > 1 ? "-\(index)" : ""
        switch (stream.media, stream.encodingName.uppercased()) {
        case ("video", "VP8"): return StreamRoute(bin: "rtpvp8depay ! webmmux ! filesink location=\"\(directory)/remote-video\(suffix).webm\"")
        case ("audio", "OPUS"):
            return StreamRoute(bin: "rtpopusdepay ! opusparse ! webmmux ! filesink location=\"\(directory)/remote-audio\(suffix).webm\"")
        default: return nil
        }
    }

    /// Builds the receiving pipeline; tracks go to `recordingDirectory/remote-video.webm` and `remote-audio.webm`.
    public init(recordingDirectory: String) throws(GStreamerError) {
        try? FileManager.default.createDirectory(atPath: recordingDirectory, withIntermediateDirectories: true)
        self.recordingDirectory = recordingDirectory
        pipeline = try Pipeline("webrtcbin name=remote bundle-policy=max-bundle")
        endpoint = try WebRTCEndpoint(pipeline, name: "remote")
        endpoint.routeIncomingStreams(in: pipeline, onProblem: { [weak self] problem in
            self?.lock.withLock { self?.problems.append(problem) }
        }) { [trackCounts] stream in
            let index = trackCounts.withLockedValue { counts in
                counts[stream.media, default: 0] += 1
                return counts[stream.media]!
            }
            return Self.route(stream, index: index, directory: recordingDirectory)
        }
        let messages = pipeline.messages
        busReader = Task { [weak self] in
            for await message in messages {
                guard let self else { return }
                if case .error(let source, let text, _) = message { self.lock.withLock { self.problems.append("\(source): \(text)") } }
            }
        }
    }

    deinit { busReader?.cancel() }

    /// What went wrong receiving or recording (an unsupported codec, a link that failed, an element error).
    public var errors: [String] { lock.withLock { problems } }

    /// The remote tracks being recorded.
    public var streams: [IncomingStream] { endpoint.incomingStreams }

    /// Time since the other side's last packet arrived (nil before the first).
    public var silence: Duration? { endpoint.incomingSilence }

    public func start() throws(GStreamerError) { try pipeline.play() }

    /// Ends the recording — end-of-stream through each track's muxer, which writes its index before this
    /// returns — stops the pipeline and returns the files written. Blocking.
    public func finish() -> [String] {
        endpoint.endIncomingStreams()
        pipeline.stop()
        return recordedFiles(in: recordingDirectory, prefix: "remote-")
    }
}


/// The WebM files a recorder wrote in `directory` whose names start with `prefix`, in order.
func recordedFiles(in directory: String, prefix: String) -> [String] {
    let written = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return written.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".webm") }.sorted().map { "\(directory)/\($0)" }
}
