import Foundation
import Glibc
import SAMProtocol

/// Moves SAM frames to and from a reader. Implementations block: they run on the reader's own thread.
public protocol SAMTransport: AnyObject {
    /// A name for messages, e.g. `/dev/ttyUSB0`.
    var deviceName: String { get }
    /// Sends one request frame and returns the first complete reply within the timeout, or nil on timeout.
    /// Garbage and corrupt frames on the way are dropped (and reported through `discarded`).
    func exchange(_ request: [UInt8], timeoutMilliseconds: Int) throws(IDCardError) -> SAMReply?
    /// Frames and bytes thrown away since the last call (for the log).
    func takeDiscards() -> [SAMDiscard]
    func close()
}

/// A reader on a serial port (USB-serial bridge or CDC-ACM): raw 8N1 at the configured speed.
public final class SerialTransport: SAMTransport {
    public let deviceName: String
    private var fd: Int32
    private var decoder = SAMFrameDecoder()
    private var discards: [SAMDiscard] = []

    /// Opens and configures the port. Fails with the call and errno (ENOENT when unplugged, EACCES without rights).
    public init(path: String, baudRate: Int) throws(IDCardError) {
        deviceName = path
        fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .transport(call: "open", device: path, errno: errno) }
        var options = termios()
        guard tcgetattr(fd, &options) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .transport(call: "tcgetattr", device: path, errno: code)
        }
        cfmakeraw(&options)
        options.c_cflag |= tcflag_t(CLOCAL) | tcflag_t(CREAD)
        options.c_cflag &= ~(tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        let speed = Self.speed(baudRate)
        cfsetispeed(&options, speed)
        cfsetospeed(&options, speed)
        guard tcsetattr(fd, TCSANOW, &options) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .transport(call: "tcsetattr", device: path, errno: code)
        }
        tcflush(fd, TCIOFLUSH)
    }

    deinit { close() }

    static func speed(_ rate: Int) -> speed_t {
        switch rate {
        case 9600: speed_t(B9600)
        case 19200: speed_t(B19200)
        case 38400: speed_t(B38400)
        case 57600: speed_t(B57600)
        default: speed_t(B115200)
        }
    }

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    public func takeDiscards() -> [SAMDiscard] {
        defer { discards.removeAll() }
        return discards
    }

    public func exchange(_ request: [UInt8], timeoutMilliseconds: Int) throws(IDCardError) -> SAMReply? {
        guard fd >= 0 else { throw .transport(call: "write", device: deviceName, errno: EBADF) }
        // A reply that arrives after its command timed out must not be taken for the next command's.
        decoder.reset()
        try writeAll(request)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMilliseconds) * 1_000_000
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else {
                decoder.reset()
                return nil
            }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32((deadline - now) / 1_000_000) + 1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .transport(call: "poll", device: deviceName, errno: errno)
            }
            if ready == 0 { continue }
            if descriptor.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 && descriptor.revents & Int16(POLLIN) == 0 {
                throw .transport(call: "poll", device: deviceName, errno: EIO)
            }
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw .transport(call: "read", device: deviceName, errno: errno)
            }
            if count == 0 { throw .transport(call: "read", device: deviceName, errno: EIO) }
            for output in decoder.feed(buffer[0..<count]) {
                switch output {
                case .reply(let reply): return reply
                case .discarded(let reason): discards.append(reason)
                case .request: break  // a reply decoder never yields requests
                }
            }
        }
    }

    private func writeAll(_ bytes: [UInt8]) throws(IDCardError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EAGAIN || errno == EINTR {
                    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&descriptor, 1, 100)
                    continue
                }
                throw .transport(call: "write", device: deviceName, errno: errno)
            }
            offset += written
        }
    }
}
