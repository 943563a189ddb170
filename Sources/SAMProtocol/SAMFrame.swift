/// The SAM frame protocol of Chinese ID-card readers (GA/T 467): pure encoding and decoding, no I/O.
///
/// Host → reader: `AA AA AA 96 69`, big-endian length (CMD … checksum), CMD, PARA, data, XOR checksum of the
/// length bytes through the last data byte. Reader → host: the same with SW1 SW2 SW3 in place of CMD PARA.
public enum SAMFrame {
    public static let preamble: [UInt8] = [0xAA, 0xAA, 0xAA, 0x96, 0x69]
    /// Lengths above this are garbage, not frames (the largest real reply is 2321 bytes).
    public static let maximumLength = 4096

    /// XOR of every byte.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt8 {
        bytes.reduce(0, ^)
    }
}

/// The commands Tongban sends.
public enum SAMCommand: Sendable, Equatable, Hashable {
    case resetSAM
    case samStatus
    case readSAMID
    case findCard
    case selectCard
    case readBaseInfo
    case readAdditionalAddress
    case readBaseInfoWithFingerprint
    /// Baud-rate index: 0 = 115200, 1 = 57600, 2 = 38400, 3 = 19200, 4 = 9600.
    case setBaudRate(UInt8)
    /// Largest RF frame the SAM should use, in bytes.
    case setMaximumRFFrame(UInt8)

    public var code: (command: UInt8, parameter: UInt8) {
        switch self {
        case .resetSAM: (0x10, 0xFF)
        case .samStatus: (0x11, 0xFF)
        case .readSAMID: (0x12, 0xFF)
        case .findCard: (0x20, 0x01)
        case .selectCard: (0x20, 0x02)
        case .readBaseInfo: (0x30, 0x01)
        case .readAdditionalAddress: (0x30, 0x03)
        case .readBaseInfoWithFingerprint: (0x30, 0x10)
        case .setBaudRate(let index): (0x60, index)
        case .setMaximumRFFrame: (0x61, 0xFF)
        }
    }

    var data: [UInt8] {
        if case .setMaximumRFFrame(let size) = self { return [size] }
        return []
    }

    /// The full request frame, checksum computed.
    public var frame: [UInt8] {
        let (command, parameter) = code
        let length = UInt16(2 + data.count + 1)
        let body = [UInt8(length >> 8), UInt8(length & 0xFF), command, parameter] + data
        return SAMFrame.preamble + body + [SAMFrame.checksum(body)]
    }

    /// The baud-rate index for a rate, nil when the protocol has none.
    public static func baudRateIndex(_ rate: Int) -> UInt8? {
        [115_200: 0, 57_600: 1, 38_400: 2, 19_200: 3, 9_600: 4][rate]
    }
}

/// SW3, the reader's status byte, with the reference's meaning of each value.
public enum SAMStatus: Sendable, Equatable, Hashable, CustomStringConvertible {
    case success
    case findCardSuccess
    case noSuchItem
    case badChecksum
    case badLength
    case badCommand
    case notPermitted
    case unknownError
    case cardRejectedSAM
    case samRejectedCard
    case verificationError
    case unknownCardType
    case readFailed
    case getRandomFailed
    case samSelfTestFailed
    case samNotAuthorised
    case noCard
    case selectFailed
    case other(UInt8)

    public init(_ byte: UInt8) {
        self = switch byte {
        case 0x90: .success
        case 0x9F: .findCardSuccess
        case 0x91: .noSuchItem
        case 0x10: .badChecksum
        case 0x11: .badLength
        case 0x21: .badCommand
        case 0x23: .notPermitted
        case 0x24: .unknownError
        case 0x31: .cardRejectedSAM
        case 0x32: .samRejectedCard
        case 0x33: .verificationError
        case 0x40: .unknownCardType
        case 0x41: .readFailed
        case 0x47: .getRandomFailed
        case 0x60: .samSelfTestFailed
        case 0x66: .samNotAuthorised
        case 0x80: .noCard
        case 0x81: .selectFailed
        default: .other(byte)
        }
    }

    public var byte: UInt8 {
        switch self {
        case .success: 0x90
        case .findCardSuccess: 0x9F
        case .noSuchItem: 0x91
        case .badChecksum: 0x10
        case .badLength: 0x11
        case .badCommand: 0x21
        case .notPermitted: 0x23
        case .unknownError: 0x24
        case .cardRejectedSAM: 0x31
        case .samRejectedCard: 0x32
        case .verificationError: 0x33
        case .unknownCardType: 0x40
        case .readFailed: 0x41
        case .getRandomFailed: 0x47
        case .samSelfTestFailed: 0x60
        case .samNotAuthorised: 0x66
        case .noCard: 0x80
        case .selectFailed: 0x81
        case .other(let byte): byte
        }
    }

    /// True for statuses after which the reader cannot work until repaired or re-authorised.
    public var isFatal: Bool { self == .samSelfTestFailed || self == .samNotAuthorised }

    public var description: String {
        let hex = "0x" + String(byte, radix: 16, uppercase: true)
        let meaning = switch self {
        case .success: "success"
        case .findCardSuccess: "find-card success"
        case .noSuchItem: "the card has no such item"
        case .badChecksum: "the reader saw a bad checksum in our frame"
        case .badLength: "the reader saw a bad length in our frame"
        case .badCommand: "bad command"
        case .notPermitted: "operation not permitted"
        case .unknownError: "unknown error"
        case .cardRejectedSAM: "the card did not authenticate the SAM"
        case .samRejectedCard: "the SAM did not authenticate the card"
        case .verificationError: "verification error (damaged, fake or unsupported card)"
        case .unknownCardType: "unknown card type"
        case .readFailed: "read failed (card lifted mid-read?)"
        case .getRandomFailed: "get-random failed"
        case .samSelfTestFailed: "SAM self-test failed"
        case .samNotAuthorised: "SAM not authorised"
        case .noCard: "no card"
        case .selectFailed: "select-card failed"
        case .other: "unknown status"
        }
        return "\(hex) \(meaning)"
    }
}

/// One reply frame from the reader.
public struct SAMReply: Sendable, Equatable {
    public var sw1: UInt8
    public var sw2: UInt8
    public var status: SAMStatus
    public var data: [UInt8]

    public init(sw1: UInt8 = 0, sw2: UInt8 = 0, status: SAMStatus, data: [UInt8] = []) {
        self.sw1 = sw1
        self.sw2 = sw2
        self.status = status
        self.data = data
    }

    /// The frame as the reader sends it (used by the simulator and tests).
    public var frame: [UInt8] {
        let length = UInt16(3 + data.count + 1)
        let body = [UInt8(length >> 8), UInt8(length & 0xFF), sw1, sw2, status.byte] + data
        return SAMFrame.preamble + body + [SAMFrame.checksum(body)]
    }
}

/// Why bytes were thrown away while looking for frames.
public enum SAMDiscard: Sendable, Equatable, CustomStringConvertible {
    /// Bytes outside any frame (before a preamble, or with none).
    case garbage(count: Int)
    /// A length of 0–3 or above 4096: the preamble was not a frame's.
    case badLength(Int)
    /// A complete frame whose checksum did not match.
    case badChecksum(expected: UInt8, found: UInt8)

    public var description: String {
        switch self {
        case .garbage(let count): "\(count) byte(s) that are not part of any frame"
        case .badLength(let length): "frame length \(length) is outside 3…\(SAMFrame.maximumLength)"
        case .badChecksum(let expected, let found):
            "checksum 0x\(String(found, radix: 16, uppercase: true)) does not match 0x\(String(expected, radix: 16, uppercase: true))"
        }
    }
}

/// Finds reply frames in a byte stream that may hold garbage, partial frames and corrupted frames.
///
/// Feed it bytes as they arrive; it returns each complete frame or discard in order. After garbage, a bad
/// length or a bad checksum it resynchronises on the next preamble (searching from the byte after the
/// failed preamble, so a preamble inside the discarded bytes is not lost).
public struct SAMFrameDecoder: Sendable {
    public enum Output: Sendable, Equatable {
        case reply(SAMReply)
        /// A host request (decoders made with `direction: .requests`, as the simulator uses).
        case request(command: UInt8, parameter: UInt8, data: [UInt8])
        case discarded(SAMDiscard)
    }

    /// Which side's frames to expect: replies carry three status bytes, requests two (CMD PARA).
    public enum Direction: Sendable {
        case replies, requests
    }

    private var buffer: [UInt8] = []
    private let direction: Direction

    public init(direction: Direction = .replies) {
        self.direction = direction
    }

    /// Bytes held while waiting for the rest of a frame.
    public var pendingByteCount: Int { buffer.count }

    /// The number of bytes still needed to complete the frame being received, when its header is known.
    public var bytesNeeded: Int? {
        guard buffer.count >= 7, buffer.starts(with: SAMFrame.preamble) else { return nil }
        return max(0, 7 + (Int(buffer[5]) << 8 | Int(buffer[6])) - buffer.count)
    }

    /// Drops everything held (after a timeout: a partial frame will never complete).
    public mutating func reset() {
        buffer.removeAll()
    }

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Output] {
        buffer.append(contentsOf: bytes)
        var outputs: [Output] = []
        while let output = next() { outputs.append(output) }
        return outputs
    }

    private mutating func next() -> Output? {
        guard !buffer.isEmpty else { return nil }
        // Find the preamble; keep a possible partial preamble at the end.
        guard let start = preambleStart() else {
            let keep = partialPreambleSuffix()
            let dropped = buffer.count - keep
            guard dropped > 0 else { return nil }
            buffer.removeFirst(dropped)
            return .discarded(.garbage(count: dropped))
        }
        if start > 0 {
            buffer.removeFirst(start)
            return .discarded(.garbage(count: start))
        }
        guard buffer.count >= 7 else { return nil }
        let length = Int(buffer[5]) << 8 | Int(buffer[6])
        let minimumLength = direction == .replies ? 4 : 3
        guard length >= minimumLength, length <= SAMFrame.maximumLength else {
            buffer.removeFirst(1)
            return .discarded(.badLength(length))
        }
        let total = 7 + length
        guard buffer.count >= total else { return nil }
        let body = buffer[5..<total - 1]
        let expected = SAMFrame.checksum(body)
        let found = buffer[total - 1]
        guard expected == found else {
            buffer.removeFirst(1)
            return .discarded(.badChecksum(expected: expected, found: found))
        }
        defer { buffer.removeFirst(total) }
        if direction == .requests {
            return .request(command: buffer[7], parameter: buffer[8], data: Array(buffer[9..<total - 1]))
        }
        return .reply(SAMReply(sw1: buffer[7], sw2: buffer[8], status: SAMStatus(buffer[9]), data: Array(buffer[10..<total - 1])))
    }

    private func preambleStart() -> Int? {
        guard buffer.count >= SAMFrame.preamble.count else { return nil }
        for index in 0...(buffer.count - SAMFrame.preamble.count)
        where buffer[index] == 0xAA && buffer[index..<index + 5].elementsEqual(SAMFrame.preamble) {
            return index
        }
        return nil
    }

    /// How many trailing bytes could be the start of a preamble.
    private func partialPreambleSuffix() -> Int {
        for keep in stride(from: min(4, buffer.count), through: 1, by: -1)
        where buffer.suffix(keep).elementsEqual(SAMFrame.preamble.prefix(keep)) {
            return keep
        }
        return 0
    }
}
