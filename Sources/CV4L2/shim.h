// libv4l2 + V4L2 UAPI — imported only by the V4L2 wrapper.
// Swift cannot import the variadic v4l2_open/v4l2_ioctl nor the _IOWR-built VIDIOC_* macros: small helpers here.
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <poll.h>
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
static inline int tongban_v4l2_enum_frameintervals(int fd, struct v4l2_frmivalenum *interval) {
    return v4l2_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, interval);
}
static inline int tongban_v4l2_g_fmt(int fd, struct v4l2_format *format) { return v4l2_ioctl(fd, VIDIOC_G_FMT, format); }
static inline int tongban_v4l2_s_fmt(int fd, struct v4l2_format *format) { return v4l2_ioctl(fd, VIDIOC_S_FMT, format); }
static inline int tongban_v4l2_s_parm(int fd, struct v4l2_streamparm *parm) { return v4l2_ioctl(fd, VIDIOC_S_PARM, parm); }
static inline int tongban_v4l2_reqbufs(int fd, struct v4l2_requestbuffers *request) {
    return v4l2_ioctl(fd, VIDIOC_REQBUFS, request);
}
static inline int tongban_v4l2_querybuf(int fd, struct v4l2_buffer *buffer) { return v4l2_ioctl(fd, VIDIOC_QUERYBUF, buffer); }
static inline int tongban_v4l2_qbuf(int fd, struct v4l2_buffer *buffer) { return v4l2_ioctl(fd, VIDIOC_QBUF, buffer); }
static inline int tongban_v4l2_dqbuf(int fd, struct v4l2_buffer *buffer) { return v4l2_ioctl(fd, VIDIOC_DQBUF, buffer); }
static inline int tongban_v4l2_streamon(int fd, int type) { return v4l2_ioctl(fd, VIDIOC_STREAMON, &type); }
static inline int tongban_v4l2_streamoff(int fd, int type) { return v4l2_ioctl(fd, VIDIOC_STREAMOFF, &type); }
static inline int tongban_v4l2_queryctrl(int fd, struct v4l2_queryctrl *control) {
    return v4l2_ioctl(fd, VIDIOC_QUERYCTRL, control);
}
static inline int tongban_v4l2_g_ctrl(int fd, struct v4l2_control *control) { return v4l2_ioctl(fd, VIDIOC_G_CTRL, control); }
static inline int tongban_v4l2_s_ctrl(int fd, struct v4l2_control *control) { return v4l2_ioctl(fd, VIDIOC_S_CTRL, control); }
static inline void *tongban_v4l2_mmap(int fd, size_t length, long offset) {
    return v4l2_mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
}
static inline int tongban_v4l2_munmap(void *start, size_t length) { return v4l2_munmap(start, length); }
static inline void *tongban_map_failed(void) { return MAP_FAILED; }
/// The next-control flag for VIDIOC_QUERYCTRL enumeration (a macro Swift does not import as the right type).
static inline unsigned int tongban_v4l2_next_ctrl_flag(void) { return V4L2_CTRL_FLAG_NEXT_CTRL; }
