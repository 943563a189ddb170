import Assist
import AsyncHTTPClient
import Foundation
import GStreamer
import Testing
import TongbanCore

/// Video assistance against the rig's private Janus and headless Chromium.
@Suite struct AssistTests {
    static var janusURL: String { Rig["TONGBAN_RIG_JANUS_URL"] }

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
        #expect(VideoRoom.roomNumber(for: "office:shuiwu") == VideoRoom.roomNumber(for: "office:shuiwu"))
        #expect(VideoRoom.roomNumber(for: "office:shuiwu") != VideoRoom.roomNumber(for: "office:gongan"))
        #expect((1_000_000_000..<10_000_000_000).contains(VideoRoom.roomNumber(for: "x")), "ten digits, exact in JavaScript")
    }

    @Test func pipelineDescriptionEncodesOnceForCallAndRecording() {
        let description = CallMedia.description(MediaSettings(), segmentPattern: "/tmp/r/own-%05d.webm")
        #expect(description.components(separatedBy: "vp8enc").count == 2, "one video encoder")
        #expect(description.components(separatedBy: "opusenc").count == 2, "one audio encoder")
        #expect(description.contains("videotee. ! queue ! recorder.video") && description.contains("muxer-factory=webmmux"))
        #expect(description.contains("videotestsrc"), "no webcam configured: the test pattern")
        let webcam = CallMedia.description(MediaSettings(webcam: "/dev/video2", microphone: "default"), segmentPattern: "x")
        #expect(webcam.contains("v4l2src device=\"/dev/video2\"") && webcam.contains("pulsesrc device=\"default\""))
    }

    /// Tongban publishes its (test) camera and microphone into a Janus room; Chromium subscribes like the remote
    /// clerk and decodes video and audio; our side's recording plays with both tracks.
    @Test(.enabled(if: Rig.available)) func publishedMediaReachesChromiumAndTheRecordingPlays() async throws {
        try #require(!Self.janusURL.isEmpty, "the rig has no Janus: scripts/rig up")
        let directory = try makeTemporaryDirectory()
        let thread = DedicatedThread(name: "assist-test")
        defer { thread.stop() }
        let session = try await JanusSession.create(url: Self.janusURL)
        let handle = try await session.attach(VideoRoom.plugin)
        let room = VideoRoom.roomNumber(for: "test:\(UUID().uuidString)")
        try await VideoRoom.ensureRoom(session, handle: handle, room: room, description: "test")
        let media = try CallMedia(MediaSettings(width: 640, height: 360, framesPerSecond: 15, videoBitrate: 600_000),
                                  recordingDirectory: "\(directory)/recording")
        try media.start()
        let (feed, _) = try await VideoRoom.publish(session, handle: handle, room: room, display: "counter A-01", media: media, thread: thread)

        let result = try await run("/usr/bin/python3", ["\(packageRoot)/Tests/tools/browser_e2e.py", "janus", "--janus", Self.janusURL,
                                                        "--room", "\(room)", "--feed", feed.text,
                                                        "--artefacts", "\(packageRoot)/.build/artefacts/browser"])
        let line = result.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        let findings = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
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
        let session = try await JanusSession.create(url: Self.janusURL)
        let handle = try await session.attach(VideoRoom.plugin)
        let room = VideoRoom.roomNumber(for: "test:\(UUID().uuidString)")
        try await VideoRoom.ensureRoom(session, handle: handle, room: room, description: "test")
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
