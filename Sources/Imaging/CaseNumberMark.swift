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
