// libtesseract's C API (text recognition) — imported only by the Tesseract wrapper.
#pragma once
#include <tesseract/capi.h>
