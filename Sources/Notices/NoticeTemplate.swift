import Foundation
import Mustache
import Yams

/// One printed form, read from `Config/notices/<id>.yaml`: what data it takes and how it is laid out.
/// Text anywhere in it is a Mustache template over the request's data (no HTML escaping).
public struct NoticeTemplate: Sendable {
    /// The file name without `.yaml`, e.g. `receipt-notice`.
    public var id: String
    /// The form's Chinese title, e.g. 申请材料接收通知书.
    public var title: String
    /// The title in English, for the console and the API listing.
    public var englishTitle: String
    /// Where the form comes from (the rule and appendix).
    public var source: String
    public var orientation: Orientation
    /// The data the form takes.
    public var fields: [FieldSpec]
    /// Print the case number (`caseNumber`) as QR code and Code 128 at the top of every page.
    public var caseNumberCodes: Bool
    /// Small text at the top of every page (e.g. the hall's name).
    public var header: CompiledText?
    public var blocks: [Block]
    /// Small text at the bottom of every page; `{{page}}` and `{{pages}}` are the page number and count.
    public var footer: CompiledText?

    public enum Orientation: String, Sendable, Codable { case portrait, landscape }

    /// A value the form takes: type, whether it is required, a default, and for lists and objects their fields.
    public struct FieldSpec: Sendable {
        public enum Kind: String, Sendable, Codable { case string, integer, number, boolean, date, choice, list, object }
        public var name: String
        public var label: String
        public var kind: Kind
        public var required: Bool
        public var defaultValue: String?
        /// For `choice`: the allowed values, printed as ☐/☑ boxes through `<name>Options`.
        public var options: [String]
        /// For `list` (each item) and `object`.
        public var fields: [FieldSpec]
    }

    /// A piece of the page, laid out top to bottom.
    public enum Block: Sendable {
        case heading(CompiledText)
        case text(CompiledText, TextOptions)
        case space(millimetres: Double)
        case table(Table)
        /// A QR code of the rendered text, centred, `size` millimetres square (a separator sheet's mark).
        case qrCode(CompiledText, size: Double)
    }

    public struct TextOptions: Sendable {
        public var alignment: Alignment
        public var bold: Bool
        /// Font size in points.
        public var size: Double
        /// Space kept free above the text, in millimetres (room for a signature or a seal).
        public var spaceAbove: Double
    }

    public enum Alignment: String, Sendable, Codable { case left, center, right }

    /// A ruled table: relative column widths, and rows that are fixed or repeated for each item of a list.
    public struct Table: Sendable {
        public var columns: [Double]
        public var alignments: [Alignment]
        public var rows: [Row]
        /// Font size in points.
        public var size: Double
    }

    public struct Row: Sendable {
        /// Repeated at the top of every page the table continues on.
        public var isHeader: Bool
        /// The list field this row repeats for; nil for a fixed row.
        public var each: String?
        /// With `each`: empty rows added so the table has at least this many.
        public var minimumRows: Int
        /// Minimum row height in millimetres.
        public var minimumHeight: Double
        public var cells: [Cell]
    }

    public struct Cell: Sendable {
        public var text: CompiledText
        public var span: Int
        public var alignment: Alignment?
        public var bold: Bool
    }
}

/// Template text compiled once: the source (for error messages) and its Mustache template.
public struct CompiledText: Sendable {
    public var source: String
    let template: MustacheTemplate

    init(_ source: String) throws {
        self.source = source
        template = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
    }

    func render(_ context: [String: Any]) -> String { template.render(context) }
}

/// A template file that cannot be used, naming the file and what is wrong with it.
public struct NoticeTemplateError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var reason: String
    public var description: String { "notice template \(file): \(reason)" }
}

// MARK: - Reading the YAML

extension NoticeTemplate {
    /// Reads and checks one template file. Every text is compiled here, so a broken file is refused at start-up.
    public static func load(contentsOf url: URL) throws(NoticeTemplateError) -> NoticeTemplate {
        let file = url.lastPathComponent
        let id = url.deletingPathExtension().lastPathComponent
        let yaml: String
        do { yaml = try String(contentsOf: url, encoding: .utf8) } catch {
            throw NoticeTemplateError(file: file, reason: "cannot read: \(error.localizedDescription)")
        }
        return try parse(yaml: yaml, id: id, file: file)
    }

    /// Parses a template from YAML text.
    public static func parse(yaml: String, id: String, file: String) throws(NoticeTemplateError) -> NoticeTemplate {
        let root: Any?
        do { root = try Yams.load(yaml: yaml) } catch {
            throw NoticeTemplateError(file: file, reason: "not valid YAML: \(error)")
        }
        guard let map = root as? [String: Any] else {
            throw NoticeTemplateError(file: file, reason: "the top level must be a mapping")
        }
        do {
            let reader = Reader(file: file)
            return NoticeTemplate(
                id: id,
                title: try reader.string(map, "title"),
                englishTitle: (map["english"] as? String) ?? "",
                source: (map["source"] as? String) ?? "",
                orientation: try reader.enumValue(map, "orientation", default: .portrait),
                fields: try reader.fields(map["fields"], path: "fields"),
                caseNumberCodes: (map["caseNumberCodes"] as? Bool) ?? true,
                header: try (map["header"] as? String).map(reader.compile),
                blocks: try reader.blocks(map["blocks"]),
                footer: try (map["footer"] as? String).map(reader.compile))
        } catch let error as NoticeTemplateError {
            throw error
        } catch {
            throw NoticeTemplateError(file: file, reason: "\(error)")
        }
    }

    private struct Reader {
        var file: String

        func fail(_ reason: String) -> NoticeTemplateError { NoticeTemplateError(file: file, reason: reason) }

        func string(_ map: [String: Any], _ key: String) throws -> String {
            guard let value = map[key] as? String, !value.isEmpty else { throw fail("`\(key)` is missing or not text") }
            return value
        }

        func number(_ value: Any?, _ what: String, default fallback: Double) throws -> Double {
            switch value {
            case nil: return fallback
            case let value as Int: return Double(value)
            case let value as Double: return value
            default: throw fail("\(what) must be a number")
            }
        }

        func enumValue<T: RawRepresentable>(_ map: [String: Any], _ key: String, default fallback: T) throws -> T
        where T.RawValue == String {
            guard let raw = map[key] else { return fallback }
            guard let text = raw as? String, let value = T(rawValue: text) else {
                throw fail("`\(key)`: \(raw) is not one of the allowed values")
            }
            return value
        }

        func compile(_ text: String) throws -> CompiledText {
            do { return try CompiledText(text) } catch { throw fail("Mustache error in \"\(text)\": \(error)") }
        }

        func fields(_ value: Any?, path: String) throws -> [FieldSpec] {
            guard let value else { return [] }
            guard let list = value as? [[String: Any]] else { throw fail("`\(path)` must be a list of mappings") }
            return try list.enumerated().map { index, map in
                let name = try string(map, "name")
                let kind: FieldSpec.Kind = try enumValue(map, "type", default: .string)
                let options = (map["options"] as? [Any])?.map { "\($0)" } ?? []
                if kind == .choice && options.isEmpty { throw fail("\(path)[\(index)] `\(name)`: a choice needs `options`") }
                let defaultValue: String? = map["default"].map { "\($0)" }
                return FieldSpec(name: name, label: (map["label"] as? String) ?? name, kind: kind,
                                 required: (map["required"] as? Bool) ?? false, defaultValue: defaultValue,
                                 options: options, fields: try fields(map["fields"], path: "\(path).\(name)"))
            }
        }

        func alignment(_ value: Any?) throws -> Alignment? {
            guard let value else { return nil }
            guard let text = value as? String, let alignment = Alignment(rawValue: text) else {
                throw fail("alignment \(value) must be left, center or right")
            }
            return alignment
        }

        func blocks(_ value: Any?) throws -> [Block] {
            guard let list = value as? [[String: Any]], !list.isEmpty else { throw fail("`blocks` must be a non-empty list") }
            return try list.enumerated().map { index, map in
                guard map.count == 1, let (kind, body) = map.first else {
                    throw fail("blocks[\(index)] must have exactly one key (heading, text, note, space, table, qr)")
                }
                switch kind {
                case "heading":
                    guard let text = body as? String else { throw fail("blocks[\(index)].heading must be text") }
                    return .heading(try compile(text))
                case "text", "note":
                    let options = body as? [String: Any]
                    guard let text = (body as? String) ?? (options?["text"] as? String) else {
                        throw fail("blocks[\(index)].\(kind) must be text or a mapping with `text`")
                    }
                    let defaultSize = kind == "note" ? 9.0 : 12.0
                    return .text(try compile(text), TextOptions(
                        alignment: try alignment(options?["align"]) ?? .left,
                        bold: (options?["bold"] as? Bool) ?? false,
                        size: try number(options?["size"], "blocks[\(index)].size", default: defaultSize),
                        spaceAbove: try number(options?["spaceAbove"], "blocks[\(index)].spaceAbove", default: 0)))
                case "space":
                    return .space(millimetres: try number(body, "blocks[\(index)].space", default: 0))
                case "table":
                    guard let table = body as? [String: Any] else { throw fail("blocks[\(index)].table must be a mapping") }
                    return .table(try self.table(table, path: "blocks[\(index)].table"))
                case "qr":
                    let options = body as? [String: Any]
                    guard let text = (body as? String) ?? (options?["text"] as? String) else {
                        throw fail("blocks[\(index)].qr must be text or a mapping with `text`")
                    }
                    let size = try number(options?["size"], "blocks[\(index)].size", default: 40)
                    guard (10...150).contains(size) else { throw fail("blocks[\(index)].qr size must be 10…150 mm") }
                    return .qrCode(try compile(text), size: size)
                default:
                    throw fail("blocks[\(index)]: unknown block `\(kind)` (heading, text, note, space, table, qr)")
                }
            }
        }

        func table(_ map: [String: Any], path: String) throws -> Table {
            guard let columns = (map["columns"] as? [Any])?.compactMap({ ($0 as? Int).map(Double.init) ?? ($0 as? Double) }),
                  !columns.isEmpty, columns.allSatisfy({ $0 > 0 }) else {
                throw fail("\(path).columns must list positive relative widths")
            }
            let alignments = try ((map["align"] as? [Any]) ?? []).map { try alignment($0) ?? .center }
            guard let rowList = map["rows"] as? [[String: Any]], !rowList.isEmpty else {
                throw fail("\(path).rows must be a non-empty list")
            }
            let rows = try rowList.enumerated().map { index, row -> Row in
                guard let cellList = row["cells"] as? [Any] else { throw fail("\(path).rows[\(index)].cells is missing") }
                let cells = try cellList.map { cell -> Cell in
                    if let text = cell as? String { return Cell(text: try compile(text), span: 1, alignment: nil, bold: false) }
                    if let number = cell as? Int { return Cell(text: try compile(String(number)), span: 1, alignment: nil, bold: false) }
                    guard let cell = cell as? [String: Any], let text = cell["text"].map({ "\($0)" }) else {
                        throw fail("\(path).rows[\(index)]: a cell is text or a mapping with `text`")
                    }
                    return Cell(text: try compile(text), span: (cell["span"] as? Int) ?? 1,
                                alignment: try alignment(cell["align"]), bold: (cell["bold"] as? Bool) ?? false)
                }
                let width = cells.reduce(0) { $0 + $1.span }
                guard width == columns.count else {
                    throw fail("\(path).rows[\(index)] spans \(width) columns, the table has \(columns.count)")
                }
                return Row(isHeader: (row["header"] as? Bool) ?? false, each: row["each"] as? String,
                           minimumRows: (row["minimumRows"] as? Int) ?? 0,
                           minimumHeight: try number(row["height"], "\(path).rows[\(index)].height", default: 0),
                           cells: cells)
            }
            return Table(columns: columns, alignments: alignments, rows: rows,
                         size: try number(map["size"], "\(path).size", default: 10.5))
        }
    }
}
