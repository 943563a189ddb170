import ArgumentParser
import Foundation
import Store
import TongbanCore

struct ClerkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clerk", abstract: "The clerks who may sign in to the console (run as the service user).",
        subcommands: [Set.self, Remove.self, List.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Adds a clerk, or sets a clerk's name and PIN. The PIN is read from standard input (asked twice on a terminal).")

        @OptionGroup var options: ConfigurationOptions

        @Argument(help: "The clerk's id (工号), e.g. 0107.")
        var id: String

        @Option(name: .long, help: "The clerk's name as forms and the audit log show it.")
        var name: String

        func run() throws {
            let configuration = options.load()
            let pin = Self.readPIN()
            if let problem = ClerkDirectory.problem(id: id, name: name, pin: pin) {
                fail(Problem(code: "invalid-clerk", status: 400, title: "柜员信息无效 Clerk not valid", detail: problem,
                             remedy: "Give a plain id, a name, and a PIN of at least 6 digits."))
            }
            do {
                try ClerkDirectory.set(id: id, name: name, pin: pin, dataDirectory: configuration.dataDirectory)
                let store = try Store(directory: configuration.dataDirectory, cryptoSuite: configuration.security.cryptoSuite)
                try store.appendAudit(actor: "tongban clerk set", action: "clerk.set", subject: id, detail: "name \(name)")
            } catch { fail(error.problem) }
            print("clerk \(id) (\(name)) can sign in to the console")
        }

        static func readPIN() -> String {
            let terminal = isatty(STDIN_FILENO) == 1
            if terminal {
                let first = String(cString: getpass("PIN: "))
                let second = String(cString: getpass("PIN again: "))
                guard first == second else {
                    fail(Problem(code: "pin-mismatch", status: 400, title: "两次 PIN 不一致 PINs differ", detail: "the two PINs typed differ",
                                 remedy: "Run the command again."))
                }
                return first
            }
            return (readLine(strippingNewline: true) ?? "")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Removes a clerk (signed-in sessions end at the next restart).")

        @OptionGroup var options: ConfigurationOptions

        @Argument(help: "The clerk's id.")
        var id: String

        func run() throws {
            let configuration = options.load()
            do {
                guard try ClerkDirectory.remove(id: id, dataDirectory: configuration.dataDirectory) else {
                    fail(Problem(code: "clerk-not-found", status: 404, title: "没有该柜员 No such clerk", detail: "no clerk '\(id)'",
                                 remedy: "tongban clerk list shows the clerks."))
                }
                try Store(directory: configuration.dataDirectory, cryptoSuite: configuration.security.cryptoSuite).appendAudit(actor: "tongban clerk remove", action: "clerk.remove", subject: id)
            } catch { fail(error.problem) }
            print("clerk \(id) removed")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists the clerks (ids and names; never PINs).")

        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            let configuration = options.load()
            let clerks: [ClerkAccount]
            do { clerks = try ClerkDirectory.load(dataDirectory: configuration.dataDirectory) } catch { fail(error.problem) }
            if clerks.isEmpty { print("no clerks: add one with tongban clerk set ID --name NAME") }
            for clerk in clerks { print("\(clerk.id)\t\(clerk.name)") }
        }
    }
}
