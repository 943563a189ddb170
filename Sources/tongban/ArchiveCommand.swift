import ArgumentParser
import Foundation
import Store
import TongbanCore

struct ArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive", abstract: "The local archive (delivery without a case core).", subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Writes the plain file of a sealed identity item from the local archive (audited; run as the service user).")

        @OptionGroup var options: ConfigurationOptions

        @Argument(help: "The archived file, <attachmentId>-<name>.sealed.")
        var file: String

        @Option(name: .long, help: "Where to write the plain file (created 0600; must not exist).")
        var out: String

        @Option(name: .long, help: "Who exports it, for the audit log.")
        var `operator`: String

        @Option(name: .long, help: "Why (for the audit log).")
        var reason: String

        func run() throws {
            let configuration = options.load()
            let name = (file as NSString).lastPathComponent
            let attachmentId = String(name.prefix(36))
            guard name.hasSuffix(AttachmentFile.sealedSuffix), UUID(uuidString: attachmentId) != nil else {
                fail(Problem(code: "not-sealed-archive-file", status: 400, title: "不是加密归档文件 Not a sealed archive file",
                             detail: "\(file) is not named <attachmentId>-<name>.sealed", remedy: "Give a .sealed file from the archive folder."))
            }
            for (field, value) in [("--operator", `operator`), ("--reason", reason)]
            where value.trimmingCharacters(in: .whitespaces).isEmpty || TextChecks.hasControlCharacters(value) {
                fail(Problem(code: "invalid-argument", status: 400, title: "参数无效 Invalid argument",
                             detail: "\(field) must name who and why, without control characters", remedy: "Say who exports it and why."))
            }
            guard !FileManager.default.fileExists(atPath: out) else {
                fail(Problem(code: "output-exists", status: 409, title: "目标已存在 Output exists", detail: "\(out) exists",
                             remedy: "Choose a new file name; nothing is overwritten."))
            }
            guard let sealed = FileManager.default.contents(atPath: file) else {
                fail(StorageError(call: "open", path: file, errno: errno).problem)
            }
            let store: Store
            let vault: IdentityVault
            do {
                store = try Store(directory: configuration.dataDirectory, cryptoSuite: configuration.security.cryptoSuite)
                vault = try IdentityVault(store: store)
            } catch { fail(error.problem) }
            let plain: [UInt8]
            do { plain = try vault.open(Array(sealed), context: attachmentId) } catch {
                fail(Problem(code: "archive-file-does-not-open", status: 400, title: "无法解密 Does not open",
                             detail: "\(file): \(error)",
                             remedy: "Run this on the counter that archived it, with its data folder (--data-dir), as the service user."))
            }
            do {
                try store.appendAudit(actor: `operator`, action: "archive.export", subject: attachmentId,
                                      detail: "to \(out); reason: \(reason)")
                try DurableFile.write(plain, to: out, permissions: 0o600)
            } catch let error as StoreError { fail(error.problem) } catch let error as StorageError { fail(error.problem) }
            print("exported \(plain.count) bytes of \(attachmentId) to \(out) (audited)")
        }
    }
}
