// libjpeg-turbo's TurboJPEG 2 API (bookworm has no tj3*) — imported only by the TurboJPEG wrapper.
#pragma once
#include <turbojpeg.h>
