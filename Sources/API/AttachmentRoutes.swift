import Delivery
import Foundation
import HTTPTypes
import Hummingbird
import Store
import TongbanCore

/// `/v1/attachments` and `/v1/outbox`: attachments taken in (acknowledged only once durable and recorded) and their
/// delivery to the case core.
enum AttachmentRoutes {
    struct OutboxSummary: Encodable {
        var sink: String
        var undelivered: Int
        var failed: Int
        var oldestUndeliveredAt: Date?
        var entries: [OutboxEntry]
    }

    struct AttachmentWithDelivery: Encodable {
        var attachment: AttachmentManifest
        var delivery: OutboxEntry?
    }

    static let maximumSize = 1 << 30

    static func add(to router: Router<BasicRequestContext>, _ dependencies: APIDependencies) {
        /// The body is the file; what it is comes in the query: case, material, kind, fileName, pages, device, operator.
        router.post("/v1/attachments") { request, context -> Response in
            guard let intake = dependencies.intake else { throw unavailable() }
            let query = request.uri.queryParameters
            let kindText = query["kind"].map(String.init) ?? "other"
            var problems: [String] = []
            let kind = AttachmentKind(rawValue: kindText)
            if kind == nil { problems.append("kind '\(kindText)' is not one of \(AttachmentKind.allCases.map(\.rawValue).joined(separator: ", "))") }
            let pages = query["pages"].flatMap { Int(String($0)) }
            if query["pages"] != nil && pages == nil { problems.append("pages is not a whole number") }
            let attachment = AttachmentRequest(
                caseNumber: query["case"].map(String.init) ?? "", materialName: query["material"].map(String.init) ?? "",
                kind: kind ?? .other, contentType: request.headers[.contentType] ?? "application/octet-stream",
                fileName: query["fileName"].map(String.init) ?? "attachment.bin", pages: pages,
                device: query["device"].map(String.init), operator: query["operator"].map(String.init))
            problems += attachment.problems
            guard problems.isEmpty else {
                throw Problem(code: "invalid-attachment", status: 400, title: "附件信息不完整 Attachment details incomplete",
                              detail: problems.joined(separator: "; "),
                              remedy: "Give case, material, kind and fileName in the query and the file as the body.")
            }
            // Store and storage errors (disk full → 507, …) become problems in ProblemMiddleware.
            let incoming = try await intake.begin(kind: attachment.kind)
            do {
                var received = 0
                for try await buffer in request.body {
                    received += buffer.readableBytes
                    guard received <= maximumSize else {
                        throw Problem(code: "attachment-too-large", status: 413, title: "附件过大 Attachment too large",
                                      detail: "more than \(maximumSize) bytes", remedy: "Split the document into several attachments.")
                    }
                    try await intake.append(Array(buffer.readableBytesView), to: incoming)
                }
            } catch {
                await intake.abandon(incoming)
                if error is ProblemConvertible { throw error }
                throw Problem(code: "upload-interrupted", status: 400, title: "上传中断 Upload interrupted", detail: "\(error)",
                              remedy: "Send the file again; nothing was kept.")
            }
            let manifest = try await intake.finish(incoming, attachment)
            return try TongbanAPI.json(manifest, status: .created)
        }

        router.get("/v1/attachments") { request, _ -> Response in
            guard let store = dependencies.store else { throw unavailable() }
            let caseNumber = request.uri.queryParameters["case"].map(String.init)
            return try TongbanAPI.json(try store.attachments(caseNumber: caseNumber).map {
                AttachmentWithDelivery(attachment: $0.manifest, delivery: $0.delivery)
            })
        }

        /// The manifest from the store: the file (a call's recording can be hundreds of megabytes) is not read.
        router.get("/v1/attachments/:id") { _, context -> Response in
            guard let store = dependencies.store else { throw unavailable() }
            let id = try context.parameters.require("id")
            guard let (manifest, _) = try store.attachment(id: id) else { throw notFound(id) }
            return try TongbanAPI.json(manifest)
        }

        /// The attachment's bytes as captured (identity items unsealed), for the clerk to look at before sending.
        /// Opening an identity item (a card side, a photo, a copy) is written to the audit log, as revealing a card is.
        router.get("/v1/attachments/:id/content") { request, context -> Response in
            let (manifest, bytes) = try await contents(dependencies, try context.parameters.require("id"))
            if manifest.kind.holdsIdentity {
                try dependencies.store?.appendAudit(actor: Caller.current.auditName, action: "attachment.view",
                                                    subject: manifest.attachmentId, detail: "kind \(manifest.kind.rawValue)")
            }
            // The uploader chose the type: only a picture or a PDF is shown in the page, anything else is a download,
            // and nothing served here may run script on the console's origin (an HTML or SVG "attachment").
            var headers = HTTPFields()
            let viewable = ["image/jpeg", "image/png", "application/pdf"].contains(manifest.contentType.lowercased())
            headers[.contentType] = viewable ? manifest.contentType : "application/octet-stream"
            headers[.contentDisposition] = viewable ? "inline" : "attachment"
            headers[.cacheControl] = "no-store"
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            headers[.contentSecurityPolicy] = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }

        router.get("/v1/outbox") { _, _ -> Response in
            guard let store = dependencies.store else { throw unavailable() }
            let entries = try store.outbox(undeliveredOnly: true)
            return try TongbanAPI.json(OutboxSummary(
                sink: dependencies.outbox?.sinkName ?? "none", undelivered: entries.count,
                failed: entries.filter { $0.state == .failed }.count,
                oldestUndeliveredAt: entries.map(\.createdAt).min(), entries: entries))
        }

        router.delete("/v1/outbox/:id") { _, context -> Response in
            guard let outbox = dependencies.outbox else { throw unavailable() }
            let id = try context.parameters.require("id")
            guard try await outbox.cancel(attachmentId: id, actor: Caller.current.auditName) else {
                throw Problem(code: "outbox-entry-not-found", status: 404, title: "没有待发送的附件 Nothing to cancel",
                              detail: "'\(id)' is not waiting for delivery (delivered, cancelled, or never captured)", remedy: "Check GET /v1/outbox.")
            }
            return Response(status: .noContent)
        }

        router.post("/v1/outbox/:id/retry") { _, context -> Response in
            guard let store = dependencies.store else { throw unavailable() }
            let id = try context.parameters.require("id")
            guard try store.retryNow(attachmentId: id, actor: Caller.current.auditName) else {
                throw Problem(code: "outbox-entry-not-found", status: 404, title: "没有待发送的附件 Nothing to retry",
                              detail: "'\(id)' is not waiting for delivery (delivered, or never captured)", remedy: "Check GET /v1/outbox.")
            }
            dependencies.outbox?.wake()
            return Response(status: .accepted)
        }
    }

    static func unavailable() -> Problem {
        Problem(code: "no-store", status: 503, title: "附件存储不可用 Attachment store unavailable",
                detail: "this service runs without its store", remedy: "Run tongban serve with a data folder.")
    }

    static func contents(_ dependencies: APIDependencies, _ id: String) async throws -> (AttachmentManifest, [UInt8]) {
        guard let intake = dependencies.intake else { throw unavailable() }
        guard let found = try await intake.contents(of: id) else { throw notFound(id) }
        return found
    }

    static func notFound(_ id: String) -> Problem {
        Problem(code: "attachment-not-found", status: 404, title: "没有这个附件 No such attachment",
                detail: "no attachment \(id) on this PC (purged after delivery, or never stored)",
                remedy: "GET /v1/attachments?case=… lists a case's attachments.")
    }
}
