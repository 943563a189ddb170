import ArchivalPDF
import Foundation
import Imaging
@testable import Scanning
import Store
import Tesseract
import Testing
import TongbanCore
import TurboJPEG
import ZBar

/// Recognised text and barcodes, from the C libraries up to the attachment: Tesseract's lines come out of a page
/// rendered from known text, lie invisibly in a PDF/A-2b that `pdftotext` reads (rare characters of names included),
/// zbar reads a form's case number, and through the service a photographed form's text can be fetched and searched.
@Suite struct TextRecognitionTests {
    /// A page of known text at `dpi`, as a scanner would give it (8-bit grey), rendered by Pango with the CJK font.
    static func renderedPage(_ text: String, dpi: Int, in directory: String) async throws -> RawPage {
        try text.write(toFile: "\(directory)/page.txt", atomically: true, encoding: .utf8)
        let rendered = try await run("/usr/bin/pango-view", ["--dpi", "\(dpi)", "--font", "Noto Sans CJK SC 12", "--margin", "\(dpi / 2)",
                                                             "-q", "-o", "\(directory)/page.png", "\(directory)/page.txt"])
        #expect(rendered.status == 0, "\(rendered.standardError)")
        let converted = try await run("/usr/bin/env", ["convert", "\(directory)/page.png", "-background", "white", "-flatten",
                                                       "-colorspace", "gray", "-depth", "8", "\(directory)/page.pgm"])
        #expect(converted.status == 0, "\(converted.standardError)")
        let bytes = Array(try #require(FileManager.default.contents(atPath: "\(directory)/page.pgm")))
        // P5 header: magic, width, height, maxval, each followed by one white-space byte.
        var fields: [Int] = [], index = 2
        while fields.count < 3 {
            while !(0x30...0x39).contains(bytes[index]) { index += 1 }
            var value = 0
            while (0x30...0x39).contains(bytes[index]) { value = value * 10 + Int(bytes[index] - 0x30); index += 1 }
            fields.append(value)
        }
        index += 1
        return RawPage(width: fields[0], height: fields[1], channels: 1, pixels: Array(bytes[index..<(index + fields[0] * fields[1])]), dotsPerInch: dpi)
    }

    static func withoutSpaces(_ text: String) -> String { text.filter { !$0.isWhitespace } }

    static let page = """
        受理通知书
        申请人：张三丰　联系电话：0751-8888888
        地址：广东省韶关市武江区解放路123号
        经审查，您提交的申请材料齐全，符合法定形式，决定予以受理。
        Case 2026-000123
        """

    /// The text layer carries every character of a line, a name's rare character beyond the Basic Multilingual
    /// Plane (𠮷 U+20BB7) too, and the document stays PDF/A-2b.
    @Test func theTextLayerCarriesEveryCharacterAndStaysArchival() async throws {
        let directory = try makeTemporaryDirectory()
        let white = [UInt8](repeating: 250, count: 850 * 1100)
        let jpeg = try JPEGEncoder().encode(pixels: white, width: 850, height: 1100, layout: .gray, quality: 80)
        var writer = ArchivalPDFWriter()
        var pdf = writer.begin()
        pdf += writer.page(PDFPageImage(encoding: .jpeg(components: 1), data: jpeg, pixelWidth: 850, pixelHeight: 1100, dotsPerInch: 100,
                                        textLines: [PDFTextLine(text: "申请人：𠮷野家", x: 100, y: 100, width: 400, height: 30),
                                                    PDFTextLine(text: "Case 2026-000123", x: 100, y: 160, width: 300, height: 24)]))
        pdf += writer.page(PDFPageImage(encoding: .jpeg(components: 1), data: jpeg, pixelWidth: 850, pixelHeight: 1100, dotsPerInch: 100,
                                        textLines: [PDFTextLine(text: "第二页 野家", x: 100, y: 500, width: 170, height: 30)]))
        pdf += writer.finish(PDFDocumentInfo(title: "测试", subject: "受理编号 2026-000123", keywords: "2026-000123", created: Date()))
        let path = "\(directory)/text.pdf"
        try Data(pdf).write(to: URL(fileURLWithPath: path))
        let text = try await run("/usr/bin/pdftotext", [path, "-"]).standardOutput
        #expect(text.contains("申请人：𠮷野家"), "\(text)")
        #expect(text.contains("Case 2026-000123") && text.contains("第二页 野家"), "\(text)")
        let fonts = try await run("/usr/bin/pdffonts", [path]).standardOutput
        #expect(fonts.contains("GlyphLessFont") && fonts.contains("CID TrueType"), "\(fonts)")
        let check = try await archivalCheck(path)
        #expect(check.passed, "\(check.report)")
    }

    /// A page rendered from known Chinese text goes through the scan path's processor with recognition on: its
    /// lines come back in place, and the PDF made of them gives the text back through `pdftotext`.
    @Test func aRenderedPageComesBackAsTextThroughTheScanPath() async throws {
        let directory = try makeTemporaryDirectory()
        let raw = try await Self.renderedPage(Self.page, dpi: 300, in: directory)
        var cleanup = PageCleanup()
        cleanup.recognizeText = true
        let page = try PageProcessor(text: TextRecognitionSettings(languages: "chi_sim")).process(raw, cleanup)
        #expect(page.textProblem == nil, "\(page.textProblem ?? "")")
        let lines = try #require(page.text)
        let recognized = Self.withoutSpaces(lines.map(\.text).joined())
        for phrase in ["受理通知书", "韶关市", "解放路123号", "0751-8888888", "2026-000123"] {
            #expect(recognized.contains(phrase), "\(phrase) not in: \(recognized)")
        }
        // Lines are where the text is: inside the page, top to bottom.
        #expect(lines.allSatisfy { $0.x >= 0 && $0.y >= 0 && $0.x + $0.width <= page.width && $0.y + $0.height <= page.height })
        #expect(zip(lines, lines.dropFirst()).allSatisfy { $0.y < $1.y })
        var writer = ArchivalPDFWriter()
        let image = PDFPageImage(encoding: .jpeg(components: page.channels), data: page.data, pixelWidth: page.width, pixelHeight: page.height,
                                 dotsPerInch: Double(page.dotsPerInch),
                                 textLines: lines.map { PDFTextLine(text: $0.text, x: $0.x, y: $0.y, width: $0.width, height: $0.height) })
        let pdf = writer.begin() + writer.page(image) + writer.finish(PDFDocumentInfo(title: "t", subject: "s", keywords: "k", created: Date()))
        let path = "\(directory)/page.pdf"
        try Data(pdf).write(to: URL(fileURLWithPath: path))
        let extracted = Self.withoutSpaces(try await run("/usr/bin/pdftotext", [path, "-"]).standardOutput)
        #expect(extracted.contains("受理通知书") && extracted.contains("解放路123号"), "\(extracted)")
        let check = try await archivalCheck(path)
        #expect(check.passed, "\(check.report)")
    }

    /// A recogniser asked for a language that is not installed fails naming the call and the remedy; the page is
    /// kept without text.
    @Test func aMissingLanguageIsNamedAndThePageKept() async throws {
        #expect(throws: TesseractError.self) { try TextRecognizer(languages: "xx_nonexistent") }
        let directory = try makeTemporaryDirectory()
        let raw = try await Self.renderedPage("受理", dpi: 150, in: directory)
        var cleanup = PageCleanup()
        cleanup.recognizeText = true
        let page = try PageProcessor(text: TextRecognitionSettings(languages: "xx_nonexistent")).process(raw, cleanup)
        #expect(page.text == nil && page.textProblem?.contains("TessBaseAPIInit3") == true, "\(page.textProblem ?? "")")
        #expect(!page.data.isEmpty)
    }

    /// zbar reads the case number a printed form carries, as QR code and Code 128, off the page as scanned.
    @Test func aFormsCaseNumberIsReadFromItsBarcodes() async throws {
        let directory = try makeTemporaryDirectory()
        let rendered = try await run(tongbanBinary, ["notices", "render", "receipt-notice", "--data",
                                                     "\(packageRoot)/Config/notices/examples/receipt-notice.json",
                                                     "--out", "\(directory)/form.pdf", "--format", "pdf"])
        #expect(rendered.status == 0, "\(rendered.standardError)")
        _ = try await run("/usr/bin/pdftoppm", ["-r", "300", "-gray", "-singlefile", "\(directory)/form.pdf", "\(directory)/form"])
        let processed = try await run(tongbanBinary, ["page", "process", "--dpi", "300", "--out", "\(directory)/page.pdf", "\(directory)/form.pgm"])
        #expect(processed.status == 0, "\(processed.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(processed.standardOutput.utf8)) as? [String: Any])
        let barcodes = (json["barcodes"] as? [[String: Any]] ?? []).map { "\($0["type"] ?? ""):\($0["text"] ?? "")" }
        #expect(barcodes.contains("QR-Code:SX2026112200017") && barcodes.contains("CODE-128:SX2026112200017"), "\(barcodes)")
        #expect(CaseNumberMark.other(than: "SX2026112200017", among: [("QR-Code", "SX2026112200017")]) == nil)
        #expect(CaseNumberMark.other(than: "TB-1", among: [("CODE-128", "SX2026112200017")]) == "SX2026112200017")
        #expect(CaseNumberMark.other(than: "TB-1", among: [("QR-Code", "https://example.gov.cn/licence?id=1234")]) == nil)
        // Review finding: a product's EAN-13, a bare account number or a citizen's ID number is not another case
        // (and an ID number is never echoed back), nor is a case-number-shaped text in a symbology Tongban never prints.
        #expect(CaseNumberMark.other(than: "TB-1", among: [("EAN-13", "6901234567892"), ("CODE-128", "6901234567892"),
                                                          ("CODE-128", "44030119900101123X"), ("QR-Code", "440301199001011234"),
                                                          ("CODE-39", "SX2026112200099")]) == nil)
        #expect(CaseNumberMark.other(than: "TB-1", among: [("QR-Code", "2026-000123")]) == "2026-000123")
        // A hall whose case numbers are all digits: a number shaped like the batch's own counts, an ID number never.
        #expect(CaseNumberMark.other(than: "202612050001", among: [("CODE-128", "202612050099")]) == "202612050099")
        #expect(CaseNumberMark.other(than: "110105194912310021", among: [("CODE-128", "11010519491231002X")]) == nil)
    }

    /// What makes a separator sheet, and how a batch is cut at them: the mark alone or with `|name`, never a text
    /// that merely begins like it; an unnamed sheet numbers the batch's name within the name limit; in a duplex
    /// batch a sheet's blank back is left out (with includeBlank too).
    @Test func separatorSheetsAreTheMarkAndCutTheBatch() throws {
        #expect(SeparatorSheet.nextMaterial(among: ["TONGBAN-SEPARATOR|营业执照"]) == "营业执照")
        #expect(SeparatorSheet.nextMaterial(among: ["https://x.example", "TONGBAN-SEPARATOR"]) == "")
        #expect(SeparatorSheet.nextMaterial(among: ["TONGBAN-SEPARATORS|x", "TONGBAN-SEPARATOR-1", "tongban-separator|x"]) == nil)
        // A name off somebody's paper is shown with what it may not hold written out (a bidi override reverses text).
        #expect(TextChecks.visible("营业\u{202E}执照\u{0}") == "营业<U+202E>执照<U+0>")
        func page(_ sequence: Int, blank: Bool = false, separator: String? = nil) -> ScanPageRecord {
            let barcodes = separator.map { #"[{"type":"QR-Code","text":"TONGBAN-SEPARATOR|\#($0)"}]"# }
            return ScanPageRecord(id: "p\(sequence)", scanId: "s", position: sequence, sequence: sequence, encoding: "jpeg", width: 1, height: 1,
                                  channels: 1, dotsPerInch: 300, size: 1, sha256: "x", blank: blank, skewDegrees: nil, straightened: false,
                                  rotation: 0, path: "", thumbnailPath: "", createdAt: Date(), barcodes: barcodes)
        }
        let pages = [page(1), page(2, blank: true), page(3, separator: "营业执照"), page(4, blank: true), page(5), page(6),
                     page(7, separator: ""), page(8, blank: true), page(9)]
        let duplex = ScanService.materials(of: pages, batchMaterial: "申请书", duplex: true)
        #expect(duplex.map(\.name) == ["申请书", "营业执照", "申请书（3）"])
        #expect(duplex.map { $0.pages.map(\.sequence) } == [[1, 2], [5, 6], [9]])
        let simplex = ScanService.materials(of: pages, batchMaterial: "申请书")
        #expect(simplex.map { $0.pages.map(\.sequence) } == [[1, 2], [4, 5, 6], [8, 9]])
        let longName = String(repeating: "材", count: 85)  // 255 bytes
        let numbered = ScanService.numbered(longName, 12)
        #expect(numbered.utf8.count <= 256 && numbered.hasSuffix("（12）"), "\(numbered.utf8.count)")
    }

    /// Through the service: a form photographed on the desk with `ocr` asked for gives a searchable PDF; its text
    /// is fetched, a phrase finds it within its case and nothing else does, and its case number is read off it.
    @Test func aPhotographedFormIsSearchableThroughTheService() async throws {
        let directory = try makeTemporaryDirectory()
        let form = "\(directory)/form.png"
        let rendered = try await run(tongbanBinary, ["notices", "render", "receipt-notice", "--data",
                                                     "\(packageRoot)/Config/notices/examples/receipt-notice.json",
                                                     "--out", form, "--format", "png", "--dpi", "150"])
        #expect(rendered.status == 0, "\(rendered.standardError)")
        // A 5-megapixel document camera's view: the page flat on a dark mat, about 150 dpi on the paper.
        let scene = try await run("/usr/bin/env", ["convert", "-size", "2592x1944", "xc:#3a3a3a", form, "-geometry", "+676+95", "-composite",
                                                   "-quality", "90", "\(directory)/document.jpg"])
        #expect(scene.status == 0, "\(scene.standardError)")
        // The separator sheet photographed the same way: the camera simulator's second scene.
        let separator = try await run(tongbanBinary, ["notices", "render", "separator", "--data", "\(packageRoot)/Config/notices/examples/separator.json",
                                                      "--out", "\(directory)/separator.png", "--format", "png", "--dpi", "150"])
        #expect(separator.status == 0, "\(separator.standardError)")
        let separatorScene = try await run("/usr/bin/env", ["convert", "-size", "2592x1944", "xc:#3a3a3a", "\(directory)/separator.png",
                                                            "-geometry", "+676+95", "-composite", "-quality", "90", "\(directory)/separator.jpg"])
        #expect(separatorScene.status == 0, "\(separatorScene.standardError)")
        let service = try await CameraTests.serve(scenes: ["1-document.jpg": "\(directory)/document.jpg", "2-separator.jpg": "\(directory)/separator.jpg"])
        defer { kill(service.server.process.processIdentifier, SIGKILL) }
        let captured = try await CameraTests.api(service.port, "POST", "/v1/cameras/sim:camera/capture",
                                                 #"{"mode": "document", "caseNumber": "SX2026112200017", "ocr": true, "insist": true}"#)
        #expect(captured.status == 201, "\(captured.json)")
        #expect((captured.json["textLines"] as? Int ?? 0) > 3, "\(captured.json)")
        #expect(captured.json["otherCaseNumber"] == nil)
        let barcodes = (captured.json["barcodes"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        #expect(barcodes.contains("SX2026112200017"), "\(captured.json)")
        let id = try #require((captured.json["attachment"] as? [String: Any])?["attachmentId"] as? String)
        let text = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)", "http://127.0.0.1:\(service.port)/v1/attachments/\(id)/text"])
        #expect(text.status == 200 && text.headers.lowercased().contains("text/plain"), "\(text.status) \(text.body)")
        #expect(Self.withoutSpaces(text.body).contains("受理"), "\(text.body)")
        let found = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)",
                                    "http://127.0.0.1:\(service.port)/v1/attachments?case=SX2026112200017&text=%E5%8F%97%E7%90%86"])
        #expect(found.body.contains(id), "\(found.body)")
        let missed = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)",
                                     "http://127.0.0.1:\(service.port)/v1/attachments?case=SX2026112200017&text=%E9%BE%99%E9%BE%99%E9%BE%99"])
        #expect(missed.status == 200 && !missed.body.contains(id), "\(missed.body)")
        // Searching names in papers is a read of them: without a credential, refused.
        let anonymous = try await curl(["http://127.0.0.1:\(service.port)/v1/attachments?case=SX2026112200017&text=%E5%8F%97"])
        #expect(anonymous.status == 401, "\(anonymous.status)")
        // The barcodes are the papers' content too: listed for a credential, left out for an anonymous listing.
        let listedWithToken = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)",
                                              "http://127.0.0.1:\(service.port)/v1/attachments/\(id)"])
        #expect(listedWithToken.body.contains("\"barcodes\""), "\(listedWithToken.body)")
        for path in ["/v1/attachments/\(id)", "/v1/attachments?case=SX2026112200017"] {
            let listedAnonymously = try await curl(["http://127.0.0.1:\(service.port)\(path)"])
            #expect(listedAnonymously.status == 200 && !listedAnonymously.body.contains("\"barcodes\""), "\(path): \(listedAnonymously.body)")
        }
        // The same form captured for another case is flagged; asked not to read text, it keeps none.
        let other = try await CameraTests.api(service.port, "POST", "/v1/cameras/sim:camera/capture",
                                              #"{"mode": "document", "caseNumber": "TB-OTHER-1", "insist": true, "ocr": false}"#)
        #expect(other.json["otherCaseNumber"] as? String == "SX2026112200017", "\(other.json)")
        let otherID = try #require((other.json["attachment"] as? [String: Any])?["attachmentId"] as? String)
        let none = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)", "http://127.0.0.1:\(service.port)/v1/attachments/\(otherID)/text"])
        #expect(none.status == 404 && none.body.contains("no-text"), "\(none.body)")
        // The PDF's text layer holds what the text endpoint gives.
        _ = try await run("/usr/bin/curl", ["-s", "--noproxy", "*", "-H", "Authorization: Bearer \(CameraTests.token)", "-o", "\(directory)/document.pdf",
                                            "http://127.0.0.1:\(service.port)/v1/attachments/\(id)/content"])
        let layer = Self.withoutSpaces(try await run("/usr/bin/pdftotext", ["\(directory)/document.pdf", "-"]).standardOutput)
        #expect(layer.contains("受理"), "\(layer)")
        let check = try await archivalCheck("\(directory)/document.pdf")
        #expect(check.passed, "\(check.report)")

        // The same capture as OFD: a package an independent reader opens, its text layer and case tags inside (the
        // text read without being asked: cameras.ocr is on by default).
        let ofd = try await CameraTests.api(service.port, "POST", "/v1/cameras/sim:camera/capture",
                                            #"{"mode": "document", "caseNumber": "SX2026112200017", "insist": true, "format": "ofd"}"#)
        let ofdAttachment = ofd.json["attachment"] as? [String: Any] ?? [:]
        #expect(ofdAttachment["contentType"] as? String == "application/ofd", "\(ofd.json)")
        let ofdID = try #require(ofdAttachment["attachmentId"] as? String)
        _ = try await run("/usr/bin/curl", ["-s", "--noproxy", "*", "-H", "Authorization: Bearer \(CameraTests.token)", "-o", "\(directory)/document.ofd",
                                            "http://127.0.0.1:\(service.port)/v1/attachments/\(ofdID)/content"])
        let opened = try await run("\(packageRoot)/.venv/bin/python", ["\(packageRoot)/Tests/tools/ofd_check.py", "\(directory)/document.ofd",
                                                                       "--expect-text", "受理"])
        #expect(opened.status == 0, "\(opened.standardOutput) \(opened.standardError)")

        // A separator sheet under the camera is not a material: nothing is stored, the clerk is told the next name.
        let before = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)", "http://127.0.0.1:\(service.port)/v1/attachments?case=SX2026112200017"])
        #expect(try await CameraTests.api(service.port, "PUT", "/v1/cameras/sim:camera/controls/Scene", #"{"value": 1}"#).status == 200)
        let sheet = try await CameraTests.api(service.port, "POST", "/v1/cameras/sim:camera/capture",
                                              #"{"mode": "document", "caseNumber": "SX2026112200017", "insist": true}"#)
        #expect(sheet.status == 409 && sheet.json["code"] as? String == "camera-separator-sheet", "\(sheet.json)")
        #expect((sheet.json["remedy"] as? String ?? "").contains("营业执照"), "\(sheet.json)")
        let after = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)", "http://127.0.0.1:\(service.port)/v1/attachments?case=SX2026112200017"])
        #expect(before.status == 200 && after.body == before.body, "\(before.body) → \(after.body)")
    }
    /// Review finding: with camera text on by default, a recogniser that cannot load (a language not installed)
    /// must not cost the clerk the capture — kept without text; only a capture that asks for text is refused.
    @Test func aCaptureIsKeptWithoutTextWhenTheLanguageIsMissing() async throws {
        let directory = try makeTemporaryDirectory()
        let scene = try await run("/usr/bin/env", ["convert", "-size", "1600x1200", "xc:#3a3a3a", "-fill", "white", "-draw",
                                                   "rectangle 400,100 1200,1100", "-quality", "90", "\(directory)/page.jpg"])
        #expect(scene.status == 0, "\(scene.standardError)")
        let service = try await CameraTests.serve(scenes: ["1-page.jpg": "\(directory)/page.jpg"],
                                                  environment: ["TONGBAN_SCANNING_OCR_LANGUAGES": "tongban_missing_language"])
        defer { kill(service.server.process.processIdentifier, SIGKILL) }
        let kept = try await CameraTests.api(service.port, "POST", "/v1/cameras/sim:camera/capture",
                                             #"{"mode": "document", "caseNumber": "TB-NOLANG-1", "insist": true}"#)
        #expect(kept.status == 201 && kept.json["attachment"] != nil, "\(kept.json)")
        let asked = try await CameraTests.api(service.port, "POST", "/v1/cameras/sim:camera/capture",
                                              #"{"mode": "document", "caseNumber": "TB-NOLANG-1", "insist": true, "ocr": true}"#)
        #expect(asked.status == 503 && asked.json["code"] as? String == "text-recognition-unavailable", "\(asked.json)")
    }

    /// Separator sheets split one feeder batch into materials. libsane's test backend cannot feed our sheets, so
    /// the pages go through libsane's `pnm` backend (each `sane_start` reads the file named by its `filename`
    /// option, replaced between scans) — the same SANE, imaging and batch path as a scanner's. A form, a separator
    /// sheet naming 营业执照, a page of another case and a blank separator make two attachments, recorded with the
    /// batch's finish exactly once; the page of another case is flagged; the same batch as OFD is a valid package
    /// an independent reader opens.
    @Test func separatorSheetsSplitAFeederBatchIntoMaterials() async throws {
        let directory = try makeTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: "\(directory)/sane", withIntermediateDirectories: true)
        try "pnm\n".write(toFile: "\(directory)/sane/dll.conf", atomically: true, encoding: .utf8)
        func render(_ form: String, _ data: String, _ name: String) async throws -> String {
            try data.write(toFile: "\(directory)/\(name).json", atomically: true, encoding: .utf8)
            let rendered = try await run(tongbanBinary, ["notices", "render", form, "--data", "\(directory)/\(name).json",
                                                         "--out", "\(directory)/\(name).pdf", "--format", "pdf"])
            #expect(rendered.status == 0, "\(rendered.standardError)")
            _ = try await run("/usr/bin/pdftoppm", ["-r", "150", "-gray", "-singlefile", "\(directory)/\(name).pdf", "\(directory)/\(name)"])
            return "\(directory)/\(name).pgm"
        }
        let example = try String(contentsOfFile: "\(packageRoot)/Config/notices/examples/receipt-notice.json", encoding: .utf8)
        let form = try await render("receipt-notice", example, "form")
        let licence = try await render("separator", #"{"materialName": "营业执照"}"#, "separator-licence")
        let foreign = try await render("receipt-notice", example.replacingOccurrences(of: "SX2026112200017", with: "SX2026112200099"), "foreign")
        let unnamed = try await render("separator", "{}", "separator-unnamed")
        let feeder = "\(directory)/feeder.pgm"
        try FileManager.default.copyItem(atPath: form, toPath: feeder)

        func serve(_ extra: [String: String] = [:]) throws -> ChildProcess {
            try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(directory)/data"],
                                   environment: ["TONGBAN_API_TOKEN": CameraTests.token, "SANE_CONFIG_DIR": "\(directory)/sane",
                                                 "TONGBAN_DEVICES_SIMULATE": "none"].merging(extra) { $1 })
        }
        var server = try serve()
        defer { kill(server.process.processIdentifier, SIGKILL) }
        var port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        func waitUntilReady(_ id: String, pages: Int) async throws -> [String: Any] {
            for _ in 0..<1200 {
                let view = try await CameraTests.api(port, "GET", "/v1/scans/\(id)").json
                if view["state"] as? String != "scanning", (view["pages"] as? [[String: Any]])?.count == pages { return view }
                if view["state"] as? String == "failed" { return view }
                try await Task.sleep(for: .milliseconds(100))
            }
            return [:]
        }
        func scanBatch(format: String) async throws -> (id: String, view: [String: Any]) {
            try FileManager.default.removeItem(atPath: feeder)
            try FileManager.default.copyItem(atPath: form, toPath: feeder)
            let started = try await CameraTests.api(port, "POST", "/v1/scans", """
                {"device": "sane:pnm:0", "dpi": 150, "mode": "gray", "caseNumber": "SX2026112200017", "materialName": "申请书",
                 "maxPages": 1, "format": "\(format)", "saneOptions": {"filename": "\(feeder)"}}
                """)
            #expect(started.status == 202, "\(started.json)")
            let id = try #require(started.json["id"] as? String)
            var view = try await waitUntilReady(id, pages: 1)
            for (index, next) in [licence, foreign, unnamed].enumerated() {
                try FileManager.default.removeItem(atPath: feeder)
                try FileManager.default.copyItem(atPath: next, toPath: feeder)
                let more = try await CameraTests.api(port, "POST", "/v1/scans/\(id)/pages", #"{"maxPages": 1}"#)
                #expect(more.status == 202, "\(more.json)")
                view = try await waitUntilReady(id, pages: index + 2)
            }
            return (id, view)
        }

        let (id, view) = try await scanBatch(format: "pdf")
        let pages = view["pages"] as? [[String: Any]] ?? []
        #expect(pages.count == 4, "\(view)")
        #expect(pages.map { $0["separatorFor"] as? String } == [nil, "营业执照", nil, ""], "\(pages.map { $0["separatorFor"] ?? "-" })")
        #expect(pages.map { $0["otherCaseNumber"] as? String } == [nil, nil, "SX2026112200099", nil])
        #expect((pages.first?["textLines"] as? Int ?? 0) > 5, "recognised at the scanning.ocr default: \(pages.first ?? [:])")
        // Two finishes at once: one set of attachments.
        let finishPort = port
        async let first = CameraTests.api(finishPort, "POST", "/v1/scans/\(id)/finish", "{}")
        async let second = CameraTests.api(finishPort, "POST", "/v1/scans/\(id)/finish", "{}")
        let (one, two) = try await (first, second)
        #expect(one.status == 201 && two.status == 201, "\(one.json) \(two.json)")
        let attachments = one.json["attachments"] as? [[String: Any]] ?? []
        #expect(attachments.map { $0["materialName"] as? String } == ["申请书", "营业执照"], "\(one.json)")
        #expect(attachments.map { $0["pages"] as? Int } == [1, 1], "the separators are not kept: \(attachments)")
        let ids = attachments.compactMap { $0["attachmentId"] as? String }
        #expect((two.json["attachments"] as? [[String: Any]] ?? []).compactMap { $0["attachmentId"] as? String } == ids)
        #expect(one.json["attachmentId"] as? String == ids.first)
        let again = try await CameraTests.api(port, "POST", "/v1/scans/\(id)/finish", "{}")
        #expect((again.json["attachments"] as? [[String: Any]] ?? []).compactMap { $0["attachmentId"] as? String } == ids)
        let listed = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)", "http://127.0.0.1:\(port)/v1/attachments?case=SX2026112200017"])
        let listedIDs = ((try? JSONSerialization.jsonObject(with: Data(listed.body.utf8))) as? [[String: Any]] ?? [])
            .compactMap { ($0["attachment"] as? [String: Any])?["attachmentId"] as? String }
        #expect(Set(listedIDs) == Set(ids) && listedIDs.count == 2, "\(listed.body)")
        // The second material carries its barcodes in its manifest, page by page.
        let licenceBarcodes = (attachments.last?["barcodes"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        #expect(licenceBarcodes.contains("SX2026112200099"), "\(attachments.last ?? [:])")
        let text = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)", "http://127.0.0.1:\(port)/v1/attachments/\(ids[0])/text"])
        #expect(Self.withoutSpaces(text.body).contains("申请材料接收通知书"), "\(text.body)")
        _ = try await run("/usr/bin/curl", ["-s", "--noproxy", "*", "-H", "Authorization: Bearer \(CameraTests.token)", "-o", "\(directory)/first.pdf",
                                            "http://127.0.0.1:\(port)/v1/attachments/\(ids[0])/content"])
        let layer = Self.withoutSpaces(try await run("/usr/bin/pdftotext", ["\(directory)/first.pdf", "-"]).standardOutput)
        #expect(layer.contains("申请材料接收通知书"), "\(layer)")
        let check = try await archivalCheck("\(directory)/first.pdf")
        #expect(check.passed, "\(check.report)")

        // The same batch as OFD: two packages, each valid and opened by an independent reader.
        let (ofdID, _) = try await scanBatch(format: "ofd")
        let ofd = try await CameraTests.api(port, "POST", "/v1/scans/\(ofdID)/finish", "{}")
        let ofdAttachments = ofd.json["attachments"] as? [[String: Any]] ?? []
        #expect(ofdAttachments.map { $0["contentType"] as? String } == ["application/ofd", "application/ofd"], "\(ofd.json)")
        #expect(ofdAttachments.map { $0["fileName"] as? String } == ["申请书.ofd", "营业执照.ofd"], "\(ofd.json)")
        let ofdFirst = try #require(ofdAttachments.first?["attachmentId"] as? String)
        _ = try await run("/usr/bin/curl", ["-s", "--noproxy", "*", "-H", "Authorization: Bearer \(CameraTests.token)", "-o", "\(directory)/first.ofd",
                                            "http://127.0.0.1:\(port)/v1/attachments/\(ofdFirst)/content"])
        let opened = try await run("\(packageRoot)/.venv/bin/python", ["\(packageRoot)/Tests/tools/ofd_check.py", "\(directory)/first.ofd",
                                                                       "--reference", form, "--expect-text", "申请材料接收通知书"])
        #expect(opened.status == 0, "\(opened.standardOutput) \(opened.standardError)")
        let report = (try? JSONSerialization.jsonObject(with: Data(opened.standardOutput.utf8))) as? [String: Any] ?? [:]
        #expect((report["customData"] as? [String: Any])?["caseNumber"] as? String == "SX2026112200017", "\(report)")
        #expect(report["rendered"] as? Bool == true, "\(report)")
        #expect(try await server.stop() == 0)

        // SIGKILL in the middle of a split batch's finish — the first material's file and manifest in place, the
        // second not begun: nothing recorded, the first material's debris swept at the restart, the batch open; a
        // finish then makes both materials, once.
        server = try serve(["TONGBAN_CRASH_AT": "attachment.manifest-written"])
        port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let (crashID, _) = try await scanBatch(format: "pdf")
        _ = try? await CameraTests.api(port, "POST", "/v1/scans/\(crashID)/finish", "{}")
        _ = try await server.waitForExit()
        server = try serve()
        port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        #expect(try await CameraTests.api(port, "GET", "/v1/scans/\(crashID)").json["state"] as? String == "ready")
        func recorded() async throws -> Set<String> {
            let listed = try await curl(["-H", "Authorization: Bearer \(CameraTests.token)", "http://127.0.0.1:\(port)/v1/attachments?case=SX2026112200017"])
            return Set(((try? JSONSerialization.jsonObject(with: Data(listed.body.utf8))) as? [[String: Any]] ?? [])
                .compactMap { ($0["attachment"] as? [String: Any])?["attachmentId"] as? String })
        }
        let beforeFinish = try await recorded()
        #expect(beforeFinish.count == 4, "the two earlier batches' materials only: \(beforeFinish)")
        for day in try FileManager.default.contentsOfDirectory(atPath: "\(directory)/data/files") where !day.hasPrefix(".") {
            for folder in try FileManager.default.contentsOfDirectory(atPath: "\(directory)/data/files/\(day)") {
                #expect(beforeFinish.contains(folder), "debris of an unrecorded material left: \(day)/\(folder)")
            }
        }
        let resumed = try await CameraTests.api(port, "POST", "/v1/scans/\(crashID)/finish", "{}")
        #expect((resumed.json["attachments"] as? [[String: Any]] ?? []).map { $0["materialName"] as? String } == ["申请书", "营业执照"],
                "\(resumed.json)")
        #expect(try await recorded().count == 6)
        #expect(try await server.stop() == 0)
    }
}
