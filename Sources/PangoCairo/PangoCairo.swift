import CPangoCairo

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
