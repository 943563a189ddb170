import ArchivalOFD
import ArchivalPDF
import ArgumentParser
import Foundation
import Imaging
import Store
import Tesseract
import TongbanCore
import TurboJPEG
import ZBar

/// `tongban page`: one page through the scan path, without a scanner.
struct PageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "page", abstract: "Run a page picture through the same cleanup, text recognition and PDF a scanned page gets.",
        subcommands: [Process.self])

    struct Process: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Clean up a page picture as a scanned page, read its text and barcodes, write a one-page PDF/A-2b or OFD; prints what was found as JSON.",
            discussion: "The picture is a JPEG or a binary PNM (P5 grey, P6 colour). Exit 0 with {file, width, height, dpi, blank, text, lines, barcodes, milliseconds}.")

        @Option(help: "The resolution the picture was scanned at.") var dpi: Int = 300
        @Flag(help: "Recognise the text (Tesseract) into the PDF's invisible text layer.") var ocr = false
        @Option(help: "Tesseract languages, joined by +.") var languages: String = "chi_sim"
        @Flag(help: "Black and white (CCITT G4) instead of JPEG.") var bitonal = false
        @Option(help: "pdf (PDF/A-2b) or ofd (GB/T 33190).") var format: String = "pdf"
        @Option(help: "Where to write the document.") var out: String
        @Argument(help: "The page picture.") var picture: String

        struct Output: Encodable {
            var file: String
            var width: Int
            var height: Int
            var dpi: Int
            var blank: Bool
            var text: String
            var lines: [RecognizedLine]
            var textProblem: String?
            var barcodes: [FoundBarcode]
            var milliseconds: [String: Double]
        }

        func run() throws {
            guard ["pdf", "ofd"].contains(format) else {
                fail(Problem(code: "invalid-option", status: 400, title: "参数无效 Bad --format", detail: "--format \(format) is not pdf or ofd", remedy: "Pick one of those."))
            }
            guard (50...1200).contains(dpi) else {
                fail(Problem(code: "invalid-option", status: 400, title: "参数无效 Bad --dpi", detail: "--dpi \(dpi) is not 50…1200", remedy: "Give the scan's resolution."))
            }
            guard let bytes = FileManager.default.contents(atPath: picture) else {
                fail(Problem(code: "file-not-found", status: 404, title: "找不到文件 No such file", detail: picture, remedy: "Give a JPEG or PNM picture."))
            }
            let raw: RawPage
            do { raw = try Self.rawPage(Array(bytes), dpi: dpi) } catch {
                fail(Problem(code: "not-a-picture", status: 415, title: "无法读取图片 Not a picture", detail: "\(picture): \(error)",
                             remedy: "Give a JPEG or a binary PNM (P5/P6) picture."))
            }
            var cleanup = PageCleanup()
            cleanup.bitonal = bitonal
            cleanup.recognizeText = ocr
            let started = ContinuousClock.now
            let page: ProcessedPage
            do { page = try PageProcessor(text: TextRecognitionSettings(languages: languages)).process(raw, cleanup) } catch {
                fail((error as? any ProblemConvertible)?.problem ?? Problem(code: "page-failed", status: 500, title: "页面处理失败 Page could not be processed",
                                                                            detail: "\(error)", remedy: "Check the picture."))
            }
            let total = PageProcessor.milliseconds(since: started)
            let lines = page.text ?? []
            let image = PDFPageImage(encoding: page.encoding == .g4 ? .groupFour : .jpeg(components: page.channels), data: page.data,
                                     pixelWidth: page.width, pixelHeight: page.height, dotsPerInch: Double(page.dotsPerInch),
                                     textLines: lines.map(PDFTextLine.init))
            let info = PDFDocumentInfo(title: "page", subject: picture, keywords: "", created: Date())
            let document: [UInt8]
            do {
                document = try (DocumentFormat(rawValue: format) ?? .pdf).document(
                    of: [image], info: info, case: OFDCaseMetadata(caseNumber: "cli", materialName: "page", capturedAt: info.created))
            } catch { fail(Problem(code: "ofd-failed", status: 500, title: "OFD 无法生成 OFD not written", detail: error.description, remedy: "Check the picture.")) }
            let path = URL(fileURLWithPath: out).standardizedFileURL.path
            do { try DurableFile.write(document, to: path, permissions: 0o644) } catch { fail(error.problem) }
            let output = Output(file: path, width: page.width, height: page.height, dpi: page.dotsPerInch, blank: page.blank,
                                text: lines.map(\.text).joined(separator: "\n"), lines: lines, textProblem: page.textProblem,
                                barcodes: page.barcodes,
                                milliseconds: ["process": total - (page.textMilliseconds ?? 0), "ocr": page.textMilliseconds ?? 0])
            print(String(decoding: (try? JSONEncoder.tongban.encode(output)) ?? Data(), as: UTF8.self))
            if let problem = page.textProblem, ocr {
                FileHandle.standardError.write(Data("tongban page: text not recognised: \(problem)\n".utf8))
                Foundation.exit(3)
            }
        }

        struct PictureError: Error, CustomStringConvertible {
            var description: String
        }

        /// A JPEG through libjpeg-turbo, or a binary PNM (P5/P6, maxval 255) read here.
        static func rawPage(_ bytes: [UInt8], dpi: Int) throws -> RawPage {
            if bytes.starts(with: [0xFF, 0xD8]) {
                let decoded = try JPEGDecoder().decode(bytes, layout: .rgb)
                return RawPage(width: decoded.width, height: decoded.height, channels: 3, pixels: decoded.pixels, dotsPerInch: dpi)
            }
            guard bytes.count > 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "6") else {
                throw PictureError(description: "neither a JPEG nor a binary PNM")
            }
            let channels = bytes[1] == UInt8(ascii: "5") ? 1 : 3
            var fields: [Int] = []
            var index = 2
            while fields.count < 3, index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "#") {
                    while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                } else if (0x30...0x39).contains(byte) {
                    var value = 0
                    while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                        value = value * 10 + Int(bytes[index] - 0x30)
                        index += 1
                    }
                    fields.append(value)
                    continue
                }
                index += 1
            }
            index += 1  // the one whitespace byte after maxval
            guard fields.count == 3, fields[2] == 255, fields[0] > 0, fields[1] > 0 else {
                throw PictureError(description: "PNM header not understood (8-bit P5/P6 only)")
            }
            let (width, height) = (fields[0], fields[1])
            let count = width * height * channels
            guard bytes.count - index >= count else { throw PictureError(description: "PNM shorter than its \(width)×\(height) header") }
            return RawPage(width: width, height: height, channels: channels, pixels: Array(bytes[index..<(index + count)]), dotsPerInch: dpi)
        }
    }
}
