import AsyncHTTPClient
import Crypto
import Foundation
import Glibc
import NIOCore
import Store
import TongbanCore

/// Keeps what the case core confirmed, the moment it is known (so a restart resumes instead of restarting).
public struct DeliveryProgress: Sendable {
    public var uploadCreated: @Sendable (String) async throws(StoreError) -> Void
    public var confirmed: @Sendable (Int) async throws(StoreError) -> Void

    public init(uploadCreated: @escaping @Sendable (String) async throws(StoreError) -> Void,
                confirmed: @escaping @Sendable (Int) async throws(StoreError) -> Void) {
        self.uploadCreated = uploadCreated
        self.confirmed = confirmed
    }
}

/// Where attachments are delivered: the case core over tus, or the local archive folder.
public protocol DeliverySink: Sendable {
    /// For logs and `/v1/outbox`, e.g. the endpoint.
    var name: String { get }
    /// Delivers one attachment, resuming what `entry` says was already sent. Returns a receipt for the audit log.
    func deliver(_ entry: OutboxEntry, manifest: AttachmentManifest, file: AttachmentContent, progress: DeliveryProgress) async throws(DeliveryError) -> String
    /// Withdraws what was sent of a cancelled attachment (tus termination).
    func withdraw(_ entry: OutboxEntry) async throws(DeliveryError)
}

extension DeliverySink {
    /// Withdraws a cancelled attachment's partial upload; nothing to do for sinks without one.
    public func withdraw(_ entry: OutboxEntry) async throws(DeliveryError) {}
}

/// An attachment's bytes as the sinks read them: plain files in place, sealed ones opened with the vault's key.
public struct AttachmentContent: Sendable {
    public var attachmentId: String
    public var file: AttachmentFile
    public var vault: IdentityVault?

    public init(attachmentId: String, file: AttachmentFile, vault: IdentityVault?) {
        self.attachmentId = attachmentId
        self.file = file
        self.vault = vault
    }
}

/// Reads attachment files in chunks on a thread of its own. A sealed file is opened once and kept (only on that
/// thread) while its chunks are asked for, not decrypted again for every chunk.
final class ChunkReader: @unchecked Sendable {
    private let thread = DedicatedThread(name: "delivery reader")
    /// The last sealed attachment opened; touched only on `thread`.
    private var opened: (attachmentId: String, plain: [UInt8])?

    deinit { thread.stop() }

    func read(_ content: AttachmentContent, offset: Int, count: Int) async throws(DeliveryError) -> [UInt8] {
        try await thread.perform { () throws(DeliveryError) -> [UInt8] in try self.readHere(content, offset: offset, count: count) }
    }

    /// Other blocking file work of a sink (folders, manifests), on the same thread.
    func perform(_ body: @escaping @Sendable () throws(DeliveryError) -> Void) async throws(DeliveryError) {
        try await thread.perform(body)
    }

    /// Copies the attachment durably to `target` in chunks, checking its SHA-256 before the copy takes the name.
    func copy(_ content: AttachmentContent, size: Int, sha256: String, to target: String, chunkSize: Int = 4 << 20) async throws(DeliveryError) {
        try await thread.perform { () throws(DeliveryError) in
            do {
                try DurableFile.write(to: target, permissions: 0o640) { append in
                    var hasher = SHA256()
                    var offset = 0
                    while offset < size {
                        let bytes = try self.readHere(content, offset: offset, count: min(chunkSize, size - offset))
                        hasher.update(data: bytes)
                        try append(bytes)
                        offset += bytes.count
                    }
                    let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                    guard digest == sha256 else {
                        throw DeliveryError.localFile("\(content.file.path) no longer matches its SHA-256 (\(digest) ≠ \(sha256))")
                    }
                }
            } catch let error as DeliveryError {
                throw error
            } catch {
                throw .transient("archive: \(error)", retryAfter: nil)
            }
        }
    }

    /// Copies a sealed attachment durably to `target` as it is sealed, after checking that it opens with the vault's
    /// key and that its plain bytes match their SHA-256.
    func copySealed(_ content: AttachmentContent, sha256: String, to target: String) async throws(DeliveryError) {
        try await thread.perform { () throws(DeliveryError) in
            let path = content.file.path
            guard let sealed = FileManager.default.contents(atPath: path) else {
                throw .localFile("open(\(path)) failed: \(String(cString: strerror(errno)))")
            }
            let plain = try self.openSealed(content)
            let digest = SHA256.hash(data: plain).map { String(format: "%02x", $0) }.joined()
            guard digest == sha256 else {
                throw .localFile("\(path) no longer matches its SHA-256 (\(digest) ≠ \(sha256))")
            }
            do { try DurableFile.write(Array(sealed), to: target, permissions: 0o640) } catch {
                throw .transient("archive: \(error)", retryAfter: nil)
            }
        }
    }

    private func readHere(_ content: AttachmentContent, offset: Int, count: Int) throws(DeliveryError) -> [UInt8] {
        let path = content.file.path
        if content.file.encrypted {
            let plain = try openSealed(content)
            guard offset + count <= plain.count else { throw .localFile("\(path) is shorter than its manifest says") }
            return Array(plain[offset..<offset + count])
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .localFile("open(\(path)) failed: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes[filled...].withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset + filled)) }
            if got < 0 {
                if errno == EINTR { continue }
                throw .localFile("pread(\(path)) failed: \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            filled += got
        }
        guard filled == count else { throw .localFile("\(path) is shorter than its manifest says (\(offset + filled) bytes)") }
        return bytes
    }

    private func openSealed(_ content: AttachmentContent) throws(DeliveryError) -> [UInt8] {
        let path = content.file.path
        guard let vault = content.vault else { throw .localFile("\(path) is sealed and no identity vault is open") }
        if let opened, opened.attachmentId == content.attachmentId { return opened.plain }
        guard let sealed = FileManager.default.contents(atPath: path) else {
            throw .localFile("open(\(path)) failed: \(String(cString: strerror(errno)))")
        }
        do {
            let plain = try vault.open(Array(sealed), context: content.attachmentId)
            opened = (content.attachmentId, plain)
            return plain
        } catch { throw .localFile("\(error)") }
    }
}

/// Delivers over tus 1.0: creates the upload (the attachment id and the manifest in `Upload-Metadata`), keeps its
/// URL at once, resumes from the server's offset (HEAD) and sends chunks, with a checksum when the server offers one.
public struct TusSink: DeliverySink {
    public let client: TusClient
    public let chunkSize: Int
    private let reader = ChunkReader()
    /// The server's OPTIONS answer, asked for once (again only while it could not be had).
    private let capabilities = CapabilitiesCache()

    final class CapabilitiesCache: @unchecked Sendable {
        private let lock = NSLock()
        private var known: TusClient.Capabilities?
        var value: TusClient.Capabilities? {
            get { lock.withLock { known } }
            set { lock.withLock { known = newValue } }
        }
    }

    private func knownCapabilities() async -> TusClient.Capabilities? {
        if let known = capabilities.value { return known }
        let asked = try? await client.capabilities()
        capabilities.value = asked
        return asked
    }

    public init(client: TusClient, chunkSize: Int) {
        self.client = client
        self.chunkSize = chunkSize
    }

    public var name: String { client.endpoint.absoluteString }

    public func deliver(_ entry: OutboxEntry, manifest: AttachmentManifest, file: AttachmentContent, progress: DeliveryProgress) async throws(DeliveryError) -> String {
        let capabilities = await knownCapabilities()
        let checksummed = capabilities?.extensions.contains("checksum") == true && capabilities?.checksumAlgorithms.contains("sha1") == true
        if let maxSize = capabilities?.maxSize, maxSize > 0, manifest.size > maxSize {
            throw .permanent("the attachment has \(manifest.size) bytes; the case core takes at most \(maxSize) (Tus-Max-Size)")
        }
        var upload: URL
        var offset: Int
        if let known = entry.uploadURL.flatMap(URL.init(string:)), let state = try await client.offset(of: known) {
            upload = known
            offset = state.offset
        } else {
            if entry.uploadURL != nil && entry.offset >= manifest.size {
                // The server finished this upload and dropped its state: our last chunk was confirmed.
                return "tus \(entry.uploadURL ?? "") (completed earlier)"
            }
            do {
                upload = try await client.create(length: manifest.size, metadata: Self.metadata(manifest))
            } catch .duplicate {
                // The attachment id is the receiver's dedupe key: it already holds this attachment whole.
                return "tus \(name) already holds \(manifest.attachmentId)"
            }
            offset = 0
            do { try await progress.uploadCreated(upload.absoluteString) } catch {
                throw .transient("cannot keep the upload URL: \(error)", retryAfter: nil)
            }
        }
        // While one chunk is on the wire the next is read and the previous confirmation is written down: the
        // link stays busy. (A confirmation not yet written only costs a chunk's re-send after a crash: the server's
        // offset, asked for with HEAD, decides where a resumed upload goes on.)
        let reader = self.reader, size = manifest.size, chunkSize = self.chunkSize
        func read(at start: Int) -> Task<[UInt8], any Error>? {
            guard start < size else { return nil }
            return Task { try await reader.read(file, offset: start, count: min(chunkSize, size - start)) }
        }
        var nextChunk = read(at: offset)
        var keeping: Task<Void, any Error>?
        while let reading = nextChunk {
            let bytes: [UInt8]
            do { bytes = try await reading.value } catch let error as DeliveryError { throw error } catch {
                throw .localFile("\(error)")
            }
            nextChunk = read(at: offset + bytes.count)
            let checksum = checksummed ? "sha1 " + Data(Insecure.SHA1.hash(data: bytes)).base64EncodedString() : nil
            let next: Int
            do { next = try await client.patch(upload, offset: offset, chunk: ByteBuffer(bytes: bytes), checksum: checksum) } catch {
                nextChunk?.cancel()
                throw error
            }
            guard next > offset, next <= size else {
                nextChunk?.cancel()
                throw .transient("case core confirmed offset \(next) after \(bytes.count) bytes from \(offset)", retryAfter: nil)
            }
            if next != offset + bytes.count {
                // The server kept only part of the chunk: go on from where it stands.
                nextChunk?.cancel()
                nextChunk = read(at: next)
            }
            offset = next
            do { try await keeping?.value } catch {
                nextChunk?.cancel()
                throw .transient("cannot keep the confirmed offset: \(error)", retryAfter: nil)
            }
            keeping = Task { [offset] in try await progress.confirmed(offset) }
        }
        do { try await keeping?.value } catch {
            throw .transient("cannot keep the confirmed offset: \(error)", retryAfter: nil)
        }
        return "tus \(upload.absoluteString)"
    }

    /// tus termination of the partial upload, so the case core does not keep half an attachment.
    public func withdraw(_ entry: OutboxEntry) async throws(DeliveryError) {
        guard let upload = entry.uploadURL.flatMap(URL.init(string:)) else { return }
        try await client.terminate(upload)
    }

    /// The manifest as tus metadata (`AttachmentManifest.metadataPairs`) and, under `sm`, its signature.
    static func metadata(_ manifest: AttachmentManifest) -> [(String, String)] {
        manifest.metadataPairs + (manifest.signature?.metadataPairs ?? [])
    }
}

/// The embedded default without a case core: copies each attachment to `<archive>/<yyyy-MM-dd>/<case>/` as
/// `<attachmentId>-<fileName>` with `<attachmentId>.json` (the manifest), durably. Delivering twice finds the copy.
/// Identity kinds stay sealed there (`<attachmentId>-<fileName>.sealed`, `"sealed": true` in the manifest): the
/// archive folder is often a share, and an ID-card picture must not lie in it in clear; `tongban archive export`
/// opens one, audited, for the rare hall that needs the plain file.
public struct LocalArchiveSink: DeliverySink {
    public let directory: String
    private let reader = ChunkReader()

    public init(directory: String) {
        self.directory = directory
    }

    public var name: String { "archive \(directory)" }

    public func deliver(_ entry: OutboxEntry, manifest: AttachmentManifest, file: AttachmentContent, progress: DeliveryProgress) async throws(DeliveryError) -> String {
        let day = "\(directory)/\(AttachmentIntake.day(manifest.capturedAt))"
        let folder = "\(day)/\(manifest.caseNumber)"
        let sealed = file.file.encrypted
        let target = "\(folder)/\(manifest.attachmentId)-\(manifest.fileName)" + (sealed ? AttachmentFile.sealedSuffix : "")
        var archived = manifest
        archived.sealed = sealed ? true : nil
        let manifestJSON: [UInt8]
        do { manifestJSON = Array(try JSONEncoder.tongban.encode(archived)) } catch { throw .localFile("manifest: \(error)") }
        let directory = self.directory
        try await reader.perform { () throws(DeliveryError) in
            do {
                for folder in [directory, day, folder] { try DurableFile.prepareDirectory(folder) }
            } catch { throw .transient("archive: \(error)", retryAfter: nil) }
        }
        // Copied in chunks (sealed files as they are, once they open and match), hash checked before the copy takes its name.
        if sealed {
            try await reader.copySealed(file, sha256: manifest.sha256, to: target)
        } else {
            try await reader.copy(file, size: manifest.size, sha256: manifest.sha256, to: target)
        }
        try await reader.perform { () throws(DeliveryError) in
            do { try DurableFile.write(manifestJSON, to: "\(folder)/\(manifest.attachmentId).json", permissions: 0o640) } catch {
                throw .transient("archive: \(error)", retryAfter: nil)
            }
        }
        return "archive \(target)"
    }
}
