import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Scanning
import Store
import TongbanCore

/// `/v1/scans`: batches from the scanner, the clerk's page edits, and the finished PDF attachment.
enum ScanRoutes {
    struct OrderRequest: Decodable { var pageIds: [String] }
    struct PageEdit: Decodable { var rotation: Int }
    struct FinishRequest: Decodable {
        var includeBlank: Bool?
        var `operator`: String?
    }

    static func add(to router: Router<BasicRequestContext>, _ dependencies: APIDependencies) {
        router.post("/v1/scans") { request, _ -> Response in
            let scans = try service(dependencies)
            let body = try await RequestBody.decode(ScanRequest.self, from: request, what: "scan request")
            return try TongbanAPI.json(try await scans.start(body), status: .accepted)
        }

        router.get("/v1/scans") { request, _ -> Response in
            let scans = try service(dependencies)
            let states = request.uri.queryParameters["state"].map { String($0).split(separator: ",").compactMap { ScanState(rawValue: String($0)) } }
            return try TongbanAPI.json(try await scans.list(states: states).map(Self.shownToCaller))
        }

        router.get("/v1/scans/:id") { _, context -> Response in
            try TongbanAPI.json(Self.shownToCaller(try await service(dependencies).view(try context.parameters.require("id"))))
        }

        /// Cancels a batch that is scanning (pages kept), or discards one that is not.
        router.delete("/v1/scans/:id") { _, context -> Response in
            let scans = try service(dependencies)
            let id = try context.parameters.require("id")
            if await scans.cancel(id) { return Response(status: .accepted) }
            try await scans.discard(id, actor: Caller.current.auditName)
            return Response(status: .noContent)
        }

        router.post("/v1/scans/:id/pages") { request, context -> Response in
            let scans = try service(dependencies)
            let body = try await RequestBody.decodeIfPresent(ScanMoreRequest.self, from: request, what: "page request") ?? ScanMoreRequest()
            return try TongbanAPI.json(try await scans.scanMore(try context.parameters.require("id"), body), status: .accepted)
        }

        router.put("/v1/scans/:id/order") { request, context -> Response in
            let scans = try service(dependencies)
            let body = try await RequestBody.decode(OrderRequest.self, from: request, what: "page order")
            return try TongbanAPI.json(try await scans.reorder(try context.parameters.require("id"), pageIds: body.pageIds))
        }

        router.patch("/v1/scans/:id/pages/:page") { request, context -> Response in
            let scans = try service(dependencies)
            let body = try await RequestBody.decode(PageEdit.self, from: request, what: "page edit")
            return try TongbanAPI.json(try await scans.rotate(try context.parameters.require("id"), pageId: try context.parameters.require("page"),
                                                              rotation: body.rotation))
        }

        router.delete("/v1/scans/:id/pages/:page") { _, context -> Response in
            let scans = try service(dependencies)
            return try TongbanAPI.json(try await scans.deletePage(try context.parameters.require("id"), pageId: try context.parameters.require("page")))
        }

        router.get("/v1/scans/:id/pages/:page/thumbnail") { _, context -> Response in
            let scans = try service(dependencies)
            let bytes = try await scans.thumbnail(try context.parameters.require("id"), pageId: try context.parameters.require("page"))
            return TongbanAPI.bytes(bytes, contentType: "image/jpeg")
        }

        router.get("/v1/scans/:id/pages/:page/image") { _, context -> Response in
            let scans = try service(dependencies)
            let image = try await scans.image(try context.parameters.require("id"), pageId: try context.parameters.require("page"))
            return TongbanAPI.bytes(image.bytes, contentType: image.contentType)
        }

        router.post("/v1/scans/:id/finish") { request, context -> Response in
            let scans = try service(dependencies)
            let body = try await RequestBody.decodeIfPresent(FinishRequest.self, from: request, what: "finish request")
            let manifests = try await scans.finishMaterials(try context.parameters.require("id"), includeBlank: body?.includeBlank ?? false,
                                                            operator: body?.operator)
            return try TongbanAPI.json(FinishAnswer(first: manifests[0], all: manifests), status: .created)
        }
    }

    /// The first attachment's manifest as before, with `attachments`: every one the batch became (several when
    /// separator sheets split it).
    struct FinishAnswer: Encodable {
        var first: AttachmentManifest
        var all: [AttachmentManifest]

        enum Keys: String, CodingKey { case attachments }

        func encode(to encoder: any Encoder) throws {
            try first.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(all, forKey: .attachments)
        }
    }

    /// A batch as the caller may see it: the barcodes read off its pages are the papers' content (an e-licence's
    /// QR code, an ID number in Code 128) — shown to callers with a credential, left out for the anonymous local
    /// program that may list batches.
    static func shownToCaller(_ view: ScanView) -> ScanView {
        guard Caller.current == .anonymous else { return view }
        var view = view
        for index in view.pages.indices { view.pages[index].barcodes = nil }
        return view
    }

    static func service(_ dependencies: APIDependencies) throws -> ScanService {
        guard let scans = dependencies.scans else {
            throw Problem(code: "scanning-unavailable", status: 503, title: "扫描不可用 Scanning unavailable",
                          detail: "this service runs without scanning (no store or imaging threads)",
                          remedy: "Run tongban serve with a data folder; see tongban doctor.")
        }
        return scans
    }
}
