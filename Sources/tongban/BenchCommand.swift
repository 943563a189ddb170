import ArgumentParser
import Foundation
import IDCard
import Notices
import SAMProtocol
import Simulators
import TongbanConfig
import TongbanCore

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks (figures side by side with their baselines).",
        subcommands: [IDCardBench.self, NoticesBench.self, CryptoBench.self])

    struct IDCardBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "idcard",
            abstract: "Decode + parse per frame, and a read through the pty simulator against its wire time at 115200 baud.")

        @Option(help: "Write the results as Markdown here.")
        var out: String?

        @Option(help: "On-demand reads to time through the simulator.")
        var reads = 20

        func run() async throws {
            var lines = ["# ID card: decode + parse, and a read end to end", "",
                         "One run, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(Self.today()).", ""]
            // 1. Decode + parse + mask of a whole base-info reply frame, per card type.
            lines += ["| card type | decode + parse + mask per frame (µs) | wire time of the frame at 115200 baud (µs) | ratio |",
                      "|---|---|---|---|"]
            for (type, info) in SpecimenCards.all {
                let frame = info.reply().frame
                let iterations = 20_000
                let clock = ContinuousClock()
                var sink = 0
                let elapsed = clock.measure {
                    for _ in 0..<iterations {
                        if let record = try? FrameInput.decodeBaseInfoFrame(frame, today: "20261122") {
                            sink &+= record.maskedCopy().warnings.count
                        }
                    }
                }
                precondition(sink >= 0)
                let perFrame = Double(elapsed.components.attoseconds) / 1e12 / Double(iterations)
                    + Double(elapsed.components.seconds) * 1e6 / Double(iterations)
                let wire = Double(ReaderSimulator.wireTime(bytes: frame.count, baudRate: 115_200)) / 1000
                lines.append("| \(type.rawValue) | \(String(format: "%.1f", perFrame)) | \(String(format: "%.0f", wire)) | \(String(format: "%.5f", perFrame / wire)) |")
            }

            // 2. On-demand reads through the serial path against the pty simulator.
            let directory = NSTemporaryDirectory() + "tongban-bench-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let link = "\(directory)/reader"
            let host = PTYReaderHost(linkPath: link)
            try host.plugIn()
            host.simulator.withSimulator { $0.place(.resident, additionalAddress: "北京市海淀区新址2号") }
            Thread { try? host.run(scenario: [], exitAfterScenario: false) }.start()
            let counter = ByteCounter()
            let reads = ReadTimes()
            let driver = ReaderDriver(open: { () throws(IDCardError) -> any SAMTransport in
                CountingTransport(try SerialTransport(path: link, baudRate: 115_200), counter: counter)
            }, report: { event in
                if case .session(.cardRead) = event { reads.finish() }
            })
            driver.start(name: "bench")
            try await reads.wait(count: 1)
            var measured: [Double] = []
            var wire: [Double] = []
            for index in 0..<self.reads {
                counter.reset()
                reads.start()
                driver.requestRead()
                try await reads.wait(count: index + 2)
                measured.append(reads.lastDurationMilliseconds)
                wire.append(Double(ReaderSimulator.wireTime(bytes: counter.bytes, baudRate: 115_200)) / 1e6)
            }
            driver.stop()
            host.stop()
            let medianMeasured = measured.sorted()[measured.count / 2]
            let medianWire = wire.sorted()[wire.count / 2]
            lines += ["", "| read through the pty simulator (select, base info, additional address) | Tongban (ms) | wire time of the same bytes (ms) | ratio |",
                      "|---|---|---|---|",
                      "| median of \(measured.count) on-demand reads | \(String(format: "%.1f", medianMeasured)) | \(String(format: "%.1f", medianWire)) | \(String(format: "%.3f", medianMeasured / medianWire)) |",
                      "| slowest | \(String(format: "%.1f", measured.max()!)) | \(String(format: "%.1f", wire.max()!)) | \(String(format: "%.3f", measured.max()! / wire.max()!)) |",
                      "", "The simulator holds each reply back for the time its bytes and the request's take at 115200 baud (8N1),",
                      "so the wire time is the floor; the ratio is what the serial path, the driver and the session add to it."]
            let text = lines.joined(separator: "\n") + "\n"
            print(text)
            if let out { try text.write(toFile: out, atomically: true, encoding: .utf8) }
        }

        var reads_count: Int { reads }

        static func today() -> String {
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyy-MM-dd"
            return formatter.string(from: Date())
        }
    }
}

/// Counts the bytes of every request and reply, to know the wire time of a read.
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ count: Int) { lock.withLock { total += count } }
    func reset() { lock.withLock { total = 0 } }
    var bytes: Int { lock.withLock { total } }
}

final class CountingTransport: SAMTransport {
    private let wrapped: any SAMTransport
    private let counter: ByteCounter
    init(_ wrapped: any SAMTransport, counter: ByteCounter) {
        self.wrapped = wrapped
        self.counter = counter
    }
    var deviceName: String { wrapped.deviceName }
    func exchange(_ request: [UInt8], timeoutMilliseconds: Int) throws(IDCardError) -> SAMReply? {
        let reply = try wrapped.exchange(request, timeoutMilliseconds: timeoutMilliseconds)
        counter.add(request.count + (reply?.frame.count ?? 0))
        return reply
    }
    func takeDiscards() -> [SAMDiscard] { wrapped.takeDiscards() }
    func close() { wrapped.close() }
}

/// Times reads from the request to the `cardRead` event.
final class ReadTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var started = DispatchTime.now().uptimeNanoseconds
    private var finished = 0
    private var last: UInt64 = 0
    func start() { lock.withLock { started = DispatchTime.now().uptimeNanoseconds } }
    func finish() {
        lock.withLock {
            last = DispatchTime.now().uptimeNanoseconds - started
            finished += 1
        }
    }
    var lastDurationMilliseconds: Double { lock.withLock { Double(last) / 1e6 } }
    func wait(count: Int) async throws {
        while lock.withLock({ finished < count }) { try await Task.sleep(for: .milliseconds(1)) }
    }
}

extension BenchCommand {
    /// Render time per form from its example data: the first render (fonts loaded) and the median of warm ones.
    struct NoticesBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notices", abstract: "Render every form from Config/notices/examples; prints JSON lines (form, pages, first ms, warm median ms).")
        @OptionGroup var configurationOptions: ConfigurationOptions
        @Option(help: "Warm renders per form.") var renders = 30

        func run() async throws {
            let configuration = configurationOptions.load()
            let renderer = makeNoticeRenderer(configuration)
            let folder = configuration.noticeTemplatesDirectory + "/examples"
            let clock = ContinuousClock()
            for id in renderer.library.templates.keys.sorted() {
                guard let bytes = FileManager.default.contents(atPath: "\(folder)/\(id).json"),
                      let data = try? JSONDecoder().decode(JSONValue.self, from: bytes) else { continue }
                var pages = 0, size = 0
                let first = try await clock.measure { pages = try await renderer.render(id, data: data, format: .pdf).pageCount }
                var warm: [Duration] = []
                for _ in 0..<renders {
                    warm.append(try await clock.measure { size = try await renderer.render(id, data: data, format: .pdf).files[0].count })
                }
                warm.sort()
                func ms(_ duration: Duration) -> Double { Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000 }
                print("{\"form\":\"\(id)\",\"pages\":\(pages),\"bytes\":\(size),\"firstMs\":\(ms(first)),\"warmMedianMs\":\(ms(warm[warm.count / 2]))}")
            }
        }
    }
}
