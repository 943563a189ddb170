import ArgumentParser
import Foundation
import Store
import TongbanCore

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The audit log: who captured, revealed, printed, delivered, purged what, when.",
        subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-computes the audit log's hash chain; exits 1 naming the first record that was edited, inserted or removed.")

        @OptionGroup var options: ConfigurationOptions

        @Option(help: ArgumentHelp("The audit head the case core last received (the newest manifest's auditHead, <sequence>:<mac>): the log must still hold it.",
                                   valueName: "SEQUENCE:MAC"))
        var head: String?

        func validate() throws {
            guard let head else { return }
            let parts = head.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let sequence = Int(parts[0]), sequence >= 1, parts[1].count == 64, parts[1].allSatisfy(\.isHexDigit) else {
                throw ValidationError("--head takes the auditHead of a manifest the case core received: <sequence ≥ 1>:<64 hex digits>")
            }
        }

        func run() throws {
            let configuration = options.load()
            let store: Store
            do { store = try Store(directory: configuration.dataDirectory, cryptoSuite: configuration.security.cryptoSuite) } catch { fail(error.problem) }
            let verification: AuditVerification
            do throws(StoreError) {
                if let head { verification = try store.verifyAudit(againstHead: head) } else { verification = try store.verifyAudit() }
            } catch { fail(error.problem) }
            switch verification {
            case .intact(let records):
                print("audit log intact: \(records) record(s) in \(configuration.dataDirectory)")
            case .broken(let sequence, let reason):
                FileHandle.standardError.write(Data("audit log BROKEN at record \(sequence): \(reason)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
