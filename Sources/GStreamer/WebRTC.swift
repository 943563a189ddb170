import CGStreamer
import Foundation

/// A `webrtcbin` in a pipeline: offers and answers exchanged as SDP text, without trickle — the description
/// handed out already carries every local candidate, which is what Janus and a browser both accept.
///
/// Every method blocks on GStreamer's promises (`gst_promise_wait`): call them on a thread of their own
/// (`DedicatedThread`), never on the cooperative pool.
public final class WebRTCEndpoint: @unchecked Sendable {
    let element: Element
    /// Pad-added routers (kept alive as long as the endpoint; the pipeline keeps its own reference too).
    var routers: [IncomingStreamRouter] = []

    /// The `webrtcbin` named `name` in `pipeline`.
    public init(_ pipeline: Pipeline, name: String) throws(GStreamerError) {
        guard let element = pipeline.element(named: name) else {
            throw GStreamerError(call: "gst_bin_get_by_name", message: "the pipeline has no element '\(name)'")
        }
        self.element = element
    }

    /// Whether webrtcbin's peer connection is `connected` (ICE and DTLS done).
    public var isConnected: Bool {
        tongban_webrtc_connection_state(element.element) == Int32(GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED.rawValue)
    }

    /// Whether the peer connection `failed` or was `closed`.
    public var hasFailed: Bool {
        let state = tongban_webrtc_connection_state(element.element)
        return state == Int32(GST_WEBRTC_PEER_CONNECTION_STATE_FAILED.rawValue)
            || state == Int32(GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED.rawValue)
    }

    /// Creates an offer for the pipeline's linked sources, sets it locally and returns it with every candidate.
    public func makeOffer(gatheringTimeout: Duration = .seconds(10)) throws(GStreamerError) -> String {
        let offer = try create(offer: true)
        defer { gst_webrtc_session_description_free(offer) }
        try setDescription(offer, local: true)
        return try localDescriptionWhenGathered(timeout: gatheringTimeout)
    }

    /// Takes the remote side's answer to our offer.
    public func acceptAnswer(_ sdp: String) throws(GStreamerError) {
        guard let answer = tongban_description_from_text(GST_WEBRTC_SDP_TYPE_ANSWER, sdp) else {
            throw GStreamerError(call: "gst_sdp_message_new_from_text", message: "the answer is not valid SDP")
        }
        defer { gst_webrtc_session_description_free(answer) }
        try setDescription(answer, local: false)
    }

    /// Takes the remote side's offer and returns our answer with every candidate.
    public func answer(offer sdp: String, gatheringTimeout: Duration = .seconds(10)) throws(GStreamerError) -> String {
        guard let offer = tongban_description_from_text(GST_WEBRTC_SDP_TYPE_OFFER, sdp) else {
            throw GStreamerError(call: "gst_sdp_message_new_from_text", message: "the offer is not valid SDP")
        }
        defer { gst_webrtc_session_description_free(offer) }
        try setDescription(offer, local: false)
        let answer = try create(offer: false)
        defer { gst_webrtc_session_description_free(answer) }
        try setDescription(answer, local: true)
        return try localDescriptionWhenGathered(timeout: gatheringTimeout)
    }

    private func create(offer: Bool) throws(GStreamerError) -> UnsafeMutablePointer<GstWebRTCSessionDescription> {
        let call = offer ? "create-offer" : "create-answer"
        let promise = gst_promise_new()!
        defer { gst_promise_unref(promise) }
        tongban_webrtc_create(element.element, offer ? 1 : 0, promise)
        guard gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED else {
            throw GStreamerError(call: call, message: "webrtcbin did not answer")
        }
        if let error = tongban_promise_error(promise) {
            defer { g_free(error) }
            throw GStreamerError(call: call, message: String(cString: error))
        }
        guard let description = tongban_promise_description(promise, offer ? "offer" : "answer") else {
            throw GStreamerError(call: call, message: "the reply holds no description")
        }
        return description
    }

    private func setDescription(_ description: UnsafeMutablePointer<GstWebRTCSessionDescription>, local: Bool) throws(GStreamerError) {
        let call = local ? "set-local-description" : "set-remote-description"
        let promise = gst_promise_new()!
        defer { gst_promise_unref(promise) }
        tongban_webrtc_set_description(element.element, local ? 1 : 0, description, promise)
        guard gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED else {
            throw GStreamerError(call: call, message: "webrtcbin did not answer")
        }
        if let error = tongban_promise_error(promise) {
            defer { g_free(error) }
            throw GStreamerError(call: call, message: String(cString: error))
        }
    }

    private func localDescriptionWhenGathered(timeout: Duration) throws(GStreamerError) -> String {
        let deadline = ContinuousClock.now + timeout
        while tongban_webrtc_gathering_state(element.element) != Int32(GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE.rawValue) {
            if ContinuousClock.now > deadline {
                throw GStreamerError(call: "ice-gathering-state", message: "ICE gathering did not complete within \(timeout)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        guard let description = tongban_webrtc_local_description(element.element) else {
            throw GStreamerError(call: "local-description", message: "webrtcbin has no local description")
        }
        defer { gst_webrtc_session_description_free(description) }
        guard let text = tongban_description_text(description) else {
            throw GStreamerError(call: "gst_sdp_message_as_text", message: "the local description has no SDP")
        }
        defer { g_free(text) }
        return String(cString: text)
    }
}
