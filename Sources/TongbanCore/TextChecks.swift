/// Checks on text that comes from outside (names, case numbers, headers) before it is stored or shown.
public enum TextChecks {
    /// Whether `text` holds a control character (C0/C1: line breaks, NUL — which the case core's metadata and the
    /// video server's JSON refuse), a line or paragraph separator, or an invisible format character (bidi overrides
    /// and isolates, zero-width marks, which make a name read differently from what it is: `txt.exe` shown as
    /// `exe.txt`).
    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains {
            // Noncharacters (U+FFFE, U+FFFF, U+FDD0…U+FDEF, …) are not for interchange, and XML 1.0 forbids some.
            if $0.properties.isNoncharacterCodePoint { return true }
            switch $0.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
    }
}
