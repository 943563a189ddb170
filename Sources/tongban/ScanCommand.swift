import ArgumentParser
import Foundation
import Imaging
import Leptonica
import SANE
import Scanning
import TongbanCore

struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan straight to an archival PDF (PDF/A-2b), without the service: feeder or flatbed, cleaned pages.",
        discussion: """
            Example: tongban scan --device test:0 --source adf --dpi 300 --mode color --out batch.pdf
            Pages already scanned are written even when the scanner jams; the exit code is then 75 and the message
            says what happened. Blank pages are left out unless --include-blank.
            """)

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "SANE name (test:0) or device id (sane:test:0); default: scanning.device, else the first scanner.")
    var device: String?

    @Option(help: "adf, flatbed, or the backend's own source name.")
    var source = "adf"

    @Flag(help: "Both sides (the backend's duplex source).")
    var duplex = false

    @Option(help: "Resolution in dots per inch (default: scanning.dpi).")
    var dpi: Int?

    @Option(help: "color, gray or lineart (black and white, CCITT G4).")
    var mode = "color"

    @Option(help: "A4, A5, B5, letter or legal.")
    var paper = "A4"

    @Option(name: .customLong("max-pages"), help: "Stop after this many pages.")
    var maxPages: Int?

    @Option(name: .customLong("case"), help: "Case number written into the PDF's metadata.")
    var caseNumber = "-"

    @Option(help: "Material name, the PDF's title.")
    var material = "扫描件"

    @Flag(name: .customLong("no-deskew"), help: "Do not straighten pages.")
    var noDeskew = false

    @Flag(name: .customLong("no-crop"), help: "Keep the scanner's border.")
    var noCrop = false

    @Flag(name: .customLong("include-blank"), help: "Keep blank pages in the PDF.")
    var includeBlank = false

    @Option(name: .customLong("option"), help: "A backend option, name=value (repeatable), e.g. --option test-picture=Grid.")
    var saneOptions: [String] = []

    @Option(help: "The PDF to write.")
    var out: String

    func run() async throws {
        let configuration = options.load()
        Leptonica.silenceMessages()
        var cleanup = PageCleanup()
        cleanup.deskew = !noDeskew
        cleanup.cropBorder = !noCrop
        cleanup.jpegQuality = configuration.scanning.jpegQuality
        var backendOptions: [String: String] = [:]
        for pair in saneOptions {
            guard let equals = pair.firstIndex(of: "=") else {
                fail(Problem(code: "invalid-option", status: 400, title: "参数格式错误 Bad --option",
                             detail: "'\(pair)' is not name=value", remedy: "Write it as --option name=value."), exitCode: 64)
            }
            backendOptions[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        let request = ScanRequest(device: device, source: source, duplex: duplex, dpi: dpi, mode: mode, paper: paper,
                                  caseNumber: caseNumber, materialName: material, cleanup: cleanup,
                                  saneOptions: backendOptions, maxPages: maxPages)
        let problems = request.problems
        guard problems.isEmpty else {
            fail(Problem(code: "invalid-scan-request", status: 400, title: "扫描参数无效 Invalid scan settings",
                         detail: problems.joined(separator: "; "), remedy: "Correct the options listed."), exitCode: 64)
        }
        var scanner = device ?? configuration.scanning.device
        if scanner == nil {
            scanner = try? await SANESessionScanners.first()
        }
        guard var scanner else {
            fail(Problem(code: "no-scanner", status: 503, title: "没有扫描仪 No scanner", detail: "SANE finds no scanner",
                         remedy: "Connect the scanner and check `scanimage -L`, or pass --device."))
        }
        if scanner.hasPrefix("sane:") { scanner.removeFirst(5) }
        let settings = ScanSettings(request, scanner: scanner, defaultDPI: configuration.scanning.dotsPerInch,
                                    jpegQuality: configuration.scanning.jpegQuality, recognizeText: configuration.scanning.recognizeText)
        let threads = configuration.scanning.imagingThreads
        let pool = try ImagingPool(workers: threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : threads,
                                   text: TextRecognitionSettings(languages: configuration.scanning.textLanguages))
        let started = Date()
        let summary: ScanToFile.Summary
        do {
            summary = try await ScanToFile.scan(settings, maxPages: maxPages, to: out, caseNumber: caseNumber, materialName: material,
                                                includeBlank: includeBlank, pool: pool,
                                                stallSeconds: Double(configuration.scanning.stallSeconds)) { number, page in
                let note = page.blank ? " (blank)"
                    : page.straightened ? String(format: " (straightened %.2f°, confidence %.1f)", page.skewDegrees ?? 0, page.skewConfidence ?? 0) : ""
                FileHandle.standardError.write(Data("page \(number): \(page.width)×\(page.height)\(note)\n".utf8))
            }
        } catch { fail(error) }
        let seconds = Date().timeIntervalSince(started)
        print("\(summary.pages) pages at \(summary.dotsPerInch) dpi → \(out) (\(summary.bytes / 1024) KiB, "
              + "\(summary.blankPagesLeftOut) blank left out, \(String(format: "%.1f", seconds)) s)")
        if case .failed(let problem) = summary.end {
            FileHandle.standardError.write(Data("tongban: \(problem.title)\n  \(problem.detail)\n  → \(problem.remedy ?? "")\n".utf8))
            throw ExitCode(75)
        }
    }
}

/// The first scanner SANE lists, for a scan that names none.
enum SANESessionScanners {
    static func first() async throws -> String? {
        try await SANE.SANESession.shared.devices().first?.name
    }
}
