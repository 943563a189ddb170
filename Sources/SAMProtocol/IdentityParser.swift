import Foundation
import TongbanCore

/// Turns a card's text bytes into an `IdentityRecord`, checking the number and cross-checking it against the
/// card's own fields. A failed check is a warning in the record, never a refusal to read.
public enum IdentityParser {
    /// - Parameters:
    ///   - today: `YYYYMMDD`, the date expiry is judged against (injected for tests).
    public static func record(from info: BaseInfo, additionalAddress: String? = nil, today: String) throws(IDCardError) -> IdentityRecord {
        guard info.text.count == CardText.byteCount else {
            throw .malformed("card text is \(info.text.count) bytes, not \(CardText.byteCount)")
        }
        guard let type = CardText.cardType(of: info.text) else {
            let mark = CardText.decode(info.text[CardText.typeOffset..<CardText.typeOffset + 2])
            throw .malformed("unknown card type mark '\(mark)' at byte 248")
        }
        let fields = CardText.fields(of: info.text, as: type)
        var record = IdentityRecord(cardType: type)
        var warnings: [String] = []
        func value(_ field: CardField) -> String? {
            guard let text = fields[field], !text.isEmpty else { return nil }
            return text
        }
        func date(_ field: CardField, _ label: String) -> String? {
            guard let text = value(field) else { return nil }
            if let formatted = formatDate(text) { return formatted }
            warnings.append("\(label)不是有效日期 \(label) '\(text)' is not a valid date")
            return text
        }

        record.name = value(.name)
        record.nameEnglish = [value(.nameEnglish), value(.nameEnglish2)].compactMap { $0 }.joined(separator: " ").nilIfEmpty
        if let sexCode = value(.sex) {
            record.sex = Sex(code: sexCode)
            if !["0", "1", "2", "9"].contains(sexCode) { warnings.append("性别代码无效 unknown sex code '\(sexCode)'") }
        }
        if type == .resident, let code = value(.ethnicity) {
            record.ethnicityCode = code
            record.ethnicity = Ethnicity.names[code]
            if record.ethnicity == nil { warnings.append("民族代码未知 unknown ethnicity code '\(code)'") }
        }
        record.birthDate = date(.birthDate, "出生日期 birth date")
        record.address = value(.address)
        record.additionalAddress = additionalAddress?.nilIfEmpty
        record.idNumber = value(.number)
        record.issuingAuthority = value(.issuingAuthority) ?? value(.authorityCode)
        record.validFrom = date(.validFrom, "有效期起 valid-from")
        if let until = value(.validUntil) {
            if until == "长期" {
                record.validUntil = "long-term"
            } else {
                record.validUntil = date(.validUntil, "有效期止 valid-until")
                if formatDate(until) != nil, until < today {
                    warnings.append("证件已过期 card expired on \(record.validUntil!)")
                }
                if let from = value(.validFrom), formatDate(from) != nil, formatDate(until) != nil, until < from {
                    warnings.append("有效期止早于起始日 valid-until is before valid-from")
                }
            }
        }
        record.passNumber = value(.passNumber)
        record.issueCount = value(.issueCount)
        record.nationality = value(.nationality)
        record.cardVersion = value(.cardVersion)
        record.renewalCount = value(.renewalCount)
        record.previousNumberLink = value(.previousNumberLink)
        record.numberValid = checkNumber(record, type: type, birthDigits: value(.birthDate), warnings: &warnings)
        if type == .foreigner2023 { warnings.append("2023 版外国人永居证版式为暂定 the 2023 foreigner card layout is provisional") }
        record.photo = CardPhoto(format: "wlt", decoded: false, jpeg: nil, note: nil)
        record.warnings = warnings
        return record
    }

    /// Validates the number and cross-checks birth date and sex; appends what does not fit.
    static func checkNumber(_ record: IdentityRecord, type: CardType, birthDigits: String?, warnings: inout [String]) -> Bool {
        guard let number = record.idNumber else {
            warnings.append("证件号码为空 the card has no number")
            return false
        }
        let characters = Array(number)
        var valid: Bool
        switch type {
        case .resident, .hkMacaoTaiwan, .foreigner2023:
            valid = IdentityNumbers.isValidMod112(number)
            if !valid { warnings.append("号码校验位错误 number \(PersonalData.maskIDNumber(number)) fails its MOD 11-2 check") }
            if type == .foreigner2023, number.first != "9" {
                warnings.append("2023 版永居证号码应以 9 开头 a 2023 foreigner number starts with 9")
                valid = false
            }
            if type == .hkMacaoTaiwan, !["810000", "820000", "830000"].contains(String(number.prefix(6))) {
                warnings.append("港澳台居住证号码地区码应为 810000/820000/830000 permit region code is not 810000/820000/830000")
            }
            if characters.count == 18 {
                if let birthDigits, String(characters[6..<14]) != birthDigits {
                    warnings.append("出生日期与号码不符 birth date does not match the number")
                }
                if type != .foreigner2023, let sequenceDigit = characters[16].wholeNumberValue, let sex = record.sex,
                   sex == .male || sex == .female, (sequenceDigit % 2 == 1) != (sex == .male) {
                    warnings.append("性别与号码不符 sex does not match the number")
                }
            }
        case .foreigner2017:
            valid = IdentityNumbers.isValidForeigner2017(number)
            if !valid { warnings.append("号码校验位错误 number \(PersonalData.maskIDNumber(number)) fails its ICAO 7-3-1 check") }
            if characters.count == 15 {
                if let nationality = record.nationality, String(characters[0..<3]) != nationality {
                    warnings.append("国籍与号码不符 nationality does not match the number")
                }
                if let birthDigits, birthDigits.count == 8, String(characters[7..<13]) != String(birthDigits.suffix(6)) {
                    warnings.append("出生日期与号码不符 birth date does not match the number")
                }
                if let digit = characters[13].wholeNumberValue, let sex = record.sex, sex == .male || sex == .female,
                   (digit % 2 == 1) != (sex == .male) {
                    warnings.append("性别与号码不符 sex does not match the number")
                }
            }
        }
        return valid
    }

    /// `YYYYMMDD` → `YYYY-MM-DD` when it is a real calendar date.
    static func formatDate(_ text: String) -> String? {
        guard text.count == 8, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let year = Int(text.prefix(4))!, month = Int(text.dropFirst(4).prefix(2))!, day = Int(text.suffix(2))!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard (1...12).contains(month), let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
              calendar.component(.day, from: date) == day, calendar.component(.month, from: date) == month else { return nil }
        return "\(text.prefix(4))-\(text.dropFirst(4).prefix(2))-\(text.suffix(2))"
    }

    /// Today as `YYYYMMDD` in China's time zone.
    public static func today(_ date: Date = Date()) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d%02d%02d", parts.year!, parts.month!, parts.day!)
    }

    /// Decodes the additional-address reply (0x30 0x03): 70 bytes UCS-2LE, or status 0x91 when there is none.
    public static func additionalAddress(from reply: SAMReply) throws(IDCardError) -> String? {
        switch reply.status {
        case .noSuchItem: return nil
        case .success: return CardText.decode(reply.data[...]).nilIfEmpty
        default: throw .reader(reply.status, during: .readAdditionalAddress)
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
