// pango + cairo (PDF surface) — imported only by the PangoCairo wrapper.
#pragma once
#include <pango/pangocairo.h>
#include <cairo-pdf.h>
