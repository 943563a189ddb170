import Crypto
import Foundation
import Glibc
import Store
import TongbanCore

/// What the capturing side says about a new attachment.
public struct AttachmentRequest: Sendable {
    public var caseNumber: String
    public var materialName: String
    public var kind: AttachmentKind
    public var contentType: String
    public var fileName: String
    public var pages: Int?
    public var device: String?
    public var `operator`: String?

    public init(caseNumber: String, materialName: String, kind: AttachmentKind, contentType: String, fileName: String,
                pages: Int? = nil, device: String? = nil, operator: String? = nil) {
        self.caseNumber = caseNumber
        self.materialName = materialName
        self.kind = kind
        self.contentType = contentType
        self.fileName = fileName
        self.pages = pages
        self.device = device
        self.operator = `operator`
    }

    /// Every problem with the request at once (empty: fine).
    public var problems: [String] {
        var problems = Self.caseProblems(caseNumber: caseNumber, materialName: materialName)
        if fileName.isEmpty || fileName.hasPrefix(".") || fileName.contains("/") || fileName.count > 128 {
            problems.append("fileName must be a plain file name (no folders, not starting with a dot, at most 128 characters)")
        }
        if !contentType.contains("/") { problems.append("contentType '\(contentType)' is not a media type") }
        if let pages, pages < 0 { problems.append("pages is negative") }
        return problems
    }

    /// What is wrong with a case number and material name, for every request that makes an attachment.
    public static func caseProblems(caseNumber: String, materialName: String) -> [String] {
        var problems: [String] = []
        if caseNumber.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("caseNumber is empty") }
        if caseNumber.count > 64 || caseNumber.contains(where: { $0 == "/" || $0 == "\\" }) || hasControlCharacters(caseNumber) {
            problems.append("caseNumber must be at most 64 characters without slashes or control characters (line breaks, NUL, …)")
        }
        if materialName.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("materialName is empty") }
        if hasControlCharacters(materialName) { problems.append("materialName must not contain control characters (line breaks, NUL, …)") }
        return problems
    }

    /// Whether `text` holds a C0/C1 control character — which the case core's metadata and the video server's JSON
    /// (NUL) refuse, and which no case number or material name has.
    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}

/// Takes in attachment files: streams them to disk while hashing, makes them durable, writes the manifest beside
/// them and records them in the store with their delivery queued — and only then answers. File I/O runs on a thread
/// of its own, never on the cooperative pool.
///
/// Layout: `<dataDir>/files/<yyyy-MM-dd>/<attachmentId>/<fileName>` and `manifest.json` next to it. Identity items
/// (kinds `idcard` and `photo`) are sealed with the identity vault's key instead: `<fileName>.sealed`.
public final class AttachmentIntake: Sendable {
    private let store: Store
    private let vault: IdentityVault
    private let counterID: String
    private let thread = DedicatedThread(name: "attachment intake")
    private let retentionClass: @Sendable (AttachmentKind) -> String

    public init(store: Store, vault: IdentityVault, counterID: String,
                retentionClass: @escaping @Sendable (AttachmentKind) -> String = { $0.rawValue }) {
        self.store = store
        self.vault = vault
        self.counterID = counterID
        self.retentionClass = retentionClass
    }

    deinit { thread.stop() }

    /// An attachment being received. Append its bytes, then `finish`; `abandon` removes a half-received one.
    public final class Incoming: @unchecked Sendable {
        let id: String
        let temporaryPath: String
        let descriptor: Int32
        var hasher = SHA256()
        var size = 0

        init(id: String, temporaryPath: String, descriptor: Int32) {
            self.id = id
            self.temporaryPath = temporaryPath
            self.descriptor = descriptor
        }
    }

    /// Starts receiving a new attachment (a temporary file in `files/.incoming`).
    public func begin() async throws(StorageError) -> Incoming {
        let directory = "\(store.filesDirectory)/.incoming"
        return try await thread.perform { () throws(StorageError) -> Incoming in
            try DurableFile.prepareDirectory(directory)
            let id = UUID().uuidString.lowercased()
            let path = "\(directory)/\(id)"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw StorageError(call: "open", path: path, errno: errno) }
            return Incoming(id: id, temporaryPath: path, descriptor: descriptor)
        }
    }

    /// Appends bytes to the attachment being received.
    public func append(_ bytes: [UInt8], to incoming: Incoming) async throws(StorageError) {
        try await thread.perform { () throws(StorageError) in
            incoming.hasher.update(data: bytes)
            incoming.size += bytes.count
            try DurableFile.writeAll(bytes, to: incoming.descriptor, path: incoming.temporaryPath)
        }
    }

    /// Makes the file durable, moves it into place, writes the manifest and records the attachment with its delivery
    /// queued. When this returns the attachment survives a crash or power loss; on error nothing is recorded.
    public func finish(_ incoming: Incoming, _ request: AttachmentRequest, capturedAt: Date = Date()) async throws(StoreError) -> AttachmentManifest {
        let store = self.store, vault = self.vault, counterID = self.counterID, retention = retentionClass(request.kind)
        return try await thread.perform { () throws(StoreError) -> AttachmentManifest in
            defer { close(incoming.descriptor) }
            let digest = incoming.hasher.finalize().map { String(format: "%02x", $0) }.joined()
            let manifest = AttachmentManifest(
                attachmentId: incoming.id, caseNumber: request.caseNumber, materialName: request.materialName, kind: request.kind,
                contentType: request.contentType, sha256: digest, size: incoming.size, pages: request.pages, device: request.device,
                counterId: counterID, operator: request.operator, capturedAt: capturedAt, retentionClass: retention,
                fileName: request.fileName)
            let day = Self.day(capturedAt)
            let directory = "\(store.filesDirectory)/\(day)/\(incoming.id)"
            let sealed = request.kind.holdsIdentity
            let file = AttachmentFile(path: "\(directory)/\(request.fileName)" + (sealed ? AttachmentFile.sealedSuffix : ""), encrypted: sealed)
            do {
                try DurableFile.prepareDirectory("\(store.filesDirectory)/\(day)")
                try DurableFile.prepareDirectory(directory)
                try DurableFile.syncDirectory("\(store.filesDirectory)/\(day)")
                if sealed {
                    // Identity items never reach the disk in clear beyond the temporary file, which goes now.
                    guard let plain = FileManager.default.contents(atPath: incoming.temporaryPath) else {
                        throw StorageError(call: "read", path: incoming.temporaryPath, errno: errno)
                    }
                    unlink(incoming.temporaryPath)
                    try DurableFile.write(try vault.seal(Array(plain), context: incoming.id), to: file.path)
                } else {
                    guard fsync(incoming.descriptor) == 0 else { throw StorageError(call: "fsync", path: incoming.temporaryPath, errno: errno) }
                    guard rename(incoming.temporaryPath, file.path) == 0 else { throw StorageError(call: "rename", path: file.path, errno: errno) }
                }
                try DurableFile.syncDirectory(directory)
                try DurableFile.syncDirectory("\(store.filesDirectory)/.incoming")
                try DurableFile.write(Array(try JSONEncoder.tongban.encode(manifest)), to: "\(directory)/manifest.json")
            } catch let error as StorageError {
                unlink(incoming.temporaryPath)
                Self.removeTree(directory)
                throw .storage(error)
            } catch let error as StoreError {
                unlink(incoming.temporaryPath)
                Self.removeTree(directory)
                throw error
            } catch {
                unlink(incoming.temporaryPath)
                Self.removeTree(directory)
                throw .database("encode manifest", "\(error)")
            }
            do throws(StoreError) {
                try store.addAttachment(manifest, file: file, actor: request.operator ?? counterID, at: capturedAt)
            } catch {
                Self.removeTree(directory)
                throw error
            }
            return manifest
        }
    }

    /// Throws away an attachment that was not received whole.
    public func abandon(_ incoming: Incoming) async {
        await thread.perform {
            close(incoming.descriptor)
            unlink(incoming.temporaryPath)
        }
    }

    /// Stores a whole attachment from memory (forms, photos, small captures).
    public func store(_ bytes: [UInt8], _ request: AttachmentRequest, capturedAt: Date = Date()) async throws(StoreError) -> AttachmentManifest {
        let incoming: Incoming
        do {
            incoming = try await begin()
            try await append(bytes, to: incoming)
        } catch { throw .storage(error) }
        return try await finish(incoming, request, capturedAt: capturedAt)
    }

    /// An attachment's bytes as captured (identity items unsealed) with its manifest; nil if there is no such attachment.
    public func contents(of attachmentId: String) async throws(StoreError) -> (manifest: AttachmentManifest, bytes: [UInt8])? {
        let store = store, vault = vault
        return try await thread.perform { () throws(StoreError) -> (manifest: AttachmentManifest, bytes: [UInt8])? in
            guard let (manifest, file) = try store.attachment(id: attachmentId) else { return nil }
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw .storage(StorageError(call: "open", path: file.path, errno: errno))
            }
            return (manifest, file.encrypted ? try vault.open(Array(data), context: attachmentId) : Array(data))
        }
    }

    private static func removeTree(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `yyyy-MM-dd` in local time: the day folder.
    static func day(_ date: Date) -> String {
        let parts = Calendar.current.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}
