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
            abstract: "A simulated ID-card reader on a pseudo-terminal or a USB gadget, playing a scenario at real wire timing.",
            discussion: """
            The scenario is a JSON array of steps: {"at": ms, "place": "resident"|"hkMacaoTaiwan"|"foreigner2017"|
            "foreigner2023", "additionalAddress": "…", "lift": true, "liftMidRead": true, "corruptNextReply": true,
            "garbageBeforeNextReply": n, "samNotReadyFor": ms, "unplugFor": ms}.

            On a pseudo-terminal (--link): point devices.idcard.serialPorts at the link.
            As a USB device (--usb-gadget split|single, as root, with configfs, libcomposite, usb_f_fs and a device
            controller such as dummy_hcd loaded): a vendor-class gadget 0400:c35a with the ministry standard's four
            bulk endpoints (split) or one pair (single); the service finds it on the USB bus by itself. Either way the
            scenario's times count from the host's first request.
            """)

        @Option(help: "Symlink to create for the pty (the reader's stable name).")
        var link: String?

        @Option(name: .customLong("usb-gadget"), help: "Be a USB device instead of a pty: split (four endpoints) or single (one pair).")
        var usbGadget: String?

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
            if let usbGadget {
                guard let layout = FunctionFSReaderHost.Layout(rawValue: usbGadget) else {
                    throw ValidationError("--usb-gadget must be split or single, not '\(usbGadget)'")
                }
                let host = FunctionFSReaderHost(layout: layout, baudRate: baud)
                let controller: String
                do { controller = try host.plugIn() } catch {
                    throw ValidationError("cannot create the USB gadget: \(error). Run as root with configfs mounted and libcomposite, usb_f_fs and dummy_hcd (or a real UDC) loaded.")
                }
                // SIGTERM unplugs and removes the gadget (outside the signal handler), so the next run can create it.
                signal(SIGTERM, SIG_IGN)
                let termination = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
                termination.setEventHandler {
                    host.tearDown()
                    Glibc.exit(0)
                }
                termination.resume()
                FileHandle.standardOutput.write(Data("sim: ID-card reader on USB 0400:c35a (\(layout.rawValue) endpoints) via \(controller)\n".utf8))
                try host.run(scenario: steps, exitAfterScenario: exitAfterScenario)
                host.tearDown()
                return
            }
            guard let link else { throw ValidationError("give --link PATH (a pty) or --usb-gadget split|single") }
            let host = PTYReaderHost(linkPath: link, baudRate: baud)
            let pty = try host.plugIn()
            // SIGTERM ends the process at once; the symlink is removed by whoever owns the scenario (tests).
            signal(SIGTERM) { _ in Glibc.exit(0) }
            FileHandle.standardOutput.write(Data("sim: ID-card reader on \(pty), linked at \(link)\n".utf8))
            try host.run(scenario: steps, exitAfterScenario: exitAfterScenario)
        }
    }
}
