import CGStreamer

/// A failed GStreamer call with the GError message.
public struct GStreamerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var message: String

    public var description: String { "\(call) failed: \(message)" }
}

/// GStreamer, the media engine of remote video assistance.
public enum GStreamer {
    /// The library's version string, e.g. `GStreamer 1.22.0`.
    public static var version: String {
        guard let raw = gst_version_string() else { return "unknown" }
        defer { g_free(raw) }
        return String(cString: raw)
    }

    /// Initialises GStreamer once per process (the first call builds the plugin registry, ~1 s).
    public static func initialise() throws(GStreamerError) {
        var error: UnsafeMutablePointer<GError>?
        guard tongban_gst_init_check(&error) != 0 else {
            let message = error.map { String(cString: $0.pointee.message) } ?? "unknown error"
            if let error { g_error_free(error) }
            throw GStreamerError(call: "gst_init_check", message: message)
        }
    }

    /// Whether an element factory (e.g. `webrtcbin`, `vp8enc`) is installed. Requires `initialise()`.
    public static func hasElement(_ name: String) -> Bool {
        guard let factory = gst_element_factory_find(name) else { return false }
        gst_object_unref(UnsafeMutableRawPointer(factory))
        return true
    }
}
