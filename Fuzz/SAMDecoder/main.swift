// libFuzzer target: the SAM frame decoder and the card parser on arbitrary bytes.
// Built only by scripts/fuzz (TONGBAN_FUZZ=1, -sanitize=fuzzer,address). A crash, a sanitizer report or a
// broken invariant below is a finding.
import Glibc
import SAMProtocol

/// libFuzzer's driver (the fuzzer's own `main` is not linked: SwiftPM gives the executable its main).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    // The stream split at a data-dependent point must decode exactly as the whole.
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var whole = SAMFrameDecoder()
    var pieces = SAMFrameDecoder()
    let outputs = whole.feed(bytes)
    let pieceOutputs = pieces.feed(bytes[..<split]) + pieces.feed(bytes[split...])
    let replies = outputs.compactMap { if case .reply(let reply) = $0 { reply } else { nil } }
    let pieceReplies = pieceOutputs.compactMap { if case .reply(let reply) = $0 { reply } else { nil } }
    if replies != pieceReplies { fatalError("chunking changed the decoded frames") }
    for reply in replies {
        // Every decoded frame re-encodes to a frame that decodes to itself.
        var again = SAMFrameDecoder()
        if again.feed(reply.frame) != [.reply(reply)] { fatalError("a decoded frame does not round-trip") }
        if let info = try? BaseInfo.parse(reply) {
            _ = try? IdentityParser.record(from: info, additionalAddress: nil, today: "20261122").maskedCopy()
        }
        _ = try? IdentityParser.additionalAddress(from: reply)
    }
    // The request side (the simulator's) and the hex front end of `tongban idcard decode`.
    var requests = SAMFrameDecoder(direction: .requests)
    _ = requests.feed(bytes)
    _ = try? FrameInput.decodeBaseInfoFrame(FrameInput.bytes(from: bytes), today: "20261122")
    return 0
}

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argc, &argv, { fuzzOne($0, $1) }))
