// libtesseract's C API (text recognition) — imported only by the Tesseract wrapper.
#pragma once
#include <dlfcn.h>
#include <tesseract/capi.h>

// Debian's libtesseract runs its LSTM on OpenMP (libgomp), with `num_threads(4)` teams of its own. With one
// recogniser per imaging thread those teams only fight each other for two cores. OMP_THREAD_LIMIT would cap them,
// but libgomp reads it once, when it is loaded — before main. Setting the calling thread's max-active-levels to 0
// makes every parallel region it enters run on that thread alone (OpenMP 5: a region beyond the active levels is
// inactive). Looked up at run time: a Tesseract built without OpenMP has no libgomp, and then there is nothing to do.
// Returns 1 when the OpenMP runtime was told, 0 when there is none.
// (Looked up at every call, without a shared cache: a few microseconds against a page's hundreds of milliseconds.)
static inline int tongban_tesseract_keep_to_this_thread(void) {
    void (*set_max_active_levels)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_max_active_levels");
    if (!set_max_active_levels) return 0;
    set_max_active_levels(0);
    return 1;
}
