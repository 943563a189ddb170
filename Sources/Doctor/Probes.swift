import Foundation
import Glibc

/// A TCP connect with a timeout, for reachability checks.
enum TCPProbe {
    enum Outcome { case success, failure(String) }

    static func connect(host: String, port: Int, timeoutMilliseconds: Int32) -> Outcome {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else { return .failure("name not resolved (\(String(cString: gai_strerror(status))))") }
        defer { freeaddrinfo(results) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), current.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return .success }
            guard errno == EINPROGRESS else { lastError = String(cString: strerror(errno)); continue }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&descriptor, 1, timeoutMilliseconds) == 1 else { lastError = "timed out"; continue }
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
            if socketError == 0 { return .success }
            lastError = String(cString: strerror(socketError))
        }
        return .failure(lastError)
    }
}
