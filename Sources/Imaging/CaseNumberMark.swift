import Foundation

/// What the barcodes on a page say about the case it belongs to: Tongban's forms carry their case number (受理编号)
/// as a QR code and Code 128, so a page of another applicant's papers shows itself before the batch is finished.
public enum CaseNumberMark {
    /// The first barcode text that reads as a case number other than `caseNumber`; nil when the page carries the
    /// batch's own number, or nothing that looks like a case number (a licence's QR code is a web address).
    public static func other(than caseNumber: String, among texts: [String]) -> String? {
        guard !texts.contains(caseNumber) else { return nil }
        return texts.first { $0 != caseNumber && looksLikeCaseNumber($0) }
    }

    /// Letters, digits and hyphens, 6 to 40 of them, at least four digits: the shape of a 受理编号 (2026-000123,
    /// SG20260001), not of a web address or a sentence.
    public static func looksLikeCaseNumber(_ text: String) -> Bool {
        guard (6...40).contains(text.count) else { return false }
        var digits = 0
        for scalar in text.unicodeScalars {
            if ("0"..."9").contains(scalar) { digits += 1 } else if !(("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || scalar == "-") {
                return false
            }
        }
        return digits >= 4
    }
}

/// A separator sheet (`tongban notices render separator`): a printed page whose QR code reads
/// `TONGBAN-SEPARATOR|<next material's name>`, laid between materials so one feeder batch becomes several.
public enum SeparatorSheet {
    /// The text a separator sheet's QR code begins with; after a `|` comes the next material's name.
    public static let mark = "TONGBAN-SEPARATOR"

    /// Whether a page with these barcode texts is a separator sheet, and the material name it gives (empty: none
    /// printed on it); nil for any other page.
    public static func nextMaterial(among texts: [String]) -> String? {
        guard let text = texts.first(where: { $0.hasPrefix(mark) }) else { return nil }
        guard let bar = text.firstIndex(of: "|") else { return "" }
        return String(text[text.index(after: bar)...]).trimmingCharacters(in: .whitespaces)
    }
}
