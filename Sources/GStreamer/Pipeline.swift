import CGStreamer
import Foundation

/// What a pipeline's bus reports, as Swift values (the GstMessage is released on the bus thread).
public enum BusMessage: Sendable, Equatable {
    /// An element failed: the pipeline cannot go on.
    case error(source: String, message: String, debug: String?)
    case warning(source: String, message: String)
    /// Every sink received end-of-stream.
    case endOfStream
    /// An element's own message, by structure name, with its string fields (e.g. `splitmuxsink-fragment-closed`
    /// with `location`).
    case element(source: String, name: String, fields: [String: String])
}

/// A GStreamer pipeline built from a launch description. It owns its reference; its bus is read on a thread of
/// its own and surfaced as `messages`, so no GLib main loop and no cooperative thread is ever blocked on it.
public final class Pipeline: @unchecked Sendable {
    let pipeline: UnsafeMutablePointer<GstElement>
    /// Everything the bus reports, in order; finishes when the pipeline is stopped.
    public let messages: AsyncStream<BusMessage>
    private let continuation: AsyncStream<BusMessage>.Continuation
    private let lock = NSLock()
    private var running = true
    private var busThread: Thread?
    private let busStopped = DispatchSemaphore(value: 0)
    /// Objects whose lifetime must cover the pipeline's (signal handlers' contexts).
    private var retained: [AnyObject] = []

    /// Parses the description (`gst_parse_launch`); an element that is not installed or a link that cannot be made
    /// is an error naming it.
    public init(_ description: String) throws(GStreamerError) {
        try GStreamer.initialise()
        var error: UnsafeMutablePointer<GError>?
        // PLACE_IN_BIN: a description of one element still gives a pipeline (with a bus), not the bare element.
        let element = gst_parse_launch_full(description, nil, GST_PARSE_FLAG_PLACE_IN_BIN, &error)
        if let error {
            let message = String(cString: error.pointee.message)
            g_error_free(error)
            if let element { gst_object_unref(UnsafeMutableRawPointer(element)) }
            throw GStreamerError(call: "gst_parse_launch", message: message)
        }
        guard let parsed = element else { throw GStreamerError(call: "gst_parse_launch", message: "no pipeline") }
        // One element comes back in a plain bin, which has no bus: it goes into a pipeline of its own.
        if let bus = gst_element_get_bus(parsed) {
            gst_object_unref(UnsafeMutableRawPointer(bus))
            pipeline = parsed
        } else {
            let top = gst_pipeline_new(nil)!
            _ = gst_bin_add(UnsafeMutableRawPointer(top).assumingMemoryBound(to: GstBin.self), parsed)
            pipeline = top
        }
        (messages, continuation) = AsyncStream.makeStream(of: BusMessage.self, bufferingPolicy: .unbounded)
        let bus = BusReference(bus: gst_element_get_bus(pipeline)!)
        let thread = Thread { [continuation, busStopped, weak self] in
            defer {
                gst_object_unref(UnsafeMutableRawPointer(bus.bus))
                continuation.finish()
                busStopped.signal()
            }
            while self?.isRunning ?? false {
                guard let message = gst_bus_timed_pop(bus.bus, 100_000_000) else { continue }
                defer { gst_mini_object_unref(UnsafeMutableRawPointer(message).assumingMemoryBound(to: GstMiniObject.self)) }
                if let converted = Self.convert(message) { continuation.yield(converted) }
            }
        }
        thread.name = "gst-bus"
        busThread = thread
        thread.start()
    }

    private var isRunning: Bool { lock.withLock { running } }

    deinit {
        stop()
        gst_object_unref(UnsafeMutableRawPointer(pipeline))
    }

    /// Starts the pipeline (`GST_STATE_PLAYING`).
    public func play() throws(GStreamerError) {
        if gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE {
            throw GStreamerError(call: "gst_element_set_state(PLAYING)", message: "an element refused to start (see the bus error)")
        }
    }

    /// Sends end-of-stream into the pipeline: muxers write their trailers, then the bus reports `endOfStream`.
    /// Returns at once: a live source takes the event only once its streaming thread lets go of the pad (it may be
    /// waiting on a full queue), so it is sent from a thread of its own and callers' timeouts still hold.
    public func sendEndOfStream() {
        Thread.detachNewThread { [self] in _ = gst_element_send_event(pipeline, gst_event_new_eos()) }
    }

    /// Plays for `duration`, then ends the stream and waits (up to `endOfStreamTimeout`) until every sink has it —
    /// for pipelines that write a file (the muxer writes its index at end-of-stream). The first error an element
    /// posts ends the run and is thrown, naming the element. Reads `messages`: use it on a pipeline nobody else reads.
    public func run(for duration: Duration, endOfStreamTimeout: Duration = .seconds(10)) async throws(GStreamerError) {
        let verdict = Task { [messages] () -> BusMessage? in
            for await message in messages {
                if case .error = message { return message }
                if message == .endOfStream { return message }
            }
            return nil
        }
        func awaitVerdict(within limit: Duration) async -> BusMessage? {
            let deadline = Task {
                try? await Task.sleep(for: limit)
                verdict.cancel()
            }
            defer { deadline.cancel() }
            return await verdict.value
        }
        func thrown(_ message: BusMessage?) -> GStreamerError? {
            guard case .error(let source, let text, let debug)? = message else { return nil }
            return GStreamerError(call: source, message: text + (debug.map { " (\($0))" } ?? ""))
        }
        do {
            try play()
        } catch {
            // The element's own error (no such device, permission denied) is on the bus and says more.
            throw thrown(await awaitVerdict(within: .seconds(2))) ?? error
        }
        try? await Task.sleep(for: duration)
        sendEndOfStream()
        let ending = await awaitVerdict(within: endOfStreamTimeout)
        if let error = thrown(ending) { throw error }
        guard ending == .endOfStream else {
            throw GStreamerError(call: "gst_element_send_event(EOS)", message: "the stream did not end within \(endOfStreamTimeout) of end-of-stream")
        }
    }

    /// Stops the pipeline (`GST_STATE_NULL`) and its bus thread; idempotent. Blocks briefly: call it from a
    /// thread of its own or where blocking is fine.
    public func stop() {
        let wasRunning = lock.withLock {
            defer { running = false }
            return running
        }
        guard wasRunning else { return }
        gst_element_set_state(pipeline, GST_STATE_NULL)
        if busThread != nil { busStopped.wait() }
    }

    func retain(_ object: AnyObject) { lock.withLock { retained.append(object) } }

    /// An element of the pipeline by its `name=` (a new reference, released by the returned wrapper).
    public func element(named name: String) -> Element? {
        let bin = UnsafeMutableRawPointer(pipeline).assumingMemoryBound(to: GstBin.self)
        return gst_bin_get_by_name(bin, name).map(Element.init(owning:))
    }

    static func convert(_ message: UnsafeMutablePointer<GstMessage>) -> BusMessage? {
        let source = String(cString: tongban_message_source_name(message))
        switch tongban_message_type(message) {
        case GST_MESSAGE_ERROR.rawValue, GST_MESSAGE_WARNING.rawValue:
            var error: UnsafeMutablePointer<GError>?
            var debug: UnsafeMutablePointer<gchar>?
            let isError = tongban_message_type(message) == GST_MESSAGE_ERROR.rawValue
            if isError { gst_message_parse_error(message, &error, &debug) } else { gst_message_parse_warning(message, &error, &debug) }
            let text = error.map { String(cString: $0.pointee.message) } ?? "unknown"
            let details = debug.map { String(cString: $0) }
            if let error { g_error_free(error) }
            if let debug { g_free(debug) }
            return isError ? .error(source: source, message: text, debug: details) : .warning(source: source, message: text)
        case GST_MESSAGE_EOS.rawValue:
            return .endOfStream
        case GST_MESSAGE_ELEMENT.rawValue:
            guard let structure = gst_message_get_structure(message) else { return nil }
            var fields: [String: String] = [:]
            for index in 0..<gst_structure_n_fields(structure) {
                guard let name = gst_structure_nth_field_name(structure, UInt32(index)),
                      let value = gst_structure_get_string(structure, name) else { continue }
                fields[String(cString: name)] = String(cString: value)
            }
            return .element(source: source, name: String(cString: gst_structure_get_name(structure)), fields: fields)
        default:
            return nil
        }
    }
}

/// The pipeline's bus, handed to the thread that reads it (GstBus is thread-safe).
private struct BusReference: @unchecked Sendable {
    let bus: UnsafeMutablePointer<GstBus>
}

/// One element, holding a reference of its own.
public final class Element: @unchecked Sendable {
    let element: UnsafeMutablePointer<GstElement>

    init(owning element: UnsafeMutablePointer<GstElement>) {
        self.element = element
    }

    deinit { gst_object_unref(UnsafeMutableRawPointer(element)) }

    public func setProperty(_ name: String, _ value: String) { tongban_set_string(element, name, value) }
    public func setProperty(_ name: String, _ value: Bool) { tongban_set_bool(element, name, value ? 1 : 0) }
}
