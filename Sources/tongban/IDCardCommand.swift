import ArgumentParser
import Foundation
import IDCard
import SAMProtocol
import TongbanCore

struct IDCardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idcard", abstract: "ID-card reader tools.", subcommands: [Read.self, Watch.self, Decode.self])

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the card on the reader now, through the running service; prints the record (masked unless --reveal).")

        @OptionGroup var options: ConfigurationOptions

        @Option(help: "Reader id (see tongban devices); default: any reader.")
        var device: String?

        @Flag(help: "Print names and numbers unmasked (written to the audit log).")
        var reveal = false

        @Option(name: .customLong("timeout-ms"), help: "How long to wait for a card.")
        var timeoutMilliseconds = 10_000

        func run() async throws {
            let client = ServiceClient(configuration: options.load())
            var body: [String: Any] = ["reveal": reveal, "timeoutMs": timeoutMilliseconds]
            if let device { body["device"] = device }
            let data = await client.post("/v1/idcard/read", json: body, timeout: Double(timeoutMilliseconds) / 1000 + 5)
            let object = try JSONSerialization.jsonObject(with: data)
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the running service's idcard.* events (masked) as they happen, one JSON object a line.")

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            await ServiceClient(configuration: options.load()).watch(prefix: "idcard.")
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode one captured base-info reply frame (binary, or hex text with any whitespace) into the identity JSON.",
            discussion: "Exits 65 with a message naming what is wrong when the input is not a valid base-info reply.")

        @Flag(name: .long, help: "Print names and numbers unmasked.")
        var reveal = false

        @Argument(help: "File with the frame; `-` or nothing for standard input.")
        var file: String?

        func run() throws {
            let input: Data
            if let file, file != "-" {
                guard let data = FileManager.default.contents(atPath: file) else {
                    fail(Problem(code: "unreadable-input", status: 400, title: "无法读取 Cannot read input", detail: file,
                                 remedy: "Check the path."), exitCode: 66)
                }
                input = data
            } else {
                input = FileHandle.standardInput.readDataToEndOfFile()
            }
            let bytes = FrameInput.bytes(from: Array(input))
            let record: IdentityRecord
            do {
                let decoded = try FrameInput.decodeBaseInfoReply(bytes, today: IdentityParser.today())
                record = decoded.record
                if decoded.skippedBytes > 0 {
                    FileHandle.standardError.write(Data("tongban: skipped \(decoded.skippedBytes) byte(s) of line noise around the frame\n".utf8))
                }
            } catch {
                fail(Problem(code: "bad-frame", status: 400, title: "不是有效的身份证信息帧 Not a valid base-info reply",
                             detail: error.description, remedy: "Capture the whole reply to the 0x30 0x01 read command."),
                     exitCode: 65)
            }
            let encoder = JSONEncoder.tongban
            encoder.outputFormatting.insert(.prettyPrinted)
            print(String(decoding: try encoder.encode(reveal ? record : record.maskedCopy()), as: UTF8.self))
        }
    }
}
