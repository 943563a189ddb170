/// Text from outside (names, case numbers, recognised lines) written into XML — a PDF's XMP packet, an OFD
/// package's parts — so the document stays well-formed whatever the text holds.
public enum XMLText {
    /// `value` without the characters XML 1.0 has no place for (C0 controls other than tab, line feed and carriage
    /// return; U+FFFE and U+FFFF).
    public static func allowed(_ value: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in value.unicodeScalars where isAllowed(scalar) { out.append(scalar) }
        return String(out)
    }

    /// `value` escaped for element content and attribute values (`&`, `<`, `>`, `"`), without the characters XML
    /// 1.0 has no place for.
    public static func escaped(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars where isAllowed(scalar) {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// XML 1.0's Char production (a Swift scalar is never a surrogate).
    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xFFFD, 0x10000...: true
        default: false
        }
    }
}
