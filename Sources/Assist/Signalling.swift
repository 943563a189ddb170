import Foundation
import Store

/// What a participant says about itself in its VideoRoom `display`: Tongban's whole call signalling rides on it,
/// so two counters need nothing but the room to ring, answer and hang up. Pure.
public struct CallDisplay: Codable, Sendable, Equatable {
    /// Always 1 (lets other software in the room be told apart).
    public var tongban: Int = 1
    public var role: AssistRole
    public var counter: String
    /// The call: set by a caller, and by the answerer that accepted it.
    public var call: String?
    public var office: String?
    public var caseNumber: String?
    public var material: String?
    public var withDocumentCamera: Bool?
    /// The call this answerer declined by changing its display — how a browser declines, having no room secret to
    /// kick the caller with (counters kick).
    public var declined: String?

    public init(role: AssistRole, counter: String, call: String? = nil, office: String? = nil, caseNumber: String? = nil,
                material: String? = nil, withDocumentCamera: Bool? = nil, declined: String? = nil) {
        self.role = role
        self.counter = counter
        self.call = call
        self.office = office
        self.caseNumber = caseNumber
        self.material = material
        self.withDocumentCamera = withDocumentCamera
        self.declined = declined
    }

    public var text: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self) }

    /// The display of another participant, or nil when it is not Tongban's.
    public static func parse(_ text: String?) -> CallDisplay? {
        guard let text, let display = try? JSONDecoder().decode(CallDisplay.self, from: Data(text.utf8)), display.tongban == 1 else {
            return nil
        }
        return display
    }
}

/// How a ringing call ends when its caller leaves the room, seen from an answering counter. Pure.
public enum RingOutcome: Equatable, Sendable {
    /// The caller gave up at the ring timeout: missed, counted for the office.
    case missed
    /// The caller withdrew before the ring time was up.
    case withdrawn

    /// Both sides time the ring with the same setting; the caller's leave arrives a little before our own timer,
    /// so the last `grace` of the ring time counts as the timeout.
    public static func whenCallerLeft(after elapsed: Duration, ringTimeout: Duration, grace: Duration = .seconds(2)) -> RingOutcome {
        elapsed >= ringTimeout - grace ? .missed : .withdrawn
    }
}

/// A minimal POSIX tar (ustar) writer: a call's recording — segments and manifest — is one attachment. Pure.
public enum TarArchive {
    /// The 512-byte header of one regular file.
    public static func header(name: String, size: Int, modified: Date) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        }
        put(name, at: 0, width: 100)
        put(octal(0o644, width: 8), at: 100, width: 8)
        put(octal(0, width: 8), at: 108, width: 8)
        put(octal(0, width: 8), at: 116, width: 8)
        put(octal(size, width: 12), at: 124, width: 12)
        put(octal(Int(modified.timeIntervalSince1970), width: 12), at: 136, width: 12)
        put("        ", at: 148, width: 8)
        header[156] = UInt8(ascii: "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(octal(checksum, width: 7), at: 148, width: 7)
        header[155] = UInt8(ascii: " ")
        return header
    }

    /// Zero bytes that pad a file's content to the next 512-byte block.
    public static func padding(after size: Int) -> [UInt8] {
        [UInt8](repeating: 0, count: (512 - size % 512) % 512)
    }

    /// The end of the archive: two zero blocks.
    public static let end = [UInt8](repeating: 0, count: 1024)
}
