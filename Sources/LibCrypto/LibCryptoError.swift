import CLibCrypto
import TongbanCore

/// A failed call into libcrypto, named, with the reasons OpenSSL gave.
public typealias LibCryptoError = LibraryCallError

extension LibraryCallError {
    /// The error for `call`, with the reasons OpenSSL queued on this thread (which empties the queue, so the next
    /// failure does not carry this one's reasons).
    static func failed(_ call: String) -> LibraryCallError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            guard code != 0 else { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return LibraryCallError(call: call, message: reasons.isEmpty ? "OpenSSL gave no reason" : reasons.joined(separator: "; "))
    }
}

/// The libcrypto the process runs with (`OpenSSL 3.0.19 27 Jan 2026`).
public enum LibCrypto {
    /// OpenSSL's version text.
    public static var version: String {
        guard let text = OpenSSL_version(numericCast(OPENSSL_VERSION)) else { return "unknown" }
        return String(cString: text)
    }
}
