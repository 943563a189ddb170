// libzbar (QR code and Code 128 reading) — imported only by the ZBar wrapper.
#pragma once
#include <zbar.h>
