import CLibCrypto

/// SM3 (GB/T 32905-2016), the 256-bit hash of the national suite, and HMAC over it.
public enum SM3 {
    /// Bytes in a digest.
    public static let digestLength = 32

    /// The SM3 digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) throws(LibCryptoError) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_Digest(bytes, bytes.count, &digest, &length, EVP_sm3(), nil) == 1 else { throw .failed("EVP_Digest(SM3)") }
        return Array(digest.prefix(Int(length)))
    }

    /// HMAC-SM3 (RFC 2104 over SM3) of `bytes` under `key`.
    public static func authenticationCode(for bytes: [UInt8], key: [UInt8]) throws(LibCryptoError) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard HMAC(EVP_sm3(), key, Int32(key.count), bytes, bytes.count, &code, &length) != nil else {
            throw .failed("HMAC(SM3)")
        }
        return Array(code.prefix(Int(length)))
    }
}
