import ArgumentParser
import Foundation
import Logging
import Notices
import TongbanConfig
import TongbanCore

/// `tongban notices list|render`: the forms in `printers.templates`, rendered to a file without printing.
struct NoticesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notices", abstract: "List the notice templates, or render one to PDF or PNG.",
        subcommands: [List.self, Render.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the forms and the fields each takes.")
        @OptionGroup var configurationOptions: ConfigurationOptions

        func run() async throws {
            let renderer = makeNoticeRenderer(configurationOptions.load())
            for template in renderer.library.templates.values.sorted(by: { $0.id < $1.id }) {
                print("\(template.id)\t\(template.title)\t\(template.englishTitle)\t(\(template.source))")
                for field in template.fields {
                    print("    \(field.name)\(field.required ? "*" : "")\t\(field.kind.rawValue)\t\(field.label)")
                }
            }
        }
    }

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render a form with data from a JSON file; dates from the data's `date`, SOURCE_DATE_EPOCH or today.")
        @OptionGroup var configurationOptions: ConfigurationOptions
        @Argument(help: "Template id, e.g. receipt-notice.") var template: String
        @Option(help: "JSON file with the form's data (- for standard input).") var data: String
        @Option(help: "Output file. With --format png, page N>1 is written as NAME-N.png.") var out: String
        @Option(help: "pdf or png.") var format: String = "pdf"
        @Option(help: "PNG resolution in dots per inch.") var dpi: Double = 150

        func run() async throws {
            let renderer = makeNoticeRenderer(configurationOptions.load())
            guard let format = NoticeFormat(rawValue: format) else {
                fail(Problem(code: "bad-argument", status: 400, title: "Bad --format", detail: "--format must be pdf or png"), exitCode: 64)
            }
            let bytes: Data
            do {
                bytes = data == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: data))
            } catch {
                fail(Problem(code: "bad-argument", status: 400, title: "数据文件无法读取 Cannot read the data file",
                             detail: "\(data): \(error.localizedDescription)"), exitCode: 66)
            }
            let json: JSONValue
            do { json = try JSONDecoder().decode(JSONValue.self, from: bytes) } catch {
                fail(Problem(code: "bad-argument", status: 400, title: "数据不是 JSON Data is not JSON",
                             detail: "\(data): \(error)"), exitCode: 65)
            }
            do {
                let rendered = try await renderer.render(template, data: json, format: format, pixelsPerPoint: dpi / 72)
                for (index, file) in rendered.files.enumerated() {
                    let path = index == 0 ? out : (out as NSString).deletingPathExtension + "-\(index + 1).png"
                    try file.write(to: URL(fileURLWithPath: path))
                }
                print("\(out): \(rendered.pageCount) page(s)")
            } catch let error as NoticeRenderError {
                fail(error.problem, exitCode: 65)
            }
        }
    }
}

/// The renderer over the configured template folder, or exit with the broken file named.
func makeNoticeRenderer(_ configuration: TongbanConfiguration) -> NoticeRenderer {
    let folder = configuration.noticeTemplatesDirectory
    // Started with no configuration file at all (the defaults, anywhere): without the forms folder the service still
    // runs, says so, and refuses to print a form naming the folder — a configured folder that is broken stops it.
    if configuration.sourceFile == nil && !FileManager.default.fileExists(atPath: folder) {
        Logger(label: "tongban.print").warning("no notice templates: forms cannot be printed until printers.templates names the folder (Config/notices)",
                                               metadata: ["looked in": "\(folder)"])
        return NoticeRenderer(library: NoticeLibrary(templates: []), settings: noticeSettings(configuration))
    }
    do {
        return NoticeRenderer(library: try NoticeLibrary.load(directory: folder), settings: noticeSettings(configuration))
    } catch {
        fail(Problem(code: "config-invalid", status: 500, title: "通知书模板有误 Notice template is broken",
                     detail: error.description, remedy: "更正该文件（printers.templates 指向模板文件夹）。Fix the file (printers.templates names the folder)."),
             exitCode: 78)
    }
}

/// The configuration values forms may print, as `{{settings.<key>}}`.
func noticeSettings(_ configuration: TongbanConfiguration) -> [String: String] {
    ["city": configuration.counter.city, "hall": configuration.counter.hall, "counter": configuration.counter.id,
     "region": configuration.counter.region]
}

/// `tongban print TEMPLATE --data FILE.json`: prints a form through the running service (kept as the case's
/// attachment, followed to the end), then shows the job's state until it ends.
struct PrintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "print", abstract: "Print a form through the running service.")
    @OptionGroup var configurationOptions: ConfigurationOptions
    @Argument(help: "Template id, e.g. receipt-notice.") var template: String
    @Option(help: "JSON file with the form's data.") var data: String
    @Option(help: "CUPS queue (default: printers.notices).") var printer: String?
    @Option(help: "Copies.") var copies: Int = 1
    @Option(help: "IPP sides: one-sided, two-sided-long-edge, two-sided-short-edge.") var sides: String?
    @Flag(help: "Return once CUPS accepted the job instead of waiting for it to end.") var noWait = false

    func run() async throws {
        let client = ServiceClient(configuration: configurationOptions.load())
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: data)) } catch {
            fail(Problem(code: "bad-argument", status: 400, title: "数据文件无法读取 Cannot read the data file",
                         detail: "\(data): \(error.localizedDescription)"), exitCode: 66)
        }
        guard let json = try? JSONSerialization.jsonObject(with: bytes) else {
            fail(Problem(code: "bad-argument", status: 400, title: "数据不是 JSON Data is not JSON", detail: data), exitCode: 65)
        }
        var body: [String: Any] = ["template": template, "data": json, "copies": copies]
        if let printer { body["printer"] = printer }
        if let sides { body["sides"] = sides }
        var answer = await client.post("/v1/prints", json: body, timeout: 120)
        while true {
            let job = (try? JSONSerialization.jsonObject(with: answer)) as? [String: Any] ?? [:]
            let state = job["state"] as? String ?? "?"
            let problem = (job["problem"] as? [String: Any])?["title"] as? String
            print("print \(job["id"] ?? "?") on \(job["printer"] ?? "?"): \(state)\(problem.map { " — \($0)" } ?? "")")
            if noWait || ["completed", "canceled", "failed"].contains(state) {
                if state == "failed" { throw ExitCode(75) }
                return
            }
            try await Task.sleep(for: .seconds(1))
            answer = await client.get("/v1/prints/\(job["id"] ?? "")", timeout: 30)
        }
    }
}
