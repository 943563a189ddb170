import ArgumentParser
import Assist
import Foundation
import TongbanConfig
import TongbanCore

/// `tongban assist call|answer|hangup|list`: video assistance through the running service.
struct AssistCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assist", abstract: "Remote video assistance through the running service (calls between counters).",
        subcommands: [Call.self, Answer.self, HangUp.self, List.self, Check.self])

    static func printJSON(_ data: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: data),
              let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(String(decoding: pretty, as: UTF8.self))
    }

    static func isFinal(_ state: String?) -> Bool { ["ended", "missed", "declined", "failed"].contains(state ?? "") }

    /// The calls in a `GET /v1/assists` answer, newest first.
    static func calls(_ overview: Data) -> [JSONValue] {
        guard case .array(let calls)? = (try? JSONDecoder().decode(JSONValue.self, from: overview))?["calls"] else { return [] }
        return calls
    }

    struct Call: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Call OFFICE's answering counter about a case; prints the call's events until it ends.",
            discussion: "Hang up from another terminal with tongban assist hangup ID (or from the console).")

        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The competent office (as in its counters' assist.answersFor).") var office: String
        @Option(name: .customLong("case"), help: "The case number.") var caseNumber: String
        @Option(help: "The material in question.") var material: String?
        @Flag(help: "Show the document camera too.") var documentCamera = false

        func run() async throws {
            let client = ServiceClient(configuration: options.load())
            var body: [String: Any] = ["office": office, "caseNumber": caseNumber, "withDocumentCamera": documentCamera]
            if let material { body["material"] = material }
            let data = await client.post("/v1/assists", json: body, timeout: 30)
            AssistCommand.printJSON(data)
            guard let call = try? JSONDecoder().decode(JSONValue.self, from: data), let id = call["id"]?.stringValue,
                  !AssistCommand.isFinal(call["state"]?.stringValue) else { return }
            await client.watch(prefix: "assist.", alreadyDone: {
                AssistCommand.calls(await client.get("/v1/assists", timeout: 10)).contains {
                    $0["id"]?.stringValue == id && AssistCommand.isFinal($0["state"]?.stringValue)
                }
            }) { event in
                event["data"]?["id"]?.stringValue == id && AssistCommand.isFinal(event["data"]?["state"]?.stringValue)
            }
        }
    }

    struct Answer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait for the next call to ring on this counter and answer it (or decline it).")

        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Decline instead of answering.") var decline = false

        func run() async throws {
            let client = ServiceClient(configuration: options.load())
            let ringing = RingingCall()
            // A call that rang before this command started is answered too.
            await client.watch(prefix: "assist.ringing", alreadyDone: {
                let waiting = AssistCommand.calls(await client.get("/v1/assists", timeout: 10)).first {
                    $0["role"]?.stringValue == "answerer" && $0["state"]?.stringValue == "ringing"
                }
                guard let id = waiting?["id"]?.stringValue else { return false }
                ringing.set(id)
                return true
            }) { event in
                guard event["data"]?["role"]?.stringValue == "answerer", let id = event["data"]?["id"]?.stringValue else { return false }
                ringing.set(id)
                return true
            }
            guard let id = ringing.id else { return }
            AssistCommand.printJSON(await client.post("/v1/assists/\(id)/\(decline ? "decline" : "accept")", json: [:], timeout: 30))
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a few seconds from the configured webcam and microphone, encoded as in a call, into a WebM file.",
            discussion: """
                No call and no video server: run it as the service user (sudo -u tongban) to see that the devices work \
                for the service, then play the file.
                """)

        @OptionGroup var options: ConfigurationOptions
        @Option(help: "Seconds to record.") var seconds: Double = 3
        @Option(help: "The WebM file to write.") var out: String = "assist-check.webm"

        func run() async throws {
            let assist = options.load().assist
            guard assist.unsetCallDevices.isEmpty else { fail(AssistService.notSetUp(assist.unsetCallDevices)) }
            do {
                try await CallMedia.recordCheck(MediaSettings(assist), to: out, seconds: seconds)
            } catch {
                fail(Problem(code: "assist-devices-failed", status: 500, title: "摄像头或麦克风无法使用 Webcam or microphone failed",
                             detail: "webcam \(assist.webcam), microphone \(assist.microphone): \(error)",
                             remedy: "Check the devices are plugged in and that this user may use them (groups video and audio); tongban devices lists the cameras, arecord -L the microphones."))
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            AssistCommand.printJSON(try JSONSerialization.data(withJSONObject: [
                "file": out, "seconds": seconds, "bytes": size, "webcam": assist.webcam, "microphone": assist.microphone,
                "size": "\(assist.width)x\(assist.height)@\(assist.framesPerSecond)"]))
        }
    }

    struct HangUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "hangup", abstract: "Hang up a call (its recording is kept).")

        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The call's id.") var id: String

        func run() async throws {
            AssistCommand.printJSON(await ServiceClient(configuration: options.load()).delete("/v1/assists/\(id)", timeout: 30))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Calls, the offices answered online, missed calls this month.")

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            AssistCommand.printJSON(await ServiceClient(configuration: options.load()).get("/v1/assists", timeout: 10))
        }
    }
}

/// The id the ringing event named, handed out of the event handler.
final class RingingCall: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    var id: String? { lock.withLock { value } }
    func set(_ id: String) { lock.withLock { value = id } }
}

extension MediaSettings {
    /// A call's media from `assist.*`: `test` stands for a test pattern or tone; empty leaves the device out (the
    /// service refuses calls then, naming the setting).
    init(_ assist: TongbanConfiguration.Assist) {
        func device(_ value: String) -> String? { ["", "test"].contains(value) ? nil : value }
        self.init(webcam: device(assist.webcam), microphone: device(assist.microphone), width: assist.width, height: assist.height,
                  framesPerSecond: assist.framesPerSecond, videoBitrate: assist.videoBitrateKbps * 1000, encoderSpeed: assist.encoderSpeed,
                  stunServer: assist.stunServer.isEmpty ? nil : assist.stunServer, turnServer: assist.turnServer.isEmpty ? nil : assist.turnServer,
                  documentCamera: assist.documentCamera.isEmpty ? nil : assist.documentCamera)
    }
}
