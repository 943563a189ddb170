import ArchivalPDF
import Foundation
import Imaging
import SANE
import Store
import TongbanCore

/// A scan straight to a PDF file, without the service or its store (`tongban scan`).
public enum ScanToFile {
    /// What came out.
    public struct Summary: Sendable {
        public var pages: Int
        public var blankPagesLeftOut: Int
        public var bytes: Int
        public var dotsPerInch: Int
        public var end: AcquisitionEnd
    }

    /// Scans with `settings` and writes the pages (blank ones left out unless `includeBlank`) as a PDF/A-2b file.
    /// Pages kept before a jam are written too; the summary's `end` says how the scan ended.
    public static func scan(_ settings: ScanSettings, maxPages: Int?, to path: String, caseNumber: String, materialName: String,
                            includeBlank: Bool, pool: ImagingPool,
                            progress: @escaping @Sendable (Int, ProcessedPage) -> Void) async throws(Problem) -> Summary {
        let device: SANEDevice
        do { device = try await SANEDevice.open(settings.scanner) } catch { throw error.problem }
        let dpi: Int
        do { dpi = try await ScannerSetup.apply(settings, to: device) } catch {
            await device.close()
            throw error.problem
        }
        let collected = PageCollector()
        let (count, end) = await ScanAcquisition(pool: pool).run(
            device: device, dotsPerInch: dpi, cleanup: settings.cleanup, maxPages: maxPages ?? (settings.isFlatbed ? 1 : nil),
            expectsFeeder: !settings.isFlatbed, isCancelled: { false },
            commit: { page in progress(await collected.add(page), page) })
        await device.close()
        let pages = await collected.pages
        let kept = pages.filter { includeBlank || !$0.blank }
        if kept.isEmpty {
            if case .failed(let problem) = end { throw problem }
            throw Problem(code: "scan-has-no-pages", status: 409, title: "没有可用页面 No pages to keep",
                          detail: "\(count) pages scanned, all blank", remedy: "Scan again, or pass --include-blank.")
        }
        var writer = ArchivalPDFWriter()
        var written = 0
        do {
            try DurableFile.write(to: path, permissions: 0o644) { append in
                let head = writer.begin()
                try append(head)
                written += head.count
                for page in kept {
                    let chunk = writer.page(PDFPageImage(
                        encoding: page.encoding == .g4 ? .groupFour : .jpeg(components: page.channels), data: page.data,
                        pixelWidth: page.width, pixelHeight: page.height, dotsPerInch: Double(page.dotsPerInch)))
                    try append(chunk)
                    written += chunk.count
                }
                let tail = writer.finish(PDFDocumentInfo(title: materialName, subject: "受理编号 \(caseNumber)", keywords: caseNumber,
                                                         created: Date()))
                try append(tail)
                written += tail.count
            }
        } catch let error as StorageError {
            throw error.problem
        } catch {
            throw Problem(code: "write-failed", status: 500, title: "写文件失败 Could not write the file", detail: "\(path): \(error)",
                          remedy: "Check the folder exists and is writable.")
        }
        return Summary(pages: kept.count, blankPagesLeftOut: pages.count - kept.count, bytes: written, dotsPerInch: dpi, end: end)
    }
}

/// Pages in scan order, for a scan that keeps them in memory until the end.
actor PageCollector {
    private(set) var pages: [ProcessedPage] = []

    func add(_ page: ProcessedPage) -> Int {
        pages.append(page)
        return pages.count
    }
}
