import Foundation
import Testing

/// schemathesis (from the venv) generates requests from `/v1/openapi.yaml` against a running service with the rig's
/// scanner and printer and simulated devices for the rest: no answer may be a server error, and every answer must
/// match the document. Streams (the event WebSocket, camera previews) are left out: they never end.
@Suite struct OpenAPIConformanceTests {
    static let token = "schema-token-0123456789abcdef"

    @Test(.enabled(if: Rig.available)) func schemathesisFindsNoServerErrorAndNoAnswerOffTheDocument() async throws {
        let directory = try makeTemporaryDirectory()
        let server = try ChildProcess.serve(["--listen", "127.0.0.1:0", "--data-dir", "\(directory)/data"],
                                            environment: ["TONGBAN_API_TOKEN": Self.token, "TONGBAN_DEVICES_SIMULATE": "missing",
                                                          "TONGBAN_PRINTERS_CUPS_SERVER": Rig["TONGBAN_RIG_CUPS_SERVER"],
                                                          "SANE_CONFIG_DIR": Rig["SANE_CONFIG_DIR"],
                                                          // Video assistance on the rig's Janus: /v1/assists answers for real.
                                                          "TONGBAN_ASSIST_JANUS_URL": Rig["TONGBAN_RIG_JANUS_URL"],
                                                          "TONGBAN_ASSIST_WEBCAM": "test", "TONGBAN_ASSIST_MICROPHONE": "test"])
        defer { kill(server.process.processIdentifier, SIGKILL) }
        let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
        // The registry's first round (SANE listing takes seconds) must have found the scanner and the printer,
        // or a scan request would rightly be told there is no scanner yet.
        for _ in 0..<100 {
            let devices = try await curl(["-H", "Authorization: Bearer \(Self.token)", "http://127.0.0.1:\(port)/v1/devices"]).body
            if devices.contains("\"sane:") && devices.contains("\"cups:") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let result = try await run("\(packageRoot)/.venv/bin/schemathesis", [
            "run", "http://127.0.0.1:\(port)/v1/openapi.yaml", "-H", "Authorization: Bearer \(Self.token)",
            "--checks", "not_a_server_error,response_schema_conformance", "--max-examples", "10", "--request-timeout", "70",
            "--exclude-path", "/v1/cameras/{id}/preview", "--exclude-path", "/v1/events", "--seed", "1",
        ], environment: ["NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""])
        let failures = result.standardOutput.components(separatedBy: "= FAILURES =").dropFirst().first ?? ""
        #expect(result.status == 0, "schemathesis: \(failures.isEmpty ? String(result.standardOutput.suffix(3000)) : String(failures.prefix(6000)))")
    }
}
