import Foundation
import SAMProtocol
import Simulators
import Testing

/// The executable as an installer and a clerk meet it.
@Suite(.serialized) struct CLITests {
    @Test func versionPrints() async throws {
        let result = try await run(tongbanBinary, ["version"])
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("tongban "))
    }

    @Test func badConfigurationStopsWithOneMessageNamingKeyAndLine() async throws {
        let directory = try makeTemporaryDirectory()
        try "api:\n  listen: 127.0.0.1:0\n  allowedOrigin: https://x.example\n".write(toFile: "\(directory)/bad.yaml", atomically: true, encoding: .utf8)
        let result = try await run(tongbanBinary, ["serve", "--config", "\(directory)/bad.yaml", "--data-dir", directory])
        #expect(result.status == 78)
        #expect(result.standardError.contains("bad.yaml:3: api.allowedOrigin: unknown key"))
        #expect(result.standardError.contains("allowedOrigins"))
        #expect(!result.standardOutput.contains("ready"))
    }

    @Test func badEnvironmentValueStopsTheService() async throws {
        let result = try await run(tongbanBinary, ["serve", "--data-dir", try makeTemporaryDirectory()],
                             environment: ["TONGBAN_API_LISTEN": "everywhere"])
        #expect(result.status == 78)
        #expect(result.standardError.contains("environment TONGBAN_API_LISTEN: api.listen"))
    }

    @Test func unwritableDataDirectoryStopsWithRemedy() async throws {
        let directory = try makeTemporaryDirectory()
        _ = FileManager.default.createFile(atPath: "\(directory)/file", contents: Data())
        let result = try await run(tongbanBinary, ["serve", "--listen", "127.0.0.1:0", "--data-dir", "\(directory)/file/data"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("Data folder not writable"))
        #expect(result.standardError.contains("dataDir"))
    }

    @Test func doctorReportsAMissingCJKFontWithItsPackage() async throws {
        let directory = try makeTemporaryDirectory()
        try "<?xml version=\"1.0\"?><fontconfig><dir>\(directory)</dir><cachedir>\(directory)</cachedir></fontconfig>"
            .write(toFile: "\(directory)/fonts.conf", atomically: true, encoding: .utf8)
        let result = try await run(tongbanBinary, ["doctor", "--data-dir", directory, "--json"],
                             environment: ["FONTCONFIG_FILE": "\(directory)/fonts.conf"])
        #expect(result.status == 1)
        let checks = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]] ?? []
        let font = checks.first { ($0["name"] as? String) == "font Noto Sans CJK SC" }
        #expect(font?["outcome"] as? String == "fail")
        #expect((font?["remedy"] as? String)?.contains("fonts-noto-cjk") == true)
    }

    @Test func doctorChecksLibrariesAndDataFolder() async throws {
        let directory = try makeTemporaryDirectory()
        let result = try await run(tongbanBinary, ["doctor", "--data-dir", directory, "--json"])
        let checks = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]] ?? []
        let outcomes = Dictionary(uniqueKeysWithValues: checks.map { ($0["name"] as! String, $0["outcome"] as! String) })
        for name in ["libsane", "libusb", "leptonica", "libturbojpeg", "pango/cairo", "libzint", "font Noto Sans CJK SC", "data folder"] {
            #expect(outcomes[name] == "ok", "\(name): \(outcomes[name] ?? "missing")")
        }
        #expect(checks.allSatisfy { ($0["outcome"] as? String) == "ok" || $0["remedy"] != nil })
    }

    @Test func demoServesOnLoopbackOnlyAndStopsCleanlyOnSIGTERM() async throws {
        let server = try ChildProcess.serve(["--demo", "--listen", "127.0.0.1:0", "--data-dir", try makeTemporaryDirectory()])
        let port = try #require(try await server.waitUntilReady(), "not ready: \(server.standardError)")
        let health = try await curl(["http://127.0.0.1:\(port)/v1/health"])
        #expect(health.status == 200)
        #expect(health.body.contains("\"status\":\"ok\""))
        let devices = try await curl(["http://127.0.0.1:\(port)/v1/devices"])
        for deviceClass in ["idcard", "scanner", "camera", "printer"] {
            #expect(devices.body.contains("\"class\":\"\(deviceClass)\""))
        }
        // Every listening socket of that port is on 127.0.0.1; none on IPv6 or a wildcard.
        let listeners = listeningAddresses(port: port)
        #expect(!listeners.isEmpty)
        #expect(listeners.allSatisfy { $0 == "0100007F" }, "listening on \(listeners)")
        // DNS rebinding: a foreign host name is refused even from this machine.
        let rebound = try await curl(["-H", "Host: evil.example:\(port)", "http://127.0.0.1:\(port)/v1/health"])
        #expect(rebound.status == 403)
        #expect(rebound.body.contains("host-not-allowed"))
        let status = try await server.stop(signal: SIGTERM)
        #expect(status == 0, "stderr: \(server.standardError)")
        #expect(server.standardError.contains("stopped cleanly"))
    }

    @Test func secondInstanceOnABusyPortFailsWithAClearMessage() async throws {
        let first = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", try makeTemporaryDirectory()],
                                     environment: ["TONGBAN_DEVICES_SIMULATE": "all"])
        let port = try #require(try await first.waitUntilReady())
        let second = try await run(tongbanBinary, ["serve", "--listen", "127.0.0.1:\(port)", "--data-dir", try makeTemporaryDirectory()],
                             environment: ["TONGBAN_DEVICES_SIMULATE": "all"])
        #expect(second.status == 1)
        #expect(second.standardError.contains("127.0.0.1:\(port)"))
        #expect(try await first.stop() == 0)
    }

    @Test(.enabled(if: RigTests.saneReady)) func devicesCommandListsRigScannerAndPrinter() async throws {
        let result = try await run(tongbanBinary, ["devices", "--json"],
                             environment: ["TONGBAN_PRINTERS_CUPS_SERVER": Rig["TONGBAN_RIG_CUPS_SERVER"]])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("\"id\":\"sane:test:0\""))
        #expect(result.standardOutput.contains("\"id\":\"cups:\(Rig["TONGBAN_RIG_PRINTER_QUEUE"])\""))
    }

    @Test(.enabled(if: RigTests.saneReady)) func servedDevicesIncludeRigScannerAndPrinter() async throws {
        let server = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", try makeTemporaryDirectory()],
                                      environment: ["TONGBAN_PRINTERS_CUPS_SERVER": Rig["TONGBAN_RIG_CUPS_SERVER"]])
        let port = try #require(try await server.waitUntilReady(), "not ready: \(server.standardError)")
        let devices = try await curl(["http://127.0.0.1:\(port)/v1/devices"])
        #expect(devices.status == 200)
        #expect(devices.body.contains("\"id\":\"sane:test:0\""))
        #expect(devices.body.contains("\"id\":\"cups:\(Rig["TONGBAN_RIG_PRINTER_QUEUE"])\""))
        #expect(!devices.body.contains("\"transport\":\"simulator\""), "no simulator without --demo")
        #expect(try await server.stop() == 0)
    }

    @Test func idcardReadAndWatchGoThroughTheRunningService() async throws {
        let dataDir = try makeTemporaryDirectory()
        let environment = ["TONGBAN_DEVICES_SIMULATE": "all"]
        let server = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", dataDir], environment: environment)
        let port = try #require(try await server.waitUntilReady())
        let client = ["TONGBAN_API_LISTEN": "127.0.0.1:\(port)"]
        let watch = try ChildProcess(tongbanBinary, ["idcard", "watch", "--data-dir", dataDir], environment: client)
        // No card yet: a clear message and a non-zero exit.
        let empty = try await run(tongbanBinary, ["idcard", "read", "--data-dir", dataDir, "--timeout-ms", "500"], environment: client)
        #expect(empty.status == 1)
        #expect(empty.standardError.contains("No card read"))
        let token = try String(contentsOfFile: "\(dataDir)/api-token", encoding: .utf8)
        let placed = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json",
                               "-d", #"{"action":"place","card":"hkMacaoTaiwan"}"#, "http://127.0.0.1:\(port)/v1/sim/idcard"])
        #expect(placed.status == 204)
        let masked = try await run(tongbanBinary, ["idcard", "read", "--data-dir", dataDir], environment: client)
        #expect(masked.status == 0, "\(masked.standardError)")
        #expect(masked.standardOutput.contains("\"name\" : \"陈**\""))
        let revealed = try await run(tongbanBinary, ["idcard", "read", "--data-dir", dataDir, "--reveal"], environment: client)
        #expect(revealed.standardOutput.contains("\"name\" : \"陈大文\""))
        let line = try await watch.waitForLine(containing: "\"type\":\"idcard.read\"")
        #expect(line?.contains("陈大文") == false, "watch prints masked events")
        _ = try await watch.stop()
        #expect(try await server.stop() == 0)
        #expect(!server.standardError.contains("陈大文"))
    }

    /// Local addresses (hex, as in /proc/net/tcp) of sockets listening on `port`, IPv4 and IPv6.
    func listeningAddresses(port: Int) -> [String] {
        let portHex = String(format: "%04X", port)
        var addresses: [String] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end: procfs reports a size of 0, and a one-shot read gets only the first page of a long table.
            let text = FileHandle(forReadingAtPath: table).map { String(decoding: $0.readDataToEndOfFile(), as: UTF8.self) } ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 3, fields[3] == "0A" else { continue }
                let local = fields[1].split(separator: ":")
                if local.count == 2, local[1] == portHex { addresses.append(String(local[0])) }
            }
        }
        return addresses
    }
}

/// `tongban idcard decode` on captured frames.
@Suite struct IDCardDecodeCommandTests {
    func decode(_ input: String, reveal: Bool = false) async throws -> ProcessResult {
        let path = try makeTemporaryDirectory() + "/frame.txt"
        try input.write(toFile: path, atomically: true, encoding: .utf8)
        return try await run(tongbanBinary, ["idcard", "decode"] + (reveal ? ["--reveal"] : []) + [path])
    }

    @Test func hexFrameWithWhitespaceDecodesMaskedByDefault() async throws {
        let frame = SpecimenCards.resident.reply().frame
        let hexText = stride(from: 0, to: frame.count, by: 16).map { start in
            frame[start..<min(start + 16, frame.count)].map { String(format: "%02X", $0) }.joined(separator: " ")
        }.joined(separator: "\n")
        let masked = try await decode(hexText)
        #expect(masked.status == 0, "\(masked.standardError)")
        #expect(masked.standardOutput.contains("\"idNumber\" : \"110105********002X\""))
        #expect(!masked.standardOutput.contains("11010519491231002X"))
        let revealed = try await decode(hexText, reveal: true)
        #expect(revealed.standardOutput.contains("\"idNumber\" : \"11010519491231002X\""))
        #expect(revealed.standardOutput.contains("\"cardType\" : \"resident\""))
    }

    /// Finding (wave 2): a captured reply with line noise before the frame was refused, although the codec
    /// resynchronises on the wire; now it decodes and says how many bytes were skipped.
    @Test func lineNoiseAroundTheFrameIsSkippedAndCounted() async throws {
        let frame = SpecimenCards.resident.reply().frame
        // Noise with a false start: a preamble whose length field is out of range, then bytes after the frame.
        let noise: [UInt8] = [0x00, 0xFF, 0x13, 0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF, 0x37]
        let bytes = noise + frame + [0x0D, 0x0A]
        let path = try makeTemporaryDirectory() + "/noisy.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let result = try await run(tongbanBinary, ["idcard", "decode", path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("\"idNumber\" : \"110105********002X\""))
        #expect(result.standardError.contains("skipped \(noise.count + 2) byte(s)"), "\(result.standardError)")
    }

    @Test(arguments: [
        ("AAAAAA9669000400004145", "0x41 read failed"),
        ("AAAAAA9669000400008085", "checksum"),
        ("AAAAAA96690508000090", "truncated"),
        ("hello", "no frame preamble"),
    ])
    func invalidFramesExitNonZeroNamingTheProblem(input: String, fragment: String) async throws {
        let result = try await decode(input)
        #expect(result.status == 65)
        #expect(result.standardError.contains(fragment), "\(result.standardError)")
    }
}
