import _CryptoExtras
import Crypto
import Foundation
import TongbanCore

/// A clerk who may sign in to the console: an id, the name the audit log and the forms show, and a PIN kept only
/// as a scrypt hash.
public struct ClerkAccount: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// Base64 salt and scrypt output.
    var salt: String
    var hash: String
    /// scrypt's cost (N = 2^costExponent, r = 8, p = 1).
    var costExponent: Int
    public var createdAt: Date
}

/// The counter's clerks, set by the installer with `tongban clerk set` into `<dataDir>/clerks.json` (0600).
public enum ClerkDirectory {
    static let fileName = "clerks.json"
    /// N = 2^14, r = 8: 16 MiB and some tens of milliseconds per try — cheap for a sign-in, costly for a guesser.
    static let costExponent = 14

    public static func path(dataDirectory: String) -> String { "\(dataDirectory)/\(fileName)" }

    /// The clerks on file (none when the file does not exist).
    public static func load(dataDirectory: String) throws(StoreError) -> [ClerkAccount] {
        let path = path(dataDirectory: dataDirectory)
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .storage(StorageError(call: "open", path: path, errno: errno))
        }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode([ClerkAccount].self, from: data)
        } catch { throw .database("read \(path)", "not a clerk list: \(error)") }
    }

    /// What is wrong with an id, name or PIN for a clerk (nil: fine). PINs: at least 6 digits, or a password of
    /// at least 8 characters.
    public static func problem(id: String, name: String, pin: String) -> String? {
        if id.isEmpty || id.utf8.count > 64 || !id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
            return "the clerk id must be 1 to 64 letters, digits, '-', '_' or '.'"
        }
        if name.trimmingCharacters(in: .whitespaces).isEmpty || name.utf8.count > 128 || TextChecks.hasControlCharacters(name) {
            return "the clerk's name must be given, at most 128 bytes, without control characters"
        }
        let digitsOnly = pin.allSatisfy(\.isNumber)
        if (digitsOnly && pin.count < 6) || (!digitsOnly && pin.count < 8) {
            return "the PIN must be at least 6 digits, or a password of at least 8 characters"
        }
        return nil
    }

    /// Adds a clerk or replaces one's name and PIN. Durable when it returns.
    public static func set(id: String, name: String, pin: String, dataDirectory: String, at time: Date = Date()) throws(StoreError) {
        let clerks = try load(dataDirectory: dataDirectory).filter { $0.id != id }
        try save(clerks + [try account(id: id, name: name, pin: pin, at: time)], dataDirectory: dataDirectory)
    }

    /// A clerk's account with a fresh salt and the PIN's hash (not saved).
    public static func account(id: String, name: String, pin: String, at time: Date = Date()) throws(StoreError) -> ClerkAccount {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hash = try derive(pin: pin, salt: salt, costExponent: costExponent)
        return ClerkAccount(id: id, name: name, salt: Data(salt).base64EncodedString(), hash: Data(hash).base64EncodedString(),
                            costExponent: costExponent, createdAt: time)
    }

    /// Removes a clerk; false when there was none of that id.
    public static func remove(id: String, dataDirectory: String) throws(StoreError) -> Bool {
        let clerks = try load(dataDirectory: dataDirectory)
        guard clerks.contains(where: { $0.id == id }) else { return false }
        try save(clerks.filter { $0.id != id }, dataDirectory: dataDirectory)
        return true
    }

    /// Whether `pin` is this clerk's, compared in constant time. Blocking (tens of milliseconds): call it off the
    /// cooperative pool.
    public static func verify(_ account: ClerkAccount, pin: String) -> Bool {
        guard let salt = Data(base64Encoded: account.salt), let expected = Data(base64Encoded: account.hash),
              let derived = try? derive(pin: pin, salt: Array(salt), costExponent: account.costExponent),
              derived.count == expected.count else { return false }
        return zip(derived, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func derive(pin: String, salt: [UInt8], costExponent: Int) throws(StoreError) -> [UInt8] {
        do {
            let key = try KDF.Scrypt.deriveKey(from: Array(pin.utf8), salt: salt, outputByteCount: 32,
                                               rounds: 1 << costExponent, blockSize: 8, parallelism: 1)
            return key.withUnsafeBytes { Array($0) }
        } catch { throw .database("derive PIN hash", "\(error)") }
    }

    private static func save(_ clerks: [ClerkAccount], dataDirectory: String) throws(StoreError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(clerks) } catch { throw .database("encode clerks", "\(error)") }
        do throws(StorageError) {
            try DurableFile.prepareDirectory(dataDirectory)
            try DurableFile.write(Array(data), to: path(dataDirectory: dataDirectory), permissions: 0o600)
        } catch { throw .storage(error) }
    }
}

