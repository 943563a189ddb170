import Foundation
import TongbanCore

/// The data given for a form does not fit its fields. Lists every problem at once, each naming the field.
public struct NoticeDataError: Error, Sendable, Equatable, CustomStringConvertible {
    public var template: String
    /// Each field that is not valid: its path, the kind of problem and what is wrong.
    public var fields: [Problem.InvalidParam]
    /// The problems in words, `path: what is wrong`.
    public var problems: [String] { fields.map { $0.name.isEmpty ? $0.reason : "\($0.name): \($0.reason)" } }
    public var description: String { "data for \(template) is not valid: " + problems.joined(separator: "; ") }
}

extension NoticeDataError: ProblemConvertible {
    public var problem: Problem {
        var problem = Problem(code: "notice-data-invalid", status: 422, title: "通知书数据有误 Notice data is not valid",
                              detail: description,
                              remedy: "按标出的各项补全或更正后重试。Complete or correct the fields marked and try again.")
        problem.invalidParams = fields
        return problem
    }
}

extension Problem.InvalidParam {
    static func required(_ name: String, _ reason: String) -> Self { .init(name: name, kind: "required", reason: reason) }
    static func unknown(_ name: String, _ reason: String) -> Self { .init(name: name, kind: "unknown", reason: reason) }
    static func invalid(_ name: String, _ reason: String) -> Self { .init(name: name, kind: "invalid", reason: reason) }
}

/// Checks request data against a template's fields and turns it into the Mustache context.
enum NoticeData {
    /// The context for `data`, or every problem found.
    static func context(for template: NoticeTemplate, data: JSONValue, date: Date,
                        settings: [String: String]) throws(NoticeDataError) -> [String: Any] {
        guard case .object(let object) = data else {
            throw NoticeDataError(template: template.id, fields: [.invalid("", "the data must be a JSON object")])
        }
        var problems: [Problem.InvalidParam] = []
        var context = convert(object, fields: template.fields, path: "", problems: &problems)
        if template.caseNumberCodes {
            let caseNumber = object["caseNumber"]?.stringValue ?? ""
            if caseNumber.isEmpty {
                problems.append(.required("caseNumber", "required (printed as QR code and Code 128)"))
            } else if !caseNumber.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0.asciiValue! >= 0x21 }) {
                problems.append(.invalid("caseNumber", "\"\(caseNumber)\" must be printable ASCII without spaces to be a Code 128 barcode"))
            }
            context["caseNumber"] = caseNumber
        }
        guard problems.isEmpty else { throw NoticeDataError(template: template.id, fields: problems) }
        let printed = (object["date"]?.stringValue).flatMap(parseDate) ?? date
        context["today"] = dateContext(printed)
        context["settings"] = settings
        return context
    }

    private static func convert(_ object: [String: JSONValue], fields: [NoticeTemplate.FieldSpec], path: String,
                                problems: inout [Problem.InvalidParam]) -> [String: Any] {
        var result: [String: Any] = [:]
        let known = Set(fields.map(\.name))
        for key in object.keys.sorted() where !known.contains(key) && key != "caseNumber" && key != "date" {
            problems.append(.unknown("\(path)\(key)", "not a field of this form"))
        }
        for field in fields {
            let name = path + field.name
            var value = object[field.name]
            if value == nil || value == .null, let fallback = field.defaultValue {
                value = field.kind == .integer || field.kind == .number ? Double(fallback).map(JSONValue.number) : .string(fallback)
            }
            guard let value, value != .null else {
                if field.required { problems.append(.required(name, "required (\(field.label))")) }
                if field.kind == .list { result[field.name] = [[String: Any]]() }
                if field.kind == .choice { result[field.name + "Options"] = options(field, chosen: nil) }
                continue
            }
            switch (field.kind, value) {
            case (.string, .string(let text)):
                if field.required && text.trimmingCharacters(in: .whitespaces).isEmpty {
                    problems.append(.required(name, "required (\(field.label)), got an empty text"))
                }
                result[field.name] = text
            case (.string, .number(let number)):
                result[field.name] = format(number)
            case (.integer, .number(let number)) where number == number.rounded():
                result[field.name] = format(number)
            case (.number, .number(let number)):
                result[field.name] = format(number)
            case (.boolean, .bool(let flag)):
                result[field.name] = flag
            case (.date, .string(let text)):
                if let date = parseDate(text) {
                    result[field.name] = text
                    result[field.name + "Chinese"] = (dateContext(date)["chinese"] as? String) ?? text
                } else {
                    problems.append(.invalid(name, "\"\(text)\" is not a date (YYYY-MM-DD)"))
                }
            case (.choice, .string(let text)):
                if field.options.contains(text) {
                    result[field.name] = text
                    result[field.name + "Options"] = options(field, chosen: text)
                } else {
                    problems.append(.invalid(name, "\"\(text)\" is not one of \(field.options.joined(separator: ", "))"))
                }
            case (.list, .array(let items)):
                var converted: [[String: Any]] = []
                for (index, item) in items.enumerated() {
                    guard case .object(let itemObject) = item else {
                        problems.append(.invalid("\(name)[\(index)]", "must be an object")); continue
                    }
                    var itemContext = convert(itemObject, fields: field.fields, path: "\(name)[\(index)].", problems: &problems)
                    itemContext["number"] = String(index + 1)
                    converted.append(itemContext)
                }
                if field.required && items.isEmpty { problems.append(.required(name, "required (\(field.label)), got an empty list")) }
                result[field.name] = converted
            case (.object, .object(let inner)):
                result[field.name] = convert(inner, fields: field.fields, path: "\(name).", problems: &problems)
            default:
                problems.append(.invalid(name, "expected \(describe(field.kind)), got \(describe(value))"))
            }
        }
        return result
    }

    /// The context of an empty row of a list: choice fields still show their unticked boxes.
    static func blankItem(_ fields: [NoticeTemplate.FieldSpec]) -> [String: Any] {
        var item: [String: Any] = [:]
        for field in fields where field.kind == .choice { item[field.name + "Options"] = options(field, chosen: nil) }
        return item
    }

    private static func options(_ field: NoticeTemplate.FieldSpec, chosen: String?) -> [[String: Any]] {
        field.options.map { ["label": $0, "checked": $0 == chosen, "mark": $0 == chosen ? "☑" : "☐"] }
    }

    private static func describe(_ kind: NoticeTemplate.FieldSpec.Kind) -> String {
        switch kind {
        case .string: return "text"
        case .integer: return "a whole number"
        case .number: return "a number"
        case .boolean: return "true or false"
        case .date: return "a date text (YYYY-MM-DD)"
        case .choice: return "one of the listed texts"
        case .list: return "a list"
        case .object: return "an object"
        }
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "true/false"
        case .number(let number): return "the number \(format(number))"
        case .string(let text): return "the text \"\(text)\""
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    static func parseDate(_ text: String) -> Date? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard text.count == 10, parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour) = (parts[0], parts[1], parts[2], 12)
        return chinaCalendar.date(from: components)
    }

    /// Dates on the forms are China Standard Time.
    static let chinaCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai") ?? TimeZone(secondsFromGMT: 8 * 3600)!
        return calendar
    }()

    static func dateContext(_ date: Date) -> [String: Any] {
        let parts = chinaCalendar.dateComponents([.year, .month, .day], from: date)
        let (year, month, day) = (parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        return ["year": String(year), "month": String(month), "day": String(day),
                "iso": String(format: "%04d-%02d-%02d", year, month, day),
                "chinese": "\(year)年\(month)月\(day)日"]
    }
}
