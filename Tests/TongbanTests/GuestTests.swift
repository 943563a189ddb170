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
    @Test(.enabled(if: guestReady)) func videoDevicesFromVividThroughTheRegistry() throws {
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
        let result = try run(Rig["TONGBAN_RIG_GUEST"], ["run", "\(directory)/script.sh", "\(directory)/out"],
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
}
