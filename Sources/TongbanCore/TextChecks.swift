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

    /// `text` with every character `hasControlCharacters` objects to written out as `<U+202E>`: safe to show in a
    /// message or a page view when the text came from outside (a QR code on an applicant's paper).
    public static func visible(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if hasControlCharacters(String(scalar)) {
                out += "<U+\(String(scalar.value, radix: 16, uppercase: true))>"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
