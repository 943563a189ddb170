import Foundation

/// What the barcodes on a page say about the case it belongs to: Tongban's forms carry their case number (受理编号)
/// as a QR code and Code 128, so a page of another applicant's papers shows itself before the batch is finished.
public enum CaseNumberMark {
    /// The symbologies Tongban's forms print the case number in (zbar's names): only these can flag a page. A
    /// product's EAN, a book's ISBN or a parcel's barcode on an applicant's paper says nothing about the case.
    public static let symbologies: Set<String> = ["QR-Code", "CODE-128"]

    /// The first barcode text that reads as a case number other than `caseNumber`; nil when the page carries the
    /// batch's own number, or nothing that looks like a case number (a licence's QR code is a web address).
    /// `barcodes` are type (zbar's symbology name) and text; only `symbologies` count.
    public static func other(than caseNumber: String, among barcodes: [(type: String, text: String)]) -> String? {
        let texts = barcodes.filter { symbologies.contains($0.type) }.map(\.text)
        guard !texts.contains(caseNumber) else { return nil }
        // A text shaped exactly like the batch's own number (a hall whose numbers are all digits) counts too.
        return texts.first { $0 != caseNumber && (looksLikeCaseNumber($0) || (shape($0) == shape(caseNumber) && !looksLikeIDNumber($0))) }
    }

    /// Digits as 9, letters as A, everything else as it is: `SX2026-0001` → `AA9999-9999`.
    static func shape(_ text: String) -> String {
        String(text.unicodeScalars.map { scalar -> Character in
            if ("0"..."9").contains(scalar) { return "9" }
            if ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) { return "A" }
            return Character(scalar)
        })
    }

    /// Letters, digits and hyphens, 6 to 40 of them, at least four digits and at least one letter or hyphen: the
    /// shape of a 受理编号 (2026-000123, SG20260001), not of a web address, a sentence, a number alone (a product or
    /// account number) or a citizen's ID number (17 digits and a check character, never to be echoed).
    public static func looksLikeCaseNumber(_ text: String) -> Bool {
        guard (6...40).contains(text.count), !looksLikeIDNumber(text) else { return false }
        var digits = 0, others = 0
        for scalar in text.unicodeScalars {
            if ("0"..."9").contains(scalar) {
                digits += 1
            } else if ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || scalar == "-" {
                others += 1
            } else {
                return false
            }
        }
        return digits >= 4 && others >= 1
    }

    /// 17 digits and a digit or X: the shape of a resident ID number (GB 11643).
    static func looksLikeIDNumber(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 18 else { return false }
        return scalars.prefix(17).allSatisfy { ("0"..."9").contains($0) } && (("0"..."9").contains(scalars[17]) || scalars[17] == "X" || scalars[17] == "x")
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
        // The mark alone or followed by `|`: `TONGBAN-SEPARATORS…` on somebody's paper is not a sheet.
        guard let text = texts.first(where: { $0 == mark || $0.hasPrefix(mark + "|") }) else { return nil }
        return String(text.dropFirst(mark.count + 1)).trimmingCharacters(in: .whitespaces)
    }
}
