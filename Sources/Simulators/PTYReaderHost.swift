import CPseudoTerminal
import Foundation
import Glibc
import IDCard
import SAMProtocol

/// Puts the simulated reader on a pseudo-terminal, so Tongban's serial path (termios, reads, timeouts) runs
/// against it as against a USB-serial reader. A symlink gives the pty a stable name; a scenario places and lifts
/// cards and injects faults over time, at real wire timing.
public final class PTYReaderHost: @unchecked Sendable {
    public let linkPath: String
    public let simulator: SharedReaderSimulator
    private let baudRate: Int
    private var master: Int32 = -1
    private var slave: Int32 = -1
    private var stopping = false
    private let lock = NSLock()

    public init(linkPath: String, simulator: SharedReaderSimulator = SharedReaderSimulator(), baudRate: Int = 115_200) {
        self.linkPath = linkPath
        self.simulator = simulator
        self.baudRate = baudRate
    }

    /// Creates the pty and the symlink; returns the pty's own path.
    @discardableResult
    public func plugIn() throws -> String {
        master = posix_openpt(O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw SimulatorHostError(call: "posix_openpt", path: "/dev/ptmx", errno: errno) }
        guard grantpt(master) == 0, unlockpt(master) == 0, let name = ptsname(master) else {
            throw SimulatorHostError(call: "grantpt/unlockpt", path: "/dev/ptmx", errno: errno)
        }
        let path = String(cString: name)
        // Keep the slave open in raw mode: input is not echoed or edited before the reader opens it, and the
        // master never sees a hang-up between Tongban's opens.
        slave = open(path, O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw SimulatorHostError(call: "open", path: path, errno: errno) }
        var options = termios()
        tcgetattr(slave, &options)
        cfmakeraw(&options)
        tcsetattr(slave, TCSANOW, &options)
        unlink(linkPath)
        guard symlink(path, linkPath) == 0 else { throw SimulatorHostError(call: "symlink", path: linkPath, errno: errno) }
        return path
    }

    /// Removes the symlink and closes the pty: to the reader this is an unplugged cable.
    public func unplug() {
        unlink(linkPath)
        if master >= 0 { close(master); master = -1 }
        if slave >= 0 { close(slave); slave = -1 }
    }

    public func stop() {
        lock.withLock { stopping = true }
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    /// Serves requests and plays the scenario until `stop()` (or the scenario's end, with `exitAfterScenario`).
    public func run(scenario: [SimulatorStep], exitAfterScenario: Bool) throws {
        if master < 0 { try plugIn() }
        var steps = scenario.sorted { $0.at < $1.at }
        var requests = SAMFrameDecoder(direction: .requests)
        // The scenario's clock starts at the host's first request, as the USB gadget's does: a service that is slow
        // to start (a loaded machine) still sees every step.
        var start: Int?
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !isStopping {
            let elapsed = start.map { simulator.now - $0 } ?? -1
            while let step = steps.first, step.at <= elapsed {
                steps.removeFirst()
                simulator.apply(step)
                if let duration = step.unplugFor {
                    unplug()
                    Thread.sleep(forTimeInterval: Double(duration) / 1000)
                    try plugIn()
                    requests.reset()
                }
            }
            if steps.isEmpty && exitAfterScenario { break }
            let wait = start.flatMap { start in steps.first.map { max(1, min(50, $0.at - (simulator.now - start))) } } ?? 50
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(wait)) > 0 else { continue }
            let count = read(master, &buffer, buffer.count)
            guard count > 0 else { continue }
            for case .request(let command, let parameter, _) in requests.feed(buffer[0..<count]) {
                if start == nil { start = simulator.now }
                let bytes = simulator.answer(command: command, parameter: parameter)
                // The request and the reply take their time on the wire, as at a real reader's baud rate.
                SimulatorTransport.sleep(nanoseconds: ReaderSimulator.wireTime(bytes: 7 + bytes.count, baudRate: baudRate))
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
        unplug()
    }
}
