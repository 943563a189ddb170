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
        let gcm = try GCM(key: key, nonce: nonce, associatedData: associatedData)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        guard CRYPTO_gcm128_encrypt(gcm.context, plaintext, &ciphertext, plaintext.count) == 0 else {
            throw .failed("CRYPTO_gcm128_encrypt(SM4)")
        }
        var tag = [UInt8](repeating: 0, count: tagLength)
        CRYPTO_gcm128_tag(gcm.context, &tag, tagLength)
        try gcm.cipher.checkBlocks("CRYPTO_gcm128_encrypt(SM4)")
        return (ciphertext, tag)
    }

    /// Opens what `sealGCM` sealed; throws when the tag does not match (altered, another key, nonce or associated
    /// data) — no byte of an unauthenticated plaintext is returned.
    public static func openGCM(_ ciphertext: [UInt8], tag: [UInt8], key: [UInt8], nonce: [UInt8],
                               authenticating associatedData: [UInt8] = []) throws(LibCryptoError) -> [UInt8] {
        guard tag.count == tagLength else {
            throw LibCryptoError(call: "SM4-GCM tag", message: "a tag is \(tagLength) bytes, not \(tag.count)")
        }
        let gcm = try GCM(key: key, nonce: nonce, associatedData: associatedData)
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count)
        guard CRYPTO_gcm128_decrypt(gcm.context, ciphertext, &plaintext, ciphertext.count) == 0 else {
            throw .failed("CRYPTO_gcm128_decrypt(SM4)")
        }
        try gcm.cipher.checkBlocks("CRYPTO_gcm128_decrypt(SM4)")
        guard CRYPTO_gcm128_finish(gcm.context, tag, tagLength) == 0 else {
            plaintext.withUnsafeMutableBytes { if let base = $0.baseAddress { _ = memset(base, 0, $0.count) } }
            throw LibCryptoError(call: "CRYPTO_gcm128_finish(SM4)", message: "the tag does not match: altered, or sealed under another key, nonce or context")
        }
        return plaintext
    }

    /// An SM4-ECB context without padding: the block function GCM runs on. A block that fails to encipher (which
    /// OpenSSL's ECB does not do with a valid context, but the mode could not tell) is remembered, so the operation
    /// fails instead of running on a stale keystream.
    final class BlockCipher {
        let context: OpaquePointer
        private(set) var failedBlocks = 0

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

        /// One block for GCM, from C: a failure zeroes the block and is counted.
        func encryptForMode(_ input: UnsafePointer<UInt8>, _ output: UnsafeMutablePointer<UInt8>) {
            var written: Int32 = 0
            if EVP_EncryptUpdate(context, output, &written, input, Int32(blockLength)) != 1 || written != blockLength {
                output.update(repeating: 0, count: blockLength)
                failedBlocks += 1
            }
        }

        func checkBlocks(_ call: String) throws(LibCryptoError) {
            guard failedBlocks == 0 else { throw .failed("\(call): EVP_EncryptUpdate(SM4-ECB) failed on \(failedBlocks) block(s)") }
        }
    }

    /// A GCM context over an SM4 block cipher, nonce and associated data set. It owns the cipher, so the cipher lives
    /// as long as GCM can call it, and it releases GCM first.
    final class GCM {
        let cipher: BlockCipher
        let context: OpaquePointer

        init(key: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws(LibCryptoError) {
            guard !nonce.isEmpty else { throw LibCryptoError(call: "SM4-GCM nonce", message: "the nonce is empty") }
            cipher = try BlockCipher(key: key)
            // The block function GCM calls for every 16 bytes; its key argument is the cipher (unretained: this
            // object holds it for GCM's whole life).
            let block: block128_f = { input, output, cipher in
                guard let input, let output, let cipher else { return }
                Unmanaged<BlockCipher>.fromOpaque(cipher).takeUnretainedValue().encryptForMode(input, output)
            }
            guard let context = CRYPTO_gcm128_new(Unmanaged.passUnretained(cipher).toOpaque(), block) else {
                throw .failed("CRYPTO_gcm128_new")
            }
            self.context = context
            CRYPTO_gcm128_setiv(context, nonce, nonce.count)
            guard CRYPTO_gcm128_aad(context, associatedData, associatedData.count) == 0 else { throw .failed("CRYPTO_gcm128_aad") }
            try cipher.checkBlocks("CRYPTO_gcm128_new")
        }

        deinit { CRYPTO_gcm128_release(context) }
    }
}
