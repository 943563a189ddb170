/// Captured frames as people hand them over: raw bytes, or hex text with any whitespace.
public enum FrameInput {
    /// Hex text (digits, a–f, whitespace, optional `0x` prefixes and commas) becomes bytes; anything else is
    /// taken as binary.
    public static func bytes(from input: [UInt8]) -> [UInt8] {
        guard let text = String(bytes: input, encoding: .utf8) else { return input }
        let cleaned = text.replacingOccurrences(of: "0x", with: "").replacingOccurrences(of: "0X", with: "")
            .filter { !$0.isWhitespace && $0 != "," }
        guard !cleaned.isEmpty, cleaned.count % 2 == 0, cleaned.allSatisfy(\.isHexDigit) else { return input }
        var bytes: [UInt8] = []
        var index = cleaned.startIndex
        while index < cleaned.endIndex {
            let next = cleaned.index(index, offsetBy: 2)
            bytes.append(UInt8(cleaned[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    /// Decodes exactly one base-info reply frame into a record. Names the first thing wrong: garbage, length,
    /// checksum, a short frame, the reader's status, or the content.
    public static func decodeBaseInfoFrame(_ bytes: [UInt8], today: String) throws(IDCardError) -> IdentityRecord {
        try decodeBaseInfoReply(bytes, today: today).record
    }

    /// Decodes the one base-info reply in a capture, as the reader's decoder does on the wire: line noise or a
    /// corrupted frame before or after it is skipped (resynchronising on the next preamble) and counted in
    /// `skippedBytes`. Fails naming what is wrong when the capture holds no valid reply, or more than one.
    public static func decodeBaseInfoReply(_ bytes: [UInt8], today: String) throws(IDCardError) -> (record: IdentityRecord, skippedBytes: Int) {
        guard bytes.count >= SAMFrame.preamble.count,
              (0...(bytes.count - SAMFrame.preamble.count)).contains(where: { bytes[$0..<$0 + 5].elementsEqual(SAMFrame.preamble) }) else {
            throw .malformed("no frame preamble (AA AA AA 96 69) in the input")
        }
        var decoder = SAMFrameDecoder()
        var reply: SAMReply?
        var skipped = 0
        var firstDamage: SAMDiscard?
        for output in decoder.feed(bytes) {
            switch output {
            case .discarded(let reason):
                switch reason {
                case .garbage(let count): skipped += count
                case .badLength, .badChecksum:
                    // The decoder steps one byte past a preamble that did not start a valid frame.
                    skipped += 1
                    if firstDamage == nil { firstDamage = reason }
                }
            case .request: throw .malformed("the input is a request frame, not a reply")
            case .reply(let found):
                guard reply == nil else { throw .malformed("more than one frame in the input") }
                reply = found
            }
        }
        guard let reply else {
            if let firstDamage { throw .malformed(firstDamage.description) }
            let needed = decoder.bytesNeeded.map { "\($0) more byte(s) expected by its length field" } ?? "its header is incomplete"
            throw .malformed("frame is truncated: \(needed)")
        }
        skipped += decoder.pendingByteCount
        return (try IdentityParser.record(from: try BaseInfo.parse(reply), today: today), skipped)
    }
}
