import Crypto
import Foundation
import GRDB
import Glibc
import TongbanCore

/// Identity records and card photos, encrypted at rest with AES-GCM under a key kept in a 0600 file.
///
/// The database holds only sealed boxes (nonce + ciphertext + tag) and the time of the read; names and numbers
/// never reach SQLite in clear. Records are purged after the identity retention period.
public final class IdentityVault: Sendable {
    private let store: Store
    /// The 256-bit key's bytes (SymmetricKey itself is not Sendable).
    private let keyBytes: Data

    /// Opens the vault, creating the key file (`<dataDir>/keys/identity.key`, 0600) on first use.
    public init(store: Store) throws(StoreError) {
        self.store = store
        let keyDirectory = "\(store.directory)/keys"
        let keyPath = "\(keyDirectory)/identity.key"
        do {
            try DurableFile.prepareDirectory(keyDirectory)
            if let existing = FileManager.default.contents(atPath: keyPath), existing.count == 32 {
                keyBytes = existing
            } else {
                let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
                try DurableFile.write(Array(fresh), to: keyPath, permissions: 0o600)
                keyBytes = fresh
            }
        } catch {
            throw .storage(error)
        }
    }

    /// Seals and stores one record (its JSON, photo included). Durable when this returns.
    public func save(id: String, device: String, readAt: Date, json: Data) throws(StoreError) {
        let sealed: Data
        do { sealed = try AES.GCM.seal(json, using: SymmetricKey(data: keyBytes), authenticating: Data(id.utf8)).combined! } catch {
            throw .database("seal identity record", "\(error)")
        }
        do {
            try store.database.write { db in
                try db.execute(sql: "INSERT INTO identity (id, device, readAt, sealed) VALUES (?, ?, ?, ?)",
                               arguments: [id, device, readAt, sealed])
            }
        } catch { throw .database("save identity record", "\(error)") }
    }

    /// Seals bytes (an identity attachment's file) under the vault's key, bound to `context` (the attachment id).
    public func seal(_ bytes: [UInt8], context: String) throws(StoreError) -> [UInt8] {
        do { return Array(try AES.GCM.seal(bytes, using: SymmetricKey(data: keyBytes), authenticating: Data(context.utf8)).combined!) } catch {
            throw .database("seal \(context)", "\(error)")
        }
    }

    /// Opens bytes sealed by `seal(_:context:)`.
    public func open(_ sealed: [UInt8], context: String) throws(StoreError) -> [UInt8] {
        do {
            return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: SymmetricKey(data: keyBytes), authenticating: Data(context.utf8)))
        } catch { throw .database("open \(context)", "it does not decrypt with this counter's key (\(error))") }
    }

    /// Opens one record; nil when it does not exist (never stored, or purged).
    public func load(id: String) throws(StoreError) -> Data? {
        let sealed: Data?
        do { sealed = try store.database.read { try Data.fetchOne($0, sql: "SELECT sealed FROM identity WHERE id = ?", arguments: [id]) } }
        catch { throw .database("read identity record", "\(error)") }
        guard let sealed else { return nil }
        do { return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: SymmetricKey(data: keyBytes), authenticating: Data(id.utf8)) }
        catch { throw .database("open identity record \(id)", "the record does not decrypt with this counter's key (\(error))") }
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
