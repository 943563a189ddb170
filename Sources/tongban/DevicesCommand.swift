import ArgumentParser
import Devices
import Foundation
import Logging
import TongbanConfig
import TongbanCore

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every device of every class once and exit.")

    @OptionGroup var options: ConfigurationOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @Flag(name: .long, help: "Include simulated devices for classes without hardware (as the demo does).")
    var demo = false

    func run() async throws {
        let configuration = options.load(extraOverrides: demo ? ["devices.simulate": "missing"] : [:])
        bootstrapLogging(level: "warning")
        let discoverers: [any DeviceDiscoverer]
        do { discoverers = try makeDiscoverers(configuration) } catch { fail(error.problem, exitCode: 78) }
        let registry = DeviceRegistry(discoverers: discoverers, simulate: configuration.devices.simulate,
                                      disabled: configuration.devices.disabled, pollInterval: .seconds(1),
                                      events: EventBus(), store: nil, logger: Logger(label: "tongban.devices"))
        let snapshot = await registry.refresh()
        if json {
            print(String(decoding: try JSONEncoder.tongban.encode(snapshot), as: UTF8.self))
            return
        }
        let rows = snapshot.devices.map { device in
            [device.id, device.deviceClass.rawValue, device.model, device.state.availability.rawValue,
             device.state.message ?? ""]
        }
        printTable(header: ["ID", "CLASS", "MODEL", "STATE", "MESSAGE"], rows: rows)
        for problem in snapshot.problems {
            print("! \(problem.source): \(problem.message) — \(problem.remedy)")
        }
    }
}

/// Prints rows as aligned columns (display width counts CJK characters as two).
func printTable(header: [String], rows: [[String]]) {
    func width(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 && $1.properties.isIdeographic || (0xFF00...0xFFEF).contains($1.value) ? 2 : 1) }
    }
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { width($0[column]) }.max() ?? 0 }
    for row in all {
        let line = row.indices.map { column in
            column == row.count - 1 ? row[column] : row[column] + String(repeating: " ", count: widths[column] - width(row[column]))
        }.joined(separator: "  ")
        print(line)
    }
}
