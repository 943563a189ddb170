import ArgumentParser
import Foundation
import LibCrypto
import Store
import TongbanConfig
import TongbanCore

struct CryptoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crypto", abstract: "The crypto suite (security.cryptoSuite): known-answer tests, the counter's SM2 public key.",
        subcommands: [SelfTest.self, PublicKey.self])

    struct SelfTest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "selftest",
            abstract: "Runs the known-answer tests of SM3, SM4, SM4-GCM and SM2 against the system libcrypto; exits 1 if any fails.")

        func run() throws {
            print("libcrypto: \(LibCrypto.version)")
            let outcomes = KnownAnswerTests.run()
            for outcome in outcomes {
                print("\(outcome.passed ? "ok  " : "FAIL") \(outcome.name)\(outcome.passed ? "" : ": \(outcome.detail)")")
            }
            let failed = outcomes.filter { !$0.passed }.count
            print(failed == 0 ? "all \(outcomes.count) known-answer tests passed" : "\(failed) of \(outcomes.count) known-answer tests FAILED")
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct PublicKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "public-key",
            abstract: "Prints the counter's SM2 public key (PEM) and its SM3 fingerprint, which delivered manifests name as signerKey.")

        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            let configuration = options.load()
            let keys: CounterKeys
            do { keys = try CounterKeys(directory: configuration.dataDirectory, suite: configuration.security.cryptoSuite) } catch {
                fail(error.problem)
            }
            guard let pem = keys.signingPublicKeyPEM, let fingerprint = keys.signingKeyFingerprint else {
                fail(Problem(code: "no-signing-key", status: 404, title: "没有签名密钥 No signing key",
                             detail: "this counter has no SM2 key: manifests are signed only under security.cryptoSuite: sm",
                             remedy: "Set security.cryptoSuite: sm (the key is made on the service's next start, or by this command then)."))
            }
            print(pem, terminator: "")
            print("SM3 fingerprint: \(fingerprint)")
        }
    }
}

extension BenchCommand {
    struct CryptoBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "crypto",
            abstract: "Sealing and opening a 5 MB ID-card picture, and chaining 10,000 audit records: sm against standard.")

        @Option(help: "Write the results as Markdown here.")
        var out: String?

        @Option(help: "Audit records to chain per suite (each its own durable transaction, as the service appends them).")
        var records = 10_000

        @Option(help: "Seal/open rounds per suite (the median is reported).")
        var rounds = 5

        func run() throws {
            let base = NSTemporaryDirectory() + "tongban-crypto-bench-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: base) }
            var generator = SystemRandomNumberGenerator()
            let picture = (0..<(5 * 1024 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let clock = ContinuousClock()
            func milliseconds(_ duration: Duration) -> Double {
                Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
            }
            func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            var figures: [CryptoSuite: (seal: Double, open: Double, chain: Double)] = [:]
            for suite in CryptoSuite.allCases {
                let store = try Store(directory: "\(base)/\(suite.rawValue)", cryptoSuite: suite)
                let vault = try IdentityVault(store: store)
                var seals: [Double] = [], opens: [Double] = []
                for round in 0..<rounds {
                    var sealed: [UInt8] = []
                    seals.append(milliseconds(try clock.measure { sealed = try vault.seal(picture, context: "bench-\(round)") }))
                    var opened: [UInt8] = []
                    opens.append(milliseconds(try clock.measure { opened = try vault.open(sealed, context: "bench-\(round)") }))
                    guard opened == picture else { throw ValidationError("the \(suite.rawValue) round trip changed the picture") }
                }
                let chain = milliseconds(try clock.measure {
                    for index in 0..<records {
                        try store.appendAudit(actor: "bench", action: "idcard.read", subject: "record-\(index)", detail: "benchmark")
                    }
                })
                guard case .intact(let count) = try store.verifyAudit(), count == records else {
                    throw ValidationError("the \(suite.rawValue) chain does not verify")
                }
                figures[suite] = (median(seals), median(opens), chain)
            }
            let standard = figures[.standard]!, sm = figures[.sm]!
            func row(_ name: String, _ a: Double, _ b: Double) -> String {
                "| \(name) | \(String(format: "%.1f", a)) | \(String(format: "%.1f", b)) | \(String(format: "%.2f", b / a)) |"
            }
            let lines = [
                "# Crypto suites: sm against standard", "",
                "One run, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(IDCardBench.today()), \(LibCrypto.version). "
                    + "A 5 MB picture (random bytes) sealed and opened through the identity vault's streaming format "
                    + "(median of \(rounds)); \(records) audit records appended through the store, each its own durable "
                    + "transaction (SQLite, synchronous=FULL), as the service appends them, then the whole chain verified.", "",
                "| step | standard (ms) | sm (ms) | ratio sm / standard |", "|---|---|---|---|",
                row("seal 5 MB (AES-256-GCM vs SM4-GCM)", standard.seal, sm.seal),
                row("open 5 MB", standard.open, sm.open),
                row("chain \(records) audit records (HMAC-SHA-256 vs HMAC-SM3, + SM2-signed anchor per record)", standard.chain, sm.chain),
                "",
            ]
            let text = lines.joined(separator: "\n")
            print(text)
            if let out { try text.write(toFile: out, atomically: true, encoding: .utf8) }
        }
    }
}
