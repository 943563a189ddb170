import ArchivalPDF
import Foundation
import Testing

/// The incremental update that makes cairo's PDFs PDF/A: what it cannot read is an error, never a crash and never a
/// document that only looks archival.
@Suite struct ArchivalUpdateTests {
    static let info = PDFDocumentInfo(title: "测试", subject: "TB-1", keywords: "TB-1", created: Date(timeIntervalSince1970: 1_790_000_000))

    /// A minimal PDF with a classic table: catalog 1, pages 2, one empty page 3, a TrueType CID font 4 without its map.
    static func minimal(trailerExtra: String = "") -> [UInt8] {
        var out = Array("%PDF-1.4\n%\u{B5}\u{ED}\n".utf8)
        var offsets: [Int] = []
        for body in ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
                     "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Test /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> >>"] {
            offsets.append(out.count)
            out += Array("\(offsets.count) 0 obj\n\(body)\nendobj\n".utf8)
        }
        let table = out.count
        out += Array("xref\n0 5\n0000000000 65535 f \n".utf8)
        for offset in offsets { out += Array(String(format: "%010d 00000 n \n", offset).utf8) }
        out += Array("trailer\n<< /Size 5 /Root 1 0 R\(trailerExtra) >>\nstartxref\n\(table)\n%%EOF\n".utf8)
        return out
    }

    @Test func aClassicPDFGetsMetadataOutputIntentAndTheFontsMap() throws {
        let updated = try ArchivalUpdate.archival(Self.minimal(), info: Self.info)
        let text = String(decoding: updated, as: UTF8.self)
        #expect(text.contains("/OutputIntents") && text.contains("<pdfaid:part>2</pdfaid:part>") && text.contains("/CIDToGIDMap /Identity"))
        #expect(text.contains("/Prev ") && text.contains("/ID ["))
        let path = try makeTemporaryDirectory() + "/updated.pdf"
        try Data(updated).write(to: URL(fileURLWithPath: path))
        let check = try runBlocking("/usr/bin/qpdf", ["--check", path])
        #expect(check.status == 0, "\(check.standardOutput)")
    }

    @Test func whatItCannotReadIsAnErrorNotACrash() {
        let good = Self.minimal()
        var cases: [(String, [UInt8])] = [("not a PDF", Array("hello".utf8)), ("empty", [])]
        cases.append(("negative startxref", Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: #"startxref\n\d+"#, with: "startxref\n-5", options: .regularExpression).utf8)))
        cases.append(("startxref past the end", Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: #"startxref\n\d+"#, with: "startxref\n99999999", options: .regularExpression).utf8)))
        cases.append(("a negative subsection count", Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "xref\n0 5", with: "xref\n0 -5").utf8)))
        cases.append(("an encrypted file", Self.minimal(trailerExtra: " /Encrypt 9 0 R")))
        cases.append(("a cross-reference stream beside the table", Self.minimal(trailerExtra: " /XRefStm 9")))
        cases.append(("cut in the middle", Array(good.prefix(good.count / 2))))
        for (what, pdf) in cases {
            #expect(throws: ArchivalUpdateError.self, "\(what)") { try ArchivalUpdate.archival(pdf, info: Self.info) }
        }
    }
}
