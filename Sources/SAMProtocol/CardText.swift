import Foundation

/// A field of the card's 256 text bytes.
public enum CardField: String, Sendable, CaseIterable {
    case name, sex, ethnicity, birthDate, address, number, issuingAuthority, validFrom, validUntil
    case passNumber, issueCount, typeMark, nameEnglish, nameEnglish2, nationality, cardVersion, authorityCode
    case renewalCount, previousNumberLink
}

/// Where each field lies in the 256 text bytes (UCS-2 little-endian, space padded), per card type.
public enum CardText {
    public static let byteCount = 256
    static let typeOffset = 248

    /// (field, byte offset, byte length)
    public static func layout(_ type: CardType) -> [(CardField, Int, Int)] {
        switch type {
        case .resident:
            [(.name, 0, 30), (.sex, 30, 2), (.ethnicity, 32, 4), (.birthDate, 36, 16), (.address, 52, 70),
             (.number, 122, 36), (.issuingAuthority, 158, 30), (.validFrom, 188, 16), (.validUntil, 204, 16)]
        case .hkMacaoTaiwan:
            [(.name, 0, 30), (.sex, 30, 2), (.birthDate, 36, 16), (.address, 52, 70), (.number, 122, 36),
             (.issuingAuthority, 158, 30), (.validFrom, 188, 16), (.validUntil, 204, 16), (.passNumber, 220, 18),
             (.issueCount, 238, 4), (.typeMark, 248, 2)]
        case .foreigner2017:
            [(.nameEnglish, 0, 120), (.sex, 120, 2), (.number, 122, 30), (.nationality, 152, 6), (.name, 158, 30),
             (.validFrom, 188, 16), (.validUntil, 204, 16), (.birthDate, 220, 16), (.cardVersion, 236, 4),
             (.authorityCode, 240, 8), (.typeMark, 248, 2)]
        case .foreigner2023:
            [(.name, 0, 30), (.sex, 30, 2), (.renewalCount, 32, 4), (.birthDate, 36, 16), (.nameEnglish, 52, 70),
             (.number, 122, 36), (.validFrom, 188, 16), (.validUntil, 204, 16), (.nameEnglish2, 220, 22),
             (.nationality, 242, 6), (.typeMark, 248, 2), (.previousNumberLink, 250, 6)]
        }
    }

    static func typeMark(_ type: CardType) -> String {
        switch type {
        case .resident: ""
        case .hkMacaoTaiwan: "J"
        case .foreigner2017: "I"
        case .foreigner2023: "Y"
        }
    }

    /// The card type from the character at byte 248; nil for a mark Tongban does not know.
    public static func cardType(of text: [UInt8]) -> CardType? {
        guard text.count >= byteCount else { return nil }
        switch decode(text[typeOffset..<typeOffset + 2]) {
        case "": return .resident
        case "J": return .hkMacaoTaiwan
        case "I": return .foreigner2017
        case "Y": return .foreigner2023
        default: return nil
        }
    }

    /// UCS-2LE bytes to a string with padding (spaces, NULs) trimmed from both ends.
    static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var units: [UInt16] = []
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            units.append(UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8)
            index += 2
        }
        return String(decoding: units, as: UTF16.self).trimmingCharacters(in: CharacterSet(charactersIn: " \u{0}"))
    }

    /// Every field of the layout, trimmed.
    public static func fields(of text: [UInt8], as type: CardType) -> [CardField: String] {
        var fields: [CardField: String] = [:]
        for (field, offset, length) in layout(type) {
            fields[field] = decode(text[offset..<offset + length])
        }
        return fields
    }

    /// Builds the 256 text bytes of a card (for the simulator and tests): each field UCS-2LE, space padded,
    /// cut at its length.
    public static func encode(_ fields: [CardField: String], as type: CardType) -> [UInt8] {
        var text = [UInt8](repeating: 0, count: byteCount)
        for offset in stride(from: 0, to: byteCount, by: 2) { text[offset] = 0x20 }
        var values = fields
        values[.typeMark] = typeMark(type)
        for (field, offset, length) in layout(type) {
            let units = Array((values[field] ?? "").utf16.prefix(length / 2))
            for (index, unit) in units.enumerated() {
                text[offset + 2 * index] = UInt8(unit & 0xFF)
                text[offset + 2 * index + 1] = UInt8(unit >> 8)
            }
        }
        return text
    }
}

/// The parts of a base-info reply (0x30 0x01, or 0x30 0x10 with fingerprint).
public struct BaseInfo: Sendable, Equatable {
    public var text: [UInt8]
    /// The 1024 WLT photo bytes, untouched.
    public var photo: [UInt8]
    /// Fingerprint data, when read with 0x30 0x10.
    public var fingerprint: [UInt8]?

    public init(text: [UInt8], photo: [UInt8], fingerprint: [UInt8]? = nil) {
        self.text = text
        self.photo = photo
        self.fingerprint = fingerprint
    }

    /// Splits a reply's data by its big-endian length fields. Accepts both the 2-length and 3-length forms.
    public static func parse(_ reply: SAMReply) throws(IDCardError) -> BaseInfo {
        guard reply.status == .success else { throw .reader(reply.status, during: .readBaseInfo) }
        let data = reply.data
        func length(at offset: Int) -> Int { Int(data[offset]) << 8 | Int(data[offset + 1]) }
        guard data.count >= 4 else { throw .malformed("base-info reply has \(data.count) data bytes, fewer than its two length fields") }
        let textLength = length(at: 0), photoLength = length(at: 2)
        guard textLength == CardText.byteCount else {
            throw .malformed("base-info text length is \(textLength), not \(CardText.byteCount)")
        }
        if data.count == 4 + textLength + photoLength {
            return BaseInfo(text: Array(data[4..<4 + textLength]), photo: Array(data[4 + textLength..<data.count]))
        }
        guard data.count >= 6 else { throw .malformed("base-info reply is truncated") }
        let fingerprintLength = length(at: 4)
        guard data.count == 6 + textLength + photoLength + fingerprintLength else {
            throw .malformed("base-info reply has \(data.count) data bytes; its length fields say \(4 + textLength + photoLength) (or \(6 + textLength + photoLength + fingerprintLength) with fingerprint)")
        }
        let photoStart = 6 + textLength
        return BaseInfo(text: Array(data[6..<photoStart]), photo: Array(data[photoStart..<photoStart + photoLength]),
                        fingerprint: Array(data[(photoStart + photoLength)...]))
    }

    /// The reply a reader sends for this card (for the simulator and tests).
    public func reply() -> SAMReply {
        func be(_ value: Int) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
        var data = be(text.count) + be(photo.count)
        if let fingerprint { data += be(fingerprint.count) }
        data += text + photo + (fingerprint ?? [])
        return SAMReply(status: .success, data: data)
    }
}

/// What went wrong talking to an ID-card reader.
public enum IDCardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reader answered with a status other than the expected one.
    case reader(SAMStatus, during: SAMCommand)
    /// A frame arrived but its content does not fit the protocol.
    case malformed(String)
    /// No complete reply within the command's timeout.
    case timeout(SAMCommand, milliseconds: Int)
    /// The transport failed (device gone, I/O error), naming the call.
    case transport(call: String, device: String, errno: Int32)
    /// A USB transport call failed, with libusb's error name (e.g. `LIBUSB_ERROR_NO_DEVICE`).
    case usb(call: String, device: String, error: String)

    public var description: String {
        switch self {
        case .reader(let status, let command): "reader answered \(status) to \(command)"
        case .malformed(let detail): "malformed reply: \(detail)"
        case .timeout(let command, let milliseconds): "no reply to \(command) within \(milliseconds) ms"
        case .transport(let call, let device, let errno): "\(call)(\(device)) failed: \(String(cString: strerror(errno)))"
        case .usb(let call, let device, let error): "\(call) on \(device) failed: \(error)"
        }
    }
}
