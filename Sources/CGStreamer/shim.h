// GStreamer 1.x with webrtcbin's library — imported only by the GStreamer wrapper.
// GObject's signal emission and property access are variadic, which Swift cannot call: each use the wrapper
// needs is one typed inline function here.
#pragma once
#include <gst/gst.h>
#define GST_USE_UNSTABLE_API 1
#include <gst/webrtc/webrtc.h>
#include <gst/sdp/sdp.h>

/// gst_init takes argc/argv pointers; the service has none to give.
static inline gboolean tongban_gst_init_check(GError **error) { return gst_init_check(NULL, NULL, error); }

/// Asks webrtcbin for an offer or an answer; the description arrives in the promise's reply.
static inline void tongban_webrtc_create(GstElement *webrtc, gboolean offer, GstPromise *promise) {
    g_signal_emit_by_name(webrtc, offer ? "create-offer" : "create-answer", NULL, promise);
}

/// Sets the local or the remote description (webrtcbin takes its own reference).
static inline void tongban_webrtc_set_description(GstElement *webrtc, gboolean local,
                                                  GstWebRTCSessionDescription *description, GstPromise *promise) {
    g_signal_emit_by_name(webrtc, local ? "set-local-description" : "set-remote-description", description, promise);
}

/// The session description in a create-offer/create-answer reply (`offer` or `answer`), or NULL; caller frees.
static inline GstWebRTCSessionDescription *tongban_promise_description(GstPromise *promise, const char *field) {
    const GstStructure *reply = gst_promise_get_reply(promise);
    GstWebRTCSessionDescription *description = NULL;
    if (reply != NULL && gst_structure_has_field(reply, field)) {
        gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &description, NULL);
    }
    return description;
}

/// The error a promise was answered with (webrtcbin answers failures with an `error` field), or NULL; caller frees.
static inline char *tongban_promise_error(GstPromise *promise) {
    const GstStructure *reply = gst_promise_get_reply(promise);
    GError *error = NULL;
    if (reply == NULL || !gst_structure_has_field(reply, "error")) return NULL;
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, NULL);
    if (error == NULL) return g_strdup("unknown error");
    char *message = g_strdup(error->message);
    g_error_free(error);
    return message;
}

/// A description from SDP text, or NULL when the text does not parse.
static inline GstWebRTCSessionDescription *tongban_description_from_text(GstWebRTCSDPType type, const char *text) {
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(text, &sdp) != GST_SDP_OK) return NULL;
    return gst_webrtc_session_description_new(type, sdp);
}

/// The SDP text of a description; caller frees with g_free.
static inline char *tongban_description_text(const GstWebRTCSessionDescription *description) {
    return gst_sdp_message_as_text(description->sdp);
}

/// webrtcbin's ICE gathering state (GstWebRTCICEGatheringState).
static inline int tongban_webrtc_gathering_state(GstElement *webrtc) {
    GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
    g_object_get(webrtc, "ice-gathering-state", &state, NULL);
    return (int)state;
}

/// webrtcbin's peer connection state (GstWebRTCPeerConnectionState).
static inline int tongban_webrtc_connection_state(GstElement *webrtc) {
    GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
    g_object_get(webrtc, "connection-state", &state, NULL);
    return (int)state;
}

/// The current local description (with the candidates gathered so far), or NULL; caller frees.
static inline GstWebRTCSessionDescription *tongban_webrtc_local_description(GstElement *webrtc) {
    GstWebRTCSessionDescription *description = NULL;
    g_object_get(webrtc, "local-description", &description, NULL);
    return description;
}

/// Called on a streaming thread when an element gets a new source pad (webrtcbin: a remote track).
typedef void (*TongbanPadAddedHandler)(GstElement *element, GstPad *pad, gpointer context);

static inline gulong tongban_connect_pad_added(GstElement *element, TongbanPadAddedHandler handler, gpointer context) {
    return g_signal_connect_data(element, "pad-added", G_CALLBACK(handler), context, NULL, (GConnectFlags)0);
}

/// Sets a string property (e.g. splitmuxsink's `location`).
static inline void tongban_set_string(GstElement *element, const char *name, const char *value) {
    g_object_set(element, name, value, NULL);
}

/// Sets a boolean property.
static inline void tongban_set_bool(GstElement *element, const char *name, gboolean value) {
    g_object_set(element, name, value, NULL);
}

/// The GstMessage's type, as a plain int (GstMessageType is a flags enum Swift imports awkwardly).
static inline int tongban_message_type(GstMessage *message) { return (int)GST_MESSAGE_TYPE(message); }

/// The name of the object that posted a message.
static inline const char *tongban_message_source_name(GstMessage *message) {
    return GST_MESSAGE_SRC(message) ? GST_OBJECT_NAME(GST_MESSAGE_SRC(message)) : "";
}

/// `media` and `encoding-name` of an RTP pad's caps (webrtcbin's remote tracks); NULL fields when unknown.
/// The strings live as long as `*caps_out`, which the caller unrefs.
static inline void tongban_rtp_pad_kind(GstPad *pad, GstCaps **caps_out, const char **media, const char **encoding) {
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (caps == NULL) caps = gst_pad_query_caps(pad, NULL);
    *caps_out = caps;
    *media = NULL;
    *encoding = NULL;
    if (caps == NULL || gst_caps_get_size(caps) == 0) return;
    const GstStructure *structure = gst_caps_get_structure(caps, 0);
    *media = gst_structure_get_string(structure, "media");
    *encoding = gst_structure_get_string(structure, "encoding-name");
}

/// Called for every buffer passing a pad (streaming thread); returns GST_PAD_PROBE_OK.
typedef GstPadProbeReturn (*TongbanBufferProbe)(GstPad *pad, GstPadProbeInfo *info, gpointer context);

static inline gulong tongban_add_buffer_probe(GstPad *pad, TongbanBufferProbe probe, gpointer context) {
    return gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, probe, context, NULL);
}
