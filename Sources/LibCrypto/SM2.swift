import CLibCrypto

/// SM2 signatures (GB/T 32918-2016) with SM3, as GB/T 35276 specifies them: the signer's distinguishing id enters
/// the digest (its Z value), so a signature made under one id does not verify under another.
public enum SM2 {
    /// The id GB/T 35276 (and GM/T 0009) names as the default. OpenSSL 3.0's own default is empty, so every
    /// signature here sets it explicitly.
    public static let defaultSignerID = "1234567812345678"

    /// An ASN.1 DER `ECDSA-Sig-Value` (what OpenSSL signs and `openssl pkeyutl` reads) from the 64 bytes r ‖ s (what
    /// a JWS carries).
    public static func derSignature(fromRaw raw: [UInt8]) throws(LibCryptoError) -> [UInt8] {
        guard raw.count == 64 else { throw LibCryptoError(call: "SM2 signature", message: "a raw signature is 64 bytes (r ‖ s), not \(raw.count)") }
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty { value = [0] }
            if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(raw[0..<32]) + integer(raw[32..<64])
        return [0x30, UInt8(body.count)] + body
    }

    /// The 64 bytes r ‖ s of a DER `ECDSA-Sig-Value`.
    public static func rawSignature(fromDER der: [UInt8]) throws(LibCryptoError) -> [UInt8] {
        let malformed = LibCryptoError(call: "SM2 signature", message: "not a DER ECDSA-Sig-Value")
        guard der.count >= 8, der[0] == 0x30, Int(der[1]) == der.count - 2 else { throw malformed }
        var offset = 2
        var raw: [UInt8] = []
        for _ in 0..<2 {
            guard offset + 2 <= der.count, der[offset] == 0x02 else { throw malformed }
            let length = Int(der[offset + 1])
            offset += 2
            guard length >= 1, offset + length <= der.count else { throw malformed }
            let value = Array(der[offset..<offset + length].drop { $0 == 0 })
            guard value.count <= 32 else { throw malformed }
            raw += [UInt8](repeating: 0, count: 32 - value.count) + value
            offset += length
        }
        guard offset == der.count else { throw malformed }
        return raw
    }
}

/// An SM2 private key. The key is OpenSSL's (EVP_PKEY, reference-counted, only read after it is made); each
/// signature uses a context of its own, so one key signs from any thread.
public final class SM2PrivateKey: @unchecked Sendable {
    let key: OpaquePointer

    /// A fresh key from OpenSSL's generator.
    public init() throws(LibCryptoError) {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "SM2", nil) else { throw .failed("EVP_PKEY_CTX_new_from_name(SM2)") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw .failed("EVP_PKEY_keygen_init(SM2)") }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw .failed("EVP_PKEY_generate(SM2)") }
        self.key = key
    }

    /// The key in a PEM `PRIVATE KEY` (PKCS #8), as `openssl genpkey -algorithm SM2` writes it.
    public init(pemRepresentation pem: String) throws(LibCryptoError) {
        // No password: an encrypted key file is refused, never asked about on a terminal (OpenSSL's default).
        key = try PEM.readSM2Key(pem, call: "PEM_read_bio_PrivateKey") { PEM_read_bio_PrivateKey($0, nil, { _, _, _, _ in 0 }, nil) }
    }

    deinit { EVP_PKEY_free(key) }

    /// The key as PEM (PKCS #8, unencrypted: it is kept in a 0600 file the service user alone reads).
    public func pemRepresentation() throws(LibCryptoError) -> String {
        try PEM.write(call: "PEM_write_bio_PrivateKey") { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    /// The public half.
    public func publicKey() throws(LibCryptoError) -> SM2PublicKey {
        let pem = try PEM.write(call: "PEM_write_bio_PUBKEY") { PEM_write_bio_PUBKEY($0, key) }
        return try SM2PublicKey(pemRepresentation: pem)
    }

    /// The SM2 signature (DER) of `message` with SM3, under `signerID`.
    public func signature(for message: [UInt8], signerID: String = SM2.defaultSignerID) throws(LibCryptoError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw .failed("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestSignInit_ex(context, &keyContext, "SM3", nil, nil, key, nil) == 1 else { throw .failed("EVP_DigestSignInit_ex(SM2)") }
        let id = Array(signerID.utf8)
        guard EVP_PKEY_CTX_set1_id(keyContext, id, Int32(id.count)) == 1 else { throw .failed("EVP_PKEY_CTX_set1_id") }
        guard EVP_DigestSignUpdate(context, message, message.count) == 1 else { throw .failed("EVP_DigestSignUpdate(SM2)") }
        var length = Int(EVP_PKEY_get_size(key))
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSignFinal(context, &signature, &length) == 1 else { throw .failed("EVP_DigestSignFinal(SM2)") }
        return Array(signature.prefix(length))
    }
}

/// An SM2 public key, to check signatures with.
public final class SM2PublicKey: @unchecked Sendable {
    let key: OpaquePointer

    /// The key in a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), as `openssl pkey -pubout` writes it.
    public init(pemRepresentation pem: String) throws(LibCryptoError) {
        key = try PEM.readSM2Key(pem, call: "PEM_read_bio_PUBKEY") { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
    }

    deinit { EVP_PKEY_free(key) }

    /// The key as PEM.
    public func pemRepresentation() throws(LibCryptoError) -> String {
        try PEM.write(call: "PEM_write_bio_PUBKEY") { PEM_write_bio_PUBKEY($0, key) }
    }

    /// Whether `signature` (DER) is this key's SM2 signature of `message` under `signerID`. A malformed signature
    /// is simply not valid.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8], signerID: String = SM2.defaultSignerID) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
        }
        var keyContext: OpaquePointer?
        guard EVP_DigestVerifyInit_ex(context, &keyContext, "SM3", nil, nil, key, nil) == 1 else { return false }
        let id = Array(signerID.utf8)
        guard EVP_PKEY_CTX_set1_id(keyContext, id, Int32(id.count)) == 1,
              EVP_DigestVerifyUpdate(context, message, message.count) == 1 else { return false }
        return EVP_DigestVerifyFinal(context, signature, signature.count) == 1
    }
}

/// PEM text in and out of OpenSSL through memory BIOs.
enum PEM {
    /// The SM2 key `reader` reads from `pem`. Anything else (an EC key of another curve, RSA) is freed here and refused,
    /// before a key object owns it (a throwing initialiser would otherwise free it a second time in `deinit`).
    static func readSM2Key(_ pem: String, call: String, _ reader: (OpaquePointer) -> OpaquePointer?) throws(LibCryptoError) -> OpaquePointer {
        let bytes = Array(pem.utf8)
        let key: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return reader(bio)
        }
        guard let key else { throw .failed(call) }
        guard EVP_PKEY_is_a(key, "SM2") == 1 else {
            EVP_PKEY_free(key)
            throw LibCryptoError(call: "EVP_PKEY_is_a(SM2)", message: "the PEM holds a key of another type, not SM2")
        }
        return key
    }

    static func write(call: String, _ writer: (OpaquePointer) -> Int32) throws(LibCryptoError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .failed("BIO_new") }
        defer { BIO_free(bio) }
        guard writer(bio) == 1 else { throw .failed(call) }
        var start: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &start)
        guard let start, length > 0 else { throw .failed("BIO_get_mem_data") }
        return String(decoding: UnsafeRawBufferPointer(start: start, count: length), as: UTF8.self)
    }
}
