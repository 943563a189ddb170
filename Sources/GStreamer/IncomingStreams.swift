import CGStreamer
import Foundation

/// A remote track arriving on webrtcbin: its RTP `media` (`video`, `audio`) and `encoding-name` (`VP8`, `OPUS`).
public struct IncomingStream: Sendable, Equatable {
    public var media: String
    public var encodingName: String
}

/// Where a remote track goes: a bin made from `bin` that ends in a sink of its own (e.g.
/// `rtpvp8depay ! webmmux ! filesink location=…`), so a track can arrive at any moment without renegotiating the
/// rest of the pipeline.
public struct StreamRoute: Sendable, Equatable {
    public var bin: String

    public init(bin: String) {
        self.bin = bin
    }
}

/// Links webrtcbin's remote tracks as they appear (`pad-added`, on a streaming thread).
final class IncomingStreamRouter: @unchecked Sendable {
    let pipeline: UnsafeMutablePointer<GstElement>
    let route: @Sendable (IncomingStream) -> StreamRoute?
    let onProblem: @Sendable (String) -> Void
    private let lock = NSLock()
    private(set) var linked: [IncomingStream] = []
    /// The routes' sink pads (own references), for ending them.
    private var entries: [UnsafeMutablePointer<GstPad>] = []
    /// When the last remote buffer arrived (any track).
    private var lastData: ContinuousClock.Instant?

    init(pipeline: UnsafeMutablePointer<GstElement>, route: @escaping @Sendable (IncomingStream) -> StreamRoute?,
         onProblem: @escaping @Sendable (String) -> Void) {
        self.pipeline = pipeline
        self.route = route
        self.onProblem = onProblem
    }

    var streams: [IncomingStream] { lock.withLock { linked } }

    /// Time since the last remote buffer; nil before the first.
    var silence: Duration? { lock.withLock { lastData.map { .now - $0 } } }

    func dataArrived() { lock.withLock { lastData = .now } }

    deinit {
        for pad in entries { gst_object_unref(UnsafeMutableRawPointer(pad)) }
    }

    /// Sends end-of-stream into every route, in the calling thread: a route without a queue has written its last
    /// data (a muxer its index) when this returns. Later buffers are refused.
    func endAll() {
        for pad in lock.withLock({ entries }) { _ = gst_pad_send_event(pad, gst_event_new_eos()) }
    }

    func padAdded(_ pad: UnsafeMutablePointer<GstPad>) {
        guard gst_pad_get_direction(pad) == GST_PAD_SRC else { return }
        var caps: UnsafeMutablePointer<GstCaps>?
        var media: UnsafePointer<CChar>?
        var encoding: UnsafePointer<CChar>?
        tongban_rtp_pad_kind(pad, &caps, &media, &encoding)
        defer { if let caps { gst_mini_object_unref(UnsafeMutableRawPointer(caps).assumingMemoryBound(to: GstMiniObject.self)) } }
        let stream = IncomingStream(media: media.map { String(cString: $0) } ?? "", encodingName: encoding.map { String(cString: $0) } ?? "")
        guard let route = route(stream) else { return }
        let pipelineBin = UnsafeMutableRawPointer(pipeline).assumingMemoryBound(to: GstBin.self)
        var error: UnsafeMutablePointer<GError>?
        guard let bin = gst_parse_bin_from_description(route.bin, 1, &error) else {
            let message = error.map { String(cString: $0.pointee.message) } ?? "unknown"
            if let error { g_error_free(error) }
            onProblem("gst_parse_bin_from_description(\(route.bin)) failed: \(message)")
            return
        }
        let binElement = UnsafeMutableRawPointer(bin).assumingMemoryBound(to: GstElement.self)
        _ = gst_bin_add(pipelineBin, binElement)
        guard let binSink = gst_element_get_static_pad(binElement, "sink") else {
            onProblem("the route for the remote \(stream.media) has no sink pad: \(route.bin)")
            return
        }
        _ = gst_element_sync_state_with_parent(binElement)
        guard gst_pad_link(pad, binSink) == GST_PAD_LINK_OK else {
            gst_object_unref(UnsafeMutableRawPointer(binSink))
            onProblem("could not link webrtcbin's remote \(stream.media) pad to \(route.bin)")
            return
        }
        _ = tongban_add_buffer_probe(pad, bufferProbeTrampoline, Unmanaged.passUnretained(self).toOpaque())
        lock.withLock { entries.append(binSink) }
        lock.withLock { linked.append(stream) }
    }
}

private let bufferProbeTrampoline: TongbanBufferProbe = { _, _, context in
    if let context { Unmanaged<IncomingStreamRouter>.fromOpaque(context).takeUnretainedValue().dataArrived() }
    return GST_PAD_PROBE_OK
}

private let padAddedTrampoline: TongbanPadAddedHandler = { _, pad, context in
    guard let pad, let context else { return }
    Unmanaged<IncomingStreamRouter>.fromOpaque(context).takeUnretainedValue().padAdded(pad)
}

extension WebRTCEndpoint {
    /// Links every remote track webrtcbin produces through `route` (no route: the track is left unlinked). The
    /// router lives as long as the pipeline. Call before the remote description is set.
    public func routeIncomingStreams(in pipeline: Pipeline, onProblem: @escaping @Sendable (String) -> Void = { _ in },
                                     _ route: @escaping @Sendable (IncomingStream) -> StreamRoute?) {
        let router = IncomingStreamRouter(pipeline: pipeline.pipeline, route: route, onProblem: onProblem)
        pipeline.retain(router)
        _ = tongban_connect_pad_added(element.element, padAddedTrampoline, Unmanaged.passUnretained(router).toOpaque())
        routers.append(router)
    }

    /// The remote tracks linked so far.
    public var incomingStreams: [IncomingStream] { routers.flatMap(\.streams) }

    /// How long no remote buffer arrived on any routed track (nil before the first one): the other side fell
    /// silent — it crashed or lost its network — long before any protocol says so.
    public var incomingSilence: Duration? { routers.compactMap(\.silence).min() }

    /// Ends every routed remote track (end-of-stream through its route, synchronously; see `StreamRoute`).
    public func endIncomingStreams() {
        for router in routers { router.endAll() }
    }
}
