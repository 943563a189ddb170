// sane-backends — imported only by the SANE wrapper.
#pragma once
#include <sane/sane.h>
#include <sane/saneopts.h>

/// SANE_VERSION_CODE is a macro Swift cannot import.
static inline int tongban_sane_version_major(SANE_Int code) { return SANE_VERSION_MAJOR(code); }
static inline int tongban_sane_version_minor(SANE_Int code) { return SANE_VERSION_MINOR(code); }
static inline int tongban_sane_version_build(SANE_Int code) { return SANE_VERSION_BUILD(code); }
