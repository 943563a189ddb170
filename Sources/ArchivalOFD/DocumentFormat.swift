import ArchivalPDF

/// The archival formats a document of page images is written in: PDF/A-2b (the default) or OFD (GB/T 33190).
public enum DocumentFormat: String, Sendable, CaseIterable {
    case pdf, ofd

    /// The attachment's content type.
    public var contentType: String { self == .pdf ? "application/pdf" : "application/ofd" }

    /// The file name extension.
    public var fileExtension: String { rawValue }

    /// A whole document of `pages`, in memory (a capture, one picture on the command line; a scan batch streams its
    /// pages through the writers instead).
    public func document(of pages: [PDFPageImage], info: PDFDocumentInfo, case metadata: OFDCaseMetadata) throws(OFDError) -> [UInt8] {
        switch self {
        case .pdf:
            var writer = ArchivalPDFWriter()
            return writer.begin() + pages.flatMap { writer.page($0) } + writer.finish(info)
        case .ofd:
            var writer = OFDWriter()
            var bytes: [UInt8] = []
            for page in pages { bytes += try writer.page(page) }
            return bytes + (try writer.finish(info, case: metadata))
        }
    }
}
