// Leptonica — imported only by the Leptonica wrapper.
#pragma once
#include <leptonica/allheaders.h>
