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
    /// The text recognised on it, kept for search and `GET /v1/attachments/{id}/text`.
    public var text: String?
    /// The QR codes and barcodes found on it, carried in its manifest.
    public var barcodes: [AttachmentBarcode] = []

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

    /// The longest file name, in UTF-8 bytes: the archive stores it as `<attachmentId>-<fileName>.sealed`, one path
    /// component of at most 255 bytes (36 + 1 + 200 + 7 = 244).
    public static let maximumFileNameBytes = 200
    /// The longest case number, in UTF-8 bytes: a folder of the archive.
    public static let maximumCaseNumberBytes = 128
    /// The longest material name, in UTF-8 bytes (it travels in every manifest and tus header).
    public static let maximumMaterialNameBytes = 256

    /// Every problem with the request at once (empty: fine).
    public var problems: [String] {
        var problems = Self.caseProblems(caseNumber: caseNumber, materialName: materialName)
        if let problem = Self.nameProblem(fileName, field: "fileName", maximumBytes: Self.maximumFileNameBytes) {
            problems.append(problem)
        } else if fileName.hasPrefix(".") {
            problems.append("fileName must not start with a dot")
        }
        if !contentType.contains("/") || Self.hasControlCharacters(contentType) { problems.append("contentType '\(contentType)' is not a media type") }
        if let pages, pages < 0 { problems.append("pages is negative") }
        for (field, value) in [("device", device), ("operator", `operator`)] {
            if let value, Self.hasControlCharacters(value) || value.utf8.count > 256 {
                problems.append("\(field) must be at most 256 bytes without control or direction characters")
            }
        }
        return problems
    }

    /// A file name made from a material's name (a scan's PDF): slashes, backslashes and control characters become
    /// `_`, leading dots go, and it is cut at a character boundary so that it, with `.ext`, fits the byte limit.
    public static func fileName(from material: String, extension ext: String) -> String {
        var name = String(material.map { $0 == "/" || $0 == "\\" || TextChecks.hasControlCharacters(String($0)) ? "_" : $0 })
        while name.hasPrefix(".") { name.removeFirst() }
        let room = maximumFileNameBytes - ext.utf8.count - 1
        while name.utf8.count > room { name.removeLast() }
        return (name.isEmpty ? "document" : name) + "." + ext
    }

    /// What is wrong with a case number and material name, for every request that makes an attachment.
    public static func caseProblems(caseNumber: String, materialName: String) -> [String] {
        var problems: [String] = []
        if caseNumber.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append("caseNumber is empty")
        } else if let problem = nameProblem(caseNumber, field: "caseNumber", maximumBytes: maximumCaseNumberBytes) {
            problems.append(problem)
        }
        if materialName.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append("materialName is empty")
        } else if hasControlCharacters(materialName) || materialName.utf8.count > maximumMaterialNameBytes {
            problems.append("materialName must be at most \(maximumMaterialNameBytes) bytes (UTF-8) without control or direction characters (line breaks, NUL, bidi marks, …)")
        }
        return problems
    }

    /// What is wrong with a name that becomes a path component (a file name, a case number's folder): empty, `.` or
    /// `..`, a slash or backslash, a control or direction character, or more than `maximumBytes` UTF-8 bytes — limits
    /// in bytes, since that is what the file system counts (a Chinese character is three).
    public static func nameProblem(_ name: String, field: String, maximumBytes: Int) -> String? {
        if name.isEmpty { return "\(field) is empty" }
        if name == "." || name == ".." { return "\(field) must not be '.' or '..'" }
        if name.contains(where: { $0 == "/" || $0 == "\\" }) { return "\(field) must not contain a slash or backslash" }
        if hasControlCharacters(name) {
            return "\(field) must not contain control or direction characters (line breaks, NUL, bidi marks, …)"
        }
        if name.utf8.count > maximumBytes {
            return "\(field) has \(name.utf8.count) bytes in UTF-8; at most \(maximumBytes) (a Chinese character takes 3)"
        }
        return nil
    }

    /// Whether `text` holds a control, separator or invisible format character (see `TextChecks`).
    public static func hasControlCharacters(_ text: String) -> Bool {
        TextChecks.hasControlCharacters(text)
    }
}

/// Takes in attachment files: streams them to disk while hashing, makes them durable, writes the manifest beside
/// them and records them in the store with their delivery queued — and only then answers. File I/O runs on a thread
/// of its own, never on the cooperative pool.
///
/// This is the one hand-off every device class uses (scanning, cameras, printing, assist, uploads): the attachment,
/// its outbox entry, its audit record and what it completes (a scan batch finished) commit in one transaction; then
/// `stored` runs once (the outbox is woken and `attachment.stored` published).
///
/// Layout: `<dataDir>/files/<yyyy-MM-dd>/<attachmentId>/content` with `manifest.json` next to it — the clerk's file
/// name lives only in the manifest, so no name can collide with the manifest or exceed a path limit. Identity items
/// (kinds `idcard` and `photo`) are sealed with the identity vault's key as they stream in (`content.sealed`):
/// no byte of them reaches the disk in clear, not even in `files/.incoming`.
public final class AttachmentIntake: Sendable {
    private let store: Store
    private let vault: IdentityVault
    private let counterID: String
    private let deliveryHold: TimeInterval
    private let thread = DedicatedThread(name: "attachment intake")
    private let retentionClass: @Sendable (AttachmentKind) -> String
    private let stored: @Sendable (AttachmentManifest) async -> Void

    /// - Parameter stored: runs once for every attachment recorded, after its transaction committed (the service
    ///   wakes the outbox and publishes `attachment.stored`).
    /// - Parameter deliveryHold: how long a new attachment waits before its first delivery attempt
    ///   (`caseCore.holdSeconds`: the clerk's window to delete a wrong capture).
    public init(store: Store, vault: IdentityVault, counterID: String, deliveryHold: TimeInterval = 0,
                retentionClass: @escaping @Sendable (AttachmentKind) -> String = { $0.rawValue },
                stored: @escaping @Sendable (AttachmentManifest) async -> Void = { _ in }) {
        self.deliveryHold = deliveryHold
        self.store = store
        self.vault = vault
        self.counterID = counterID
        self.retentionClass = retentionClass
        self.stored = stored
    }

    deinit { thread.stop() }

    /// The name of the stored file inside its attachment's folder.
    static let contentName = "content"

    /// Where half-received attachments are written: swept at every start.
    var incomingDirectory: String { "\(store.filesDirectory)/.incoming" }

    /// An attachment being received. Append its bytes, then `finish`; `abandon` removes a half-received one.
    public final class Incoming: @unchecked Sendable {
        /// The attachment id the file will be recorded under.
        public let id: String
        let temporaryPath: String
        let descriptor: Int32
        /// Set for identity items: the bytes are sealed before they are written.
        var sealer: SealingStream?
        var hasher = SHA256()
        var size = 0
        private var open = true

        /// Closes the temporary file's descriptor once (finish and abandon may both get there).
        func close() {
            guard open else { return }
            open = false
            _ = Glibc.close(descriptor)
        }

        init(id: String, temporaryPath: String, descriptor: Int32, sealer: SealingStream?) {
            self.id = id
            self.temporaryPath = temporaryPath
            self.descriptor = descriptor
            self.sealer = sealer
        }
    }

    /// Starts receiving a new attachment (a temporary file in `files/.incoming`), sealed as it streams in when it is
    /// of an identity kind.
    public func begin(kind: AttachmentKind) async throws(StorageError) -> Incoming {
        let directory = incomingDirectory, vault = vault
        return try await thread.perform { () throws(StorageError) -> Incoming in
            try DurableFile.prepareDirectory(directory)
            let id = UUID().uuidString.lowercased()
            let path = "\(directory)/\(id)"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw StorageError(call: "open", path: path, errno: errno) }
            let sealer: SealingStream?
            do { sealer = kind.holdsIdentity ? try vault.sealingStream(context: id) : nil } catch {
                close(descriptor)
                unlink(path)
                throw StorageError(call: "seal (\(error))", path: path, errno: EIO)
            }
            return Incoming(id: id, temporaryPath: path, descriptor: descriptor, sealer: sealer)
        }
    }

    /// Appends bytes to the attachment being received.
    public func append(_ bytes: [UInt8], to incoming: Incoming) async throws(StoreError) {
        try await thread.perform { () throws(StoreError) in
            incoming.hasher.update(data: bytes)
            incoming.size += bytes.count
            let written = try incoming.sealer?.append(bytes) ?? bytes
            do throws(StorageError) { try DurableFile.writeAll(written, to: incoming.descriptor, path: incoming.temporaryPath) } catch { throw .storage(error) }
        }
    }

    /// Makes the file durable, moves it into place, writes the manifest and records the attachment with its delivery
    /// queued — together with `completing`, in one transaction. When this returns the attachment survives a crash or
    /// power loss; on error nothing is recorded and nothing is left on disk.
    public func finish(_ incoming: Incoming, _ request: AttachmentRequest, capturedAt: Date = Date(),
                       completing completion: AttachmentCompletion? = nil) async throws(StoreError) -> AttachmentManifest {
        try await finish([(incoming, request)], capturedAt: capturedAt, completing: completion)[0]
    }

    /// Several attachments made of one capture — the materials of a feeder batch split by separator sheets — finished
    /// as one: every file durable and in place with its manifest, then all recorded with `completing` in one
    /// transaction. All or none survive a crash; on error nothing is recorded and nothing is left on disk.
    public func finish(_ parts: [(incoming: Incoming, request: AttachmentRequest)], capturedAt: Date = Date(),
                       completing completion: AttachmentCompletion? = nil) async throws(StoreError) -> [AttachmentManifest] {
        guard let firstRequest = parts.first?.request else { return [] }
        let store = self.store, counterID = self.counterID, hold = deliveryHold
        // The audit log names who asked, as their credential proved it; the manifest's operator (经办人) is who the
        // request names, or else the signed-in person.
        let caller = Caller.current
        let auditActor = caller.auditActor(claimed: firstRequest.operator, fallback: counterID)
        let retentions = parts.map { retentionClass($0.request.kind) }
        let manifests = try await thread.perform { () throws(StoreError) -> [AttachmentManifest] in
            defer { for part in parts { part.incoming.close() } }
            var placed: [Store.NewAttachment] = []
            var directories: [String] = []
            do throws(StoreError) {
                for (index, part) in parts.enumerated() {
                    let (incoming, request) = part
                    let digest = incoming.hasher.finalize().map { String(format: "%02x", $0) }.joined()
                    var manifest = AttachmentManifest(
                        attachmentId: incoming.id, caseNumber: request.caseNumber, materialName: request.materialName, kind: request.kind,
                        contentType: request.contentType, sha256: digest, size: incoming.size, pages: request.pages, device: request.device,
                        counterId: counterID, operator: request.operator ?? caller.personName, capturedAt: capturedAt,
                        retentionClass: retentions[index], fileName: request.fileName)
                    manifest.barcodes = request.barcodes.isEmpty ? nil : request.barcodes
                    let day = "\(store.filesDirectory)/\(Self.day(capturedAt))"
                    let directory = "\(day)/\(incoming.id)"
                    directories.append(directory)
                    let sealed = incoming.sealer != nil
                    let file = AttachmentFile(path: "\(directory)/\(Self.contentName)" + (sealed ? AttachmentFile.sealedSuffix : ""), encrypted: sealed)
                    if let tail = try incoming.sealer?.finish() {
                        do throws(StorageError) { try DurableFile.writeAll(tail, to: incoming.descriptor, path: incoming.temporaryPath) } catch { throw .storage(error) }
                    }
                    do throws(StorageError) {
                        try DurableFile.prepareDirectory(day)
                        try DurableFile.prepareDirectory(directory)
                        try DurableFile.syncDirectory(day)
                        guard fsync(incoming.descriptor) == 0 else { throw StorageError(call: "fsync", path: incoming.temporaryPath, errno: errno) }
                        guard rename(incoming.temporaryPath, file.path) == 0 else { throw StorageError(call: "rename", path: file.path, errno: errno) }
                        try DurableFile.syncDirectory(directory)
                        try DurableFile.syncDirectory(self.incomingDirectory)
                    } catch { throw .storage(error) }
                    CrashPoint.reach("attachment.file-in-place")
                    let manifestJSON: Data
                    do { manifestJSON = try JSONEncoder.tongban.encode(manifest) } catch { throw .database("encode manifest", "\(error)") }
                    do throws(StorageError) { try DurableFile.write(Array(manifestJSON), to: "\(directory)/manifest.json") } catch { throw .storage(error) }
                    CrashPoint.reach("attachment.manifest-written")
                    // Text read off an identity item would be identity data in clear: never kept.
                    placed.append(Store.NewAttachment(manifest: manifest, file: file, text: request.kind.holdsIdentity ? nil : request.text))
                }
                try store.addAttachments(placed, actor: auditActor, at: capturedAt, completing: completion,
                                         deliverAfter: hold > 0 ? Date().addingTimeInterval(hold) : nil)
            } catch {
                for part in parts { unlink(part.incoming.temporaryPath) }
                for directory in directories { Self.removeTree(directory) }
                throw error
            }
            return placed.map(\.manifest)
        }
        CrashPoint.reach("attachment.recorded")
        for manifest in manifests { await stored(manifest) }
        return manifests
    }

    /// Throws away an attachment that was not received whole.
    public func abandon(_ incoming: Incoming) async {
        await thread.perform {
            incoming.close()
            unlink(incoming.temporaryPath)
        }
    }

    /// Stores a whole attachment from memory (forms, photos, small captures).
    public func store(_ bytes: [UInt8], _ request: AttachmentRequest, capturedAt: Date = Date(),
                      completing completion: AttachmentCompletion? = nil) async throws(StoreError) -> AttachmentManifest {
        let incoming: Incoming
        do throws(StorageError) { incoming = try await begin(kind: request.kind) } catch { throw .storage(error) }
        do { try await append(bytes, to: incoming) } catch {
            await abandon(incoming)
            throw error
        }
        return try await finish(incoming, request, capturedAt: capturedAt, completing: completion)
    }

    /// Removes what a crash left of attachments that were never acknowledged: everything in `files/.incoming`, and
    /// every attachment folder the store has no record of (its transaction never committed), with the half-written
    /// temporaries of durable writes. Run once at start, before anything is taken in. Returns what was removed.
    @discardableResult
    public func sweepUnacknowledged() async throws(StoreError) -> [String] {
        let store = store, incomingDirectory = incomingDirectory
        return try await thread.perform { () throws(StoreError) -> [String] in
            let files = FileManager.default
            var removed: [String] = []
            for name in (try? files.contentsOfDirectory(atPath: incomingDirectory)) ?? [] {
                unlink("\(incomingDirectory)/\(name)")
                removed.append("\(incomingDirectory)/\(name)")
            }
            var folders: [String: String] = [:]
            for day in (try? files.contentsOfDirectory(atPath: store.filesDirectory)) ?? [] where !day.hasPrefix(".") {
                for id in (try? files.contentsOfDirectory(atPath: "\(store.filesDirectory)/\(day)")) ?? [] {
                    folders[id] = "\(store.filesDirectory)/\(day)/\(id)"
                }
            }
            let recorded = try store.liveAttachmentIDs(among: Set(folders.keys))
            for (id, folder) in folders {
                if recorded.contains(id) {
                    for name in (try? files.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".") && name.hasSuffix(".tmp") {
                        unlink("\(folder)/\(name)")
                        removed.append("\(folder)/\(name)")
                    }
                } else {
                    Self.removeTree(folder)
                    removed.append(folder)
                }
            }
            return removed
        }
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
