import ArgumentParser
import Foundation
import Glibc
import IDCard
import SAMProtocol
import Simulators

struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim", abstract: "Device simulators for tests and demos.", subcommands: [IDCardSim.self])

    struct IDCardSim: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "idcard",
            abstract: "A simulated ID-card reader on a pseudo-terminal, playing a scenario at real wire timing.",
            discussion: """
            The scenario is a JSON array of steps: {"at": ms, "place": "resident"|"hkMacaoTaiwan"|"foreigner2017"|
            "foreigner2023", "additionalAddress": "…", "lift": true, "liftMidRead": true, "corruptNextReply": true,
            "garbageBeforeNextReply": n, "samNotReadyFor": ms, "unplugFor": ms}. Point devices.idcard.serialPorts at --link.
            """)

        @Option(help: "Symlink to create for the pty (the reader's stable name).")
        var link: String

        @Option(help: "Scenario JSON file; without it the reader starts empty and stays up.")
        var scenario: String?

        @Option(help: "Baud rate whose timing the replies follow.")
        var baud = 115_200

        @Flag(help: "Exit when the scenario's last step has been played.")
        var exitAfterScenario = false

        func run() throws {
            var steps: [SimulatorStep] = []
            if let scenario {
                guard let data = FileManager.default.contents(atPath: scenario) else {
                    throw ValidationError("cannot read scenario \(scenario)")
                }
                do { steps = try JSONDecoder().decode([SimulatorStep].self, from: data) } catch {
                    throw ValidationError("scenario \(scenario) is not valid: \(error)")
                }
            }
            let host = PTYReaderHost(linkPath: link, baudRate: baud)
            let pty = try host.plugIn()
            // SIGTERM ends the process at once; the symlink is removed by whoever owns the scenario (tests).
            signal(SIGTERM) { _ in Glibc.exit(0) }
            FileHandle.standardOutput.write(Data("sim: ID-card reader on \(pty), linked at \(link)\n".utf8))
            try host.run(scenario: steps, exitAfterScenario: exitAfterScenario)
        }
    }
}
