import Foundation
import Testing
import IDCard
import SAMProtocol
import Simulators
import Store

/// The whole path on real processes: `tongban sim idcard` on a pseudo-terminal, `tongban serve` reading it as a
/// serial reader, the event stream seen by a WebSocket client, the API read on demand.
@Suite(.serialized) struct IDCardEndToEndTests {
    static let token = "e2e-token-0123456789abcdef"

    @Test func serialReaderToBrowserEvents() async throws {
        let directory = try makeTemporaryDirectory()
        let link = "\(directory)/reader", dataDir = "\(directory)/data"
        let scenario = """
            [{"at": 0, "samNotReadyFor": 300},
             {"at": 1000, "place": "resident", "additionalAddress": "北京市海淀区新址2号"},
             {"at": 5000, "lift": true},
             {"at": 6000, "liftMidRead": true}, {"at": 6100, "place": "foreigner2017"},
             {"at": 10500, "unplugFor": 1500},
             {"at": 14000, "place": "hkMacaoTaiwan"}]
            """
        try scenario.write(toFile: "\(directory)/scenario.json", atomically: true, encoding: .utf8)
        let simulator = try ChildProcess(tongbanBinary, ["sim", "idcard", "--link", link, "--scenario", "\(directory)/scenario.json"])
        defer { kill(simulator.process.processIdentifier, SIGKILL) }
        #expect(try await simulator.waitForLine(containing: "linked at") != nil)

        let server = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", dataDir],
                                            environment: ["TONGBAN_DEVICES_IDCARD_SERIAL_PORTS": link, "TONGBAN_API_TOKEN": Self.token,
                                                          "TONGBAN_DEVICES_POLL_INTERVAL_MS": "200", "TONGBAN_LOG_LEVEL": "debug"])
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let probe = try ChildProcess("\(packageRoot)/Tests/tools/ws_probe.py",
                                     ["ws://127.0.0.1:\(port)/v1/events?since=0", "until:hkMacaoTaiwan",
                                      "Authorization: Bearer \(Self.token)"])
        #expect(try await probe.waitForExit() == 0, "probe: \(probe.standardOutput)")
        let events = probe.standardOutput.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let types = events.compactMap { $0["type"] as? String }
        let reads = events.filter { $0["type"] as? String == "idcard.read" }
        // Two complete reads; the card lifted mid-read produced an error, never a record.
        #expect(reads.count == 2, "types: \(types)")
        let first = (reads.first?["data"] as? [String: Any])?["record"] as? [String: Any]
        #expect(first?["cardType"] as? String == "resident")
        #expect(first?["name"] as? String == "李*")
        #expect(first?["idNumber"] as? String == "110105********002X")
        #expect(first?["sex"] as? String == "female")
        #expect(first?["ethnicity"] as? String == "汉")
        #expect(first?["validUntil"] as? String == "long-term")
        #expect(first?["numberValid"] as? Bool == true)
        #expect(first?["masked"] as? Bool == true)
        #expect(types.contains("idcard.present") && types.contains("idcard.removed"))
        let errors = events.filter { $0["type"] as? String == "idcard.error" }.compactMap { ($0["data"] as? [String: Any])?["code"] as? String }
        #expect(errors.contains("read-incomplete"), "errors: \(errors)")
        #expect(errors.contains("reader-unavailable"), "errors: \(errors)")
        // The unplug reached the device list as a state change of the reader.
        let readerStates = events.filter { ($0["type"] as? String) == "device.changed" }
            .compactMap { $0["data"] as? [String: Any] }.filter { ($0["id"] as? String) == "serial:\(link)" }
            .compactMap { ($0["state"] as? [String: Any])?["availability"] as? String }
        #expect(readerStates.contains("unavailable"), "reader states: \(readerStates)")

        // Read on demand through the API, unmasked with the token: the card still on the reader.
        let read = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Type: application/json",
                             "-d", #"{"reveal": true, "timeoutMs": 8000}"#, "http://127.0.0.1:\(port)/v1/idcard/read"])
        #expect(read.status == 200, "\(read.body)")
        #expect(read.body.contains("\"passNumber\":\"H12345678\""))
        #expect(read.body.contains("\"name\":\"陈大文\""))
        let recordID = try #require((try JSONSerialization.jsonObject(with: Data(read.body.utf8)) as? [String: Any])?["recordId"] as? String)
        // Reading the record back needs a credential to reveal; without one it is masked.
        let masked = try await curl(["http://127.0.0.1:\(port)/v1/idcard/records/\(recordID)"])
        #expect(masked.status == 200 && masked.body.contains("\"name\":\"陈**\""))
        let refused = try await curl(["http://127.0.0.1:\(port)/v1/idcard/records/\(recordID)?reveal=true"])
        #expect(refused.status == 401)

        #expect(try await server.stop() == 0)
        _ = try await simulator.stop()
        // The reveal is in the audit log; neither the log nor the database holds a full number or name.
        let store = try Store(directory: dataDir)
        #expect(try store.verifyAudit() == .intact(records: 1))
        let secrets = ["11010519491231002X", "李华", "陈大文", "H12345678", SpecimenCards.withCheck("81000019900101001")]
        for secret in secrets {
            #expect(!server.standardError.contains(secret), "the log holds \(secret)")
            #expect(!server.standardOutput.contains(secret), "stdout holds \(secret)")
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: dataDir) where file.hasPrefix("tongban.sqlite") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dataDir)/\(file)"))
            for secret in secrets {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds \(secret) in UTF-8")
                #expect(bytes.range(of: secret.data(using: .utf16LittleEndian)!) == nil, "\(file) holds \(secret) in UTF-16")
            }
        }
    }

    /// With a photo decoder configured, the revealed record carries the JPEG; events stay masked and photo-free.
    @Test func photoDecodedThroughTheConfiguredVendorLibrary() async throws {
        let library = try await PhotoDecoderTests.vendorLibrary()
        let directory = try makeTemporaryDirectory()
        let server = try ChildProcess.serve(["--demo", "--listen", "127.0.0.1:0", "--data-dir", "\(directory)/data"],
                                            environment: ["TONGBAN_API_TOKEN": Self.token, "TONGBAN_DEVICES_IDCARD_PHOTO_DECODER": library])
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        let auth = ["-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Type: application/json"]
        let placed = try await curl(["-X", "POST"] + auth + ["-d", #"{"action": "place", "card": "resident"}"#, "http://127.0.0.1:\(port)/v1/sim/idcard"])
        #expect(placed.status < 300, "\(placed.body)")
        let read = try await curl(["-X", "POST"] + auth + ["-d", #"{"reveal": true, "timeoutMs": 8000}"#, "http://127.0.0.1:\(port)/v1/idcard/read"])
        #expect(read.status == 200, "\(read.body)")
        let record = (try JSONSerialization.jsonObject(with: Data(read.body.utf8)) as? [String: Any])?["record"] as? [String: Any]
        let photo = record?["photo"] as? [String: Any]
        #expect(photo?["decoded"] as? Bool == true, "\(photo ?? [:])")
        let jpeg = Data(base64Encoded: photo?["jpeg"] as? String ?? "") ?? Data()
        #expect(jpeg.starts(with: [0xFF, 0xD8, 0xFF]))
        // The masked copy (events, unrevealed reads) never carries the picture.
        let recordID = (try JSONSerialization.jsonObject(with: Data(read.body.utf8)) as? [String: Any])?["recordId"] as? String ?? ""
        let masked = try await curl(["http://127.0.0.1:\(port)/v1/idcard/records/\(recordID)"])
        #expect(masked.status == 200 && !masked.body.contains("\"jpeg\":"), "\(masked.body)")
        #expect(try await server.stop() == 0)
    }
}
