import Foundation
import Receipts
import Testing
import TongbanCore

/// 80 mm receipts: GB18030 text, the ESC/POS document, and the bytes on a raw printer port.
@Suite struct ReceiptTests {
    static let receipt = IntakeReceipt(
        hall: "晋安区行政服务中心", counter: "综合受理 3 号窗口", caseNumber: "JA-2026-000123", matter: "食品经营许可（新办）",
        applicant: "张三丰", materials: ["营业执照副本", "法定代表人身份证复印件", "经营场所平面图"],
        acceptedAt: Date(timeIntervalSince1970: 1_800_000_000), promisedBy: "2027-01-29", enquiries: "0591-12345")

    @Test func gb18030CoversTwoAndFourByteCharacters() throws {
        #expect(try GB18030.encode("中文") == [0xD6, 0xD0, 0xCE, 0xC4])
        #expect(try GB18030.encode("A1") == [0x41, 0x31])
        #expect(try GB18030.encode("𠀀") == [0x95, 0x32, 0x82, 0x36])
    }

    @Test func intakeReceiptIsChineseModeTextAQRCodeAndACut() throws {
        let bytes = try Self.receipt.escPOS(timeZone: TimeZone(identifier: "Asia/Shanghai")!).bytes
        #expect(Array(bytes.prefix(4)) == [0x1B, 0x40, 0x1C, 0x26])
        #expect(Self.contains(bytes, try GB18030.encode("接件回执")))
        #expect(Self.contains(bytes, try GB18030.encode("受理编号")))
        #expect(Self.contains(bytes, [0x1D, 0x28, 0x6B, 17, 0, 0x31, 0x50, 0x30] + Array("JA-2026-000123".utf8)), "QR store command")
        #expect(Self.contains(bytes, try GB18030.encode("张*")), "the applicant is masked")
        #expect(!Self.contains(bytes, try GB18030.encode("张三丰")))
        #expect(Self.contains(bytes, try GB18030.encode("2027-01-15 16:00")))
        #expect(Array(bytes.suffix(4)) == [0x1D, 0x56, 0x42, 0x00])
        var wide = IntakeReceipt.init(hall: "", counter: "", caseNumber: "", matter: "", applicant: "", materials: [], acceptedAt: Date())
        wide.hall = " "
        #expect(wide.problems.count == 6)
    }

    @Test func pairsAlignToFortyEightColumns() throws {
        var document = ESCPOSDocument()
        try document.pair("受理编号", "A-1")
        // 受理编号 is 8 columns wide, A-1 three: 37 spaces between them.
        #expect(Self.contains(document.bytes, try GB18030.encode("受理编号" + String(repeating: " ", count: 37) + "A-1")))
    }

    @Test func rasterImagesWiderThanThePaperAreRefused() {
        var document = ESCPOSDocument()
        let fits = document.raster([UInt8](repeating: 0xFF, count: 72 * 2), widthDots: 576, height: 2)
        let tooWide = document.raster([UInt8](repeating: 0xFF, count: 73 * 2), widthDots: 584, height: 2)
        #expect(fits && !tooWide)
        #expect(Array(document.bytes.suffix(72 * 2 + 1 + 8).prefix(8)) == [0x1D, 0x76, 0x30, 0, 72, 0, 2, 0])
    }

    @Test func bytesArriveWholeAtARawPrinterPort() async throws {
        let listener = try await RawListener.start(connections: 2)
        defer { listener.stop() }
        let printer = try #require(RawPrinterConnection(uri: "socket://127.0.0.1:\(listener.port)"))
        let document = try Self.receipt.escPOS()
        try await printer.send(document.bytes)
        // A second job on a new connection: each arrives on its own, byte for byte.
        var second = ESCPOSDocument()
        try second.line("第二张", alignment: .centre)
        second.cut()
        try await printer.send(second.bytes)
        #expect(try await listener.received(1).map(Array.init) == document.bytes)
        #expect(try await listener.received(2).map(Array.init) == second.bytes)
    }

    @Test func anUnreachablePrinterIsNamedWithTheRemedy() async throws {
        let port = try await freePort()
        let printer = try #require(RawPrinterConnection(uri: "socket://127.0.0.1:\(port)", timeoutSeconds: 2))
        let error = await #expect(throws: RawPrinterError.self) { try await printer.send([0x1B, 0x40]) }
        #expect(error?.call == "connect")
        #expect(error?.problem.code == "receipt-printer-unreachable")
        #expect(error?.problem.detail.contains("127.0.0.1:\(port)") == true)
        #expect(RawPrinterConnection(uri: "ipp://printer") == nil)
        #expect(RawPrinterConnection(uri: "socket://printer")?.port == 9100)
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}
