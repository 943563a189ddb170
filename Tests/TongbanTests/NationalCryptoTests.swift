import Crypto
import Foundation
import GRDB
import LibCrypto
import Testing
@testable import API
@testable import Store
@testable import TongbanCore

/// The national suite (国密, `security.cryptoSuite: sm`): the algorithms against their standards' vectors and against
/// the `openssl` command line, sealing and the audit chain across a switch of suites, signed manifests and SM2
/// assertions, and the whole service under `sm`.
@Suite(.serialized) struct NationalCryptoTests {
    static let token = "national-crypto-token-0123456789"

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// `openssl` with arguments; its standard output.
    static func openssl(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> ProcessResult {
        try await run("/usr/bin/openssl", arguments)
    }

    static func write(_ bytes: [UInt8], _ path: String) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: The algorithms

    @Test func theKnownAnswerTestsPassAndAgreeWithTheOpenSSLCommandLine() async throws {
        for outcome in KnownAnswerTests.run() { #expect(outcome.passed, "\(outcome.name): \(outcome.detail)") }
        let selftest = try await run(tongbanBinary, ["crypto", "selftest"])
        #expect(selftest.status == 0 && selftest.standardOutput.contains("all 8 known-answer tests passed"), "\(selftest.standardOutput)")

        let directory = try makeTemporaryDirectory()
        // SM3 and HMAC-SM3 of a random message.
        let message = Self.random(1000)
        let messageFile = try Self.write(message, "\(directory)/message")
        let digest = try await Self.openssl(["dgst", "-sm3", "-r", messageFile])
        #expect(digest.standardOutput.hasPrefix(Self.hex(try SM3.hash(message))), "\(digest.standardOutput) \(digest.standardError)")
        let macKey = Self.random(32)
        let mac = try await Self.openssl(["dgst", "-sm3", "-mac", "HMAC", "-macopt", "hexkey:\(Self.hex(macKey))", "-r", messageFile])
        #expect(mac.standardOutput.hasPrefix(Self.hex(try SM3.authenticationCode(for: message, key: macKey))), "\(mac.standardOutput) \(mac.standardError)")

        // SM4: one block in ECB; SM4-GCM's ciphertext is CTR from the second counter block (nonce ‖ 00000002), which
        // the command line has — the GHASH half is checked by RFC 8998's vector above.
        let key = Self.random(16)
        let block = Self.random(16)
        let ecb = try await run("/bin/sh", ["-c", "openssl enc -sm4-ecb -nopad -K \(Self.hex(key)) -in \(try Self.write(block, "\(directory)/block")) | od -An -tx1 | tr -d ' \\n'"])
        #expect(ecb.standardOutput == Self.hex(try SM4.encryptBlock(block, key: key)), "\(ecb.standardError)")
        let nonce = Self.random(12)
        let sealed = try SM4.sealGCM(message, key: key, nonce: nonce, authenticating: Array("context".utf8))
        let ctr = try await run("/bin/sh", ["-c", "openssl enc -sm4-ctr -K \(Self.hex(key)) -iv \(Self.hex(nonce))00000002 -in \(messageFile) | od -An -tx1 | tr -d ' \\n'"])
        #expect(ctr.standardOutput == Self.hex(sealed.ciphertext), "\(ctr.standardError)")
        #expect(try SM4.openGCM(sealed.ciphertext, tag: sealed.tag, key: key, nonce: nonce, authenticating: Array("context".utf8)) == message)
        #expect(throws: LibCryptoError.self) {
            _ = try SM4.openGCM(sealed.ciphertext, tag: sealed.tag, key: key, nonce: nonce, authenticating: Array("another".utf8))
        }

        // SM2: ours verified by the command line (and refused under another signer id), the command line's by ours.
        let privateKey = try SM2PrivateKey()
        let keyFile = try Self.write(Array(try privateKey.pemRepresentation().utf8), "\(directory)/key.pem")
        let publicFile = try Self.write(Array(try privateKey.publicKey().pemRepresentation().utf8), "\(directory)/public.pem")
        let signatureFile = try Self.write(try privateKey.signature(for: message), "\(directory)/ours.sig")
        let verified = try await Self.openssl(["pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", publicFile,
                                               "-pkeyopt", "distid:1234567812345678", "-in", messageFile, "-sigfile", signatureFile])
        #expect(verified.status == 0 && verified.standardOutput.contains("Verified Successfully"), "\(verified.standardOutput) \(verified.standardError)")
        let otherID = try await Self.openssl(["pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", publicFile,
                                              "-pkeyopt", "distid:1234567812345679", "-in", messageFile, "-sigfile", signatureFile])
        #expect(otherID.status != 0, "a signature under 1234567812345678 verified under another id")
        let theirs = try await Self.openssl(["pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", keyFile,
                                             "-pkeyopt", "distid:1234567812345678", "-in", messageFile, "-out", "\(directory)/theirs.sig"])
        #expect(theirs.status == 0, "\(theirs.standardError)")
        let theirSignature = try #require(FileManager.default.contents(atPath: "\(directory)/theirs.sig"))
        let publicKey = try privateKey.publicKey()
        #expect(publicKey.isValidSignature(Array(theirSignature), for: message))
        #expect(!publicKey.isValidSignature(Array(theirSignature), for: message, signerID: ""))
        // r ‖ s and back.
        #expect(try SM2.derSignature(fromRaw: try SM2.rawSignature(fromDER: Array(theirSignature))) == Array(theirSignature))
        // An EC key of another curve is no SM2 key.
        let p256 = P256.Signing.PrivateKey().publicKey.pemRepresentation
        #expect(throws: LibCryptoError.self) { _ = try SM2PublicKey(pemRepresentation: p256) }
    }

    // MARK: A switch of suites

    @Test func sealedDataAndTheAuditChainStayReadableAcrossASwitchOfSuites() async throws {
        let directory = try makeTemporaryDirectory()
        let picture = Self.random(3 * SealingStream.chunkSize + 100)
        // Under standard.
        var store = try Store(directory: directory, cryptoSuite: .standard)
        var vault = try IdentityVault(store: store)
        let sealedBefore = try vault.seal(picture, context: "attachment-1")
        #expect(sealedBefore.starts(with: Array("TBSEAL2".utf8)))
        try vault.save(id: "record-1", device: "reader", readAt: Date(), json: Data(#"{"name":"李华"}"#.utf8))
        for index in 1...3 { try store.appendAudit(actor: "clerk", action: "idcard.read", subject: "r\(index)") }
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/keys/signing-sm2.pem"), "standard made an SM2 key")

        // Switched to sm: the old opens, the new is SM4, the chain goes on under HMAC-SM3 with a signed anchor.
        store = try Store(directory: directory, cryptoSuite: .sm)
        vault = try IdentityVault(store: store)
        #expect(try vault.open(sealedBefore, context: "attachment-1") == picture)
        #expect(try vault.load(id: "record-1") == Data(#"{"name":"李华"}"#.utf8))
        let sealedAfter = try vault.seal(picture, context: "attachment-2")
        #expect(sealedAfter.starts(with: Array("TBSM4G1".utf8)))
        #expect(try vault.open(sealedAfter, context: "attachment-2") == picture)
        #expect(throws: StoreError.self) { _ = try vault.open(sealedAfter, context: "attachment-1") }  // moved to another attachment
        var altered = sealedAfter
        altered[altered.count - 20] ^= 0x01
        #expect(throws: StoreError.self) { _ = try vault.open(altered, context: "attachment-2") }
        try vault.save(id: "record-2", device: "reader", readAt: Date(), json: Data(#"{"name":"陈大文"}"#.utf8))
        let row = try await store.database.read { try Data.fetchOne($0, sql: "SELECT sealed FROM identity WHERE id = 'record-2'") }
        #expect(row?.starts(with: Array("TBSM4G1".utf8)) == true)
        #expect(try vault.load(id: "record-2") == Data(#"{"name":"陈大文"}"#.utf8))
        for index in 4...6 { try store.appendAudit(actor: "clerk", action: "idcard.read", subject: "r\(index)") }
        #expect(try store.verifyAudit() == .intact(records: 6))
        #expect(try store.auditRecords().map(\.mac).sorted { $0.rawValue < $1.rawValue }
                == [.hmacSHA256, .hmacSHA256, .hmacSHA256, .hmacSM3, .hmacSM3, .hmacSM3])
        let anchorPath = "\(directory)/audit.anchor"
        let anchor = try JSONDecoder().decode(AuditAnchor.self, from: try #require(FileManager.default.contents(atPath: anchorPath)))
        #expect(anchor.algorithm == .hmacSM3 && anchor.signature != nil)

        // The anchor's signature removed or altered: the log no longer verifies.
        let original = try #require(FileManager.default.contents(atPath: anchorPath))
        for forged in [AuditAnchor(sequence: anchor.sequence, hash: anchor.hash, mac: anchor.mac, algorithm: .hmacSM3, signature: nil),
                       AuditAnchor(sequence: anchor.sequence, hash: anchor.hash, mac: anchor.mac, algorithm: .hmacSM3,
                                   signature: Data(try SM2PrivateKey().signature(for: Array(AuditAnchor.statement(sequence: anchor.sequence, hash: anchor.hash)))).base64EncodedString())] {
            try JSONEncoder().encode(forged).write(to: URL(fileURLWithPath: anchorPath))
            guard case .broken(_, let reason) = try store.verifyAudit() else {
                Issue.record("a forged anchor passed: \(forged)")
                continue
            }
            #expect(reason.contains("SM2 signature"), "\(reason)")
        }
        try original.write(to: URL(fileURLWithPath: anchorPath))
        #expect(try store.verifyAudit() == .intact(records: 6))

        // An older anchor put back with the records after it cut: the anchor alone cannot tell, the head the case core
        // last received can.
        let headAtSix = try #require(store.auditHead())
        let copy = try makeTemporaryDirectory()
        try FileManager.default.copyItem(atPath: directory, toPath: "\(copy)/data")
        let rolledBack = try Store(directory: "\(copy)/data", cryptoSuite: .sm)
        let standardKeys = try Store(directory: "\(copy)/data", cryptoSuite: .standard).keys
        let recordThree = try #require(try rolledBack.auditRecords().first { $0.sequence == 3 })
        let anchorAtThree = AuditAnchor.make(sequence: 3, hash: recordThree.hash, keys: standardKeys)
        try await rolledBack.database.write { db in
            try db.execute(sql: "DROP TRIGGER IF EXISTS audit_no_delete")
            try db.execute(sql: "DELETE FROM audit WHERE sequence > 3")
        }
        try JSONEncoder().encode(try #require(anchorAtThree)).write(to: URL(fileURLWithPath: "\(copy)/data/audit.anchor"))
        #expect(try rolledBack.verifyAudit() == .intact(records: 3), "the limit this closes")
        guard case .broken(let at, let reason) = try rolledBack.verifyAudit(againstHead: headAtSix) else {
            Issue.record("a log cut back to an old anchor passed against the case core's head \(headAtSix)")
            return
        }
        #expect(at == 6 && reason.contains("cut back"), "\(reason)")
        #expect(try store.verifyAudit(againstHead: headAtSix) == .intact(records: 6))
        #expect(try store.verifyAudit(againstHead: " \(headAtSix.uppercased())\n") == .intact(records: 6))
        for malformed in ["nonsense", "0:\(headAtSix.split(separator: ":")[1])", "6:", "6:00"] {
            guard case .broken = try store.verifyAudit(againstHead: malformed) else {
                Issue.record("\(malformed) passed as a head")
                continue
            }
        }

        // And back to standard: everything sealed or chained under sm still opens and verifies.
        store = try Store(directory: directory, cryptoSuite: .standard)
        vault = try IdentityVault(store: store)
        #expect(try vault.open(sealedAfter, context: "attachment-2") == picture)
        #expect(try vault.load(id: "record-2") == Data(#"{"name":"陈大文"}"#.utf8))
        try store.appendAudit(actor: "clerk", action: "idcard.read", subject: "r7")
        #expect(try store.verifyAudit() == .intact(records: 7))

        // An audit record's MAC name flipped (to make an SM3 record be checked as SHA-256, or as the first wave's
        // plain hash): the log no longer verifies.
        for forged in ["hmac-sha256", "sha256", "rot13"] {
            try await store.database.write { db in
                try db.execute(sql: "DROP TRIGGER IF EXISTS audit_no_update")
                try db.execute(sql: "UPDATE audit SET mac = ? WHERE sequence = 5", arguments: [forged])
            }
            guard case .broken(let at, _) = try store.verifyAudit() else {
                Issue.record("record 5 with its MAC named \(forged) passed")
                continue
            }
            #expect(at <= 5)
        }
        try await store.database.write { db in try db.execute(sql: "UPDATE audit SET mac = 'hmac-sm3' WHERE sequence = 5") }
        #expect(try store.verifyAudit() == .intact(records: 7))

        // An SM2 key file that cannot be read or parsed stops the store; it is never replaced by a new key.
        let signingPath = "\(directory)/keys/signing-sm2.pem"
        let signingKey = try #require(FileManager.default.contents(atPath: signingPath))
        try Data("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n".utf8).write(to: URL(fileURLWithPath: signingPath))
        #expect(throws: StoreError.self) { _ = try Store(directory: directory, cryptoSuite: .sm) }
        #expect(FileManager.default.contents(atPath: signingPath) != signingKey
                && FileManager.default.contents(atPath: signingPath)?.count ?? 0 < 100, "the broken key file was replaced")
        try signingKey.write(to: URL(fileURLWithPath: signingPath))
        // Two stores making the same key at once end with one key.
        let fresh = try makeTemporaryDirectory()
        let made = (0..<2).map { _ in Task.detached { try CounterKeys(directory: fresh, suite: .sm).signingPublicKeyPEM } }
        var keysMade: Set<String> = []
        for task in made { if let pem = try await task.value { keysMade.insert(pem) } }
        let kept = try CounterKeys(directory: fresh, suite: .sm).signingPublicKeyPEM
        #expect(keysMade.count == 1 && keysMade == [kept])

        // Without the SM4 key (a data folder copied without keys/identity-sm4.key), SM4 data does not open — named.
        try FileManager.default.removeItem(atPath: "\(directory)/keys/identity-sm4.key")
        store = try Store(directory: directory, cryptoSuite: .standard)
        vault = try IdentityVault(store: store)
        do {
            _ = try vault.open(sealedAfter, context: "attachment-2")
            Issue.record("SM4 data opened without the SM4 key")
        } catch { #expect("\(error)".contains("identity-sm4.key"), "\(error)") }
    }

    // MARK: Signatures

    @Test func manifestsAreSignedUnderSMAndAssertionsMayBeSM2() async throws {
        let directory = try makeTemporaryDirectory()
        let store = try Store(directory: "\(directory)/data", cryptoSuite: .sm)
        var manifest = AttachmentManifest(attachmentId: UUID().uuidString, caseNumber: "TB-SM-1", materialName: "身份证",
                                          kind: .idcard, contentType: "image/jpeg", sha256: String(repeating: "a", count: 64),
                                          size: 1234, pages: nil, device: "idcard:sim", counterId: "counter-9", operator: "张三",
                                          capturedAt: Date(), retentionClass: "identity", fileName: "card.jpg")
        manifest.auditHead = "3:abc"
        try store.sign(&manifest)
        let signature = try #require(manifest.signature)
        #expect(signature.algorithm == "SM2-with-SM3" && signature.signerId == "1234567812345678")
        #expect(signature.key == store.keys.signingKeyFingerprint)
        // The command line checks it with the counter's public key over the statement a receiver rebuilds.
        let publicFile = try Self.write(Array(try #require(store.keys.signingPublicKeyPEM).utf8), "\(directory)/counter.pem")
        let statementFile = try Self.write(manifest.signedStatement, "\(directory)/statement")
        let signatureFile = try Self.write(Array(try #require(Data(base64Encoded: signature.value))), "\(directory)/manifest.sig")
        let verified = try await Self.openssl(["pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", publicFile,
                                               "-pkeyopt", "distid:1234567812345678", "-in", statementFile, "-sigfile", signatureFile])
        #expect(verified.status == 0, "\(verified.standardOutput) \(verified.standardError)")
        // Every field the case core acts on is in the statement: changing any one changes it.
        let changes: [(String, (inout AttachmentManifest) -> Void)] = [
            ("attachmentId", { $0.attachmentId = UUID().uuidString }), ("caseNumber", { $0.caseNumber = "TB-SM-2" }),
            ("materialName", { $0.materialName = "户口簿" }), ("kind", { $0.kind = .photo }), ("contentType", { $0.contentType = "image/png" }),
            ("sha256", { $0.sha256 = String(repeating: "b", count: 64) }), ("size", { $0.size = 1235 }), ("pages", { $0.pages = 2 }),
            ("device", { $0.device = "idcard:other" }), ("counterId", { $0.counterId = "counter-8" }), ("operator", { $0.operator = "李四" }),
            ("capturedAt", { $0.capturedAt = $0.capturedAt.addingTimeInterval(60) }), ("retentionClass", { $0.retentionClass = "scan" }),
            ("fileName", { $0.fileName = "other.jpg" }), ("auditHead", { $0.auditHead = "4:def" }),
            ("barcodes", { $0.barcodes = [AttachmentBarcode(type: "QR-Code", text: "TB-SM-9")] }),
        ]
        for (field, change) in changes {
            var changed = manifest
            change(&changed)
            #expect(changed.signedStatement != manifest.signedStatement, "\(field) is not covered by the signature")
        }
        #expect(!String(decoding: manifest.signedStatement, as: UTF8.self).contains("signature"))
        // Under standard a manifest is not signed.
        var plain = manifest
        try Store(directory: "\(directory)/standard", cryptoSuite: .standard).sign(&plain)
        #expect(plain.signature == nil)

        // A case system on the national suite signs its assertions SM2 (r ‖ s, like ES256).
        let caseSystem = try SM2PrivateKey()
        let origin = "https://case.example.gov.cn"
        let verifier = CaseSystemAssertions(keys: [], sm2Keys: [try caseSystem.publicKey()], allowedOrigins: [origin], counterID: "counter-9")
        func base64URL(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        func assertion(key: SM2PrivateKey, alg: String = "SM2", signerID: String = SM2.defaultSignerID) throws -> String {
            let now = Int(Date().timeIntervalSince1970)
            let header = base64URL(try JSONSerialization.data(withJSONObject: ["alg": alg, "typ": "JWT"]))
            let payload = base64URL(try JSONSerialization.data(withJSONObject: ["iss": origin, "sub": "op-7", "aud": "tongban",
                                                                                 "iat": now, "exp": now + 120]))
            let der = try key.signature(for: Array("\(header).\(payload)".utf8), signerID: signerID)
            return "\(header).\(payload).\(base64URL(Data(try SM2.rawSignature(fromDER: der))))"
        }
        let caller = try verifier.verify(try assertion(key: caseSystem), requestOrigin: origin).get()
        #expect(caller == .caseSystem(origin: origin, operatorID: "op-7", name: nil))
        for (forged, why) in [(try assertion(key: SM2PrivateKey()), "another key"),
                              (try assertion(key: caseSystem, signerID: "1234567812345679"), "another signer id"),
                              (try assertion(key: caseSystem, alg: "ES256"), "an SM2 signature called ES256")] {
            guard case .failure(let problem) = verifier.verify(forged, requestOrigin: origin) else {
                Issue.record("accepted an assertion signed with \(why)")
                continue
            }
            #expect(problem.code == "assertion-invalid")
        }
        // The key file is read as SM2 when it is not P-256.
        let keyFile = try Self.write(Array(try caseSystem.publicKey().pemRepresentation().utf8), "\(directory)/case-system-sm2.pem")
        let loaded = try CaseSystemAssertions.load(paths: [keyFile], allowedOrigins: [origin], counterID: "counter-9")
        #expect((try? loaded.verify(try assertion(key: caseSystem), requestOrigin: origin).get()) != nil)
    }

    // MARK: The whole service

    /// A counter on `standard` with a card read and an identity attachment delivered, switched to `sm`: the old record
    /// and attachment still open, a new card read is sealed SM4, the new identity attachment reaches the tus server with
    /// a manifest signature the command line verifies with the counter's public key, and the audit log — half
    /// HMAC-SHA-256, half HMAC-SM3 — verifies; `tongban doctor` runs the known-answer tests.
    @Test(.enabled(if: DeliveryTests.tusReady)) func theWholeServiceUnderTheNationalSuite() async throws {
        let directory = try makeTemporaryDirectory()
        let data = "\(directory)/data"
        let tus = try await DeliveryTests.TusServer.start(in: "\(directory)/tus")
        defer { kill(tus.process.process.processIdentifier, SIGKILL) }
        let auth = ["-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Type: application/json"]

        func serve(_ suite: CryptoSuite) async throws -> (ChildProcess, Int) {
            let server = try ChildProcess.serve(["--demo", "--listen", "127.0.0.1:0", "--data-dir", data],
                                                environment: ["TONGBAN_API_TOKEN": Self.token, "TONGBAN_CASE_CORE_URL": tus.url,
                                                              "TONGBAN_CASE_CORE_RETRY_MAX_SECONDS": "2",
                                                              "TONGBAN_SECURITY_CRYPTO_SUITE": suite.rawValue])
            let port = try #require(try await server.waitUntilReady(), "serve: \(server.standardError)")
            return (server, port)
        }
        func readCard(_ port: Int, card: String) async throws -> String {
            let placed = try await curl(["-X", "POST"] + auth + ["-d", #"{"action": "place", "card": "\#(card)"}"#, "http://127.0.0.1:\(port)/v1/sim/idcard"])
            #expect(placed.status < 300, "\(placed.body)")
            let read = try await curl(["-X", "POST"] + auth + ["-d", #"{"timeoutMs": 8000}"#, "http://127.0.0.1:\(port)/v1/idcard/read"])
            #expect(read.status == 200, "\(read.body)")
            _ = try await curl(["-X", "POST"] + auth + ["-d", #"{"action": "lift"}"#, "http://127.0.0.1:\(port)/v1/sim/idcard"])
            let answer = try JSONSerialization.jsonObject(with: Data(read.body.utf8)) as? [String: Any]
            return try #require(answer?["recordId"] as? String, "\(read.body)")
        }
        func uploadIdentity(_ port: Int, bytes: [UInt8]) async throws -> String {
            let file = try Self.write(bytes, "\(directory)/card-\(UUID().uuidString).jpg")
            let stored = try await curl(["-X", "POST", "-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Type: image/jpeg",
                                         "--data-binary", "@\(file)",
                                         "http://127.0.0.1:\(port)/v1/attachments?case=TB-SM-E2E&material=%E8%BA%AB%E4%BB%BD%E8%AF%81&kind=idcard&fileName=card.jpg"])
            #expect(stored.status == 201, "\(stored.body)")
            let manifest = try JSONSerialization.jsonObject(with: Data(stored.body.utf8)) as? [String: Any]
            return try #require(manifest?["attachmentId"] as? String, "\(stored.body)")
        }
        func content(_ port: Int, _ id: String) async throws -> [UInt8] {
            let out = "\(directory)/back-\(id)"
            let fetched = try await run("/usr/bin/curl", ["-s", "--noproxy", "*", "-H", "Authorization: Bearer \(Self.token)", "-o", out,
                                                          "http://127.0.0.1:\(port)/v1/attachments/\(id)/content"])
            #expect(fetched.status == 0)
            return Array(FileManager.default.contents(atPath: out) ?? Data())
        }

        // On standard.
        var (server, port) = try await serve(.standard)
        let oldRecord = try await readCard(port, card: "resident")
        let oldPicture = Array("JFIF-old-".utf8) + Self.random(50_000)
        let oldAttachment = try await uploadIdentity(port, bytes: oldPicture)
        try await DeliveryTests.expectDelivered(port: port)
        #expect(try await server.stop() == 0)

        // Switched to sm.
        (server, port) = try await serve(.sm)
        let smServer = server
        defer { if smServer.process.isRunning { kill(smServer.process.processIdentifier, SIGKILL) } }
        let revealed = try await curl(["-H", "Authorization: Bearer \(Self.token)",
                                       "http://127.0.0.1:\(port)/v1/idcard/records/\(oldRecord)?reveal=true&reason=%E5%A4%8D%E6%A0%B8"])
        #expect(revealed.status == 200 && revealed.body.contains("\"idNumber\":\"11010519491231002X\""), "the record read under standard: \(revealed.body)")
        #expect(try await content(port, oldAttachment) == oldPicture, "the attachment sealed under standard")
        let newRecord = try await readCard(port, card: "resident")
        let newPicture = Array("JFIF-new-".utf8) + Self.random(50_000)
        let newAttachment = try await uploadIdentity(port, bytes: newPicture)
        #expect(try await content(port, newAttachment) == newPicture)
        try await DeliveryTests.expectDelivered(port: port)
        let publicKey = try await run(tongbanBinary, ["crypto", "public-key", "--data-dir", data], environment: ["TONGBAN_SECURITY_CRYPTO_SUITE": "sm"])
        #expect(publicKey.status == 0, "\(publicKey.standardError)")
        #expect(try await server.stop() == 0)

        // What the tus server received: the new manifest signed, verifiable with the counter's public key by anyone.
        let received = try #require(tus.delivered.first { $0["attachmentId"] as? String == newAttachment }, "\(tus.delivered)")
        #expect(received["receivedSha256"] as? String == received["sha256"] as? String)
        let signatureText = try #require(received["signature"] as? String, "no signature in \(received)")
        #expect(received["signatureAlgorithm"] as? String == "SM2-with-SM3" && received["signatureSignerId"] as? String == "1234567812345678")
        // The receiver's rule: every key of the metadata not starting with "signature" (receivedSha256 and receivedSize
        // are the tus server's own notes, not metadata).
        var pairs = received.compactMap { key, value -> (String, String)? in
            guard let text = value as? String, !key.hasPrefix("signature"), !key.hasPrefix("received") else { return nil }
            return (key, text)
        }
        pairs.sort { $0.0 < $1.0 }
        let statement = "tongban-manifest-v1\n" + pairs.map { "\($0.0)\t\($0.1.utf8.count)\t\($0.1)\n" }.joined()
        let publicFile = try Self.write(Array(publicKey.standardOutput.components(separatedBy: "SM3 fingerprint").first!.utf8), "\(directory)/counter.pem")
        let verified = try await Self.openssl(["pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", publicFile,
                                               "-pkeyopt", "distid:1234567812345678",
                                               "-in", try Self.write(Array(statement.utf8), "\(directory)/statement"),
                                               "-sigfile", try Self.write(Array(try #require(Data(base64Encoded: signatureText))), "\(directory)/sig")])
        #expect(verified.status == 0, "the received manifest's signature: \(verified.standardOutput) \(verified.standardError); statement:\n\(statement)")
        let oldReceived = tus.delivered.first { $0["attachmentId"] as? String == oldAttachment }
        #expect(oldReceived != nil && oldReceived?["signature"] == nil, "delivered under standard: unsigned")

        // At rest: the new record is SM4, the old AES; the audit log verifies across the switch, and under standard again.
        let store = try Store(directory: data, cryptoSuite: .sm)
        let sealedNew = try await store.database.read { try Data.fetchOne($0, sql: "SELECT sealed FROM identity WHERE id = ?", arguments: [newRecord]) }
        #expect(sealedNew?.starts(with: Array("TBSM4G1".utf8)) == true)
        let macs = Set(try store.auditRecords(limit: 1000).map(\.mac))
        #expect(macs == [.hmacSHA256, .hmacSM3], "\(macs)")
        for suite in CryptoSuite.allCases {
            let verify = try await run(tongbanBinary, ["audit", "verify", "--data-dir", data], environment: ["TONGBAN_SECURITY_CRYPTO_SUITE": suite.rawValue])
            #expect(verify.status == 0, "\(suite): \(verify.standardOutput) \(verify.standardError)")
        }
        let doctor = try await run(tongbanBinary, ["doctor", "--data-dir", data], environment: ["TONGBAN_SECURITY_CRYPTO_SUITE": "sm"])
        #expect(doctor.standardOutput.contains("known-answer tests passed"), "\(doctor.standardOutput)")
    }
}
