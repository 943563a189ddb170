import Foundation
import TongbanCore

/// A failed socket call on the way to a raw (port 9100) printer.
public struct RawPrinterError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var address: String
    public var errno: Int32

    public var description: String { "\(call) to \(address) failed: \(String(cString: strerror(errno)))" }
}

extension RawPrinterError: ProblemConvertible {
    public var problem: Problem {
        Problem(code: "receipt-printer-unreachable", status: 502, title: "小票打印机无法连接 Receipt printer unreachable",
                detail: description,
                remedy: "检查小票打印机电源、网线和地址（printers.receipts）。Check the receipt printer's power, cable and address (printers.receipts).",
                device: "socket://\(address)")
    }
}

/// Sends bytes to a printer's raw TCP port (`socket://host:9100`, AppSocket/JetDirect) on a thread of its own.
public final class RawPrinterConnection: Sendable {
    public let host: String
    public let port: UInt16
    private let timeoutSeconds: Int
    private let thread = DedicatedThread(name: "raw printer")

    /// Parses `socket://host[:port]` (port 9100 when absent); nil for anything else.
    public init?(uri: String, timeoutSeconds: Int = 10) {
        guard let components = URLComponents(string: uri), components.scheme == "socket", let host = components.host, !host.isEmpty else {
            return nil
        }
        self.host = host
        self.port = UInt16(components.port ?? 9100)
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { thread.stop() }

    /// Connects, writes everything, and closes after the printer has taken it (shutdown, then the peer's close or
    /// the timeout) — so "sent" means the bytes left this machine whole.
    public func send(_ bytes: [UInt8]) async throws(RawPrinterError) {
        let host = self.host, port = self.port, timeout = timeoutSeconds
        try await thread.perform { () throws(RawPrinterError) in
            let address = "\(host):\(port)"
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
                throw RawPrinterError(call: "getaddrinfo", address: address, errno: EHOSTUNREACH)
            }
            defer { freeaddrinfo(list) }
            let descriptor = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
            guard descriptor >= 0 else { throw RawPrinterError(call: "socket", address: address, errno: errno) }
            defer { close(descriptor) }
            var limit = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            guard connect(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
                throw RawPrinterError(call: "connect", address: address, errno: errno)
            }
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw RawPrinterError(call: "send", address: address, errno: errno)
                }
                offset += sent
            }
            shutdown(descriptor, Int32(SHUT_WR))
            // Printers answer nothing on this port; wait for their close so the last bytes are not lost to a reset.
            var scratch = [UInt8](repeating: 0, count: 256)
            while recv(descriptor, &scratch, scratch.count, 0) > 0 {}
        }
    }
}
