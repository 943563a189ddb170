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
                            includeBlank: Bool, pool: ImagingPool, stallSeconds: Double = 60,
                            progress: @escaping @Sendable (Int, ProcessedPage) -> Void) async throws(Problem) -> Summary {
        let device: SANEDevice
        do { device = try await SANEDevice.open(settings.scanner) } catch { throw error.problem }
        let dpi: Int
        do { dpi = try await ScannerSetup.apply(settings, to: device) } catch {
            await device.close()
            throw error.problem
        }
        // Pages go into the file as they come (blank ones skipped), so memory does not grow with the batch; the file
        // appears under its name only when complete.
        let output: PDFFileOutput
        do { output = try PDFFileOutput(path: path) } catch {
            await device.close()
            throw error.problem
        }
        let (count, end) = await ScanAcquisition(pool: pool, stallSeconds: stallSeconds).run(
            device: device, dotsPerInch: dpi, cleanup: settings.cleanup, maxPages: maxPages ?? (settings.isFlatbed ? 1 : nil),
            expectsFeeder: !settings.isFlatbed, isCancelled: { false },
            commit: { page in
                let number = try await output.add(page, keep: includeBlank || !page.blank)
                progress(number, page)
            })
        await device.close()
        do {
            let (kept, bytes) = try await output.finish(PDFDocumentInfo(caseNumber: caseNumber, materialName: materialName,
                                                                        created: Date()))
            return Summary(pages: kept, blankPagesLeftOut: count - kept, bytes: bytes, dotsPerInch: dpi, end: end)
        } catch {
            if case .failed(let problem) = end { throw problem }
            throw error.problem
        }
    }
}

/// A PDF written page by page to a temporary file on its own thread, renamed into place when finished.
final class PDFFileOutput: @unchecked Sendable {
    private let path: String
    private let temporary: String
    private let descriptor: Int32
    private let thread = DedicatedThread(name: "pdf output")
    // Touched only on `thread`.
    private var writer = ArchivalPDFWriter()
    private var written = 0
    private var seen = 0
    private var kept = 0

    init(path: String) throws(StorageError) {
        self.path = path
        temporary = "\(path).\(UUID().uuidString.prefix(8)).part"
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw StorageError(call: "open", path: temporary, errno: errno) }
    }

    deinit {
        close(descriptor)
        unlink(temporary)
        thread.stop()
    }

    /// Appends a page (or only counts it when `keep` is false); returns its number in scan order.
    func add(_ page: ProcessedPage, keep: Bool) async throws(StorageError) -> Int {
        try await thread.perform { () throws(StorageError) -> Int in
            if self.seen == 0 { try self.append(self.writer.begin()) }
            self.seen += 1
            if keep {
                self.kept += 1
                try self.append(self.writer.page(PDFPageImage(
                    encoding: page.encoding == .g4 ? .groupFour : .jpeg(components: page.channels), data: page.data,
                    pixelWidth: page.width, pixelHeight: page.height, dotsPerInch: Double(page.dotsPerInch),
                    textLines: (page.text ?? []).map(PDFTextLine.init))))
            }
            return self.seen
        }
    }

    /// Writes the trailer, fsyncs and renames; fails when no page was kept.
    func finish(_ info: PDFDocumentInfo) async throws(Problem) -> (pages: Int, bytes: Int) {
        let result = await thread.perform { () -> Result<(Int, Int), Problem> in
            guard self.kept > 0 else {
                return .failure(Problem(code: "scan-has-no-pages", status: 409, title: "没有可用页面 No pages to keep",
                                        detail: "\(self.seen) pages scanned, none kept", remedy: "Scan again, or pass --include-blank."))
            }
            do throws(StorageError) {
                try self.append(self.writer.finish(info))
                guard fsync(self.descriptor) == 0 else { throw StorageError(call: "fsync", path: self.temporary, errno: errno) }
                guard rename(self.temporary, self.path) == 0 else { throw StorageError(call: "rename", path: self.path, errno: errno) }
                try DurableFile.syncDirectory((self.path as NSString).deletingLastPathComponent)
                return .success((self.kept, self.written))
            } catch {
                return .failure(error.problem)
            }
        }
        return try result.get()
    }

    private func append(_ bytes: [UInt8]) throws(StorageError) {
        try DurableFile.writeAll(bytes, to: descriptor, path: temporary)
        written += bytes.count
    }
}
