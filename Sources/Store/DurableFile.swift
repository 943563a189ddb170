import Foundation
import Glibc
import TongbanCore

/// A failed file-system call while making data durable, naming the call, the path and the errno.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var path: String
    public var errno: Int32

    public init(call: String, path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(call)(\(path)) failed: \(String(cString: strerror(errno)))" }
}

extension StorageError: ProblemConvertible {
    public var problem: Problem {
        switch errno {
        case ENOSPC, EDQUOT:
            return Problem(code: "disk-full", status: 507, title: "磁盘已满 Disk full", detail: description,
                           remedy: "清理数据目录所在磁盘后重试；已保存的内容不受影响。Free space on the data disk and retry; what is already stored is intact.")
        case EACCES, EPERM, EROFS, ENOTDIR:
            return Problem(code: "data-dir-not-writable", status: 500, title: "数据目录不可写 Data folder not writable",
                           detail: description,
                           remedy: "让服务用户可写该目录（chown tongban），或在配置中换一个 dataDir。Make the folder writable by the service user or choose another dataDir.")
        default:
            return Problem(code: "storage-error", status: 500, title: "存储错误 Storage error", detail: description,
                           remedy: "检查磁盘后重试。Check the disk and retry.")
        }
    }
}

/// Writes files so that a crash at any moment leaves either the old file or the whole new one:
/// temp file → write → fsync → rename → fsync the folder.
public enum DurableFile {
    /// Writes `bytes` to `path` durably. Creates the file 0600 (personal data may be inside).
    public static func write(_ bytes: some Collection<UInt8>, to path: String, permissions: mode_t = 0o600) throws(StorageError) {
        do {
            try write(to: path, permissions: permissions) { append in try append(Array(bytes)) }
        } catch let error as StorageError {
            throw error
        } catch {
            preconditionFailure("only storage errors are thrown here: \(error)")
        }
    }

    /// Writes a file durably from pieces (a copy too large to hold in memory): `fill` appends them in order; when it
    /// returns the file is fsynced and renamed into place. If `fill` throws, nothing replaces `path` and its error
    /// is rethrown; failed file calls throw `StorageError`.
    public static func write(to path: String, permissions: mode_t = 0o600,
                             _ fill: (_ append: ([UInt8]) throws(StorageError) -> Void) throws -> Void) throws {
        let directory = (path as NSString).deletingLastPathComponent
        // The temporary name does not repeat the file name: a name near the 255-byte limit must still fit.
        let temporary = "\(directory)/.\(UUID().uuidString).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw StorageError(call: "open", path: temporary, errno: Glibc.errno) }
        var succeeded = false
        defer {
            if !succeeded { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            try fill { (bytes: [UInt8]) throws(StorageError) in try writeAll(bytes, to: fd, path: temporary) }
            guard fsync(fd) == 0 else { throw StorageError(call: "fsync", path: temporary, errno: Glibc.errno) }
        }
        guard rename(temporary, path) == 0 else { throw StorageError(call: "rename", path: path, errno: Glibc.errno) }
        succeeded = true
        try syncDirectory(directory)
    }

    /// Writes all of `bytes` to an open descriptor, retrying short writes and EINTR; `path` names it in errors.
    public static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            let result = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if result < 0 {
                if Glibc.errno == EINTR { continue }
                throw StorageError(call: "write", path: path, errno: Glibc.errno)
            }
            offset += result
        }
    }

    /// fsyncs a folder so a rename or a new file in it survives a power loss.
    public static func syncDirectory(_ directory: String) throws(StorageError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(call: "open", path: directory, errno: Glibc.errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StorageError(call: "fsync", path: directory, errno: Glibc.errno) }
    }

    /// Creates a folder (and parents) with the given mode if it does not exist, and checks it is writable.
    public static func prepareDirectory(_ directory: String, permissions: mode_t = 0o700) throws(StorageError) {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            let parent = (directory as NSString).deletingLastPathComponent
            if !parent.isEmpty, parent != directory { try prepareDirectory(parent, permissions: 0o755) }
            if mkdir(directory, permissions) != 0, Glibc.errno != EEXIST {
                throw StorageError(call: "mkdir", path: directory, errno: Glibc.errno)
            }
        } else if !isDirectory.boolValue {
            throw StorageError(call: "mkdir", path: directory, errno: ENOTDIR)
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw StorageError(call: "access", path: directory, errno: Glibc.errno)
        }
    }
}
