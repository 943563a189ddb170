import ArchivalPDF
import Foundation
import PangoCairo
import TongbanCore
import Zint

/// The forms in a folder (`Config/notices/*.yaml`), checked when loaded.
public struct NoticeLibrary: Sendable {
    public let templates: [String: NoticeTemplate]

    public init(templates: [NoticeTemplate]) {
        self.templates = Dictionary(templates.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// Loads every `*.yaml` in `directory`. One broken file refuses the whole library, naming the file.
    public static func load(directory: String) throws(NoticeTemplateError) -> NoticeLibrary {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw NoticeTemplateError(file: directory, reason: "the notices folder cannot be read: \(error.localizedDescription)")
        }
        var templates: [NoticeTemplate] = []
        for name in names.sorted() where name.hasSuffix(".yaml") {
            templates.append(try NoticeTemplate.load(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name)))
        }
        return NoticeLibrary(templates: templates)
    }

    /// The template with this id, or a 404 problem listing the ones there are.
    public func template(_ id: String) throws(NoticeRenderError) -> NoticeTemplate {
        guard let template = templates[id] else {
            throw .unknownTemplate(id, known: templates.keys.sorted())
        }
        return template
    }
}

/// What a render produces.
public enum NoticeFormat: String, Sendable, Codable {
    case pdf, png
}

/// A render that failed: unknown form, bad data, or a failing C call.
public enum NoticeRenderError: Error, Sendable, CustomStringConvertible {
    case unknownTemplate(String, known: [String])
    case invalidData(NoticeDataError)
    case barcode(ZintError)
    case drawing(CairoError)
    /// The PDF cairo wrote could not be made PDF/A.
    case archival(ArchivalUpdateError)

    public var description: String {
        switch self {
        case .unknownTemplate(let id, let known): return "no notice template \(id) (there are: \(known.joined(separator: ", ")))"
        case .invalidData(let error): return error.description
        case .barcode(let error): return error.description
        case .drawing(let error): return error.description
        case .archival(let error): return error.description
        }
    }
}

extension NoticeRenderError: ProblemConvertible {
    public var problem: Problem {
        switch self {
        case .unknownTemplate:
            return Problem(code: "notice-template-unknown", status: 404, title: "没有这个通知书模板 Unknown notice template",
                           detail: description, remedy: "使用列出的模板名，或在 Config/notices/ 中添加模板文件。Use a listed template, or add a file to Config/notices/.")
        case .invalidData(let error):
            return error.problem
        case .barcode:
            return Problem(code: "notice-barcode-failed", status: 422, title: "条码生成失败 Barcode could not be made",
                           detail: description, remedy: "检查受理编号是否含有条码不能表示的字符。Check the case number for characters a barcode cannot carry.")
        case .drawing, .archival:
            return Problem(code: "notice-render-failed", status: 500, title: "通知书生成失败 Notice could not be drawn",
                           detail: description, remedy: "运行 tongban doctor 检查 pango/cairo 与 Noto CJK 字体。Run tongban doctor to check pango/cairo and the Noto CJK fonts.")
        }
    }
}

/// A rendered form: the file's bytes and how many pages it has.
public struct RenderedNotice: Sendable {
    public var template: String
    public var format: NoticeFormat
    /// One PDF, or one PNG per page.
    public var files: [Data]
    public var pageCount: Int
}

/// Renders forms on its own thread (pango's font map and cairo surfaces stay on one thread).
public final class NoticeRenderer: Sendable {
    public let library: NoticeLibrary
    /// Values forms may use as `{{settings.city}}` etc., from configuration.
    public let settings: [String: String]
    private let thread = DedicatedThread(name: "notices")

    public init(library: NoticeLibrary, settings: [String: String] = [:]) {
        self.library = library
        self.settings = settings
    }

    deinit { thread.stop() }

    /// The date printed when the data has no `date`: `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
    public static func defaultDate(environment: [String: String] = ProcessInfo.processInfo.environment) -> Date {
        if let epoch = environment["SOURCE_DATE_EPOCH"].flatMap(TimeInterval.init) { return Date(timeIntervalSince1970: epoch) }
        return Date()
    }

    /// Renders the form with `data`. PNG pages are at `pixelsPerPoint` × 72 dpi.
    public func render(_ templateID: String, data: JSONValue, format: NoticeFormat, date: Date = NoticeRenderer.defaultDate(),
                       pixelsPerPoint: Double = 150.0 / 72.0) async throws(NoticeRenderError) -> RenderedNotice {
        let template = try library.template(templateID)
        let settings = self.settings
        return try await thread.perform { () throws(NoticeRenderError) -> RenderedNotice in
            try Self.renderNow(template, data: data, format: format, date: date, settings: settings, pixelsPerPoint: pixelsPerPoint)
        }
    }

    private static func renderNow(_ template: NoticeTemplate, data: JSONValue, format: NoticeFormat, date: Date,
                                  settings: [String: String], pixelsPerPoint: Double) throws(NoticeRenderError) -> RenderedNotice {
        let context: [String: Any]
        do { context = try NoticeData.context(for: template, data: data, date: date, settings: settings) } catch {
            throw .invalidData(error)
        }
        let printedDate = (context["today"] as? [String: Any])?["iso"] as? String ?? ""
        do {
            let canvas: Canvas
            switch format {
            case .pdf:
                canvas = try Canvas.pdf(metadata: PDFMetadata(
                    title: template.title, subject: (context["caseNumber"] as? String) ?? "",
                    keywords: template.id, creator: "Tongban \(template.id)",
                    date: printedDate.isEmpty ? "" : "\(printedDate)T00:00:00+08:00"))
            case .png:
                canvas = try Canvas.raster(pixelsPerPoint: pixelsPerPoint)
            }
            let layout = NoticeLayout(template: template, context: context, canvas: canvas)
            let pages: [NoticeLayout.Page]
            do { pages = try layout.pages() } catch { throw NoticeRenderError.barcode(error) }
            try layout.draw(pages)
            var files = try canvas.finish()
            if format == .pdf {
                // Kept as the case's attachment: PDF/A-2b like every document Tongban keeps. Dated by the form's printed
                // day, so a reprint the same day is the same bytes.
                let day = ISO8601DateFormatter().date(from: "\(printedDate)T00:00:00+08:00") ?? date
                let info = PDFDocumentInfo(title: template.title, subject: (context["caseNumber"] as? String) ?? "",
                                           keywords: (context["caseNumber"] as? String) ?? template.id, creator: "Tongban \(template.id)",
                                           producer: "Tongban (cairo)", created: day, timeZone: TimeZone(secondsFromGMT: 8 * 3600)!)
                do { files = try files.map { Data(try ArchivalUpdate.archival(Array($0), info: info)) } } catch let error as ArchivalUpdateError {
                    throw NoticeRenderError.archival(error)
                }
            }
            return RenderedNotice(template: template.id, format: format, files: files, pageCount: pages.count)
        } catch let error as NoticeRenderError {
            throw error
        } catch let error as CairoError {
            throw .drawing(error)
        } catch {
            throw .drawing(CairoError(call: "render", status: "\(error)"))
        }
    }
}
