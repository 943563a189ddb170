import Foundation
import TongbanCore

/// The kinds of card a SAM reader reads.
public enum CardType: String, Codable, Sendable, CaseIterable {
    /// 居民身份证
    case resident
    /// 港澳台居民居住证 (type character `J`)
    case hkMacaoTaiwan
    /// 外国人永久居留身份证, 2017 edition (`I`)
    case foreigner2017
    /// 外国人永久居留身份证, 2023 edition (`Y`) — layout from a single open source, provisional
    case foreigner2023
}

/// Sex as GB/T 2261.1 codes it.
public enum Sex: String, Codable, Sendable {
    case unknown, male, female, unstated

    init(code: String) {
        self = switch code {
        case "1": .male
        case "2": .female
        case "9": .unstated
        default: .unknown
        }
    }

    var code: String {
        switch self {
        case .unknown: "0"
        case .male: "1"
        case .female: "2"
        case .unstated: "9"
        }
    }
}

/// The card photo as read: the 1024 proprietary "WLT" bytes, decoded only through a vendor library.
public struct CardPhoto: Codable, Sendable, Equatable {
    public var format: String
    public var decoded: Bool
    /// Base64 JPEG when a vendor library decoded the photo.
    public var jpeg: String?
    /// Why not decoded, for the record (e.g. no vendor library configured).
    public var note: String?
}

/// One identity card as read, in the JSON form the API and events carry. Absent fields are omitted.
public struct IdentityRecord: Codable, Sendable, Equatable {
    public var cardType: CardType
    public var name: String?
    public var nameEnglish: String?
    public var sex: Sex?
    public var ethnicity: String?
    public var ethnicityCode: String?
    public var birthDate: String?
    public var address: String?
    public var additionalAddress: String?
    public var idNumber: String?
    public var issuingAuthority: String?
    public var validFrom: String?
    /// `YYYY-MM-DD` or `long-term`.
    public var validUntil: String?
    public var passNumber: String?
    public var issueCount: String?
    public var nationality: String?
    public var cardVersion: String?
    public var renewalCount: String?
    public var previousNumberLink: String?
    public var numberValid: Bool
    public var warnings: [String]
    public var photo: CardPhoto?
    /// True when personal fields are masked (the default everywhere).
    public var masked: Bool?

    public init(cardType: CardType, numberValid: Bool = false, warnings: [String] = []) {
        self.cardType = cardType
        self.numberValid = numberValid
        self.warnings = warnings
    }

    /// The record with personal fields masked: names keep their first character, numbers their region and last
    /// four, addresses their first six characters, the birth date its year.
    public func maskedCopy() -> IdentityRecord {
        var copy = self
        copy.name = name.map(PersonalData.maskName)
        copy.nameEnglish = nameEnglish.map(PersonalData.maskName)
        copy.idNumber = idNumber.map(PersonalData.maskIDNumber)
        copy.passNumber = passNumber.map(PersonalData.maskIDNumber)
        copy.previousNumberLink = previousNumberLink.map { String(repeating: "*", count: $0.count) }
        copy.address = address.map(Self.maskAddress)
        copy.additionalAddress = additionalAddress.map(Self.maskAddress)
        copy.birthDate = birthDate.map { String($0.prefix(4)) + "-**-**" }
        copy.photo = photo.map { CardPhoto(format: $0.format, decoded: $0.decoded, jpeg: nil, note: $0.note) }
        copy.masked = true
        return copy
    }

    static func maskAddress(_ address: String) -> String {
        String(address.prefix(6)) + String(repeating: "*", count: max(0, min(8, address.count - 6)))
    }
}

/// GB/T 3304 ethnicity codes.
public enum Ethnicity {
    public static let names: [String: String] = [
        "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝", "08": "壮", "09": "布依",
        "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白", "15": "土家", "16": "哈尼", "17": "哈萨克", "18": "傣",
        "19": "黎", "20": "傈僳", "21": "佤", "22": "畲", "23": "高山", "24": "拉祜", "25": "水", "26": "东乡", "27": "纳西",
        "28": "景颇", "29": "柯尔克孜", "30": "土", "31": "达斡尔", "32": "仫佬", "33": "羌", "34": "布朗", "35": "撒拉",
        "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌", "40": "普米", "41": "塔吉克", "42": "怒", "43": "乌孜别克",
        "44": "俄罗斯", "45": "鄂温克", "46": "德昂", "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙",
        "52": "鄂伦春", "53": "赫哲", "54": "门巴", "55": "珞巴", "56": "基诺", "97": "其他", "98": "外国血统中国籍人士",
    ]
}
