// Keeps SANE backends' reader threads from being cancelled asynchronously — see cancel_guard.c.
#pragma once

/// Returns 1. The SANE wrapper calls it once so this object is linked into every program that uses SANE.
int tongban_sane_cancel_guard_linked(void);
