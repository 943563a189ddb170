import CPangoCairo
import Foundation

/// Text layout (pango) and drawing (cairo) for the notices.
public enum PangoCairo {
    public static var pangoVersion: String { String(cString: pango_version_string()) }
    public static var cairoVersion: String { String(cString: cairo_version_string()) }

    /// The font families fontconfig offers to pango, e.g. `Noto Sans CJK SC`.
    public static func fontFamilies() -> [String] {
        guard let fontMap = pango_cairo_font_map_get_default() else { return [] }
        var families: UnsafeMutablePointer<UnsafeMutablePointer<PangoFontFamily>?>?
        var count: Int32 = 0
        pango_font_map_list_families(fontMap, &families, &count)
        defer { g_free(families) }
        return (0..<Int(count)).compactMap { index in
            families?[index].flatMap { pango_font_family_get_name($0) }.map { String(cString: $0) }
        }
    }
}

/// A failed cairo call, named, with cairo's status text.
public struct CairoError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var status: String

    public var description: String { "\(call) failed: \(status)" }

    public init(call: String, status: String) {
        self.call = call
        self.status = status
    }

    static func check(_ status: cairo_status_t, _ call: String) throws(CairoError) {
        guard status != CAIRO_STATUS_SUCCESS else { return }
        throw CairoError(call: call, status: String(cString: cairo_status_to_string(status)))
    }
}

/// How a run of text is set: font family, size in points, weight, alignment inside its box.
public struct TextStyle: Sendable, Hashable {
    public enum Alignment: String, Sendable, Hashable, Codable { case left, center, right }

    public var family: String
    public var size: Double
    public var bold: Bool
    public var alignment: Alignment
    /// Extra space between lines, in points.
    public var lineSpacing: Double

    public init(family: String, size: Double, bold: Bool = false, alignment: Alignment = .left, lineSpacing: Double = 0) {
        self.family = family
        self.size = size
        self.bold = bold
        self.alignment = alignment
        self.lineSpacing = lineSpacing
    }
}

/// A rectangle in points, origin at the page's top left.
public struct Box: Sendable, Hashable {
    public var x: Double, y: Double, width: Double, height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
}

/// Document metadata written into the PDF's Info dictionary. The dates make renders reproducible.
public struct PDFMetadata: Sendable, Hashable {
    public var title: String
    public var subject: String
    public var keywords: String
    public var creator: String
    /// PDF date string (`D:YYYYMMDDHHmmSS+00'00`) or ISO 8601; used for both creation and modification.
    public var date: String

    public init(title: String, subject: String = "", keywords: String = "", creator: String = "Tongban", date: String) {
        self.title = title
        self.subject = subject
        self.keywords = keywords
        self.creator = creator
        self.date = date
    }
}

/// A drawing target for whole pages: a PDF document collected in memory, or one PNG per page.
/// Text is laid out by pango with hinting off, so a page wraps and measures the same in the PDF and in the PNG.
/// Not thread-safe: one canvas is used by one thread from creation to `finish()`.
public final class Canvas {
    private enum Kind {
        case pdf(PDFSink)
        case raster(pixelsPerPoint: Double, pages: [Data])
    }

    private var kind: Kind
    private var surface: OpaquePointer?
    private var cr: OpaquePointer?
    private let fontOptions: OpaquePointer
    private var fontCache: [TextStyle: OpaquePointer] = [:]
    /// A scratch context for measuring text outside a page.
    private let measureSurface: OpaquePointer
    private let measureContext: OpaquePointer
    /// pango contexts made once per cairo context and reused by every layout on it.
    private var pangoContexts: [OpaquePointer: OpaquePointer] = [:]

    /// A PDF document; pages are added with `beginPage`.
    public static func pdf(metadata: PDFMetadata) throws(CairoError) -> Canvas {
        let sink = PDFSink()
        let surface = cairo_pdf_surface_create_for_stream({ closure, data, length in
            guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
            Unmanaged<PDFSink>.fromOpaque(closure).takeUnretainedValue().data.append(data, count: Int(length))
            return CAIRO_STATUS_SUCCESS
        }, Unmanaged.passUnretained(sink).toOpaque(), 595.28, 841.89)
        try CairoError.check(cairo_surface_status(surface), "cairo_pdf_surface_create_for_stream")
        // PDF 1.4: cairo then writes a classic cross-reference table and no object streams (cairo ≥ 1.17.6 uses them from
        // 1.5 on), which the archival update reads; 1.4 has all a form needs (transparency, embedded CID fonts).
        cairo_pdf_surface_restrict_to_version(surface, CAIRO_PDF_VERSION_1_4)
        let fields: [(cairo_pdf_metadata_t, String)] = [
            (CAIRO_PDF_METADATA_TITLE, metadata.title), (CAIRO_PDF_METADATA_SUBJECT, metadata.subject),
            (CAIRO_PDF_METADATA_KEYWORDS, metadata.keywords), (CAIRO_PDF_METADATA_CREATOR, metadata.creator),
            (CAIRO_PDF_METADATA_CREATE_DATE, metadata.date), (CAIRO_PDF_METADATA_MOD_DATE, metadata.date),
        ]
        for (field, value) in fields where !value.isEmpty {
            cairo_pdf_surface_set_metadata(surface, field, value)
        }
        return try Canvas(kind: .pdf(sink), surface: surface)
    }

    /// PNG pages at `pixelsPerPoint` (72 dpi × that), white background.
    public static func raster(pixelsPerPoint: Double) throws(CairoError) -> Canvas {
        try Canvas(kind: .raster(pixelsPerPoint: pixelsPerPoint, pages: []), surface: nil)
    }

    private init(kind: Kind, surface: OpaquePointer?) throws(CairoError) {
        self.kind = kind
        self.surface = surface
        fontOptions = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(fontOptions, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(fontOptions, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_antialias(fontOptions, CAIRO_ANTIALIAS_GRAY)
        measureSurface = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, nil)
        measureContext = cairo_create(measureSurface)
        try CairoError.check(cairo_status(measureContext), "cairo_create")
    }

    deinit {
        if let cr { cairo_destroy(cr) }
        if let surface { cairo_surface_destroy(surface) }
        cairo_destroy(measureContext)
        cairo_surface_destroy(measureSurface)
        cairo_font_options_destroy(fontOptions)
        for description in fontCache.values { pango_font_description_free(description) }
        for context in pangoContexts.values { g_object_unref(UnsafeMutableRawPointer(context)) }
    }

    private func pangoContext(for context: OpaquePointer) -> OpaquePointer {
        if let existing = pangoContexts[context] { return existing }
        let pangoContext = pango_cairo_create_context(context)!
        pango_cairo_context_set_font_options(pangoContext, fontOptions)
        pango_cairo_context_set_resolution(pangoContext, 72)
        pangoContexts[context] = pangoContext
        return pangoContext
    }

    private func forgetPangoContext(for context: OpaquePointer?) {
        guard let context, let pangoContext = pangoContexts.removeValue(forKey: context) else { return }
        g_object_unref(UnsafeMutableRawPointer(pangoContext))
    }

    private func fontDescription(_ style: TextStyle) -> OpaquePointer {
        if let cached = fontCache[style] { return cached }
        let description = pango_font_description_new()!
        pango_font_description_set_family(description, style.family)
        pango_font_description_set_absolute_size(description, style.size * Double(PANGO_SCALE))
        pango_font_description_set_weight(description, style.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL)
        fontCache[style] = description
        return description
    }

    private func makeLayout(on context: OpaquePointer, _ text: String, style: TextStyle, width: Double) -> OpaquePointer {
        let layout = pango_layout_new(pangoContext(for: context))!
        pango_layout_set_font_description(layout, fontDescription(style))
        pango_layout_set_width(layout, Int32(width * Double(PANGO_SCALE)))
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR)
        pango_layout_set_spacing(layout, Int32(style.lineSpacing * Double(PANGO_SCALE)))
        switch style.alignment {
        case .left: pango_layout_set_alignment(layout, PANGO_ALIGN_LEFT)
        case .center: pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER)
        case .right: pango_layout_set_alignment(layout, PANGO_ALIGN_RIGHT)
        }
        pango_layout_set_text(layout, text, -1)
        return layout
    }

    /// The height in points that `text` takes when wrapped to `width`.
    public func measure(_ text: String, style: TextStyle, width: Double) -> Double {
        let layout = makeLayout(on: measureContext, text, style: style, width: width)
        defer { g_object_unref(UnsafeMutableRawPointer(layout)) }
        var logical = PangoRectangle()
        pango_layout_get_extents(layout, nil, &logical)
        return Double(logical.height) / Double(PANGO_SCALE)
    }

    /// Starts a page of `width` × `height` points.
    public func beginPage(width: Double, height: Double) throws(CairoError) {
        switch kind {
        case .pdf:
            cairo_pdf_surface_set_size(surface, width, height)
            if cr == nil { cr = cairo_create(surface) }
        case .raster(let scale, _):
            let page = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32((width * scale).rounded()),
                                                  Int32((height * scale).rounded()))
            try CairoError.check(cairo_surface_status(page), "cairo_image_surface_create")
            surface = page
            cr = cairo_create(page)
            cairo_scale(cr, scale, scale)
            cairo_set_source_rgb(cr, 1, 1, 1)
            cairo_paint(cr)
        }
        try CairoError.check(cairo_status(cr), "cairo_create")
        cairo_set_source_rgb(cr, 0, 0, 0)
    }

    /// Sets `text` inside `box` (wrapped to its width, from its top).
    public func drawText(_ text: String, style: TextStyle, in box: Box) {
        guard let cr else { return }
        let layout = makeLayout(on: cr, text, style: style, width: box.width)
        defer { g_object_unref(UnsafeMutableRawPointer(layout)) }
        cairo_move_to(cr, box.x, box.y)
        pango_cairo_show_layout(cr, layout)
    }

    /// Draws a JPEG scaled into `box`. `rgb` is its decoded pixels (packed RGB) for raster pages; a PDF embeds the
    /// JPEG's own bytes unchanged (cairo's JPEG MIME data), so nothing is re-encoded.
    public func drawJPEG(_ jpeg: [UInt8], rgb: [UInt8], width: Int, height: Int, in box: Box) throws(CairoError) {
        guard let cr else { return }
        precondition(rgb.count == width * height * 3, "pixel buffer does not match the geometry")
        let image = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        defer { cairo_surface_destroy(image) }
        try CairoError.check(cairo_surface_status(image), "cairo_image_surface_create")
        cairo_surface_flush(image)
        let stride = Int(cairo_image_surface_get_stride(image))
        let data = cairo_image_surface_get_data(image)!
        rgb.withUnsafeBufferPointer { source in
            for row in 0..<height {
                let line = UnsafeMutableRawPointer(data + row * stride).assumingMemoryBound(to: UInt32.self)
                for column in 0..<width {
                    let offset = (row * width + column) * 3
                    line[column] = UInt32(source[offset]) << 16 | UInt32(source[offset + 1]) << 8 | UInt32(source[offset + 2])
                }
            }
        }
        cairo_surface_mark_dirty(image)
        let copy = malloc(jpeg.count)!
        jpeg.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: jpeg.count) }
        let status = cairo_surface_set_mime_data(image, CAIRO_MIME_TYPE_JPEG, copy.assumingMemoryBound(to: UInt8.self),
                                                 UInt(jpeg.count), { free($0) }, copy)
        if status != CAIRO_STATUS_SUCCESS { free(copy) }
        try CairoError.check(status, "cairo_surface_set_mime_data(image/jpeg)")
        cairo_save(cr)
        cairo_translate(cr, box.x, box.y)
        cairo_scale(cr, box.width / Double(width), box.height / Double(height))
        cairo_set_source_surface(cr, image, 0, 0)
        // Drawn at its own resolution, not smoothed by the viewer: PDF/A (ISO 19005-2 §6.2.8) wants /Interpolate false,
        // which cairo writes for a fast or nearest filter.
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_FAST)
        cairo_paint(cr)
        cairo_restore(cr)
    }

    /// Sets one line of `text` centred on (`centreX`, `centreY`), turned `degrees` anticlockwise, in a grey of
    /// `grey` (0 black … 1 white) at `opacity`: a watermark over what is already drawn.
    public func drawWatermark(_ text: String, style: TextStyle, centreX: Double, centreY: Double, degrees: Double,
                              grey: Double, opacity: Double) {
        guard let cr else { return }
        let layout = makeLayout(on: cr, text, style: style, width: 0)
        defer { g_object_unref(UnsafeMutableRawPointer(layout)) }
        pango_layout_set_width(layout, -1)  // one line, unwrapped
        var ink = PangoRectangle(), logical = PangoRectangle()
        pango_layout_get_extents(layout, &ink, &logical)
        let width = Double(logical.width) / Double(PANGO_SCALE), height = Double(logical.height) / Double(PANGO_SCALE)
        cairo_save(cr)
        cairo_translate(cr, centreX, centreY)
        cairo_rotate(cr, -degrees * .pi / 180)
        cairo_set_source_rgba(cr, grey, grey, grey, opacity)
        cairo_move_to(cr, -width / 2, -height / 2)
        pango_cairo_show_layout(cr, layout)
        cairo_restore(cr)
    }

    /// Strokes a rectangle outline.
    public func strokeRectangle(_ box: Box, lineWidth: Double) {
        guard let cr else { return }
        cairo_set_line_width(cr, lineWidth)
        cairo_rectangle(cr, box.x, box.y, box.width, box.height)
        cairo_stroke(cr)
    }

    /// Fills rectangles in black (barcode modules).
    public func fillRectangles(_ boxes: [Box]) {
        guard let cr, !boxes.isEmpty else { return }
        for box in boxes { cairo_rectangle(cr, box.x, box.y, box.width, box.height) }
        cairo_fill(cr)
    }

    /// Ends the page: a PDF page is emitted, a raster page is encoded as PNG.
    public func endPage() throws(CairoError) {
        switch kind {
        case .pdf:
            cairo_show_page(cr)
            try CairoError.check(cairo_status(cr), "cairo_show_page")
        case .raster(let scale, var pages):
            forgetPangoContext(for: cr)
            cairo_destroy(cr)
            cr = nil
            let sink = PDFSink()
            let status = cairo_surface_write_to_png_stream(surface, { closure, data, length in
                guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
                Unmanaged<PDFSink>.fromOpaque(closure).takeUnretainedValue().data.append(data, count: Int(length))
                return CAIRO_STATUS_SUCCESS
            }, Unmanaged.passUnretained(sink).toOpaque())
            cairo_surface_destroy(surface)
            surface = nil
            try CairoError.check(status, "cairo_surface_write_to_png_stream")
            pages.append(sink.data)
            kind = .raster(pixelsPerPoint: scale, pages: pages)
        }
    }

    /// Finishes the document: one PDF, or the PNG of every page.
    public func finish() throws(CairoError) -> [Data] {
        switch kind {
        case .pdf(let sink):
            forgetPangoContext(for: cr)
            if let cr { cairo_destroy(cr) }
            cr = nil
            cairo_surface_finish(surface)
            try CairoError.check(cairo_surface_status(surface), "cairo_surface_finish")
            return [sink.data]
        case .raster(_, let pages):
            return pages
        }
    }
}

/// Collects what cairo writes through its stream callback.
private final class PDFSink {
    var data = Data()
}

/// A PNG read back through cairo, as 8-bit grey: for comparing renders with golden images.
public struct GreyImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    /// Decodes PNG bytes. Throws naming the cairo call when they are not a PNG.
    public init(png: Data) throws(CairoError) {
        final class Reader {
            let data: Data
            var offset = 0
            init(_ data: Data) { self.data = data }
        }
        let reader = Reader(png)
        let surface = cairo_image_surface_create_from_png_stream({ closure, buffer, length in
            guard let closure, let buffer else { return CAIRO_STATUS_READ_ERROR }
            let reader = Unmanaged<Reader>.fromOpaque(closure).takeUnretainedValue()
            let count = Int(length)
            guard reader.offset + count <= reader.data.count else { return CAIRO_STATUS_READ_ERROR }
            reader.data.copyBytes(to: buffer, from: reader.offset..<(reader.offset + count))
            reader.offset += count
            return CAIRO_STATUS_SUCCESS
        }, Unmanaged.passUnretained(reader).toOpaque())
        defer { cairo_surface_destroy(surface) }
        try CairoError.check(cairo_surface_status(surface), "cairo_image_surface_create_from_png_stream")
        cairo_surface_flush(surface)
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let base = cairo_image_surface_get_data(surface) else {
            throw CairoError(call: "cairo_image_surface_get_data", status: "no pixel data")
        }
        var grey = [UInt8](repeating: 255, count: width * height)
        for y in 0..<height {
            // cairo decodes every PNG to 32-bit pixels (RGB24 or ARGB32; our renders are opaque).
            for x in 0..<width {
                let pixel = (base + y * stride + x * 4).withMemoryRebound(to: UInt32.self, capacity: 1) { $0.pointee }
                let r = (pixel >> 16) & 0xFF, g = (pixel >> 8) & 0xFF, b = pixel & 0xFF
                grey[y * width + x] = UInt8((r * 77 + g * 150 + b * 29) >> 8)
            }
        }
        pixels = grey
    }
}
