import CLibCrypto

/// SM4 (GB/T 32907-2016), the 128-bit block cipher of the national suite, and SM4-GCM (RFC 8998) built on it.
///
/// Debian's OpenSSL 3.0 has SM4 in ECB, CBC, CFB, OFB and CTR but not GCM. GCM here is OpenSSL's own mode code
/// (`CRYPTO_gcm128_*`, the GHASH the library uses for AES-GCM) driven by SM4's block function through an ECB context:
/// nothing of the mode is written here.
public enum SM4 {
    /// Bytes in a key.
    public static let keyLength = 16
    /// Bytes in a block.
    public static let blockLength = 16
    /// Bytes in a GCM tag.
    public static let tagLength = 16

    /// One block enciphered `times` times in a row (GB/T 32907's second example takes 1,000,000).
    public static func encryptBlock(_ block: [UInt8], key: [UInt8], times: Int = 1) throws(LibCryptoError) -> [UInt8] {
        guard block.count == blockLength else {
            throw LibCryptoError(call: "SM4 block", message: "a block is \(blockLength) bytes, not \(block.count)")
        }
        let cipher = try BlockCipher(key: key)
        var current = block
        var next = [UInt8](repeating: 0, count: blockLength)
        for _ in 0..<times {
            try cipher.encrypt(current, into: &next)
            swap(&current, &next)
        }
        return current
    }

    /// Seals `plaintext` with SM4-GCM: the ciphertext (as long as the plaintext) and the 16-byte tag, which also
    /// covers `associatedData`. `nonce` must never repeat under one key (12 bytes is GCM's own size).
    public static func sealGCM(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8],
                               authenticating associatedData: [UInt8] = []) throws(LibCryptoError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        let cipher = try BlockCipher(key: key)
        let gcm = try cipher.gcm(nonce: nonce, associatedData: associatedData)
        defer { CRYPTO_gcm128_release(gcm) }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        guard CRYPTO_gcm128_encrypt(gcm, plaintext, &ciphertext, plaintext.count) == 0 else {
            throw .failed("CRYPTO_gcm128_encrypt(SM4)")
        }
        var tag = [UInt8](repeating: 0, count: tagLength)
        CRYPTO_gcm128_tag(gcm, &tag, tagLength)
        return (ciphertext, tag)
    }

    /// Opens what `sealGCM` sealed; throws when the tag does not match (altered, another key, nonce or associated
    /// data) — no byte of an unauthenticated plaintext is returned.
    public static func openGCM(_ ciphertext: [UInt8], tag: [UInt8], key: [UInt8], nonce: [UInt8],
                               authenticating associatedData: [UInt8] = []) throws(LibCryptoError) -> [UInt8] {
        guard tag.count == tagLength else {
            throw LibCryptoError(call: "SM4-GCM tag", message: "a tag is \(tagLength) bytes, not \(tag.count)")
        }
        let cipher = try BlockCipher(key: key)
        let gcm = try cipher.gcm(nonce: nonce, associatedData: associatedData)
        defer { CRYPTO_gcm128_release(gcm) }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count)
        guard CRYPTO_gcm128_decrypt(gcm, ciphertext, &plaintext, ciphertext.count) == 0 else {
            throw .failed("CRYPTO_gcm128_decrypt(SM4)")
        }
        guard CRYPTO_gcm128_finish(gcm, tag, tagLength) == 0 else {
            throw LibCryptoError(call: "CRYPTO_gcm128_finish(SM4)", message: "the tag does not match: altered, or sealed under another key, nonce or context")
        }
        return plaintext
    }

    /// An SM4-ECB context without padding: the block function GCM runs on.
    final class BlockCipher {
        let context: OpaquePointer

        init(key: [UInt8]) throws(LibCryptoError) {
            guard key.count == keyLength else {
                throw LibCryptoError(call: "SM4 key", message: "an SM4 key is \(keyLength) bytes, not \(key.count)")
            }
            guard let context = EVP_CIPHER_CTX_new() else { throw .failed("EVP_CIPHER_CTX_new") }
            self.context = context
            guard EVP_EncryptInit_ex(context, EVP_sm4_ecb(), nil, key, nil) == 1 else { throw .failed("EVP_EncryptInit_ex(SM4-ECB)") }
            guard EVP_CIPHER_CTX_set_padding(context, 0) == 1 else { throw .failed("EVP_CIPHER_CTX_set_padding") }
        }

        deinit { EVP_CIPHER_CTX_free(context) }

        func encrypt(_ block: [UInt8], into output: inout [UInt8]) throws(LibCryptoError) {
            var written: Int32 = 0
            guard EVP_EncryptUpdate(context, &output, &written, block, Int32(blockLength)) == 1, written == blockLength else {
                throw .failed("EVP_EncryptUpdate(SM4-ECB)")
            }
        }

        /// A GCM context over this cipher with its nonce and associated data set; the caller releases it
        /// (`CRYPTO_gcm128_release`) while this cipher is still alive.
        func gcm(nonce: [UInt8], associatedData: [UInt8]) throws(LibCryptoError) -> OpaquePointer {
            guard !nonce.isEmpty else { throw LibCryptoError(call: "SM4-GCM nonce", message: "the nonce is empty") }
            // The block function GCM calls for every 16 bytes: one SM4 block through the ECB context it is given.
            let block: block128_f = { input, output, context in
                var written: Int32 = 0
                _ = EVP_EncryptUpdate(OpaquePointer(context), output, &written, input, 16)
            }
            guard let gcm = CRYPTO_gcm128_new(UnsafeMutableRawPointer(context), block) else { throw .failed("CRYPTO_gcm128_new") }
            CRYPTO_gcm128_setiv(gcm, nonce, nonce.count)
            guard CRYPTO_gcm128_aad(gcm, associatedData, associatedData.count) == 0 else {
                CRYPTO_gcm128_release(gcm)
                throw .failed("CRYPTO_gcm128_aad")
            }
            return gcm
        }
    }
}
