import ArgumentParser
import Foundation
import TongbanCore

/// The one executable: `tongban serve`, `tongban devices`, `tongban doctor`, `tongban version`.
@main
struct Tongban: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "tongban",
        abstract: "通办 Tongban — the device service of a government service counter.",
        version: version,
        subcommands: [Serve.self, Devices.self, Doctor.self, IDCardCommand.self, ScanCommand.self, PageCommand.self, CameraCommand.self, AssistCommand.self, NoticesCommand.self, PrintCommand.self, AuditCommand.self, ArchiveCommand.self, CryptoCommand.self, ClerkCommand.self, SimCommand.self, BenchCommand.self,
                      Version.self])
}

/// Prints a problem for the person at the terminal and exits non-zero: one clear message, no stack trace.
func fail(_ problem: Problem, exitCode: Int32 = 1) -> Never {
    var text = "tongban: \(problem.title)\n  \(problem.detail)\n"
    if let remedy = problem.remedy { text += "  → \(remedy)\n" }
    FileHandle.standardError.write(Data(text.utf8))
    exit(exitCode)
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")
    func run() {
        print("tongban \(Tongban.version)")
    }
}
