import Foundation
import HTTPTypes
import Hummingbird
import IDCard
import NIOCore
import SAMProtocol
import Simulators
import Store
import TongbanCore

/// `POST /v1/idcard/read`, `GET /v1/idcard/records/{id}`, and the demo's simulated card (`POST /v1/sim/idcard`).
enum IDCardRoutes {
    struct ReadRequest: Decodable {
        var device: String?
        var timeoutMs: Int?
        var reveal: Bool?
        /// Why the clerk needs the full record (written to the audit log); required from a browser page.
        var reason: String?
    }

    struct SimulatorRequest: Decodable {
        var action: String
        var card: CardType?
        var additionalAddress: String?
    }

    static func add(to router: Router<BasicRequestContext>, _ dependencies: APIDependencies, policy: BrowserAccessPolicy) {
        router.post("/v1/idcard/read") { request, context -> Response in
            guard let service = dependencies.idCard, case let readers = service.readerIDs, !readers.isEmpty else {
                throw Problem(code: "no-reader", status: 503, title: "没有身份证阅读器 No ID-card reader",
                              detail: "no ID-card reader is configured or connected",
                              remedy: "Plug in a USB reader, or set devices.idcard.serialPorts for a serial one; check GET /v1/devices.")
            }
            let body = try await RequestBody.decodeIfPresent(ReadRequest.self, from: request, what: "read request")
            let timeout = min(max(body?.timeoutMs ?? 10_000, 100), 60_000)
            if let device = body?.device, !readers.contains(device) {
                throw Problem(code: "device-not-found", status: 404, title: "设备不存在 No such device",
                              detail: "'\(device)' is not an ID-card reader here", remedy: "List readers with GET /v1/devices.")
            }
            if body?.reveal == true { _ = try revealReason(body?.reason, request: request) }
            // Subscribe before asking, so the read cannot slip between the two.
            let stream = await dependencies.events.subscribe()
            _ = await service.requestRead(device: body?.device)
            let read = await firstRead(in: stream, device: body?.device, timeoutMilliseconds: timeout)
            guard var read else {
                throw Problem(code: "no-card", status: 408, title: "未检测到证件 No card read",
                              detail: "no card was read within \(timeout) ms",
                              remedy: "请将证件平放在阅读器上后重试。Place the card flat on the reader and try again.")
            }
            if body?.reveal == true {
                read.record = try await reveal(recordID: read.recordId, reason: body?.reason, request: request, dependencies)
            }
            return try TongbanAPI.json(read)
        }

        router.get("/v1/idcard/records/:id") { request, context -> Response in
            let id = try context.parameters.require("id")
            guard let service = dependencies.idCard, let record = try await service.record(id: id) else {
                throw Problem(code: "record-not-found", status: 404, title: "记录不存在 No such record",
                              detail: "no identity record '\(id)' (never read, or purged after its retention)",
                              remedy: "Read the card again.")
            }
            if request.uri.queryParameters["reveal"] == "true" {
                // A credential was required for this read (BrowserAccessPolicy.isPersonalRead).
                let reason = try request.queryText("reason")
                return try TongbanAPI.json(try await reveal(recordID: id, reason: reason, request: request, dependencies))
            }
            return try TongbanAPI.json(record.maskedCopy())
        }

        router.post("/v1/sim/idcard") { request, context -> Response in
            guard let simulator = dependencies.readerSimulator else {
                throw Problem(code: "no-simulator", status: 404, title: "没有模拟阅读器 No simulated reader",
                              detail: "the simulated ID-card reader runs only in demo mode", remedy: "Start with tongban serve --demo.")
            }
            let body = try await context.requestDecoder.decode(SimulatorRequest.self, from: request, context: context)
            switch body.action {
            case "place":
                simulator.withSimulator { $0.place(body.card ?? .resident, additionalAddress: body.additionalAddress) }
            case "lift":
                simulator.withSimulator { $0.lift() }
            default:
                throw Problem(code: "bad-request", status: 400, title: "请求格式错误 Malformed request",
                              detail: "action must be 'place' or 'lift', not '\(body.action)'", remedy: "See /v1/openapi.yaml.")
            }
            return Response(status: .noContent)
        }
    }

    /// Loads the record unmasked and writes the reveal to the audit log (who, which record, why). A browser page
    /// must say why (the console asks the clerk); local software holding the token may leave the reason out.
    static func reveal(recordID: String, reason: String?, request: Request, _ dependencies: APIDependencies) async throws -> IdentityRecord {
        // The access policy asks for a credential already; this is the last line, whatever the route's query said.
        guard Caller.current.hasCredential else {
            throw Problem(code: "credential-required", status: 401, title: "需要登录 Sign-in required",
                          detail: "showing a card unmasked needs a credential", remedy: "请先登录控制台。Sign in to the console.")
        }
        let reason = try revealReason(reason, request: request)
        guard let record = try await dependencies.idCard?.record(id: recordID) else {
            throw Problem(code: "record-not-found", status: 404, title: "记录不存在 No such record",
                          detail: "identity record '\(recordID)' is gone (purged)", remedy: "Read the card again.")
        }
        try dependencies.store?.appendAudit(actor: Caller.current.auditName, action: "idcard.reveal", subject: recordID,
                                            detail: "card type \(record.cardType.rawValue); reason: \(reason.isEmpty ? "-" : reason)")
        return record
    }

    /// The reason given for a reveal, trimmed; refused when a person at a browser (a clerk, a case system's
    /// operator) gives none — or gives only spaces or form-encoding leftovers.
    static func revealReason(_ reason: String?, request: Request) throws -> String {
        let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if reason.count > 200 || TextChecks.hasControlCharacters(reason) {
            throw Problem(code: "reveal-reason-invalid", status: 400, title: "查看理由无效 Reason not valid",
                          detail: "the reason must be at most 200 characters without control characters",
                          remedy: "请用一句话写明理由。Say why in one sentence.")
        }
        if Caller.current.isPerson && !reason.contains(where: { $0.isLetter || $0.isNumber }) {
            throw Problem(code: "reveal-reason-required", status: 400, title: "需要查看理由 Reason required",
                          detail: "showing a card unmasked needs a reason, which is written to the audit log",
                          remedy: "请填写查看完整信息的理由（如：核对申请表）。Give the reason (e.g. checking the application form).")
        }
        return reason
    }

    /// The first `idcard.read` event (for `device`, or any reader) within the timeout.
    static func firstRead(in stream: AsyncStream<TongbanEvent>, device: String?, timeoutMilliseconds: Int) async -> IdentityReadEvent? {
        await withTaskGroup(of: IdentityReadEvent?.self) { group in
            group.addTask {
                for await event in stream where event.type == "idcard.read" {
                    guard let data = try? JSONEncoder().encode(event.data),
                          let read = try? JSONDecoder().decode(IdentityReadEvent.self, from: data) else { continue }
                    if device == nil || read.device == device { return read }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(timeoutMilliseconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
