import Crypto
import Foundation
import GRDB
import Glibc
import TongbanCore

/// Identity records and card photos, encrypted at rest under the counter's keys (`CounterKeys`): AES-256-GCM
/// under `security.cryptoSuite: standard`, SM4-GCM under `sm`. What was sealed under either suite opens under both.
///
/// The database holds only sealed boxes (nonce + ciphertext + tag) and the time of the read; names and numbers
/// never reach SQLite in clear. Records are purged after the identity retention period.
public final class IdentityVault: Sendable {
    private let store: Store
    private var keys: CounterKeys { store.keys }

    /// Opens the vault on the store's keys (made on the store's first use).
    public init(store: Store) throws(StoreError) {
        self.store = store
    }

    /// Seals and stores one record (its JSON, photo included). Durable when this returns.
    public func save(id: String, device: String, readAt: Date, json: Data) throws(StoreError) {
        let sealed: Data
        switch keys.suite {
        case .standard:
            do { sealed = try AES.GCM.seal(json, using: SymmetricKey(data: keys.aesKey), authenticating: Data(id.utf8)).combined! } catch {
                throw .database("seal identity record", "\(error)")
            }
        case .sm:
            sealed = Data(try seal(Array(json), context: Self.recordContext(id)))
        }
        do {
            try store.database.write { db in
                try db.execute(sql: "INSERT INTO identity (id, device, readAt, sealed) VALUES (?, ?, ?, ?)",
                               arguments: [id, device, readAt, sealed])
            }
        } catch { throw .database("save identity record", "\(error)") }
    }

    /// Seals bytes (an identity attachment's file) under the suite's key, bound to `context` (the attachment id),
    /// in the streaming format `SealingStream` writes.
    public func seal(_ bytes: [UInt8], context: String) throws(StoreError) -> [UInt8] {
        let stream = try sealingStream(context: context)
        var sealed = try stream.append(bytes)
        sealed += try stream.finish()
        return sealed
    }

    /// A sealer for bytes that arrive in pieces: nothing of them is ever written in clear.
    public func sealingStream(context: String) throws(StoreError) -> SealingStream {
        try SealingStream(cipher: keys.sealingCipher, context: context)
    }

    /// Opens bytes sealed by `seal(_:context:)` or a `SealingStream` under either suite (or by the first wave's
    /// single AES-GCM box).
    public func open(_ sealed: [UInt8], context: String) throws(StoreError) -> [UInt8] {
        do { return try openAnyFormat(sealed, streamContext: context, boxContext: context) }
        catch { throw .database("open \(context)", "it does not decrypt with this counter's keys (\(error))") }
    }

    /// What an identity record sealed as a stream is bound to: its id, labelled, so an attachment's sealed file put
    /// in its place does not open as a record.
    static func recordContext(_ id: String) -> String { "identity-record|\(id)" }

    /// A sealed stream (either cipher, named by its magic) or the first wave's single AES-GCM box.
    private func openAnyFormat(_ sealed: [UInt8], streamContext: String, boxContext: String) throws -> [UInt8] {
        if sealed.count >= SealingStream.magicLength,
           let cipher = try keys.cipher(forMagic: sealed.prefix(SealingStream.magicLength)) {
            return try SealingStream.open(sealed, cipher: cipher, context: streamContext)
        }
        return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: SymmetricKey(data: keys.aesKey), authenticating: Data(boxContext.utf8)))
    }

    /// Opens one record; nil when it does not exist (never stored, or purged).
    public func load(id: String) throws(StoreError) -> Data? {
        let sealed: Data?
        do { sealed = try store.database.read { try Data.fetchOne($0, sql: "SELECT sealed FROM identity WHERE id = ?", arguments: [id]) } }
        catch { throw .database("read identity record", "\(error)") }
        guard let sealed else { return nil }
        do { return Data(try openAnyFormat(Array(sealed), streamContext: Self.recordContext(id), boxContext: id)) }
        catch { throw .database("open identity record \(id)", "the record does not decrypt with this counter's keys (\(error))") }
    }

    /// Deletes records read before `cutoff`; returns how many.
    @discardableResult
    public func purge(readBefore cutoff: Date) throws(StoreError) -> Int {
        do {
            return try store.database.write { db in
                try db.execute(sql: "DELETE FROM identity WHERE readAt < ?", arguments: [cutoff])
                return db.changesCount
            }
        } catch { throw .database("purge identity records", "\(error)") }
    }

    public func count() throws(StoreError) -> Int {
        do { return try store.database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM identity") ?? 0 } }
        catch { throw .database("count identity records", "\(error)") }
    }
}

/// Seals a file as it streams in (an ID-card picture uploaded, a card copy written), so no byte of it reaches the
/// disk in clear — not even in a temporary file that a crash leaves behind.
///
/// Format: an 8-byte magic naming the cipher (`TBSEAL2\0` AES-256-GCM, `TBSM4G1\0` SM4-GCM), an 8-byte random nonce
/// prefix (SM4: then a 16-byte random salt, from which the stream's own key is derived — `SealCipher.forStream`),
/// then records of a 4-byte big-endian length and a GCM ciphertext with its tag, each sealing up to
/// `chunkSize` plain bytes. Record *n* uses the nonce prefix + *n*
/// (big-endian) and authenticates the context, *n* and whether it is the last record: records cannot be reordered,
/// moved to another attachment, or cut off at the end without `open` failing.
public final class SealingStream: @unchecked Sendable {
    /// Bytes of the magic that names the cipher.
    static let magicLength = 8
    /// Plain bytes per record.
    public static let chunkSize = 256 * 1024
    /// The cipher as the stream's header names it (its magic).
    private let named: SealCipher
    /// The cipher its records are sealed with (SM4: under the stream's own key).
    private let cipher: SealCipher
    private let context: String
    private let noncePrefix: [UInt8]
    private let salt: [UInt8]
    /// Plain bytes not sealed yet (fewer than a record's worth, or more after an append, until sealed).
    private var pending: [UInt8] = []
    private var index: UInt32 = 0
    private var headerWritten = false
    private var finished = false

    init(cipher: SealCipher, context: String) throws(StoreError) {
        var generator = SystemRandomNumberGenerator()
        self.named = cipher
        self.context = context
        self.noncePrefix = (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
        self.salt = (0..<cipher.saltLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
        do { self.cipher = try cipher.forStream(salt: salt) } catch { throw .database("seal \(context)", "\(error)") }
    }

    /// Takes plain bytes; returns the sealed bytes ready to be written (whole records only, the rest is kept). A
    /// class, not a value: a copy of a half-used stream would seal two records under one nonce.
    public func append(_ bytes: [UInt8]) throws(StoreError) -> [UInt8] {
        precondition(!finished, "SealingStream used after finish()")
        pending += bytes
        var output = header()
        var start = 0
        while pending.count - start > Self.chunkSize {
            output += try record(Array(pending[start..<start + Self.chunkSize]), last: false)
            start += Self.chunkSize
        }
        if start > 0 { pending.removeFirst(start) }
        return output
    }

    /// Seals what is left as the last record.
    public func finish() throws(StoreError) -> [UInt8] {
        precondition(!finished, "SealingStream finished twice")
        finished = true
        let output = header() + (try record(pending, last: true))
        pending = []
        return output
    }

    private func header() -> [UInt8] {
        guard !headerWritten else { return [] }
        headerWritten = true
        return named.magic + noncePrefix + salt
    }

    private func record(_ plain: [UInt8], last: Bool) throws(StoreError) -> [UInt8] {
        defer { index += 1 }
        do {
            let body = try cipher.seal(plain, nonce: noncePrefix + Self.bigEndian(index),
                                       associatedData: Self.associatedData(context, index: index, last: last))
            return Self.bigEndian(UInt32(body.count)) + body
        } catch { throw .database("seal \(context)", "\(error)") }
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    static func associatedData(_ context: String, index: UInt32, last: Bool) -> Data {
        Data(context.utf8) + Data(bigEndian(index)) + Data([last ? 1 : 0])
    }

    /// A sealed stream that does not open: cut short, altered, or sealed for another attachment or key.
    struct Damaged: Error, CustomStringConvertible {
        var description: String
    }

    static func open(_ sealed: [UInt8], cipher named: SealCipher, context: String) throws -> [UInt8] {
        let headerLength = magicLength + 8 + named.saltLength
        guard sealed.count >= headerLength else { throw Damaged(description: "shorter than its header") }
        let prefix = Array(sealed[magicLength..<magicLength + 8])
        let cipher = try named.forStream(salt: Array(sealed[magicLength + 8..<headerLength]))
        var offset = headerLength
        var index: UInt32 = 0
        var plain: [UInt8] = []
        while true {
            guard offset + 4 <= sealed.count else { throw Damaged(description: "cut off before its last record") }
            let length = sealed[offset..<offset + 4].reduce(0) { ($0 << 8) | Int($1) }
            offset += 4
            guard length >= 16, offset + length <= sealed.count else { throw Damaged(description: "record \(index) is cut off") }
            let body = sealed[offset..<offset + length]
            offset += length
            let last = offset == sealed.count
            plain += try cipher.open(body, nonce: prefix + bigEndian(index), associatedData: associatedData(context, index: index, last: last))
            if last { return plain }
            index += 1
        }
    }
}
