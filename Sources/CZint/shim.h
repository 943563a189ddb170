// libzint (Code 128, QR) — imported only by the Zint wrapper.
#pragma once
#include <zint.h>
