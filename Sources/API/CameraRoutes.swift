import Cameras
import Devices
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TongbanCore

/// `/v1/cameras`: live previews, captures into attachments, controls; `/v1/idcard-copies`.
enum CameraRoutes {
    /// The boundary between the JPEGs of a preview stream.
    static let boundary = "tongbanframe"

    struct CameraEntry: Encodable {
        var id: String
        var model: String
        var state: DeviceState
        var streaming: CameraMode?
        var viewers: Int
        var capabilities: CameraCapabilities?
    }

    struct ControlBody: Decodable { var value: Int }
    struct ControlAnswer: Encodable { var name: String, value: Int }

    static func add(to router: Router<BasicRequestContext>, _ dependencies: APIDependencies) {
        router.get("/v1/cameras") { _, _ -> Response in
            let cameras = try service(dependencies)
            var entries: [CameraEntry] = []
            for device in await dependencies.registry.snapshot().devices where device.deviceClass == .camera {
                let view = try await cameras.view(device.id, model: device.model)
                entries.append(CameraEntry(id: device.id, model: device.model, state: device.state, streaming: view.streaming,
                                           viewers: view.viewers))
            }
            return try TongbanAPI.json(["cameras": entries])
        }

        router.get("/v1/cameras/:id") { _, context -> Response in
            let cameras = try service(dependencies)
            let device = try await camera(context, dependencies)
            let id = device.id
            let view = try await cameras.view(id, model: device.model)
            return try TongbanAPI.json(CameraEntry(id: id, model: device.model, state: device.state, streaming: view.streaming,
                                                   viewers: view.viewers, capabilities: try await cameras.capabilities(id)))
        }

        router.get("/v1/cameras/:id/preview") { request, context -> Response in
            let cameras = try service(dependencies)
            let id = try await camera(context, dependencies).id
            let query = request.uri.queryParameters
            let wanted = CameraModeRequest(width: query["width"].flatMap { Int(String($0)) }, height: query["height"].flatMap { Int(String($0)) },
                                           framesPerSecond: query["fps"].flatMap { Double(String($0)) })
            let frames = try await cameras.preview(id, wanted.width == nil && wanted.height == nil
                ? CameraModeRequest(width: 1280, height: 720, framesPerSecond: wanted.framesPerSecond ?? 15) : wanted)
            var headers = HTTPFields()
            headers[.contentType] = "multipart/x-mixed-replace; boundary=\(boundary)"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                do {
                    for try await frame in frames {
                        let head = "--\(boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(frame.jpeg.count)\r\n"
                            + "X-Frame-Sequence: \(frame.sequence)\r\nX-Frame-Size: \(frame.width)x\(frame.height)\r\n\r\n"
                        var buffer = ByteBuffer(string: head)
                        buffer.writeBytes(frame.jpeg)
                        buffer.writeString("\r\n")
                        try await writer.write(buffer)
                    }
                } catch is CameraError {
                    // The camera failed (unplugged): end the stream; the event stream says why.
                }
                try await writer.finish(nil)
            })
        }

        router.put("/v1/cameras/:id/controls/:name") { request, context -> Response in
            let cameras = try service(dependencies)
            let id = try await camera(context, dependencies).id
            let name = try context.parameters.require("name")
            let body = try await RequestBody.decode(ControlBody.self, from: request, what: "control value")
            let kept = try await cameras.setControl(id, name: name, value: body.value)
            return try TongbanAPI.json(ControlAnswer(name: name, value: kept))
        }

        router.post("/v1/cameras/:id/capture") { request, context -> Response in
            let cameras = try service(dependencies)
            let id = try await camera(context, dependencies).id
            let body = try await RequestBody.decode(CameraCaptureRequest.self, from: request, what: "capture request")
            let result = try await cameras.capture(id, body)
            return try TongbanAPI.json(result, status: .created)
        }

        router.post("/v1/idcard-copies") { request, _ -> Response in
            let cameras = try service(dependencies)
            let body = try await RequestBody.decode(IDCardCopyRequest.self, from: request, what: "ID-card copy request")
            let manifest = try await cameras.idCardCopy(body)
            return try TongbanAPI.json(manifest, status: .created)
        }
    }

    /// The camera named in the path: the registry's id percent-encoded (`v4l2:%2Fdev%2Fvideo0`), or a node's
    /// short name (`video0`).
    static func camera(_ context: BasicRequestContext, _ dependencies: APIDependencies) async throws -> Device {
        let raw = try context.parameters.require("id")
        let decoded = raw.removingPercentEncoding ?? raw
        let cameras = await dependencies.registry.snapshot().devices.filter { $0.deviceClass == .camera }
        if let match = cameras.first(where: { $0.id == decoded || $0.id == "v4l2:/dev/\(decoded)" }) { return match }
        throw Problem(code: "camera-not-found", status: 404, title: "没有这个摄像头 No such camera",
                      detail: "\(decoded) is not among this PC's cameras (\(cameras.map(\.id).joined(separator: ", ")))",
                      remedy: "GET /v1/cameras lists them; check the camera's cable.")
    }

    static func service(_ dependencies: APIDependencies) throws -> CameraService {
        guard let cameras = dependencies.cameras else {
            throw Problem(code: "cameras-unavailable", status: 503, title: "摄像头不可用 Cameras unavailable",
                          detail: "this service runs without cameras (no store)",
                          remedy: "Run tongban serve with a data folder; see tongban doctor.")
        }
        return cameras
    }
}
