import Foundation
import Testing

/// Tongban's own binary inside a qemu guest (scripts/guest) against real kernel drivers.
@Suite(.serialized) struct GuestTests {
    static var guestReady: Bool { Rig.environment?["TONGBAN_RIG_GUEST"] != nil }

    @Test func guestIsReadyWhenRequired() {
        if Rig.required { #expect(Self.guestReady, "TONGBAN_REQUIRE_RIG=1 but the rig did not prepare the qemu guest") }
    }

    /// vivid: a capture device appears in the registry, disappears when the driver is unloaded, and a
    /// multi-planar one is recognised as such.
    @Test(.enabled(if: guestReady)) func videoDevicesFromVividThroughTheRegistry() async throws {
        let directory = try makeTemporaryDirectory()
        let script = """
            cd '\(packageRoot)'
            export SANE_CONFIG_DIR=/run
            echo "== single"; '\(tongbanBinary)' devices --json
            busybox rmmod vivid
            echo "== none"; '\(tongbanBinary)' devices --json
            busybox insmod "$TONGBAN_GUEST_MODULES_DIR/kernel/drivers/media/test-drivers/vivid/vivid.ko" n_devs=1 node_types=0x1 multiplanar=2
            echo "== multi"; '\(tongbanBinary)' devices --json
            """
        try script.write(toFile: "\(directory)/script.sh", atomically: true, encoding: .utf8)
        let result = try await run(Rig["TONGBAN_RIG_GUEST"], ["run", "\(directory)/script.sh", "\(directory)/out"],
                             environment: ["TONGBAN_GUEST_MODULES": "vivid n_devs=1 node_types=0x1 input_types=0x1"])
        #expect(result.status == 0, "\(result.standardOutput)\n\(result.standardError)")
        func cameras(after marker: String) throws -> [[String: Any]] {
            let section = result.standardOutput.components(separatedBy: "== \(marker)\n").last ?? ""
            // libv4l2 and others may print to stderr first: take the first JSON line.
            let line = section.split(separator: "\n").first { $0.hasPrefix("{") }.map(String.init) ?? "{}"
            let snapshot = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (snapshot?["devices"] as? [[String: Any]] ?? []).filter { $0["class"] as? String == "camera" }
        }
        let single = try cameras(after: "single")
        #expect(single.count == 1)
        #expect(single.first?["id"] as? String == "v4l2:/dev/video0")
        #expect((single.first?["details"] as? [String: String])?["driver"] == "vivid")
        #expect((single.first?["details"] as? [String: String])?["multiplanar"] == "false")
        #expect(try cameras(after: "none").isEmpty)
        let multi = try cameras(after: "multi")
        #expect((multi.first?["details"] as? [String: String])?["multiplanar"] == "true")
    }

    /// vivid as a document camera, through `tongban camera`: its formats and sizes, a stream, a switch to another
    /// size, a still at the largest size, a second program refused while the first streams, and the device
    /// disappearing mid-stream (driver unbound, as when a camera is pulled out).
    @Test(.enabled(if: guestReady)) func vividThroughTheCameraCommands() async throws {
        let directory = try makeTemporaryDirectory()
        let script = """
            cd '\(packageRoot)'
            export SANE_CONFIG_DIR=/run
            B='\(tongbanBinary)'
            echo "== list"; "$B" camera list --json
            echo "== small"; "$B" camera stream --device /dev/video0 --width 640 --height 480 --frames 5
            echo "== large"; "$B" camera stream --device /dev/video0 --width 1280 --height 720 --frames 3
            echo "== still"; "$B" camera capture --device /dev/video0 --mode photo --out /mnt/still.jpg; echo "still exit $?"
            # The service's own path: a shared preview of the converted YUYV stream, then a capture.
            ip link set lo up
            export TONGBAN_API_TOKEN=guest-token-0123456789abcdef TONGBAN_DEVICES_SIMULATE=none TONGBAN_CAMERAS_IDLE_RELEASE_SECONDS=0
            "$B" serve --listen 127.0.0.1:8765 --data-dir /run/data > /run/serve.out 2> /mnt/serve.log &
            serve=$!
            for i in $(seq 1 240); do grep -q "ready in" /run/serve.out 2>/dev/null && break; sleep 0.5; done
            for i in $(seq 1 100); do curl -s -H "Authorization: Bearer $TONGBAN_API_TOKEN" http://127.0.0.1:8765/v1/cameras | grep -q video0 && break; sleep 0.2; done
            curl -s --max-time 4 -H "Authorization: Bearer $TONGBAN_API_TOKEN" -o /mnt/preview.bin "http://127.0.0.1:8765/v1/cameras/video0/preview?width=640&height=480"
            echo "== service capture"; curl -s -X POST -H "Authorization: Bearer $TONGBAN_API_TOKEN" -H "Content-Type: application/json" \
                -d '{"mode": "photo", "caseNumber": "TB-GUEST"}' http://127.0.0.1:8765/v1/cameras/video0/capture; echo
            kill $serve; wait $serve
            "$B" camera stream --device /dev/video0 --width 640 --height 480 --frames 100000 > /run/first.log 2>&1 &
            first=$!
            for i in $(seq 1 100); do grep -q sequence /run/first.log && break; sleep 0.2; done
            echo "== busy"; "$B" camera stream --device /dev/video0 --frames 1; echo "busy exit $?"
            echo vivid.0 > /sys/bus/platform/drivers/vivid/unbind
            wait $first; echo "unplugged exit $?"; tail -1 /run/first.log
            """
        try script.write(toFile: "\(directory)/script.sh", atomically: true, encoding: .utf8)
        let result = try await run(Rig["TONGBAN_RIG_GUEST"], ["run", "\(directory)/script.sh", "\(directory)/out"],
                                   environment: ["TONGBAN_GUEST_MODULES": "vivid n_devs=1 node_types=0x1 input_types=0x0"])
        let output = result.standardOutput
        #expect(result.status == 0, "\(output)\n\(result.standardError)")
        func section(_ name: String) -> String {
            (output.components(separatedBy: "== \(name)\n").dropFirst().first ?? "").components(separatedBy: "== ").first ?? ""
        }
        let listLine = section("list").split(separator: "\n").first { $0.hasPrefix("{") }.map(String.init) ?? "{}"
        let list = try JSONSerialization.jsonObject(with: Data(listLine.utf8)) as? [String: Any]
        let camera = (list?["cameras"] as? [[String: Any]])?.first
        let formats = ((camera?["capabilities"] as? [String: Any])?["formats"] as? [[String: Any]]) ?? []
        #expect(camera?["driver"] as? String == "vivid", "\(listLine)")
        #expect(formats.contains { $0["pixelFormat"] as? String == "YUYV" && $0["emulated"] as? Bool == false }, "\(formats.map { $0["pixelFormat"] ?? "" })")
        let sizes = (formats.first?["sizes"] as? [[String: Any]]) ?? []
        #expect(sizes.contains { $0["width"] as? Int == 3840 && $0["height"] as? Int == 2160 }, "\(sizes)")
        #expect(section("small").contains(#""width": 640, "height": 480"#), "\(section("small"))")
        #expect(section("small").components(separatedBy: "sequence").count - 1 == 5)
        #expect(section("large").contains(#""width": 1280, "height": 720"#), "\(section("large"))")
        #expect(section("still").contains(#""pictureWidth": 3840, "pictureHeight": 2160"#), "\(section("still"))")
        #expect(output.contains("still exit 0"))
        #expect(output.contains("busy exit 75"), "the second program is told the camera is busy: \(section("busy"))")
        #expect(section("busy").contains("EBUSY") || section("busy").contains("busy"), "\(section("busy"))")
        #expect(output.contains("unplugged exit 69"), "the stream ends as unplugged: \(output.suffix(600))")
        let preview = (try? Data(contentsOf: URL(fileURLWithPath: "\(directory)/out/preview.bin"))) ?? Data()
        let previewFrames = CameraTests.parts(preview)
        #expect(previewFrames.count >= 3, "frames through the service's preview: \(previewFrames.count)")
        #expect(previewFrames.allSatisfy { Array($0.prefix(2)) == [0xFF, 0xD8] })
        let serviceCapture = section("service capture")
        #expect(serviceCapture.contains(#""pictureWidth":3840"#) && serviceCapture.contains(#""kind":"photo""#), "\(serviceCapture)")
        let still = try #require(FileManager.default.contents(atPath: "\(directory)/out/still.jpg"))
        #expect(Array(still.prefix(2)) == [0xFF, 0xD8], "the still is a JPEG")
    }

    /// Video assistance's own devices through real kernel drivers: vivid as the webcam (V4L2) and snd-dummy as the
    /// headset microphone (ALSA, as the systemd service uses it), recorded by `tongban assist check` encoded as in a
    /// call; a microphone that is not there is named with a remedy.
    @Test(.enabled(if: guestReady)) func webcamAndHeadsetThroughTheAssistCheck() async throws {
        let directory = try makeTemporaryDirectory()
        let script = """
            cd '\(packageRoot)'
            export TONGBAN_ASSIST_WEBCAM=/dev/video0 TONGBAN_ASSIST_WIDTH=640 TONGBAN_ASSIST_HEIGHT=360 TONGBAN_ASSIST_FRAMES_PER_SECOND=15
            echo "== cards"; cat /proc/asound/cards
            echo "== check"; TONGBAN_ASSIST_MICROPHONE=alsa:plughw:CARD=Dummy '\(tongbanBinary)' assist check --seconds 3 --out /mnt/check.webm; echo "check exit $?"
            echo "== missing"; TONGBAN_ASSIST_MICROPHONE=alsa:plughw:CARD=Headset '\(tongbanBinary)' assist check --seconds 1 --out /run/x.webm; echo "missing exit $?"
            """
        try script.write(toFile: "\(directory)/script.sh", atomically: true, encoding: .utf8)
        let result = try await run(Rig["TONGBAN_RIG_GUEST"], ["run", "\(directory)/script.sh", "\(directory)/out"],
                                   environment: ["TONGBAN_GUEST_MODULES": "vivid n_devs=1 node_types=0x1 input_types=0x0;snd-dummy"])
        let output = result.standardOutput
        #expect(result.status == 0, "\(output)\n\(result.standardError)")
        #expect(output.contains("Dummy"), "snd-dummy is the sound card: \(output.prefix(600))")
        #expect(output.contains("check exit 0"), "\(output)")
        let probe = try await run("/usr/bin/gst-discoverer-1.0", ["-v", "\(directory)/out/check.webm"])
        // The streams' caps (tags such as "VP8 video" are not always written).
        #expect(probe.standardOutput.contains("video/x-vp8, width=(int)640, height=(int)360"), "the webcam recorded: \(probe.standardOutput)")
        #expect(probe.standardOutput.contains("audio/x-opus"), "the microphone recorded: \(probe.standardOutput)")
        let duration = probe.standardOutput.components(separatedBy: "Duration: ").dropFirst().first?.prefix(11) ?? ""
        // Three seconds asked for; the emulated guest's first frames come late, so at least one is what is checked.
        #expect(duration >= "0:00:01.000", "seconds of both tracks: \(duration)")
        #expect(output.contains("missing exit 1") && output.contains("alsasrc") && output.contains("arecord -L"),
                "the missing headset is named with a remedy: \(output.suffix(800))")
    }

    /// The ID-card reader as a real USB device: `tongban sim idcard --usb-gadget` (FunctionFS on dummy_hcd) and
    /// `tongban serve` finding it on the bus and reading it through libusb — first with the standard's four
    /// endpoints (card placed, lifted, lifted mid-read, unplugged, read on demand), then with one endpoint pair.
    @Test(.enabled(if: guestReady)) func usbReaderThroughTheGadget() async throws {
        let directory = try makeTemporaryDirectory()
        let token = "guest-token-0123456789abcdef"
        // Times count from the service's first request to the gadget (see `tongban sim idcard --help`).
        let split = """
            [{"at": 0, "samNotReadyFor": 300},
             {"at": 2000, "place": "resident", "additionalAddress": "北京市海淀区新址2号"},
             {"at": 7000, "lift": true},
             {"at": 9000, "liftMidRead": true}, {"at": 9100, "place": "foreigner2017"},
             {"at": 14000, "unplugFor": 2500},
             {"at": 20000, "place": "hkMacaoTaiwan"}]
            """
        let single = #"[{"at": 2000, "place": "foreigner2023"}]"#
        try split.write(toFile: "\(directory)/split.json", atomically: true, encoding: .utf8)
        try single.write(toFile: "\(directory)/single.json", atomically: true, encoding: .utf8)
        let script = """
            cd '\(packageRoot)'
            ip link set lo up
            B='\(tongbanBinary)'
            export SANE_CONFIG_DIR=/run TONGBAN_API_TOKEN=\(token) TONGBAN_DEVICES_POLL_INTERVAL_MS=200 TONGBAN_LOG_LEVEL=debug
            export TONGBAN_DEVICES_SIMULATE=none WS_PROBE_IDLE_SECONDS=120
            # libusb learns of plugged devices from udev, as on a counter PC.
            /lib/systemd/systemd-udevd --daemon 2>/dev/null
            "$B" serve --listen 127.0.0.1:8765 --data-dir /run/data > /run/serve.out 2> /mnt/serve.log &
            serve=$!
            for i in $(seq 1 240); do grep -q "ready in" /run/serve.out 2>/dev/null && break; sleep 0.5; done
            Tests/tools/ws_probe.py "ws://127.0.0.1:8765/v1/events?since=0" until:foreigner2023 "Authorization: Bearer \(token)" > /mnt/events.jsonl &
            probe=$!
            "$B" sim idcard --usb-gadget split --scenario '\(directory)/split.json' > /mnt/sim-split.log 2>&1 &
            sim=$!
            # The scenario's last card stays on the reader: wait for its read, then read it again on demand.
            for i in $(seq 1 240); do grep -q hkMacaoTaiwan /mnt/events.jsonl && break; sleep 0.5; done
            curl -s -X POST -H "Authorization: Bearer \(token)" -H "Content-Type: application/json" \\
                 -d '{"reveal": true, "timeoutMs": 15000}' http://127.0.0.1:8765/v1/idcard/read > /mnt/read.json
            kill $sim; wait $sim
            "$B" sim idcard --usb-gadget single --scenario '\(directory)/single.json' > /mnt/sim-single.log 2>&1 &
            sim=$!
            wait $probe; echo "probe exit $?"
            kill $sim; wait $sim
            kill $serve; wait $serve
            grep -rl -e 11010519491231002X -e 李华 /run/data /mnt/serve.log && echo "CLEAR NUMBER FOUND"
            echo done
            """
        try script.write(toFile: "\(directory)/script.sh", atomically: true, encoding: .utf8)
        let out = "\(directory)/out"
        let result = try await run(Rig["TONGBAN_RIG_GUEST"], ["run", "\(directory)/script.sh", out],
                             environment: ["TONGBAN_GUEST_MODULES": "dummy_hcd;libcomposite;usb_f_fs"])
        let serveLog = (try? String(contentsOfFile: "\(out)/serve.log", encoding: .utf8)) ?? ""
        #expect(result.status == 0, "\(result.standardOutput)\n\(result.standardError)")
        #expect(result.standardOutput.contains("probe exit 0"), "\(result.standardOutput)\n\(serveLog.suffix(3000))")
        #expect(!result.standardOutput.contains("CLEAR NUMBER FOUND"))
        let events = ((try? String(contentsOfFile: "\(out)/events.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let types = events.compactMap { $0["type"] as? String }
        let reads = events.filter { $0["type"] as? String == "idcard.read" }.compactMap { ($0["data"] as? [String: Any])?["record"] as? [String: Any] }
        // On the split endpoints: the resident card, the HK card and its read on demand (the foreigner card was lifted
        // mid-read: an error, never a record); then on a single pair, the foreigner card.
        #expect(reads.compactMap { $0["cardType"] as? String } == ["resident", "hkMacaoTaiwan", "hkMacaoTaiwan", "foreigner2023"],
                "types: \(types)\n\(serveLog.suffix(3000))")
        #expect(reads.first?["name"] as? String == "李*")
        #expect(reads.first?["additionalAddress"] != nil)
        #expect(types.contains("idcard.removed"))
        let errors = events.filter { $0["type"] as? String == "idcard.error" }.compactMap { ($0["data"] as? [String: Any])?["code"] as? String }
        #expect(errors.contains("read-incomplete"), "errors: \(errors)")
        #expect(errors.contains("reader-unavailable"), "errors: \(errors)")
        let readerStates = events.filter { ($0["type"] as? String) == "device.changed" }
            .compactMap { $0["data"] as? [String: Any] }.filter { ($0["id"] as? String) == "usb:0400:c35a@1-1" }
            .compactMap { ($0["state"] as? [String: Any])?["availability"] as? String }
        #expect(readerStates.contains("unavailable"), "reader states: \(readerStates)")
        let onDemand = (try? String(contentsOfFile: "\(out)/read.json", encoding: .utf8)) ?? ""
        #expect(onDemand.contains("\"name\":\"陈大文\""), "\(onDemand)")
        #expect(serveLog.contains("split 02+07/81+86") || serveLog.contains("split 02+06/81+85"), "\(serveLog.suffix(2000))")
    }
}

