// libv4l2 + V4L2 UAPI — imported only by the V4L2 wrapper.
// Swift cannot import the variadic v4l2_open/v4l2_ioctl nor the _IOWR-built VIDIOC_* macros: small helpers here.
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/videodev2.h>
#include <libv4l2.h>

static inline int tongban_v4l2_open(const char *path, int flags) { return v4l2_open(path, flags); }
static inline int tongban_v4l2_close(int fd) { return v4l2_close(fd); }
static inline int tongban_errno(void) { return errno; }

static inline int tongban_v4l2_querycap(int fd, struct v4l2_capability *cap) {
    return v4l2_ioctl(fd, VIDIOC_QUERYCAP, cap);
}
/// VIDIOC_QUERYCAP on a plain fd: the device as it is, without libv4l2's plugins (whose mplane plugin
/// presents a multi-planar device as single-planar).
static inline int tongban_querycap_raw(int fd, struct v4l2_capability *cap) {
    return ioctl(fd, VIDIOC_QUERYCAP, cap);
}
static inline int tongban_v4l2_enum_fmt(int fd, struct v4l2_fmtdesc *desc) {
    return v4l2_ioctl(fd, VIDIOC_ENUM_FMT, desc);
}
static inline int tongban_v4l2_enum_framesizes(int fd, struct v4l2_frmsizeenum *size) {
    return v4l2_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, size);
}
