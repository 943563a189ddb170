import Delivery
import Foundation
import HTTPTypes
import Imaging
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
            let kindText = try request.queryText("kind") ?? "other"
            var problems: [String] = []
            let kind = AttachmentKind(rawValue: kindText)
            if kind == nil { problems.append("kind '\(kindText)' is not one of \(AttachmentKind.allCases.map(\.rawValue).joined(separator: ", "))") }
            let pagesText = try request.queryText("pages")
            let pages = pagesText.flatMap { Int($0) }
            if pagesText != nil && pages == nil { problems.append("pages is not a whole number") }
            let attachment = AttachmentRequest(
                caseNumber: try request.queryText("case") ?? "", materialName: try request.queryText("material") ?? "",
                kind: kind ?? .other, contentType: request.headers[.contentType] ?? "application/octet-stream",
                fileName: try request.queryText("fileName") ?? "attachment.bin", pages: pages,
                device: try request.queryText("device"), operator: try request.queryText("operator"))
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

        /// `case` lists one case's attachments; with `text`, only those whose recognised text contains the phrase.
        router.get("/v1/attachments") { request, _ -> Response in
            guard let store = dependencies.store else { throw unavailable() }
            let caseNumber = try request.queryText("case")
            var listed = try store.attachments(caseNumber: caseNumber)
            if let phrase = try request.queryText("text") {
                guard phrase.count <= 200 else {
                    var problem = Problem(code: "invalid-query", status: 400, title: "搜索内容过长 Search text too long",
                                          detail: "text is \(phrase.count) characters; a search takes at most 200",
                                          remedy: "输入较短的词语。Search for a shorter phrase.")
                    problem.invalidParams = [.init(name: "text", kind: "too-long", reason: "at most 200 characters")]
                    throw problem
                }
                guard let caseNumber else {
                    var problem = Problem(code: "invalid-query", status: 400, title: "缺少受理编号 Case number missing",
                                          detail: "text search runs within one case: give case as well as text",
                                          remedy: "Add case=<受理编号> to the query.")
                    problem.invalidParams = [.init(name: "case", kind: "required", reason: "text search runs within one case")]
                    throw problem
                }
                let matching = try store.attachmentIDs(caseNumber: caseNumber, textContaining: phrase)
                listed = listed.filter { matching.contains($0.manifest.attachmentId) }
            }
            return try TongbanAPI.json(listed.map { AttachmentWithDelivery(attachment: shownToCaller($0.manifest), delivery: $0.delivery) })
        }

        /// The manifest from the store: the file (a call's recording can be hundreds of megabytes) is not read.
        router.get("/v1/attachments/:id") { _, context -> Response in
            guard let store = dependencies.store else { throw unavailable() }
            let id = try context.parameters.require("id")
            guard let (manifest, _) = try store.attachment(id: id) else { throw notFound(id) }
            return try TongbanAPI.json(shownToCaller(manifest))
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

        /// A wrong capture taken back before it is delivered (`reason` in the query, for the audit log); restorable
        /// with `POST …/restore` until the retention service purges it (ten minutes at least).
        router.delete("/v1/attachments/:id") { request, context -> Response in
            guard let store = dependencies.store else { throw unavailable() }
            let id = try context.parameters.require("id")
            let reason = try auditReason(try request.queryText("reason"))
            // Being uploaded this moment: the case core may already hold most of it. The clerk tries again in a moment
            // (it is then delivered, and only the case system can take it back, or not yet started, and deleted).
            if await dependencies.outbox?.isDelivering(id) == true {
                throw Problem(code: "attachment-being-delivered", status: 409, title: "材料正在送达 Being delivered",
                              detail: "attachment \(id) is being uploaded to the case system right now",
                              remedy: "请稍候几秒再删除；若已送达，请在业务系统中撤回。Wait a few seconds and try again; once delivered, withdraw it in the case system.")
            }
            let deletion: Store.AttachmentDeletion?
            do {
                deletion = try store.deleteAttachment(id: id, actor: Caller.current.auditName, reason: reason)
            } catch StoreError.conflict {
                throw Problem(code: "attachment-delivered", status: 409, title: "材料已送达，不能删除 Already delivered",
                              detail: "attachment \(id) reached the case system already; it can only be withdrawn there",
                              remedy: "请在业务系统中撤回该材料。Withdraw it in the case system.")
            }
            guard let deletion else { throw notFound(id) }
            if let withdrawn = deletion.withdrawn { await dependencies.outbox?.withdrawn(withdrawn) }
            await dependencies.events.publish("attachment.deleted", AttachmentChange(attachmentId: id, caseNumber: deletion.manifest.caseNumber))
            return try TongbanAPI.json(deletion.manifest)
        }

        /// Takes a deletion back (the console's 撤销): listed again, and its delivery due now.
        router.post("/v1/attachments/:id/restore") { _, context -> Response in
            guard let store = dependencies.store else { throw unavailable() }
            let id = try context.parameters.require("id")
            guard let manifest = try store.restoreAttachment(id: id, actor: Caller.current.auditName) else { throw notFound(id) }
            dependencies.outbox?.wake()
            await dependencies.events.publish("attachment.restored", AttachmentChange(attachmentId: id, caseNumber: manifest.caseNumber))
            return try TongbanAPI.json(manifest)
        }

        /// A small picture of the attachment (JPEG, at most 320 px wide) for the case's list of materials: a picture
        /// scaled down, or a PDF's first page picture. 404 `no-thumbnail` for what has none (a form, a recording).
        /// Opening one of an identity item is audited as opening its content is.
        router.get("/v1/attachments/:id/thumbnail") { _, context -> Response in
            let id = try context.parameters.require("id")
            // Only pictures and PDFs have one: nothing else (a recording of hundreds of megabytes) is read to say so.
            if let listed = try dependencies.store?.attachment(id: id)?.manifest,
               !["image/jpeg", "application/pdf"].contains(listed.contentType.lowercased()) {
                throw noThumbnail(listed)
            }
            let (manifest, bytes) = try await contents(dependencies, id)
            guard let thumbnail = await AttachmentThumbnail.make(contentType: manifest.contentType, bytes: bytes) else {
                throw noThumbnail(manifest)
            }
            if manifest.kind.holdsIdentity {
                try dependencies.store?.appendAudit(actor: Caller.current.auditName, action: "attachment.view",
                                                    subject: manifest.attachmentId, detail: "thumbnail of kind \(manifest.kind.rawValue)")
            }
            var headers = HTTPFields()
            headers[.contentType] = "image/jpeg"
            headers[.cacheControl] = "no-store"
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: thumbnail)))
        }

        /// The text recognised on the attachment (`text/plain`, pages apart by a form feed); 404 `no-text` when none
        /// was (a photo, a page without text, a batch scanned without recognition).
        router.get("/v1/attachments/:id/text") { _, context -> Response in
            guard let store = dependencies.store else { throw unavailable() }
            let id = try context.parameters.require("id")
            guard let (manifest, _) = try store.attachment(id: id) else { throw notFound(id) }
            guard manifest.deletedAt == nil else {
                throw Problem(code: "attachment-deleted", status: 410, title: "材料已删除 Deleted",
                              detail: "attachment \(id) was deleted by the clerk", remedy: "如删错了，请撤销删除。If it was deleted by mistake, restore it.")
            }
            guard let text = try store.attachmentText(id: id) else {
                throw Problem(code: "no-text", status: 404, title: "没有识别出文字 No recognised text",
                              detail: "no text was recognised on attachment \(id) (\(manifest.contentType))",
                              remedy: "扫描时开启文字识别（ocr），或重新扫描。Scan with text recognition (ocr) on, or scan again.")
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            headers[.cacheControl] = "no-store"
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
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

    /// `attachment.deleted` and `attachment.restored`.
    struct AttachmentChange: Codable, Sendable {
        var attachmentId: String
        var caseNumber: String
    }

    /// A reason a person gives for the audit log: one sentence with words in it (not only spaces or punctuation).
    static func auditReason(_ reason: String?) throws -> String {
        let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard reason.count <= 200, !TextChecks.hasControlCharacters(reason), reason.contains(where: { $0.isLetter || $0.isNumber }) else {
            throw Problem(code: "reason-required", status: 400, title: "需要填写理由 Reason required",
                          detail: "the reason is written to the audit log: one sentence of at most 200 characters",
                          remedy: "请用一句话写明理由（如：拍错了）。Say why in one sentence (e.g. wrong page).")
        }
        return reason
    }

    /// An attachment's manifest as the caller may see it: the barcodes read off the papers are their content (an
    /// e-licence's QR code, an ID number in Code 128) — shown to callers with a credential, left out for the
    /// anonymous local program that may list a case's attachments.
    static func shownToCaller(_ manifest: AttachmentManifest) -> AttachmentManifest {
        guard Caller.current == .anonymous else { return manifest }
        var manifest = manifest
        manifest.barcodes = nil
        return manifest
    }

    static func unavailable() -> Problem {
        Problem(code: "no-store", status: 503, title: "附件存储不可用 Attachment store unavailable",
                detail: "this service runs without its store", remedy: "Run tongban serve with a data folder.")
    }

    /// An attachment's bytes; a deleted one is not shown any more (it waits only for a restore or its purge).
    static func contents(_ dependencies: APIDependencies, _ id: String) async throws -> (AttachmentManifest, [UInt8]) {
        guard let intake = dependencies.intake else { throw unavailable() }
        guard let found = try await intake.contents(of: id) else { throw notFound(id) }
        guard found.manifest.deletedAt == nil else {
            throw Problem(code: "attachment-deleted", status: 410, title: "材料已删除 Deleted",
                          detail: "attachment \(id) was deleted by the clerk", remedy: "如删错了，请撤销删除。If it was deleted by mistake, restore it.")
        }
        return found
    }

    static func noThumbnail(_ manifest: AttachmentManifest) -> Problem {
        Problem(code: "no-thumbnail", status: 404, title: "无缩略图 No thumbnail",
                detail: "attachment \(manifest.attachmentId) (\(manifest.contentType)) has no picture to show small",
                remedy: "打开附件查看。Open the attachment to look at it.")
    }

    static func notFound(_ id: String) -> Problem {
        Problem(code: "attachment-not-found", status: 404, title: "没有这个附件 No such attachment",
                detail: "no attachment \(id) on this PC (purged after delivery, or never stored)",
                remedy: "GET /v1/attachments?case=… lists a case's attachments.")
    }
}
