// SANE backends that read on a thread of their own (sanei_thread: libsane's test backend, and several real
// ones) switch that thread to PTHREAD_CANCEL_ASYNCHRONOUS, and sane_cancel() then pthread_cancel()s it. A thread
// cancelled asynchronously in the middle of malloc() or free() dies holding its malloc arena's lock; the next
// allocation in that arena, or the thread's own exit, waits on it forever, and sane_cancel() waits for the thread:
// the whole process hangs (seen in our tests as sane_test_cancel → sanei_thread_waitpid with the reader thread in
// __malloc_arena_thread_freeres).
//
// This definition of pthread_setcanceltype() interposes libc's for the dlopen()ed backends (the executables
// export it: Package.swift, --export-dynamic-symbol) and makes every cancellation deferred: the reader thread is
// then cancelled at its next cancellation point (read, write, usleep — where backends spend their time), never
// inside the allocator. Nothing else in Tongban uses asynchronous cancellation.
//
// The same reader threads also set SIGPIPE back to its default disposition as they start (sanei_thread's
// restore_sigpipe, on the new thread, so after sane_start has returned): a threaded process then dies of the next
// write to a socket whose other end has gone — a browser leaving a live camera preview, a reload of the console —
// with exit 141. SIGPIPE is therefore blocked in every thread, from before main (every thread inherits the mask of
// the thread that made it): such a write fails with EPIPE, which SwiftNIO handles, whatever the disposition.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "cancel_guard.h"

int pthread_setcanceltype(int type, int *oldtype) {
    static int (*libc_setcanceltype)(int, int *) = NULL;
    if (libc_setcanceltype == NULL) {
        libc_setcanceltype = (int (*)(int, int *))dlsym(RTLD_NEXT, "pthread_setcanceltype");
        if (libc_setcanceltype == NULL) return 0;
    }
    (void)type;
    return libc_setcanceltype(PTHREAD_CANCEL_DEFERRED, oldtype);
}

__attribute__((constructor)) static void tongban_block_sigpipe(void) {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int tongban_sane_cancel_guard_linked(void) { return 1; }
