import Assist
import AsyncHTTPClient
import Foundation
import GStreamer
import Testing
import TongbanCore

/// Video assistance against the rig's private Janus and headless Chromium. One test at a time: each runs
/// counters, encoders and a browser, and two cores shared with the other suites are enough for one call.
@Suite(.serialized) struct AssistTests {
    static var janusURL: String { Rig["TONGBAN_RIG_JANUS_URL"] }

    /// A Janus session with a VideoRoom handle and a room of the test's own.
    static func freshRoom() async throws -> (session: JanusSession, handle: UInt64, room: UInt64) {
        let session = try await JanusSession.create(url: janusURL)
        let handle = try await session.attach(VideoRoom.plugin)
        let room = VideoRoom.roomNumber(for: "test:\(UUID().uuidString)")
        try await VideoRoom.ensureRoom(session, handle: handle, room: room, description: "test")
        return (session, handle, room)
    }

    @Test func janusRepliesAndEventsDecode() throws {
        let joined = """
        {"janus":"event","session_id":8237498237492834,"transaction":"t1","sender":4503599627370495,
         "plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"joined","room":1234567890,"id":6352394736392583,
         "publishers":[{"id":"desk-2","display":"{\\"counter\\":\\"B-02\\"}"}]}},
         "jsep":{"type":"answer","sdp":"v=0\\r\\n"}}
        """
        let message = try JSONDecoder().decode(JanusMessage.self, from: Data(joined.utf8))
        #expect(message.sessionID == 8_237_498_237_492_834 && message.sender == 4_503_599_627_370_495, "64-bit ids exact")
        #expect(message.plugindata?.data.id == JanusID("6352394736392583"))
        #expect(message.plugindata?.data.publishers?.first?.id == JanusID("desk-2"), "string ids work too")
        #expect(message.jsep?.type == "answer")
        let error = try JSONDecoder().decode(JanusMessage.self, from: Data("""
        {"janus":"success","plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"event","error_code":426,"error":"No such room (42)"}}}
        """.utf8))
        #expect(error.plugindata?.data.errorCode == 426)
        // A browser declining: its new display (as Janus 1.1 tells the room) names the call.
        let renamed = try JSONDecoder().decode(JanusMessage.self, from: Data("""
        {"janus":"event","plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"event","id":3727135746131633,
         "display":"{\\"tongban\\":1,\\"role\\":\\"answerer\\",\\"counter\\":\\"browser-1\\",\\"declined\\":\\"c-1\\"}"}}}
        """.utf8))
        #expect(CallDisplay.parse(renamed.plugindata?.data.display)?.declined == "c-1")
        #expect(VideoRoom.roomNumber(for: "office:shuiwu") == VideoRoom.roomNumber(for: "office:shuiwu"))
        #expect(VideoRoom.roomNumber(for: "office:shuiwu") != VideoRoom.roomNumber(for: "office:gongan"))
        #expect((1_000_000_000..<10_000_000_000).contains(VideoRoom.roomNumber(for: "x")), "ten digits, exact in JavaScript")
    }

    /// `tongban doctor` asks the configured Janus what it is and names what a call would lack; a Janus that is not
    /// there fails the check with a remedy.
    @Test(.enabled(if: Rig.available)) func doctorChecksTheVideoServerAndTheCallDevices() async throws {
        try #require(!Self.janusURL.isEmpty, "the rig has no Janus: scripts/rig up")
        func assistChecks(_ environment: [String: String]) async throws -> [String: [String: Any]] {
            let result = try await run(tongbanBinary, ["doctor", "--data-dir", try makeTemporaryDirectory(), "--json"], environment: environment)
            let checks = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]] ?? []
            return Dictionary(checks.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        }
        let good = try await assistChecks(["TONGBAN_ASSIST_JANUS_URL": Self.janusURL, "TONGBAN_ASSIST_WEBCAM": "test", "TONGBAN_ASSIST_MICROPHONE": "test"])
        #expect(good["video server"]?["outcome"] as? String == "ok", "\(good["video server"] ?? [:])")
        #expect((good["video server"]?["detail"] as? String)?.contains("VideoRoom loaded") == true)
        #expect(good["call devices"]?["outcome"] as? String == "ok", "\(good["call devices"] ?? [:])")

        let bad = try await assistChecks(["TONGBAN_ASSIST_JANUS_URL": "http://127.0.0.1:9/janus", "TONGBAN_ASSIST_WEBCAM": "/dev/video-not-here"])
        #expect(bad["video server"]?["outcome"] as? String == "fail" && (bad["video server"]?["remedy"] as? String)?.contains("assist.janusUrl") == true,
                "\(bad["video server"] ?? [:])")
        #expect(bad["call devices"]?["outcome"] as? String == "warning" && (bad["call devices"]?["detail"] as? String)?.contains("assist.microphone") == true,
                "\(bad["call devices"] ?? [:])")
        #expect(bad["assist.webcam"]?["outcome"] as? String == "fail", "\(bad["assist.webcam"] ?? [:])")

        let off = try await assistChecks([:])
        #expect(off["video assistance"]?["outcome"] as? String == "ok" && off["video server"] == nil)
    }

    /// A counter whose webcam and microphone are not configured refuses calls naming them, rather than sending a
    /// test pattern in their place.
    @Test func callsAreRefusedWithoutAConfiguredWebcamAndMicrophone() async throws {
        let server = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(try makeTemporaryDirectory())/data"], environment: [
            "TONGBAN_API_TOKEN": CounterPair.token, "TONGBAN_ASSIST_JANUS_URL": "http://127.0.0.1:9/janus", "TONGBAN_DEVICES_SIMULATE": "none"])
        defer { kill(server.process.processIdentifier, SIGKILL) }
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let refused = try await curl(["-H", "Authorization: Bearer \(CounterPair.token)", "-H", "Content-Type: application/json",
                                      "-d", #"{"office":"x","caseNumber":"AS2026112200040"}"#, "http://127.0.0.1:\(port)/v1/assists"])
        #expect(refused.status == 503 && refused.body.contains("assist-not-set-up"), "\(refused.body)")
        #expect(refused.body.contains("assist.webcam and assist.microphone"), "\(refused.body)")
        // A control character (schemathesis sent a NUL) is refused before it reaches the video server, whose JSON
        // parser would reject it with a 502.
        let nul = try await curl(["-H", "Authorization: Bearer \(CounterPair.token)", "-H", "Content-Type: application/json",
                                  "-d", #"{"office":"x\u0000","caseNumber":"AS2026112200041"}"#, "http://127.0.0.1:\(port)/v1/assists"])
        #expect(nul.status == 422 && nul.body.contains("invalid-call") && nul.body.contains("control characters"), "\(nul.body)")
    }

    /// With the video server down, placing a call is refused at once naming it and the remedy; no call is left
    /// behind, and the counter goes on serving.
    @Test func aCallWithTheVideoServerDownIsRefusedNamingIt() async throws {
        let server = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(try makeTemporaryDirectory())/data"], environment: [
            "TONGBAN_API_TOKEN": CounterPair.token, "TONGBAN_ASSIST_JANUS_URL": "http://127.0.0.1:9/janus", "TONGBAN_DEVICES_SIMULATE": "none",
            "TONGBAN_ASSIST_WEBCAM": "test", "TONGBAN_ASSIST_MICROPHONE": "test"])
        defer { kill(server.process.processIdentifier, SIGKILL) }
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let asked = ContinuousClock.now
        let refused = try await curl(["-H", "Authorization: Bearer \(CounterPair.token)", "-H", "Content-Type: application/json",
                                      "-d", #"{"office":"x","caseNumber":"AS2026112200042"}"#, "http://127.0.0.1:\(port)/v1/assists"])
        print("video server down → the call refused after \(ContinuousClock.now - asked)")
        #expect(refused.status == 503 && refused.body.contains("janus-unreachable"), "\(refused.body)")
        #expect(refused.body.contains("http://127.0.0.1:9/janus") && refused.body.contains("systemctl start janus"), "\(refused.body)")
        let calls = try await curl(["-H", "Authorization: Bearer \(CounterPair.token)", "http://127.0.0.1:\(port)/v1/assists"])
        #expect(calls.status == 200 && !calls.body.contains("AS2026112200042"), "no call left ringing: \(calls.body)")
        #expect(server.process.isRunning)
    }

    @Test func pipelineDescriptionEncodesOnceForCallAndRecording() {
        let description = CallMedia.description(MediaSettings(), segmentPattern: "/tmp/r/own-%05d.webm")
        #expect(description.components(separatedBy: "vp8enc").count == 2, "one video encoder")
        #expect(description.components(separatedBy: "opusenc").count == 2, "one audio encoder")
        #expect(description.contains("videotee. ! queue ! recorder.video") && description.contains("muxer-factory=webmmux"))
        #expect(description.contains("videotestsrc"), "no webcam configured: the test pattern")
        let webcam = CallMedia.description(MediaSettings(webcam: "/dev/video2", microphone: "default"), segmentPattern: "x")
        #expect(webcam.contains("v4l2src device=\"/dev/video2\"") && webcam.contains("pulsesrc device=\"default\""))
        let alsa = CallMedia.description(MediaSettings(microphone: "alsa:plughw:CARD=Headset,DEV=0"), segmentPattern: "x")
        #expect(alsa.contains("alsasrc device=\"plughw:CARD=Headset,DEV=0\"") && !alsa.contains("pulsesrc"), "\(alsa)")
    }

    /// Tongban publishes its (test) camera and microphone into a Janus room; Chromium subscribes like the remote
    /// clerk and decodes video and audio; our side's recording plays with both tracks. (Real webcam and headset
    /// drivers: GuestTests.webcamAndHeadsetThroughTheAssistCheck.)
    @Test(.enabled(if: Rig.available)) func publishedMediaReachesChromiumAndTheRecordingPlays() async throws {
        try #require(!Self.janusURL.isEmpty, "the rig has no Janus: scripts/rig up")
        let directory = try makeTemporaryDirectory()
        let thread = DedicatedThread(name: "assist-test")
        defer { thread.stop() }
        let (session, handle, room) = try await Self.freshRoom()
        let media = try CallMedia(MediaSettings(width: 640, height: 360, framesPerSecond: 15, videoBitrate: 600_000),
                                  recordingDirectory: "\(directory)/recording")
        try media.start()
        let (feed, _) = try await VideoRoom.publish(session, handle: handle, room: room, display: "counter A-01", media: media, thread: thread)

        let result = try await run("/usr/bin/python3", ["\(packageRoot)/Tests/tools/browser_e2e.py", "janus", "--janus", Self.janusURL,
                                                        "--room", "\(room)", "--feed", feed.text,
                                                        "--artefacts", "\(packageRoot)/.build/artefacts/browser"])
        let findings = driverFindings(result.standardOutput)
        let subscriber = findings["subscriber"] as? [String: Any] ?? [:]
        #expect(result.status == 0, "chromium: \(findings["failed"] ?? result.standardError.suffix(1500))")
        #expect((subscriber["framesDecoded"] as? Int ?? 0) > 0, "video decoded in the browser: \(subscriber)")
        #expect(subscriber["width"] as? Int == 640 && subscriber["height"] as? Int == 360, "\(subscriber)")
        #expect((subscriber["audioPackets"] as? Int ?? 0) > 0, "audio arrived: \(subscriber)")

        let segments = await thread.perform { media.finish() }
        await session.detach(handle)
        await session.destroy()
        #expect(media.error == nil, "\(String(describing: media.error))")
        let first = try #require(segments.first, "a recording segment in \(directory)/recording")
        let probe = try await run("/usr/bin/gst-discoverer-1.0", [first])
        #expect(probe.status == 0, "\(probe.standardOutput) \(probe.standardError)")
        #expect(probe.standardOutput.contains("video #") && probe.standardOutput.contains("audio #"), "both tracks: \(probe.standardOutput)")
        #expect(probe.standardOutput.contains("VP8") && probe.standardOutput.contains("Opus"), "\(probe.standardOutput)")
    }
}

extension AssistTests {
    /// Chromium publishes its fake camera and microphone like a remote clerk; Tongban subscribes and records both
    /// tracks as they arrive (no re-encoding), and the recording plays.
    @Test(.enabled(if: Rig.available)) func chromiumsCameraIsReceivedAndRecorded() async throws {
        try #require(!Self.janusURL.isEmpty, "the rig has no Janus: scripts/rig up")
        let directory = try makeTemporaryDirectory()
        let thread = DedicatedThread(name: "assist-test")
        defer { thread.stop() }
        let (session, _, room) = try await Self.freshRoom()
        let browser = try ChildProcess("/usr/bin/python3", ["-u", "\(packageRoot)/Tests/tools/browser_e2e.py", "janus-publish",
                                                            "--janus", Self.janusURL, "--room", "\(room)", "--seconds", "6",
                                                            "--artefacts", "\(packageRoot)/.build/artefacts/browser"])
        defer { kill(browser.process.processIdentifier, SIGKILL) }
        let line = try #require(try await browser.waitForLine(containing: "\"feed\""), "chromium: \(browser.standardOutput)")
        let feed = try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["feed"] as? String)

        let remote = try RemoteMedia(recordingDirectory: "\(directory)/recording")
        try remote.start()
        let subscriber = try await session.attach(VideoRoom.plugin)
        try await VideoRoom.subscribe(session, handle: subscriber, room: room, feed: JanusID(feed), media: remote, thread: thread)
        try await Task.sleep(for: .seconds(4))
        let segments = await thread.perform { remote.finish() }
        await session.destroy()
        #expect(remote.errors.isEmpty, "\(remote.errors)")
        #expect(Set(remote.streams.map(\.media)) == ["video", "audio"], "\(remote.streams)")
        #expect(segments.map { ($0 as NSString).lastPathComponent } == ["remote-audio.webm", "remote-video.webm"], "\(segments)")
        for (file, codec) in zip(segments, ["Opus", "VP8"]) {
            let probe = try await run("/usr/bin/gst-discoverer-1.0", [file])
            #expect(probe.standardOutput.contains(codec), "\(file): \(probe.standardOutput)")
            #expect(!probe.standardOutput.contains("Duration: 0:00:00.000000000"), "\(file) has a duration: \(probe.standardOutput)")
        }
    }
}

enum AssistTestError: Error {
    case notOnline(String)
}

/// Two `tongban serve` counters — a caller and an office's answering counter — on one Janus.
struct CounterPair {
    static let token = "assist-token-0123456789abcdef"
    let caller: ChildProcess
    let answerer: ChildProcess
    let callerURL: String
    let answererURL: String
    let office: String
    let directory: String

    static func start(janus: String, ringTimeoutSeconds: Int) async throws -> CounterPair {
        let directory = try makeTemporaryDirectory("assist")
        let office = "office-\(UUID().uuidString.prefix(8))"
        func serve(_ counter: String, answers: Bool) throws -> ChildProcess {
            var environment = ["TONGBAN_API_TOKEN": token, "TONGBAN_COUNTER_ID": counter, "TONGBAN_ASSIST_WEBCAM": "test", "TONGBAN_ASSIST_MICROPHONE": "test", "TONGBAN_ASSIST_JANUS_URL": janus,
                               "TONGBAN_ASSIST_RING_TIMEOUT_SECONDS": "\(ringTimeoutSeconds)", "TONGBAN_ASSIST_WIDTH": "640",
                               "TONGBAN_ASSIST_HEIGHT": "360", "TONGBAN_ASSIST_FRAMES_PER_SECOND": "15",
                               "TONGBAN_ASSIST_VIDEO_BITRATE_KBPS": "600", "TONGBAN_DEVICES_SIMULATE": "none",
                               "TONGBAN_ASSIST_DOCUMENT_CAMERA": "test"]
            if answers { environment["TONGBAN_ASSIST_ANSWERS_FOR"] = office }
            return try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(directory)/\(counter)"], environment: environment)
        }
        let answerer = try serve("B-02", answers: true)
        let caller = try serve("A-01", answers: false)
        let answererPort = try #require(try await answerer.waitUntilReady(), "answerer: \(answerer.standardError)")
        let callerPort = try #require(try await caller.waitUntilReady(), "caller: \(caller.standardError)")
        let pair = CounterPair(caller: caller, answerer: answerer, callerURL: "http://127.0.0.1:\(callerPort)",
                               answererURL: "http://127.0.0.1:\(answererPort)", office: office, directory: directory)
        for _ in 0..<300 {
            if try await pair.overview(pair.answererURL)["online"] as? [String] == [office] { return pair }
            try await Task.sleep(for: .milliseconds(100))
        }
        pair.stop()
        throw AssistTestError.notOnline(answerer.standardError.suffix(2000).description)
    }

    func stop() {
        kill(caller.process.processIdentifier, SIGKILL)
        kill(answerer.process.processIdentifier, SIGKILL)
    }

    func request(_ method: String, _ url: String, _ body: String? = nil) async throws -> (status: Int, json: [String: Any]) {
        var arguments = ["-X", method, "-H", "Authorization: Bearer \(Self.token)"]
        if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
        let answer = try await curl(arguments + [url])
        return (answer.status, (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any] ?? ["body": answer.body])
    }

    func overview(_ base: String) async throws -> [String: Any] { try await request("GET", "\(base)/v1/assists").json }

    /// The newest call on a counter once `accepts` says so (polled; a guard against hanging, not a timing check).
    func call(at base: String, seconds: Int = 60, where accepts: ([String: Any]) -> Bool) async throws -> [String: Any]? {
        for _ in 0..<(seconds * 10) {
            if let call = (try await overview(base)["calls"] as? [[String: Any]])?.first, accepts(call) { return call }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (try await overview(base)["calls"] as? [[String: Any]])?.first
    }

    /// The recording attachment of `caseNumber` on a counter, unpacked: its file names and manifest.
    func recording(at base: String, caseNumber: String) async throws -> (files: [String: String], manifest: [String: Any])? {
        let list = try await curl(["-H", "Authorization: Bearer \(Self.token)", "\(base)/v1/attachments?case=\(caseNumber)"]).body
        guard let items = try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: [String: Any]]],
              let recording = items.first(where: { $0["attachment"]?["kind"] as? String == "recording" }),
              let id = recording["attachment"]?["attachmentId"] as? String else { return nil }
        let folder = "\(directory)/unpacked-\(id)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = try await curl(["-H", "Authorization: Bearer \(Self.token)", "-o", "\(folder)/recording.tar", "\(base)/v1/attachments/\(id)/content"])
        let untar = try await run("/usr/bin/tar", ["-xf", "\(folder)/recording.tar", "-C", folder])
        #expect(untar.status == 0, "the recording is a tar archive: \(untar.standardError)")
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name != "recording.tar" { files[name] = "\(folder)/\(name)" }
        let manifest = try files["manifest.json"].map { try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: $0))) }
        return (files, manifest as? [String: Any] ?? [:])
    }
}

extension AssistTests {
    /// Ring → accept → talk → hang up between two counters; both keep the call's recording as a case attachment with
    /// both sides in it; an unanswered call is missed and counted for the office on both counters.
    @Test(.enabled(if: Rig.available)) func twoCountersCallAnswerHangUpAndMiss() async throws {
        try #require(!Self.janusURL.isEmpty, "the rig has no Janus: scripts/rig up")
        let pair = try await CounterPair.start(janus: Self.janusURL, ringTimeoutSeconds: 20)
        defer { pair.stop() }
        #expect(try await pair.overview(pair.answererURL)["online"] as? [String] == [pair.office], "the answering counter is online")

        let placed = try await pair.request("POST", "\(pair.callerURL)/v1/assists",
                                            #"{"office":"\#(pair.office)","caseNumber":"AS2026112200001","material":"营业执照","withDocumentCamera":true}"#)
        #expect(placed.status == 201 && placed.json["state"] as? String == "ringing", "\(placed.json)")
        let ringing = try #require(try await pair.call(at: pair.answererURL) { $0["state"] as? String == "ringing" })
        #expect(ringing["caseNumber"] as? String == "AS2026112200001" && ringing["callerCounter"] as? String == "A-01")
        #expect(ringing["material"] as? String == "营业执照")
        let id = try #require(ringing["id"] as? String)
        #expect(id == placed.json["id"] as? String, "both counters know the call by one id")
        let accepted = try await pair.request("POST", "\(pair.answererURL)/v1/assists/\(id)/accept")
        #expect(accepted.status == 200 && accepted.json["state"] as? String == "connected", "\(accepted.json)")
        let connected = try await pair.call(at: pair.callerURL) { $0["state"] as? String == "connected" }
        #expect(connected?["state"] as? String == "connected" && connected?["answerCounter"] as? String == "B-02", "\(connected ?? [:])")
        try await Task.sleep(for: .seconds(4))  // the two clerks talk
        let hungUp = try await pair.request("DELETE", "\(pair.callerURL)/v1/assists/\(id)")
        #expect(hungUp.json["state"] as? String == "ended" && hungUp.json["endedBy"] as? String == "local", "\(hungUp.json)")
        let endedThere = try await pair.call(at: pair.answererURL) { $0["state"] as? String == "ended" && $0["attachmentId"] != nil }
        #expect(endedThere?["endedBy"] as? String == "remote", "the other side sees the hang-up: \(endedThere ?? [:])")

        for (base, counter) in [(pair.callerURL, "A-01"), (pair.answererURL, "B-02")] {
            let recording = try #require(try await pair.recording(at: base, caseNumber: "AS2026112200001"), "\(counter) keeps a recording")
            #expect(recording.manifest["callerCounter"] as? String == "A-01" && recording.manifest["answerCounter"] as? String == "B-02")
            #expect((recording.manifest["durationSeconds"] as? Double ?? 0) >= 3, "\(recording.manifest)")
            // The caller showed its document camera as a second video: recorded on both sides.
            let document = counter == "A-01" ? "own-document-00000.webm" : "remote-video-2.webm"
            for name in ["own-00000.webm", "remote-video.webm", "remote-audio.webm", document] {
                let file = try #require(recording.files[name], "\(counter): \(name) in \(recording.files.keys.sorted())")
                let probe = try await run("/usr/bin/gst-discoverer-1.0", [file])
                #expect(probe.status == 0 && !probe.standardOutput.contains("Duration: 0:00:00.000000000"),
                        "\(counter) \(name) plays: \(probe.standardOutput)")
            }
        }

        // Nobody answers: missed on both sides, and counted for the office this month.
        let unanswered = try await pair.request("POST", "\(pair.callerURL)/v1/assists",
                                                #"{"office":"\#(pair.office)","caseNumber":"AS2026112200002"}"#)
        #expect(unanswered.json["state"] as? String == "ringing", "\(unanswered.json)")
        let missedHere = try await pair.call(at: pair.callerURL) { $0["state"] as? String == "missed" }
        let missedThere = try await pair.call(at: pair.answererURL) { $0["state"] as? String == "missed" }
        #expect(missedHere?["endedBy"] as? String == "timeout" && missedThere?["state"] as? String == "missed",
                "\(missedHere ?? [:]) \(missedThere ?? [:])")
        for base in [pair.callerURL, pair.answererURL] {
            let counts = try await pair.overview(base)["missedThisMonth"] as? [String: Int]
            #expect(counts?[pair.office] == 1, "\(base): \(counts ?? [:])")
        }
    }
}

/// A Janus of the test's own (the rig's configuration on new ports), to be killed mid-call.
struct PrivateJanus {
    let child: ChildProcess
    let url: String
    let directory: String

    static func start() async throws -> PrivateJanus {
        let source = Rig["TONGBAN_RIG_JANUS_DIR"]
        let directory = try makeTemporaryDirectory("janus")
        let httpPort = try await freePort(), wsPort = try await freePort()
        for name in try FileManager.default.contentsOfDirectory(atPath: source) where name.hasSuffix(".jcfg") {
            var text = try String(contentsOfFile: "\(source)/\(name)", encoding: .utf8)
            text = text.replacingOccurrences(of: #"configs_folder = ".*""#, with: "configs_folder = \"\(directory)\"", options: .regularExpression)
                .replacingOccurrences(of: #"(?m)^  port = \d+"#, with: "  port = \(httpPort)", options: .regularExpression)
                .replacingOccurrences(of: #"(?m)^  ws_port = \d+"#, with: "  ws_port = \(wsPort)", options: .regularExpression)
            try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
        return try await launch(directory: directory, url: "http://127.0.0.1:\(httpPort)/janus")
    }

    /// The same server started again (same configuration and ports), as after `systemctl restart janus`.
    func restarted() async throws -> PrivateJanus {
        try await Self.launch(directory: directory, url: url)
    }

    private static func launch(directory: String, url: String) async throws -> PrivateJanus {
        let child = try ChildProcess("/usr/bin/janus", ["-C", "\(directory)/janus.jcfg", "-F", directory, "-L", "\(directory)/log"])
        for _ in 0..<100 {
            if try await curl(["-sf", "\(url)/info"]).status == 200 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return PrivateJanus(child: child, url: url, directory: directory)
    }

    static func freePort() async throws -> Int {
        let result = try await run("/usr/bin/python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"])
        return try #require(Int(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}

extension AssistTests {
    /// Janus killed mid-call: both counters report `assist.failed` naming the video server, and keep the recording up
    /// to that moment as the case's attachment.
    @Test(.enabled(if: Rig.available)) func janusGoingAwayFailsTheCallAndKeepsTheRecording() async throws {
        try #require(!Rig["TONGBAN_RIG_JANUS_DIR"].isEmpty, "the rig has no Janus: scripts/rig up")
        let janus = try await PrivateJanus.start()
        defer { kill(janus.child.process.processIdentifier, SIGKILL) }
        let pair = try await CounterPair.start(janus: janus.url, ringTimeoutSeconds: 30)
        defer { pair.stop() }
        let events = try ChildProcess("/usr/bin/python3", ["\(packageRoot)/Tests/tools/ws_probe.py",
                                                           pair.callerURL.replacingOccurrences(of: "http", with: "ws") + "/v1/events",
                                                           "until:assist.failed", "Authorization: Bearer \(CounterPair.token)"],
                                  environment: ["WS_PROBE_IDLE_SECONDS": "90"])  // quiet from connected until the failure
        defer { kill(events.process.processIdentifier, SIGKILL) }
        _ = try await events.waitForLine(containing: "hello")
        let placed = try await pair.request("POST", "\(pair.callerURL)/v1/assists", #"{"office":"\#(pair.office)","caseNumber":"AS2026112200009"}"#)
        _ = try #require(placed.json["id"] as? String, "\(placed.json)")
        _ = try #require(try await pair.call(at: pair.answererURL) { $0["state"] as? String == "ringing" })
        // The answering clerk uses the command line, typed while the call already rings.
        let answererPort = String(pair.answererURL.split(separator: ":").last!)
        let answer = try ChildProcess(tongbanBinary, ["assist", "answer", "--data-dir", "\(pair.directory)/B-02"],
                                      environment: ["TONGBAN_API_LISTEN": "127.0.0.1:\(answererPort)", "TONGBAN_API_TOKEN": CounterPair.token])
        defer { kill(answer.process.processIdentifier, SIGKILL) }
        #expect(try await answer.waitForExit() == 0, "tongban assist answer: \(answer.standardError)")
        #expect(answer.standardOutput.contains("\"state\" : \"connected\""), "\(answer.standardOutput)")
        let connected = try await pair.call(at: pair.callerURL) { $0["state"] as? String == "connected" }
        #expect(connected?["state"] as? String == "connected")
        try await Task.sleep(for: .seconds(3))

        kill(janus.child.process.processIdentifier, SIGKILL)
        let killed = ContinuousClock.now
        for base in [pair.callerURL, pair.answererURL] {
            let failed = try await pair.call(at: base, seconds: 60) { $0["state"] as? String == "failed" && $0["attachmentId"] != nil }
            print("Janus killed → \(base == pair.callerURL ? "caller" : "answerer") failed with its recording stored: \(ContinuousClock.now - killed)")
            #expect(failed?["state"] as? String == "failed", "\(base): \(failed ?? [:])")
            let problem = failed?["problem"] as? [String: Any]
            #expect((problem?["detail"] as? String)?.contains("Janus") == true && problem?["remedy"] != nil, "\(problem ?? [:])")
            let recording = try #require(try await pair.recording(at: base, caseNumber: "AS2026112200009"), "\(base) keeps the recording")
            let own = try #require(recording.files["own-00000.webm"], "\(recording.files.keys.sorted())")
            let probe = try await run("/usr/bin/gst-discoverer-1.0", [own])
            #expect(probe.status == 0 && !probe.standardOutput.contains("Duration: 0:00:00.000000000"), "\(probe.standardOutput)")
            #expect(recording.manifest["endedBy"] as? String == "janus")
        }
        _ = try await events.waitForLine(containing: "assist.failed")
        #expect(events.standardOutput.contains("\"type\":\"assist.failed\""), "the page is told: \(events.standardOutput.suffix(500))")

        // The answering counter is offline while the server is down, and back online soon after it restarts.
        #expect(try await pair.overview(pair.answererURL)["online"] as? [String] == [], "offline without Janus")
        let again = try await janus.restarted()
        defer { kill(again.child.process.processIdentifier, SIGKILL) }
        let restarted = ContinuousClock.now
        var online = false
        for _ in 0..<600 where !online {
            online = try await pair.overview(pair.answererURL)["online"] as? [String] == [pair.office]
            if !online { try await Task.sleep(for: .milliseconds(100)) }
        }
        print("Janus restarted → the answering counter online again: \(ContinuousClock.now - restarted)")
        #expect(online, "the answering counter rejoins its office's room")
    }
}

extension AssistTests {
    /// A clerk without Tongban answers in Chromium (the console's answer page, Janus's own JavaScript client served
    /// by Tongban): a first call declined there ends declined at the calling counter; on the next, the calling
    /// counter's video, document camera and audio are decoded and shown in the browser, and Chromium's camera is
    /// received and recorded by the calling counter.
    @Test(.enabled(if: Rig.available)) func aBrowserAnswersACounterCall() async throws {
        try #require(!Self.janusURL.isEmpty, "the rig has no Janus: scripts/rig up")
        let directory = try makeTemporaryDirectory()
        let office = "office-\(UUID().uuidString.prefix(8))"
        let caller = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(directory)/A-01"], environment: [
            "TONGBAN_API_TOKEN": CounterPair.token, "TONGBAN_COUNTER_ID": "A-01", "TONGBAN_ASSIST_WEBCAM": "test", "TONGBAN_ASSIST_MICROPHONE": "test", "TONGBAN_ASSIST_JANUS_URL": Self.janusURL,
            "TONGBAN_ASSIST_WIDTH": "640", "TONGBAN_ASSIST_HEIGHT": "360", "TONGBAN_ASSIST_FRAMES_PER_SECOND": "15",
            "TONGBAN_ASSIST_DOCUMENT_CAMERA": "test", "TONGBAN_DEVICES_SIMULATE": "none"])
        defer { kill(caller.process.processIdentifier, SIGKILL) }
        let port = try #require(try await caller.waitUntilReady(), "serve: \(caller.standardError)")
        let base = "http://127.0.0.1:\(port)"
        let pair = CounterPair(caller: caller, answerer: caller, callerURL: base, answererURL: base, office: office, directory: directory)
        let browser = try ChildProcess("/usr/bin/python3", ["-u", "\(packageRoot)/Tests/tools/browser_e2e.py", "answer", "--tongban", base,
                                                            "--office", office, "--decline-first",
                                                            "--artefacts", "\(packageRoot)/.build/artefacts/browser"])
        defer { kill(browser.process.processIdentifier, SIGKILL) }
        _ = try #require(try await browser.waitForLine(containing: "\"online\""), "chromium: \(browser.standardOutput)")

        let first = try await pair.request("POST", "\(base)/v1/assists", #"{"office":"\#(office)","caseNumber":"AS2026112200019"}"#)
        #expect(first.json["state"] as? String == "ringing", "\(first.json)")
        let declined = try await pair.call(at: base) { $0["caseNumber"] as? String == "AS2026112200019" && $0["state"] as? String != "ringing" }
        #expect(declined?["state"] as? String == "declined" && declined?["endedBy"] as? String == "remote"
                && declined?["answerCounter"] as? String == "browser-1", "declined in the browser: \(declined ?? [:])")
        _ = try #require(try await browser.waitForLine(containing: "\"declined\""), "chromium: \(browser.standardOutput)")

        let placed = try await pair.request("POST", "\(base)/v1/assists", #"{"office":"\#(office)","caseNumber":"AS2026112200020","material":"租赁合同","withDocumentCamera":true}"#)
        let id = try #require(placed.json["id"] as? String, "\(placed.json)")
        #expect(placed.json["state"] as? String == "ringing", "the browser counts as an answering counter: \(placed.json)")
        let connected = try await pair.call(at: base) { $0["state"] as? String == "connected" }
        #expect(connected?["answerCounter"] as? String == "browser-1", "\(connected ?? [:]) — chromium: \(browser.standardOutput.suffix(1500))")
        _ = try #require(try await browser.waitForLine(containing: "\"talking\""), "chromium: \(browser.standardOutput)")
        _ = try await pair.request("DELETE", "\(base)/v1/assists/\(id)")
        _ = try await browser.waitForExit()
        let findings = driverFindings(browser.standardOutput)
        #expect(findings["failed"] == nil, "\(findings["failed"] ?? "") \(findings["page"] ?? "")")
        #expect((findings["ring"] as? String)?.contains("AS2026112200020") == true, "the ring names the case: \(findings["ring"] ?? "")")
        #expect((findings["declinedRing"] as? String)?.contains("AS2026112200019") == true && (findings["afterDecline"] as? String)?.contains("declined") == true,
                "the page rang for the first call and shows it declined: \(findings["declinedRing"] ?? "") / \(findings["afterDecline"] ?? "")")
        let received = findings["received"] as? [String: Any] ?? [:]
        #expect((received["framesDecoded"] as? Int ?? 0) > 0 && received["width"] as? Int == 640, "video in the browser: \(received)")
        #expect((received["audioPackets"] as? Int ?? 0) > 0, "audio in the browser: \(received)")
        let shown = findings["videosShown"] as? [String] ?? []
        #expect(shown.count == 2 && shown.first?.hasPrefix("remote 640x360") == true && shown.last?.hasPrefix("further-video") == true,
                "the caller's camera and its document camera, each in a video of its own: \(shown)")
        #expect(findings["acceptToFirstFrameMs"] as? Int != nil, "\(findings)")

        let recording = try #require(try await pair.recording(at: base, caseNumber: "AS2026112200020"), "the calling counter keeps the recording")
        let chromium = try #require(recording.files["remote-video.webm"], "Chromium's camera recorded: \(recording.files.keys.sorted())")
        let probe = try await run("/usr/bin/gst-discoverer-1.0", [chromium])
        #expect(probe.standardOutput.contains("VP8") && !probe.standardOutput.contains("Duration: 0:00:00.000000000"), "\(probe.standardOutput)")
        #expect(recording.manifest["answerCounter"] as? String == "browser-1")
        print("accept → first decoded frame at the browser: \(findings["acceptToFirstFrameMs"] ?? "?") ms")
    }
}

extension AssistTests {
    /// kill -9 of the calling service mid-call: at the next start the call is recorded as failed (interrupted) and
    /// what was recorded until then is the case's recording.
    @Test(.enabled(if: Rig.available)) func aCallCutByACrashIsKeptAtRestart() async throws {
        try #require(!Self.janusURL.isEmpty, "the rig has no Janus: scripts/rig up")
        let pair = try await CounterPair.start(janus: Self.janusURL, ringTimeoutSeconds: 30)
        defer { pair.stop() }
        let placed = try await pair.request("POST", "\(pair.callerURL)/v1/assists", #"{"office":"\#(pair.office)","caseNumber":"AS2026112200030"}"#)
        let id = try #require(placed.json["id"] as? String, "\(placed.json)")
        _ = try #require(try await pair.call(at: pair.answererURL) { $0["state"] as? String == "ringing" })
        _ = try await pair.request("POST", "\(pair.answererURL)/v1/assists/\(id)/accept")
        _ = try await pair.call(at: pair.callerURL) { $0["state"] as? String == "connected" }
        // Kill only once a few GOPs are on disk (splitmuxsink holds back the one in progress); under load that takes
        // longer than on an idle machine, so the test watches the segment rather than the clock.
        let segment = "\(pair.directory)/A-01/recordings/\(id)/own-00000.webm"
        var onDisk = 0
        for _ in 0..<120 where onDisk <= 10_000 {
            try await Task.sleep(for: .milliseconds(500))
            onDisk = (try? FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int) ?? 0
        }
        try #require(onDisk > 10_000, "the call's own segment never grew: \(onDisk) bytes at \(segment)")
        kill(pair.caller.process.processIdentifier, SIGKILL)
        _ = try await pair.caller.waitForExit()
        // The other side notices the caller fell silent, well before Janus drops the dead session.
        let failedThere = try await pair.call(at: pair.answererURL) { $0["state"] as? String == "failed" }
        #expect(failedThere?["endedBy"] as? String == "remote-lost", "\(failedThere ?? [:])")

        let restarted = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(pair.directory)/A-01"], environment: [
            "TONGBAN_API_TOKEN": CounterPair.token, "TONGBAN_COUNTER_ID": "A-01", "TONGBAN_ASSIST_WEBCAM": "test", "TONGBAN_ASSIST_MICROPHONE": "test", "TONGBAN_ASSIST_JANUS_URL": Self.janusURL,
            "TONGBAN_DEVICES_SIMULATE": "none"])
        defer { kill(restarted.process.processIdentifier, SIGKILL) }
        let port = try #require(try await restarted.waitUntilReady(), "restart: \(restarted.standardError)")
        let base = "http://127.0.0.1:\(port)"
        let call = try await pair.call(at: base) { $0["id"] as? String == id }
        #expect(call?["state"] as? String == "failed" && call?["endedBy"] as? String == "restart", "\(call ?? [:])")
        #expect((call?["problem"] as? [String: Any])?["code"] as? String == "assist-interrupted")
        let recording = try #require(try await pair.recording(at: base, caseNumber: "AS2026112200030"), "the recording so far is kept")
        let own = try #require(recording.files["own-00000.webm"], "\(recording.files.keys.sorted())")
        let size = (try FileManager.default.attributesOfItem(atPath: own)[.size] as? Int) ?? 0
        #expect(size >= onDisk, "what was on disk at the crash (\(onDisk) bytes) is kept: \(size) bytes")
    }
}

extension AssistTests {
    /// Seed 003 art. 18: a call nobody answers is reported to the city SMS gateway. The gateway is down when the call
    /// is missed and the counter restarts meanwhile; once up it refuses the first attempt (503): the office is reminded
    /// exactly once, with the call id as the idempotency key and the month's count in the body.
    @Test(.enabled(if: Rig.available)) func aMissedCallRemindsTheOfficeOnceThroughAGatewayThatIsDownAWhile() async throws {
        try #require(!Self.janusURL.isEmpty, "the rig has no Janus: scripts/rig up")
        let directory = try makeTemporaryDirectory("reminder")
        let gatewayPort = try await freePort()
        let log = "\(directory)/gateway.jsonl"
        let office = "office-\(UUID().uuidString.prefix(8))"
        let token = CounterPair.token
        func serve() async throws -> (ChildProcess, String) {
            let server = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(directory)/data"], environment: [
                "TONGBAN_API_TOKEN": token, "TONGBAN_COUNTER_ID": "A-01", "TONGBAN_COUNTER_HALL": "示例大厅",
                "TONGBAN_ASSIST_WEBCAM": "test", "TONGBAN_ASSIST_MICROPHONE": "test", "TONGBAN_ASSIST_JANUS_URL": Self.janusURL,
                "TONGBAN_ASSIST_RING_TIMEOUT_SECONDS": "2", "TONGBAN_DEVICES_SIMULATE": "none",
                "TONGBAN_ASSIST_MISSED_CALL_NOTIFY_URL": "http://127.0.0.1:\(gatewayPort)/sms",
                "TONGBAN_ASSIST_MISSED_CALL_NOTIFY_RETRY_MAX_SECONDS": "2",
            ])
            guard let port = try await server.waitUntilReady() else { throw AssistTestError.notOnline(server.standardError) }
            return (server, "http://127.0.0.1:\(port)")
        }
        func reminders(_ base: String) async throws -> [[String: Any]] {
            let answer = try await curl(["-H", "Authorization: Bearer \(token)", "\(base)/v1/assists"])
            return ((try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any])?["reminders"] as? [[String: Any]] ?? []
        }
        /// Polls until `accepts` (a guard against hanging, not a timing check).
        func reminder(_ base: String, where accepts: ([String: Any]) -> Bool) async throws -> [String: Any]? {
            for _ in 0..<600 {
                if let first = try await reminders(base).first, accepts(first) { return first }
                try await Task.sleep(for: .milliseconds(100))
            }
            return try await reminders(base).first
        }

        var (counter, base) = try await serve()
        defer { kill(counter.process.processIdentifier, SIGKILL) }
        let placed = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json",
                                     "-d", #"{"office":"\#(office)","caseNumber":"AS2026120500001"}"#, "\(base)/v1/assists"])
        #expect(placed.status == 201, "\(placed.body)")
        let callID = try #require((try JSONSerialization.jsonObject(with: Data(placed.body.utf8)) as? [String: Any])?["id"] as? String)
        // The gateway is down: the reminder waits, tried and named.
        let waiting = try #require(try await reminder(base) { ($0["attempts"] as? Int ?? 0) >= 1 }, "no reminder stored")
        #expect(waiting["id"] as? String == callID && waiting["state"] as? String == "pending" && waiting["lastError"] != nil, "\(waiting)")
        #expect(try await counter.stop() == 0)

        // The counter restarts; the gateway comes up and refuses the first attempt.
        let gateway = try ChildProcess("/usr/bin/python3", ["\(packageRoot)/Tests/tools/sms_gateway.py", "--port", "\(gatewayPort)",
                                                              "--fail-first", "1", "--log", log])
        defer { kill(gateway.process.processIdentifier, SIGKILL) }
        let listening = try await gateway.waitForLine(containing: "listening")
        #expect(listening != nil, "gateway: \(gateway.standardError)")
        (counter, base) = try await serve()
        let sent = try await reminder(base) { $0["state"] as? String == "sent" }
        #expect(sent?["state"] as? String == "sent", "\(sent ?? [:])")
        #expect(try await counter.stop() == 0)

        let requests = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(requests.map { $0["status"] as? Int } == [503, 200], "\(requests)")
        #expect(requests.allSatisfy { $0["key"] as? String == callID && $0["contentType"] as? String == "application/json; charset=utf-8" },
                "\(requests)")
        let body = try #require(requests.last?["body"] as? [String: Any])
        #expect(body["office"] as? String == office && body["counter"] as? String == "A-01" && body["hall"] as? String == "示例大厅", "\(body)")
        #expect(body["caseNumber"] as? String == "AS2026120500001" && body["missedThisMonth"] as? Int == 1 && body["callId"] as? String == callID)
        #expect((body["time"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } != nil, "\(body)")
    }
}

extension AssistTests {
    /// A reminder body is JSON whatever the office or case number holds; a template naming something unknown, or not
    /// making a JSON object, stops the start with a message naming it.
    @Test func reminderTemplatesMakeJSONOrAreRefused() throws {
        let template = try ReminderTemplate(text: ReminderTemplate.builtIn)
        let body = template.render(["office": .text(#"市场"监管"\局"#), "counter": .text("A-01"), "hall": .text("大厅\n二楼"),
                                    "caseNumber": .text("AS1"), "time": .text("2026-12-05T10:00:00+08:00"), "missedThisMonth": .number(3),
                                    "callId": .text("c1")])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "\(body)")
        #expect(parsed["office"] as? String == #"市场"监管"\局"# && parsed["hall"] as? String == "大厅\n二楼" && parsed["missedThisMonth"] as? Int == 3)
        let custom = try ReminderTemplate(text: #"{"msg": {"to": {{office}}, "n": {{ missedThisMonth }}}}"#)
        #expect(custom.render(["office": .text("o"), "missedThisMonth": .number(2)]) == #"{"msg": {"to": "o", "n": 2}}"#)
        for bad in [#"{"to": {{phone}}}"#, #"{"to": "{{office}}"}"#, "短信：{{office}}"] {
            #expect(throws: Problem.self, "\(bad)") { _ = try ReminderTemplate(text: bad, source: "reminder.json") }
        }
    }
}
