import Crypto
import Foundation
import LibCrypto
import TongbanCore

/// The counter's own keys, in `<dataDir>/keys/` (0700, each file 0600, readable by the service user alone):
///
/// | file                | algorithm     | protects                                              |
/// |---------------------|---------------|-------------------------------------------------------|
/// | `identity.key`      | AES-256-GCM   | identity records and files sealed under `standard`    |
/// | `identity-sm4.key`  | SM4-GCM       | identity records and files sealed under `sm`          |
/// | `audit.key`         | HMAC-SHA-256  | audit records and anchors chained under `standard`    |
/// | `audit-sm3.key`     | HMAC-SM3      | audit records and anchors chained under `sm`          |
/// | `signing-sm2.pem`   | SM2 with SM3  | the audit anchor and delivered manifests under `sm`   |
///
/// The keys of the suite in use are made on first use; the other suite's are read when present, so what was
/// protected before a switch stays readable and verifiable. A key file that exists but is unreadable or malformed
/// stops the service: it is never replaced (that would lose everything under it).
///
/// Where a hardware token goes: a PKCS#11 module (a 密码卡 or USB key certified for 密评) would replace this type's
/// file loading — the SM4 key and the SM2 private key stay in the token as handles, and `sealingCipher`,
/// `auditMAC` and `sign` call the token (`CKM_SM4_*`, `CKM_SM2_SM3`-style mechanisms) instead of libcrypto. The
/// callers see only this type.
public struct CounterKeys: Sendable {
    /// The suite new data is protected with.
    public let suite: CryptoSuite
    let aesKey: Data
    let sm4Key: [UInt8]?
    let auditSHA256Key: Data
    let auditSM3Key: [UInt8]?
    /// The SM2 key that signs under `sm` (nil when it was never made).
    let signingKey: SM2PrivateKey?
    /// Its public half, which checks the anchor's signatures.
    let signingPublicKey: SM2PublicKey?
    /// Its public half as PEM, for the case core to pin (`tongban crypto public-key`).
    public let signingPublicKeyPEM: String?
    /// The SM3 fingerprint (hex) of the public half's DER: what a manifest names its signer by.
    public let signingKeyFingerprint: String?

    /// Loads the keys from `<directory>/keys`, making the ones `suite` needs.
    public init(directory: String, suite: CryptoSuite) throws(StoreError) {
        self.suite = suite
        let folder = "\(directory)/keys"
        do {
            aesKey = try KeyFile.loadOrCreate("\(folder)/identity.key")
            auditSHA256Key = try KeyFile.loadOrCreate("\(folder)/audit.key")
            let sm = suite == .sm
            sm4Key = try (sm ? KeyFile.loadOrCreate("\(folder)/identity-sm4.key", length: SM4.keyLength)
                             : KeyFile.load("\(folder)/identity-sm4.key", length: SM4.keyLength)).map { Array($0) }
            auditSM3Key = try (sm ? KeyFile.loadOrCreate("\(folder)/audit-sm3.key") : KeyFile.load("\(folder)/audit-sm3.key")).map { Array($0) }
        } catch { throw .storage(error) }
        // The SM2 key: read when there is one (an unreadable or malformed file stops here, never replaced: the case
        // core has pinned its public half); made under sm when there is none, exclusively.
        let signingPath = "\(folder)/signing-sm2.pem"
        do {
            var pem = try KeyFile.read(signingPath)
            if pem == nil && suite == .sm { pem = try KeyFile.createExclusively(Array(try SM2PrivateKey().pemRepresentation().utf8), at: signingPath) }
            signingKey = try pem.map { try SM2PrivateKey(pemRepresentation: String(decoding: $0, as: UTF8.self)) }
            signingPublicKey = try signingKey?.publicKey()
            signingPublicKeyPEM = try signingPublicKey?.pemRepresentation()
            signingKeyFingerprint = try signingPublicKeyPEM.map(Self.fingerprint(ofPublicKeyPEM:))
        } catch let error as StorageError {
            throw .storage(error)
        } catch {
            throw .database("load \(signingPath)", "\(error) — the file is kept as it is; restore the counter's key from its backup")
        }
    }

    // MARK: Sealing

    /// The cipher new data is sealed with.
    var sealingCipher: SealCipher {
        switch suite {
        case .standard: .aes256GCM(aesKey)
        case .sm: .sm4GCM(sm4Key ?? [])
        }
    }

    /// The cipher a sealed stream names by its magic; nil when the magic is unknown.
    func cipher(forMagic magic: ArraySlice<UInt8>) throws(StoreError) -> SealCipher? {
        if magic.elementsEqual(SealCipher.aes256GCMMagic) { return .aes256GCM(aesKey) }
        if magic.elementsEqual(SealCipher.sm4GCMMagic) {
            guard let sm4Key else {
                throw .database("open sealed data", "it was sealed with SM4 but this counter has no SM4 key (keys/identity-sm4.key)")
            }
            return .sm4GCM(sm4Key)
        }
        return nil
    }

    // MARK: Audit

    /// The MAC new audit records and the anchor are keyed with.
    var auditMAC: AuditMAC { suite == .sm ? .hmacSM3 : .hmacSHA256 }

    /// The MAC of `bytes` under `mac`'s key, hex; nil when this counter has no key for it.
    func authenticationCode(_ mac: AuditMAC, for bytes: Data) -> String? {
        switch mac {
        case .sha256: return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        case .hmacSHA256: return Data(HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: auditSHA256Key))).hexString
        case .hmacSM3:
            guard let auditSM3Key, let code = try? SM3.authenticationCode(for: Array(bytes), key: auditSM3Key) else { return nil }
            return Data(code).hexString
        }
    }

    // MARK: Signatures

    /// An SM2 signature (DER) of `statement` under the standard signer id when the suite is `sm`; nil under
    /// `standard`.
    func sign(_ statement: [UInt8]) throws(StoreError) -> [UInt8]? {
        guard suite == .sm else { return nil }
        guard let signingKey else { throw .database("sign", "no SM2 signing key (keys/signing-sm2.pem)") }
        do { return try signingKey.signature(for: statement) } catch { throw .database("sign", "\(error)") }
    }

    /// Whether `signature` is this counter's SM2 signature of `statement`.
    func isValidSignature(_ signature: [UInt8], for statement: [UInt8]) -> Bool {
        signingPublicKey?.isValidSignature(signature, for: statement) ?? false
    }

    /// SM3 of the DER inside a PEM public key.
    static func fingerprint(ofPublicKeyPEM pem: String) throws -> String {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body) else { throw LibCryptoError(call: "SM2 public key", message: "its PEM is not base64") }
        return Data(try SM3.hash(Array(der))).hexString
    }
}

/// How an audit record's hash (or the anchor's MAC) is made, stored with it.
public enum AuditMAC: String, Sendable, Codable {
    /// Plain SHA-256: the first wave's records, before the chain was keyed.
    case sha256 = "sha256"
    case hmacSHA256 = "hmac-sha256"
    case hmacSM3 = "hmac-sm3"
}

/// The authenticated cipher of a sealed stream's records, named by the stream's magic.
enum SealCipher {
    case aes256GCM(Data)
    case sm4GCM([UInt8])

    static let aes256GCMMagic: [UInt8] = Array("TBSEAL2".utf8) + [0]
    static let sm4GCMMagic: [UInt8] = Array("TBSM4G1".utf8) + [0]

    var magic: [UInt8] {
        switch self {
        case .aes256GCM: Self.aes256GCMMagic
        case .sm4GCM: Self.sm4GCMMagic
        }
    }

    /// Bytes of random salt a stream of this cipher carries after its nonce prefix.
    var saltLength: Int {
        switch self {
        case .aes256GCM: 0
        case .sm4GCM: 16
        }
    }

    /// The cipher a stream's records are sealed with. SM4 streams are sealed under a key of their own,
    /// HMAC-SM3(counter key, "tongban-seal-sm4-v1" ‖ salt) cut to 128 bits, so the records' nonces (8 random bytes and
    /// a counter) need to be unique only within one stream, never across the millions a counter seals.
    func forStream(salt: [UInt8]) throws -> SealCipher {
        switch self {
        case .aes256GCM: return self
        case .sm4GCM(let key):
            let derived = try SM3.authenticationCode(for: Array("tongban-seal-sm4-v1".utf8) + salt, key: key)
            return .sm4GCM(Array(derived.prefix(SM4.keyLength)))
        }
    }

    /// The ciphertext followed by its 16-byte tag.
    func seal(_ plain: [UInt8], nonce: [UInt8], associatedData: Data) throws -> [UInt8] {
        switch self {
        case .aes256GCM(let key):
            let box = try AES.GCM.seal(plain, using: SymmetricKey(data: key), nonce: AES.GCM.Nonce(data: nonce), authenticating: associatedData)
            return Array(box.ciphertext) + Array(box.tag)
        case .sm4GCM(let key):
            let sealed = try SM4.sealGCM(plain, key: key, nonce: nonce, authenticating: Array(associatedData))
            return sealed.ciphertext + sealed.tag
        }
    }

    /// Opens a ciphertext followed by its tag.
    func open(_ body: ArraySlice<UInt8>, nonce: [UInt8], associatedData: Data) throws -> [UInt8] {
        switch self {
        case .aes256GCM(let key):
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: body.dropLast(16), tag: body.suffix(16))
            return Array(try AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: associatedData))
        case .sm4GCM(let key):
            return try SM4.openGCM(Array(body.dropLast(16)), tag: Array(body.suffix(16)), key: key, nonce: nonce,
                                   authenticating: Array(associatedData))
        }
    }
}
