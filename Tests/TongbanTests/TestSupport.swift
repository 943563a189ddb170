import Foundation
import Testing

/// The repository root, found from this file's path.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The `tongban` executable built beside the test bundle.
let tongbanBinary: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("tongban")
}()

/// The real device stacks started by `scripts/rig up`, read from its env file.
enum Rig {
    static let environment: [String: String]? = {
        let path = ProcessInfo.processInfo.environment["TONGBAN_RIG_ENV"] ?? "\(packageRoot)/.rig/env"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }()

    /// True when the rig is up. Tests that need it are skipped otherwise — except where `TONGBAN_REQUIRE_RIG=1`
    /// (CI), where `RigTests.rigIsUp` fails instead, so nothing is silently skipped there.
    static var available: Bool { environment?["SANE_CONFIG_DIR"] != nil && environment?["TONGBAN_RIG_CUPS_SERVER"] != nil }
    static var required: Bool { ProcessInfo.processInfo.environment["TONGBAN_REQUIRE_RIG"] == "1" }

    static subscript(key: String) -> String { environment?[key] ?? "" }
}

/// A fresh folder under the system's temporary folder.
func makeTemporaryDirectory(_ name: String = #function) throws -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "tongban-test-\(safe)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The outcome of a finished child process.
struct ProcessResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs a program to completion with extra environment variables (the test's own environment is inherited), on a
/// thread of its own: Swift Testing runs suites side by side on a cooperative pool as wide as the machine has cores
/// (two here), and a child that takes seconds (qemu, lpadmin, pdftoppm) must not hold one of those threads — on CI
/// that starved every other suite's timeouts.
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
         removingEnvironment: [String] = []) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result {
                try runBlocking(executable, arguments, environment: environment, removingEnvironment: removingEnvironment)
            })
        }.start()
    }
}

/// `run` on the calling thread: only for `defer` clean-ups, which cannot await, and for plain threads.
func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                 removingEnvironment: [String] = []) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var merged = ProcessInfo.processInfo.environment
    for key in removingEnvironment { merged[key] = nil }
    merged.merge(environment) { $1 }
    process.environment = merged
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                         standardError: String(decoding: errData, as: UTF8.self))
}

/// Runs `curl` and returns status code, headers and body. `--http1.1`, no proxy.
func curl(_ arguments: [String]) async throws -> (status: Int, headers: String, body: String) {
    let result = try await run("/usr/bin/curl", ["-s", "--noproxy", "*", "-D", "-", "--max-time", "60"] + arguments)
    let parts = result.standardOutput.components(separatedBy: "\r\n\r\n")
    let headers = parts.first ?? ""
    let body = parts.dropFirst().joined(separator: "\r\n\r\n")
    let status = Int(headers.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, headers, body)
}

/// A child process whose output is collected while it runs.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let output = Pipe()
    private let errors = Pipe()
    private let lock = NSLock()
    private var stdoutText = ""
    private var stderrText = ""

    /// `tongban serve` with the given arguments.
    static func serve(_ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess {
        try ChildProcess(tongbanBinary, ["serve"] + arguments, environment: environment)
    }

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = errors
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.stdoutText += String(decoding: data, as: UTF8.self) }
        }
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.stderrText += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var standardOutput: String { lock.withLock { stdoutText } }
    var standardError: String { lock.withLock { stderrText } }

    /// Waits until a line of standard output contains `text` and returns that line (nil if the process ended
    /// first, or after a minute: a guard against hanging, not a timing assertion).
    func waitForLine(containing text: String) async throws -> String? {
        for _ in 0..<600 {
            if let line = standardOutput.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if !process.isRunning {
                try await Task.sleep(for: .milliseconds(100))
                return standardOutput.split(separator: "\n").first(where: { $0.contains(text) }).map(String.init)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// Waits for `tongban serve`'s ready line and returns the port it names.
    func waitUntilReady() async throws -> Int? {
        guard let line = try await waitForLine(containing: "tongban: ready"),
              let range = line.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { return nil }
        return Int(line[range].split(separator: ":").last!)
    }

    /// Waits for the process to end by itself and returns its exit status.
    func waitForExit() async throws -> Int32 {
        for _ in 0..<600 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        return try await stop(signal: SIGKILL)
    }

    /// Sends a signal and waits for the process to end; returns its exit status.
    func stop(signal: Int32 = SIGTERM) async throws -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        for _ in 0..<300 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}


/// Tests/tools/raw_listener.py: a raw printer port (like a receipt printer's 9100) that keeps each connection's bytes.
struct RawListener {
    let child: ChildProcess
    let port: Int
    let output: String

    /// Starts it for `connections` connections (it exits after them) and waits for its port.
    static func start(connections: Int) async throws -> RawListener {
        let directory = try makeTemporaryDirectory("raw-listener")
        let child = try ChildProcess("\(packageRoot)/Tests/tools/raw_listener.py", ["\(directory)/port", "\(directory)/job", "\(connections)"])
        var port: Int?
        for _ in 0..<100 where port == nil {
            port = (try? String(contentsOfFile: "\(directory)/port", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if port == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let port else { throw ListenerError(message: "raw_listener.py did not write its port") }
        return RawListener(child: child, port: port, output: "\(directory)/job")
    }

    /// The bytes of connection `number` (from 1) once it has closed, or nil after 5 s.
    func received(_ number: Int) async throws -> Data? {
        for _ in 0..<100 {
            if let data = FileManager.default.contents(atPath: "\(output).\(number)") { return data }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// SIGKILL: SIGTERM from Foundation's Process did not always end it.
    func stop() {
        if child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) }
    }

    struct ListenerError: Error { var message: String }
}

/// The findings `Tests/tools/browser_e2e.py` prints as its last line (empty when it printed none).
func driverFindings(_ output: String) -> [String: Any] {
    let line = output.split(separator: "\n").last.map(String.init) ?? ""
    return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
}

/// PDF/A-2b as pikepdf's conservative validator (pikepdf[pdfa], from veraPDF's rules) and `qpdf --check` see `path`:
/// whether both passed, and the checker's JSON line (the violations named) for the expectation's message.
func archivalCheck(_ path: String) async throws -> (passed: Bool, report: String) {
    let python = "\(packageRoot)/.venv/bin/python"
    let result = try await run(python, ["\(packageRoot)/Tests/tools/pdfa_check.py", path])
    return (result.status == 0, result.standardOutput + result.standardError)
}
