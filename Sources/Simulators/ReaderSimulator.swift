import Foundation
import IDCard
import SAMProtocol

/// One step of a simulator scenario, at a time after the scenario starts.
public struct SimulatorStep: Codable, Sendable, Equatable {
    /// Milliseconds after the start.
    public var at: Int
    /// Place a specimen card: `resident`, `hkMacaoTaiwan`, `foreigner2017`, `foreigner2023`.
    public var place: CardType?
    /// The placed card's additional (newest) address, if it has one.
    public var additionalAddress: String?
    /// Lift the card off the reader.
    public var lift: Bool?
    /// The next base-info read loses the card halfway (the reply is cut off, then status 0x41 replies).
    public var liftMidRead: Bool?
    /// The next reply has one byte flipped in its body (bad checksum).
    public var corruptNextReply: Bool?
    /// Garbage bytes arrive before the next reply.
    public var garbageBeforeNextReply: Int?
    /// The SAM answers "not ready" to status queries for this long.
    public var samNotReadyFor: Int?
    /// The reader disappears (the pty goes away) for this long.
    public var unplugFor: Int?

    public init(at: Int, place: CardType? = nil, additionalAddress: String? = nil, lift: Bool? = nil,
                liftMidRead: Bool? = nil, corruptNextReply: Bool? = nil, garbageBeforeNextReply: Int? = nil,
                samNotReadyFor: Int? = nil, unplugFor: Int? = nil) {
        self.at = at
        self.place = place
        self.additionalAddress = additionalAddress
        self.lift = lift
        self.liftMidRead = liftMidRead
        self.corruptNextReply = corruptNextReply
        self.garbageBeforeNextReply = garbageBeforeNextReply
        self.samNotReadyFor = samNotReadyFor
        self.unplugFor = unplugFor
    }
}

/// A simulated SAM reader: answers request frames the way real readers do, card by card.
///
/// Pure apart from the clock it is given: the pty host and the in-process transport feed it requests and
/// write its answers. Like several real readers it refuses find-card after a good read until the card is
/// lifted, answering select-card meanwhile.
public struct ReaderSimulator: Sendable {
    public private(set) var card: BaseInfo?
    public private(set) var additionalAddress: String?
    private var readSincePlacedOrFound = false
    /// A card was placed while another lay there. A real card must leave the reader first: the next find-card
    /// sees no card, and a select-card asked right after it fails; then the new card is there.
    private enum Swap { case none, absentOnFind, absentOnSelect }
    private var swap = Swap.none
    private var samNotReadyUntil = 0
    private var liftMidRead = false
    private var corruptNextReply = false
    private var garbageBeforeNextReply = 0
    /// Requests answered so far, by command (for tests).
    public private(set) var requestCounts: [UInt8: Int] = [:]

    public init() {}

    /// Applies one scenario step. `now` is milliseconds on the same clock as `respond(to:now:)`.
    public mutating func apply(_ step: SimulatorStep, now: Int) {
        if step.lift == true { card = nil; additionalAddress = nil }
        if let type = step.place {
            swap = card != nil ? .absentOnFind : .none
            card = SpecimenCards.all.first { $0.0 == type }?.1
            additionalAddress = step.additionalAddress
            readSincePlacedOrFound = false
        }
        if step.liftMidRead == true { liftMidRead = true }
        if step.corruptNextReply == true { corruptNextReply = true }
        if let count = step.garbageBeforeNextReply { garbageBeforeNextReply = count }
        if let duration = step.samNotReadyFor { samNotReadyUntil = now + duration }
    }

    /// Places a card directly (the demo's "place a card" button).
    public mutating func place(_ type: CardType, additionalAddress: String? = nil) {
        apply(SimulatorStep(at: 0, place: type, additionalAddress: additionalAddress), now: 0)
    }

    public mutating func lift() {
        card = nil
        additionalAddress = nil
    }

    /// The bytes the reader sends back for one request; `cutAfter` set means the reader goes silent after that
    /// many bytes (a card lifted mid-transfer).
    public mutating func respond(command: UInt8, parameter: UInt8, now: Int) -> (bytes: [UInt8], cutAfter: Int?) {
        requestCounts[command, default: 0] += 1
        let reply: SAMReply
        switch (command, parameter) {
        case (0x11, _):
            reply = SAMReply(status: now < samNotReadyUntil ? .unknownError : .success)
        case (0x10, _):
            reply = SAMReply(status: .success)
        case (0x12, _):
            reply = SAMReply(status: .success, data: [0x05, 0x00, 0x01, 0x00] + [UInt8](repeating: 0x42, count: 12))
        case (0x20, 0x01) where swap == .absentOnFind:
            swap = .absentOnSelect
            reply = SAMReply(status: .noCard)
        case (0x20, 0x02) where swap == .absentOnSelect:
            swap = .none
            reply = SAMReply(status: .selectFailed)
        case (0x20, 0x01):
            swap = .none
            if card != nil, !readSincePlacedOrFound {
                reply = SAMReply(status: .findCardSuccess, data: [0, 0, 0, 0])
            } else {
                reply = SAMReply(status: .noCard)
            }
        case (0x20, 0x02):
            reply = card == nil ? SAMReply(status: .selectFailed) : SAMReply(status: .success, data: [0, 0x0C, 0, 0, 0, 0, 0, 0])
        case (0x30, 0x01), (0x30, 0x10):
            guard var info = card else {
                reply = SAMReply(status: .readFailed)
                break
            }
            if parameter == 0x10 { info.fingerprint = [UInt8](repeating: 0x5A, count: 1024) }
            if liftMidRead {
                liftMidRead = false
                card = nil
                let full = info.reply().frame
                return (decorate(full), full.count / 2)
            }
            readSincePlacedOrFound = true
            reply = info.reply()
        case (0x30, 0x03):
            if card == nil {
                reply = SAMReply(status: .readFailed)
            } else if let additionalAddress {
                let units = Array(additionalAddress.utf16.prefix(35))
                var data = units.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
                while data.count < 70 { data += [0x20, 0x00] }
                reply = SAMReply(status: .success, data: data)
            } else {
                reply = SAMReply(status: .noSuchItem)
            }
        case (0x60, _), (0x61, _):
            reply = SAMReply(status: .success)
        default:
            reply = SAMReply(status: .badCommand)
        }
        return (decorate(reply.frame), nil)
    }

    /// Applies pending faults to an outgoing frame.
    private mutating func decorate(_ frame: [UInt8]) -> [UInt8] {
        var bytes = frame
        if corruptNextReply {
            corruptNextReply = false
            bytes[bytes.count / 2 + 4] ^= 0x5A
        }
        if garbageBeforeNextReply > 0 {
            bytes = (0..<garbageBeforeNextReply).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) } + bytes
            garbageBeforeNextReply = 0
        }
        return bytes
    }

    /// Time the bytes take on the wire at `baudRate` (8N1: 10 bits a byte), in nanoseconds.
    public static func wireTime(bytes: Int, baudRate: Int) -> UInt64 {
        UInt64(bytes) * 10 * 1_000_000_000 / UInt64(baudRate)
    }
}
