// libusb-1.0 — imported only by the LibUSB wrapper.
#pragma once
#include <libusb.h>
