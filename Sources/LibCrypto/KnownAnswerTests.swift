import Foundation

/// The national algorithms' known-answer tests, run by `tongban crypto selftest` and by `tongban doctor` under
/// `security.cryptoSuite: sm`: the vectors of the standards themselves, so a libcrypto built without SM, or with a
/// broken one, is caught before it seals anything.
public enum KnownAnswerTests {
    /// One test's outcome.
    public struct Outcome: Sendable, Equatable {
        /// What was tested and against which vector (`SM3("abc"), GB/T 32905-2016 A.1`).
        public var name: String
        public var passed: Bool
        /// What came out, when it is not what the standard says.
        public var detail: String
    }

    /// Every test, in order; none stops the others.
    public static func run() -> [Outcome] {
        var outcomes: [Outcome] = []
        func check(_ name: String, _ body: () throws -> String?) {
            do {
                let problem = try body()
                outcomes.append(Outcome(name: name, passed: problem == nil, detail: problem ?? ""))
            } catch {
                outcomes.append(Outcome(name: name, passed: false, detail: "\(error)"))
            }
        }
        func expect(_ actual: [UInt8], _ expected: String) -> String? {
            let hex = actual.map { String(format: "%02x", $0) }.joined()
            return hex == expected ? nil : "got \(hex), the standard says \(expected)"
        }

        check("SM3(\"abc\"), GB/T 32905-2016 A.1") {
            expect(try SM3.hash(Array("abc".utf8)), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        }
        check("SM3(\"abcd\" × 16), GB/T 32905-2016 A.2") {
            expect(try SM3.hash(Array(String(repeating: "abcd", count: 16).utf8)),
                   "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
        }
        let sm4Key = hexBytes("0123456789abcdeffedcba9876543210")
        check("SM4 one block, GB/T 32907-2016 A.1") {
            expect(try SM4.encryptBlock(sm4Key, key: sm4Key), "681edf34d206965e86b3e94f536e4246")
        }
        check("SM4 1,000,000 times, GB/T 32907-2016 A.2") {
            expect(try SM4.encryptBlock(sm4Key, key: sm4Key, times: 1_000_000), "595298c7c6fd271f0402f804c33d3f66")
        }
        let gcmNonce = hexBytes("00001234567800000000abcd")
        let gcmAssociated = hexBytes("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let gcmPlain = hexBytes("aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"
                                + "eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa")
        let gcmCipher = "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735"
            + "d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
        let gcmTag = "83de3541e4c2b58177e065a9bf7b62ec"
        check("SM4-GCM seal, RFC 8998 A.1") {
            let sealed = try SM4.sealGCM(gcmPlain, key: sm4Key, nonce: gcmNonce, authenticating: gcmAssociated)
            return expect(sealed.ciphertext + sealed.tag, gcmCipher + gcmTag)
        }
        check("SM4-GCM open, RFC 8998 A.1, and refuse it altered") {
            let opened = try SM4.openGCM(hexBytes(gcmCipher), tag: hexBytes(gcmTag), key: sm4Key, nonce: gcmNonce,
                                         authenticating: gcmAssociated)
            guard opened == gcmPlain else { return "opened to something else" }
            var altered = hexBytes(gcmCipher)
            altered[5] ^= 1
            let forged = try? SM4.openGCM(altered, tag: hexBytes(gcmTag), key: sm4Key, nonce: gcmNonce, authenticating: gcmAssociated)
            return forged == nil ? nil : "an altered ciphertext opened"
        }
        check("SM2 verify a signature made by openssl pkeyutl (signer id 1234567812345678)") {
            let key = try SM2PublicKey(pemRepresentation: referencePublicKey)
            let signature = Array(Data(base64Encoded: referenceSignature) ?? Data())
            let message = Array(referenceMessage.utf8)
            guard key.isValidSignature(signature, for: message) else { return "the reference signature does not verify" }
            guard !key.isValidSignature(signature, for: message, signerID: "1234567812345679") else {
                return "it verifies under another signer id: the id is not entering the digest"
            }
            return key.isValidSignature(signature, for: Array("message digesT".utf8)) ? "it verifies for another message" : nil
        }
        check("SM2 sign and verify with a fresh key; another signer id fails") {
            let key = try SM2PrivateKey()
            let message = Array("tongban-selftest".utf8)
            let signature = try key.signature(for: message)
            let publicKey = try key.publicKey()
            guard publicKey.isValidSignature(signature, for: message) else { return "its own signature does not verify" }
            return publicKey.isValidSignature(signature, for: message, signerID: "") ? "it verifies under the empty signer id" : nil
        }
        return outcomes
    }

    /// A key made with `openssl genpkey -algorithm SM2` and its signature of `referenceMessage`
    /// (`openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:1234567812345678`).
    static let referencePublicKey = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAECOU6Q6m5kpFJBDVjHQ1G6VVNeKlq
        9OsdFXUi/SxUdcwfKSSH2/NdDnLuuAva91x3z207++lM2b8z9JqzGZFMCA==
        -----END PUBLIC KEY-----

        """
    static let referenceMessage = "message digest"
    static let referenceSignature = "MEQCIBwRqOquLBMYWnOI+S9RPyWsTvWCWzuzMbmMCqf8y0bMAiA+WbmWimtq1qsYdvq0zYDhkqxShgtmXcEytnByVLh4sA=="

    static func hexBytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
