// glibc's malloc tuning (malloc.h is not in Swift's Glibc module) — imported only by the tongban executable.
#pragma once
#include <malloc.h>

/// Keeps allocations of `bytes` and more in their own mappings (and stops glibc raising the threshold by itself).
static inline int tongban_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
