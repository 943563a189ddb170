import Assist
import Delivery
import Foundation
import Hummingbird
import Store
import TongbanCore

/// `POST|GET /v1/assists`, `POST /v1/assists/{id}/accept|decline`, `DELETE /v1/assists/{id}`: remote video assistance.
enum AssistRoutes {
    struct CallRequest: Decodable {
        var office: String
        var caseNumber: String
        var material: String?
        var withDocumentCamera: Bool?
    }

    static func add(to router: Router<BasicRequestContext>, _ dependencies: APIDependencies) {
        router.post("/v1/assists") { request, _ -> Response in
            let assist = try service(dependencies)
            let body = try await RequestBody.decode(CallRequest.self, from: request, what: "call request")
            var problems: [String] = []
            if body.office.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("office must name the competent office") }
            if body.office.count > 64 || AttachmentRequest.hasControlCharacters(body.office) {
                problems.append("office must be at most 64 characters without control characters (line breaks, NUL, …)")
            }
            problems += AttachmentRequest.caseProblems(caseNumber: body.caseNumber, materialName: body.material ?? "assistance")
            guard problems.isEmpty else {
                throw Problem(code: "invalid-call", status: 422, title: "呼叫请求有误 Call request not valid",
                              detail: problems.joined(separator: "; "), remedy: "Correct the fields named and call again.")
            }
            let call = try await assist.call(office: body.office, caseNumber: body.caseNumber, material: body.material,
                                             withDocumentCamera: body.withDocumentCamera ?? false)
            return try TongbanAPI.json(call, status: .created)
        }
        router.get("/v1/assists") { _, _ -> Response in
            try TongbanAPI.json(try await service(dependencies).overview())
        }
        router.post("/v1/assists/:id/accept") { _, context -> Response in
            try TongbanAPI.json(try await service(dependencies).accept(try context.parameters.require("id")))
        }
        router.post("/v1/assists/:id/decline") { _, context -> Response in
            try TongbanAPI.json(try await service(dependencies).decline(try context.parameters.require("id")))
        }
        router.delete("/v1/assists/:id") { _, context -> Response in
            try TongbanAPI.json(try await service(dependencies).hangUp(try context.parameters.require("id")))
        }
    }

    static func service(_ dependencies: APIDependencies) throws -> AssistService {
        guard let assist = dependencies.assist else {
            throw Problem(code: "assist-off", status: 503, title: "视频协助未启用 Video assistance is off",
                          detail: "no video server is configured on this counter (assist.janusUrl)",
                          remedy: "Set assist.janusUrl in tongban.yaml to the hall's Janus (administrator).")
        }
        return assist
    }
}
