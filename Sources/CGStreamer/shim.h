// GStreamer 1.x — imported only by the GStreamer wrapper.
#pragma once
#include <gst/gst.h>

/// gst_init takes argc/argv pointers; the service has none to give.
static inline gboolean tongban_gst_init_check(GError **error) { return gst_init_check(NULL, NULL, error); }
