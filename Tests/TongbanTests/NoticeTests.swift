import Foundation
import Notices
import PangoCairo
import Testing
import TongbanCore

/// The shipped forms, rendered by the real pango/cairo/libzint stack and read back with poppler and zbar.
@Suite struct NoticeTests {
    static let templates = "\(packageRoot)/Config/notices"
    static let goldens = "\(packageRoot)/Tests/TongbanTests/Golden/notices"
    static let formIDs = ["approval-card", "courier-log", "handover-slip", "intake-notice", "ledger", "one-time-notice",
                          "receipt-notice", "separator", "transfer-slip"]

    static func renderer() throws -> NoticeRenderer {
        NoticeRenderer(library: try NoticeLibrary.load(directory: templates),
                       settings: ["city": "韶关市", "hall": "武江区政务服务中心", "counter": "counter-1", "region": "440203"])
    }

    static func example(_ id: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: "\(templates)/examples/\(id).json")))
    }

    static func write(_ data: Data, _ name: String, in directory: String) throws -> String {
        let path = "\(directory)/\(name)"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func theSeedsEightFormsAreShipped() throws {
        let library = try NoticeLibrary.load(directory: Self.templates)
        #expect(library.templates.keys.sorted() == Self.formIDs)
        #expect(library.templates["receipt-notice"]?.title == "申请材料接收通知书")
        #expect(library.templates["ledger"]?.orientation == .landscape)
    }

    /// Each form: PDF with the CJK font embedded as a subset, its title and data as text, and page 1 as a PNG that
    /// matches the committed golden image (TONGBAN_UPDATE_GOLDEN=1 rewrites them after a deliberate change).
    @Test(arguments: formIDs) func everyFormRendersEmbedsItsFontAndMatchesItsGolden(_ id: String) async throws {
        let renderer = try Self.renderer()
        let directory = try makeTemporaryDirectory("notice-\(id)")
        let pdf = try await renderer.render(id, data: try Self.example(id), format: .pdf)
        let path = try Self.write(pdf.files[0], "\(id).pdf", in: directory)
        // Kept as the case's attachment: PDF/A-2b (finding: printed notices had no output intent, no XMP).
        let archival = try await archivalCheck(path)
        #expect(archival.passed, "\(id): \(archival.report)")
        let fonts = try await run("/usr/bin/pdffonts", [path]).standardOutput
        let cjk = fonts.split(separator: "\n").filter { $0.contains("NotoSansCJK") }
        #expect(!cjk.isEmpty, "pdffonts: \(fonts)")
        for line in cjk {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(columns.contains("yes"), "font not embedded: \(line)")
            #expect(line.split(separator: "+").first?.count == 6, "not a subset: \(line)")
        }
        let text = try await run("/usr/bin/pdftotext", ["-layout", path, "-"]).standardOutput
        let title = try #require(renderer.library.templates[id]).title
        #expect(text.replacingOccurrences(of: " ", with: "").contains(title.replacingOccurrences(of: "{{settings.city}}", with: "韶关市")))

        let png = try await renderer.render(id, data: try Self.example(id), format: .png, pixelsPerPoint: 60.0 / 72.0)
        let golden = "\(Self.goldens)/\(id).png"
        if ProcessInfo.processInfo.environment["TONGBAN_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(atPath: Self.goldens, withIntermediateDirectories: true)
            try png.files[0].write(to: URL(fileURLWithPath: golden))
        }
        let expected = try GreyImage(png: Data(contentsOf: URL(fileURLWithPath: golden)))
        let actual = try GreyImage(png: png.files[0])
        #expect(actual.width == expected.width && actual.height == expected.height)
        guard actual.pixels.count == expected.pixels.count else { return }
        let differing = zip(actual.pixels, expected.pixels).filter { abs(Int($0) - Int($1)) > 64 }.count
        let newRender = try Self.write(png.files[0], "\(id).png", in: directory)
        #expect(Double(differing) / Double(actual.pixels.count) < 0.002,
                "\(id): \(differing) of \(actual.pixels.count) pixels differ from \(golden) (new render: \(newRender))")
    }

    @Test func caseNumberReadsBackAsQRCodeAndCode128() async throws {
        let directory = try makeTemporaryDirectory()
        let pdf = try await Self.renderer().render("receipt-notice", data: try Self.example("receipt-notice"), format: .pdf)
        let path = try Self.write(pdf.files[0], "notice.pdf", in: directory)
        _ = try await run("/usr/bin/pdftoppm", ["-r", "200", "-png", "-singlefile", path, "\(directory)/page"])
        let decoded = try await run("/usr/bin/zbarimg", ["-q", "\(directory)/page.png"]).standardOutput
        #expect(decoded.contains("QR-Code:SX2026112200017"), "zbarimg: \(decoded)")
        #expect(decoded.contains("CODE-128:SX2026112200017"), "zbarimg: \(decoded)")
    }

    @Test func sixtyLedgerRowsPaginateWithTheHeaderOnEveryPage() async throws {
        let entries = (1...60).map { index -> JSONValue in
            .object(["time": .string("2026-11-22 09:\(String(format: "%02d", index % 60))"), "matterName": .string("事项第\(index)号"),
                     "quantity": .number(1), "caseType": .string(index % 2 == 0 ? "承诺件" : "即办件"), "applicantName": .string("申请人\(index)")])
        }
        let data = JSONValue.object(["counter": .string("3号窗口"), "date": .string("2026-11-22"), "entries": .array(entries)])
        let directory = try makeTemporaryDirectory()
        let pdf = try await Self.renderer().render("ledger", data: data, format: .pdf)
        #expect(pdf.pageCount >= 3)
        let path = try Self.write(pdf.files[0], "ledger.pdf", in: directory)
        let info = try await run("/usr/bin/pdfinfo", [path]).standardOutput
        let lines = info.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("Pages:") && $0.hasSuffix(" \(pdf.pageCount)") }, "\(info)")
        #expect(lines.contains { $0.hasPrefix("Page size:") && $0.contains("841.89 x 595.28 pts") }, "landscape A4: \(info)")
        var seen: [Int] = []
        for page in 1...pdf.pageCount {
            let text = try await run("/usr/bin/pdftotext", ["-f", "\(page)", "-l", "\(page)", path, "-"]).standardOutput
            #expect(text.contains("办理时间") && text.contains("办理状态"), "page \(page) lacks the table header")
            #expect(text.contains("第 \(page) 页，共 \(pdf.pageCount) 页"))
            for index in 1...60 where text.contains("事项第\(index)号") { seen.append(index) }
        }
        #expect(seen.sorted() == Array(1...60), "every row exactly once")
    }

    @Test func sameDataAndDateGiveTheSameBytes() async throws {
        let renderer = try Self.renderer()
        let data = try Self.example("transfer-slip")
        let first = try await renderer.render("transfer-slip", data: data, format: .pdf)
        let second = try await renderer.render("transfer-slip", data: data, format: .pdf)
        #expect(first.files == second.files)
        guard case .object(var changed) = data else { Issue.record("example is not an object"); return }
        changed["date"] = .string("2026-11-23")
        let third = try await renderer.render("transfer-slip", data: .object(changed), format: .pdf)
        #expect(third.files != first.files)
    }

    @Test func everyDataProblemIsListedAtOnce() async throws {
        let data = JSONValue.object([
            "caseNumber": .string("案件 1"), "matterName": .bool(true), "handlingUnit": .string("某局"), "receivingUnit": .string(""),
            "forwardDays": .number(2.5), "materials": .array([.object(["copies": .string("两份")])]), "colour": .string("red"),
        ])
        let error = await #expect(throws: NoticeRenderError.self) {
            try await Self.renderer().render("receipt-notice", data: data, format: .pdf)
        }
        guard case .invalidData(let invalid) = error else { Issue.record("not a data error: \(String(describing: error))"); return }
        let problems = invalid.problems.joined(separator: "\n")
        for expected in ["applicantName: required", "matterName: expected text, got true/false", "receivingUnit: required",
                         "forwardDays: expected a whole number", "materials[0].name: required", "materials[0].copies: expected a whole number",
                         "colour: not a field of this form", "caseNumber: \"案件 1\" must be printable ASCII"] {
            #expect(problems.contains(expected), "missing \(expected) in:\n\(problems)")
        }
        #expect(invalid.problem.status == 422)
    }

    @Test func aChoiceOutsideItsOptionsIsRefusedAndTickedBoxesPrint() async throws {
        guard case .object(var data) = try Self.example("intake-notice") else { return }
        data["resultDelivery"] = .string("快递")
        await #expect(throws: NoticeRenderError.self) { try await Self.renderer().render("intake-notice", data: .object(data), format: .pdf) }
        data["resultDelivery"] = .string("邮寄送达")
        let directory = try makeTemporaryDirectory()
        let pdf = try await Self.renderer().render("intake-notice", data: .object(data), format: .pdf)
        let text = try await run("/usr/bin/pdftotext", [try Self.write(pdf.files[0], "intake.pdf", in: directory), "-"]).standardOutput
        #expect(text.contains("☑邮寄送达") && text.contains("☐窗口领取"), "\(text)")
    }

    @Test func brokenTemplatesAreRefusedNamingTheFileAndTheProblem() {
        let cases: [(String, String)] = [
            ("title: x\nblocks: [{table: {columns: [1, 2], rows: [{cells: [a]}]}}]", "spans 1 columns, the table has 2"),
            ("title: x\nblocks: [{picture: a}]", "unknown block `picture`"),
            ("blocks: [{heading: a}]", "`title` is missing"),
            ("title: x\nblocks: [{text: \"{{#open}}\"}]", "Mustache error"),
            ("title: x\nfields: [{name: a, type: choice}]\nblocks: [{heading: a}]", "a choice needs `options`"),
            ("title: [unclosed", "not valid YAML"),
        ]
        for (yaml, expected) in cases {
            #expect(throws: NoticeTemplateError.self) { try NoticeTemplate.parse(yaml: yaml, id: "broken", file: "broken.yaml") }
            do { _ = try NoticeTemplate.parse(yaml: yaml, id: "broken", file: "broken.yaml") } catch {
                #expect(error.description.hasPrefix("notice template broken.yaml:") && error.description.contains(expected),
                        "\(error.description) should mention \(expected)")
            }
        }
    }

    @Test func anUnknownFormIsA404ListingTheKnownOnes() async throws {
        let error = await #expect(throws: NoticeRenderError.self) { try await Self.renderer().render("nope", data: .object([:]), format: .pdf) }
        #expect(error?.problem.status == 404)
        #expect(error?.description.contains("receipt-notice") == true)
    }
}
