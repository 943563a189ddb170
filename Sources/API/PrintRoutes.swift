import Foundation
import Hummingbird
import Notices
import Printing
import Receipts
import Store
import TongbanCore

/// `/v1/printers`, `/v1/prints`, `/v1/notices`: forms rendered and printed, jobs followed, receipts.
enum PrintRoutes {
    /// `POST /v1/prints` as JSON: a form with its data, or an intake receipt.
    struct PrintBody: Decodable {
        var template: String?
        var data: JSONValue?
        var receipt: IntakeReceipt?
        var printer: String?
        var copies: Int?
        var sides: String?
        var media: String?
        var quality: Int?
        var `operator`: String?
    }

    struct TemplateView: Encodable {
        struct Field: Encodable {
            var name: String, label: String, type: String, required: Bool
            /// What the form prints when the field is left empty: shown in the form for the clerk to keep or change.
            var `default`: String?
            var options: [String]?
            var fields: [Field]?
        }
        var id: String, title: String, englishTitle: String, source: String, orientation: String
        var fields: [Field]
    }

    static func add(to router: Router<BasicRequestContext>, _ dependencies: APIDependencies) {
        router.get("/v1/printers") { _, _ -> Response in
            try TongbanAPI.json(try await service(dependencies).printers())
        }

        router.post("/v1/prints") { request, _ -> Response in
            let prints = try service(dependencies)
            let query = request.uri.queryParameters
            if request.headers[.contentType]?.hasPrefix("application/pdf") == true {
                // A PDF as it is: options in the query.
                var request = request
                let body = try await request.collectBody(upTo: BodyLimitMiddleware<BasicRequestContext>.printedPDFLimit)
                let printRequest = PrintRequest(
                    document: .pdf(Data(body.readableBytesView), caseNumber: query["caseNumber"].map(String.init),
                                   title: query["title"].map(String.init) ?? "document"),
                    printer: query["printer"].map(String.init), copies: query["copies"].flatMap { Int(String($0)) } ?? 1,
                    sides: query["sides"].map(String.init), media: query["media"].map(String.init),
                    quality: query["quality"].flatMap { Int(String($0)) }, operator: query["operator"].map(String.init))
                return try TongbanAPI.json(try await prints.print(printRequest), status: .accepted)
            }
            let body = try await RequestBody.decode(PrintBody.self, from: request, what: "print request")
            if let receipt = body.receipt {
                return try TongbanAPI.json(try await prints.printReceipt(receipt, printer: body.printer, operator: body.operator),
                                           status: .accepted)
            }
            guard let template = body.template else {
                throw Problem(code: "invalid-json", status: 400, title: "请求格式错误 Malformed request",
                              detail: "the print request needs `template` and `data`, or `receipt`, or a PDF body",
                              remedy: "GET /v1/notices lists the templates and their fields.")
            }
            let printRequest = PrintRequest(document: .notice(template: template, data: body.data ?? .object([:])),
                                            printer: body.printer, copies: body.copies ?? 1, sides: body.sides, media: body.media,
                                            quality: body.quality, operator: body.operator)
            return try TongbanAPI.json(try await prints.print(printRequest), status: .accepted)
        }

        router.get("/v1/prints") { request, _ -> Response in
            let states = request.uri.queryParameters["state"].map { String($0).split(separator: ",").compactMap { PrintState(rawValue: String($0)) } }
            return try TongbanAPI.json(try await service(dependencies).jobs(states: states))
        }

        router.get("/v1/prints/:id") { _, context -> Response in
            try TongbanAPI.json(try await service(dependencies).job(try context.parameters.require("id")))
        }

        router.delete("/v1/prints/:id") { _, context -> Response in
            try TongbanAPI.json(try await service(dependencies).cancel(try context.parameters.require("id")))
        }

        router.get("/v1/notices") { _, _ -> Response in
            let library = try service(dependencies).renderer.library
            return try TongbanAPI.json(library.templates.values.sorted { $0.id < $1.id }.map(view))
        }

        /// Renders a form without printing it: PDF, or PNG of one page (`?format=png&page=N&dpi=D`).
        router.post("/v1/notices/:template/preview") { request, context -> Response in
            let renderer = try service(dependencies).renderer
            let query = request.uri.queryParameters
            let data = try await RequestBody.decode(JSONValue.self, from: request, what: "notice data")
            let format = query["format"].flatMap { NoticeFormat(rawValue: String($0)) } ?? .pdf
            let dpi = min(max(query["dpi"].flatMap { Double(String($0)) } ?? 100, 30), 300)
            let rendered = try await renderer.render(try context.parameters.require("template"), data: data, format: format,
                                                     pixelsPerPoint: dpi / 72)
            if format == .png {
                let page = query["page"].flatMap { Int(String($0)) } ?? 1
                guard (1...rendered.files.count).contains(page) else {
                    throw Problem(code: "page-not-found", status: 404, title: "没有这一页 No such page",
                                  detail: "the notice has \(rendered.files.count) page(s), asked for page \(page)")
                }
                var response = TongbanAPI.bytes(Array(rendered.files[page - 1]), contentType: "image/png")
                response.headers[.init("X-Page-Count")!] = String(rendered.pageCount)
                return response
            }
            var response = TongbanAPI.bytes(Array(rendered.files[0]), contentType: "application/pdf")
            response.headers[.init("X-Page-Count")!] = String(rendered.pageCount)
            return response
        }
    }

    static func view(_ template: NoticeTemplate) -> TemplateView {
        func field(_ spec: NoticeTemplate.FieldSpec) -> TemplateView.Field {
            .init(name: spec.name, label: spec.label, type: spec.kind.rawValue, required: spec.required, default: spec.defaultValue,
                  options: spec.options.isEmpty ? nil : spec.options, fields: spec.fields.isEmpty ? nil : spec.fields.map(field))
        }
        return TemplateView(id: template.id, title: template.title, englishTitle: template.englishTitle, source: template.source,
                            orientation: template.orientation.rawValue, fields: template.fields.map(field))
    }

    static func service(_ dependencies: APIDependencies) throws -> PrintService {
        guard let prints = dependencies.prints else {
            throw Problem(code: "printing-unavailable", status: 503, title: "打印不可用 Printing unavailable",
                          detail: "this service runs without printing (no store or notice templates)",
                          remedy: "Run tongban serve with a data folder and printers.templates; see tongban doctor.")
        }
        return prints
    }
}
