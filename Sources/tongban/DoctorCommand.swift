import ArgumentParser
import Doctor
import Foundation
import TongbanCore

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this PC can run Tongban; every failure comes with a remedy. Exits non-zero on failure.")

    @OptionGroup var options: ConfigurationOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let configuration = options.load()
        bootstrapLogging(level: "error")
        let checks = await DoctorChecks.run(configuration: configuration)
        if json {
            print(String(decoding: try JSONEncoder.tongban.encode(checks), as: UTF8.self))
        } else {
            let marks: [DoctorCheck.Outcome: String] = [.ok: "ok", .warning: "WARN", .fail: "FAIL"]
            printTable(header: ["", "CHECK", "DETAIL"], rows: checks.map { [marks[$0.outcome]!, $0.name, $0.detail] })
            for check in checks where check.remedy != nil && check.outcome != .ok {
                print("→ \(check.name): \(check.remedy!)")
            }
            print("\nChrome policy for the case system's pages to reach Tongban on 127.0.0.1 (Local Network Access):")
            if configuration.api.allowedOrigins.isEmpty {
                print("  (api.allowedOrigins is empty: only the built-in console can use the API)")
            } else {
                print(DoctorChecks.browserPolicy(allowedOrigins: configuration.api.allowedOrigins))
            }
        }
        if checks.contains(where: { $0.outcome == .fail }) { throw ExitCode(1) }
    }
}
