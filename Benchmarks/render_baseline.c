/* The named baseline for notice rendering: a one-off pango/cairo render of one A4 page — title, a paragraph, a
 * ruled 10-row table, a QR code and a Code 128 from libzint — to an in-memory PDF, the way a hand-written C
 * program would draw it. Prints the first render and the median of warm renders, in milliseconds. */
#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zint.h>

static cairo_status_t sink(void *closure, const unsigned char *data, unsigned int length) {
    (void)data; *(size_t *)closure += length; return CAIRO_STATUS_SUCCESS;
}

static void text(cairo_t *cr, const char *s, double x, double y, double w, int size, int bold, PangoAlignment align) {
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *font = pango_font_description_from_string("Noto Sans CJK SC");
    pango_font_description_set_absolute_size(font, size * PANGO_SCALE);
    if (bold) pango_font_description_set_weight(font, PANGO_WEIGHT_BOLD);
    pango_layout_set_font_description(layout, font);
    pango_layout_set_width(layout, (int)(w * PANGO_SCALE));
    pango_layout_set_alignment(layout, align);
    pango_layout_set_text(layout, s, -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout);
    pango_font_description_free(font);
    g_object_unref(layout);
}

static void barcode(cairo_t *cr, int symbology, const char *data, double x, double y, double w, double h) {
    struct zint_symbol *symbol = ZBarcode_Create();
    symbol->symbology = symbology; symbol->show_hrt = 0; symbol->input_mode = UNICODE_MODE;
    ZBarcode_Encode(symbol, (const unsigned char *)data, (int)strlen(data));
    ZBarcode_Buffer_Vector(symbol, 0);
    double sx = w / symbol->vector->width, sy = h / symbol->vector->height;
    for (struct zint_vector_rect *r = symbol->vector->rectangles; r; r = r->next)
        cairo_rectangle(cr, x + r->x * sx, y + r->y * sy, r->width * sx, r->height * sy);
    cairo_fill(cr);
    ZBarcode_Delete(symbol);
}

static double render(void) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    size_t bytes = 0;
    cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(sink, &bytes, 595.28, 841.89);
    cairo_t *cr = cairo_create(surface);
    barcode(cr, BARCODE_CODE128, "SX2026112200017", 51, 51, 140, 25);
    barcode(cr, BARCODE_QRCODE, "SX2026112200017", 490, 51, 54, 54);
    text(cr, "申请材料接收通知书", 51, 120, 493, 18, 1, PANGO_ALIGN_CENTER);
    text(cr, "　　你申请办理的食品经营许可证核发，属于太原市市场监督管理局的权限，我单位负责将你的申请材料在 2 日内转报到太原市市场监督管理局。",
         51, 160, 493, 12, 0, PANGO_ALIGN_LEFT);
    double widths[5] = {45, 225, 54, 54, 115}, y = 220;
    const char *header[5] = {"序号", "材料名称", "数量", "页数", "备注"};
    for (int row = 0; row <= 10; row++, y += 24) {
        double x = 51;
        for (int column = 0; column < 5; column++) {
            char cell[64];
            if (row == 0) snprintf(cell, sizeof cell, "%s", header[column]);
            else if (column == 0) snprintf(cell, sizeof cell, "%d", row);
            else if (column == 1) snprintf(cell, sizeof cell, "申请材料第%d项", row);
            else snprintf(cell, sizeof cell, "%s", column == 4 ? "" : "1");
            cairo_rectangle(cr, x, y, widths[column], 24);
            cairo_set_line_width(cr, 0.6);
            cairo_stroke(cr);
            text(cr, cell, x + 3, y + 4, widths[column] - 6, 10, row == 0, PANGO_ALIGN_CENTER);
            x += widths[column];
        }
    }
    text(cr, "单位：晋中市政务服务中心（章）\n2026年11月22日", 51, 520, 493, 12, 0, PANGO_ALIGN_RIGHT);
    cairo_show_page(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_surface_destroy(surface);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (bytes < 1000) { fprintf(stderr, "render produced %zu bytes\n", bytes); exit(1); }
    return (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
}

static int compare(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    int renders = argc > 1 ? atoi(argv[1]) : 30;
    double first = render(), warm[1000];
    if (renders > 1000) renders = 1000;
    for (int i = 0; i < renders; i++) warm[i] = render();
    qsort(warm, renders, sizeof(double), compare);
    printf("{\"firstMs\":%.3f,\"warmMedianMs\":%.3f}\n", first, warm[renders / 2]);
    return 0;
}
