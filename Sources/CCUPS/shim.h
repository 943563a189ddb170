// libcups 2 — imported only by the CUPS wrapper. bookworm ships no cups.pc: the module map links `cups`.
#pragma once
#include <cups/cups.h>
#include <cups/ipp.h>
