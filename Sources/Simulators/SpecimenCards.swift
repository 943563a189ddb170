import IDCard
import SAMProtocol

/// Specimen cards of every type, with made-up people and numbers whose check characters are correct.
/// The simulator and the demo place them on the simulated reader; the tests read them back.
public enum SpecimenCards {
    /// A WLT-sized photo block. Real photos are a vendor's proprietary wavelet format; this is filler.
    public static let photo: [UInt8] = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }

    public static func withCheck(_ first17: String) -> String {
        first17 + String(IdentityNumbers.mod112CheckCharacter(first17)!)
    }

    static func withICAOCheck(_ first14: String) -> String {
        first14 + String(IdentityNumbers.icaoCheckDigit(first14)!)
    }

    /// 居民身份证 of a made-up woman born 1949-12-31 (the reference's check-character example number).
    public static let resident = BaseInfo(text: CardText.encode([
        .name: "李华", .sex: "2", .ethnicity: "01", .birthDate: "19491231",
        .address: "北京市西城区示例街道1号", .number: "11010519491231002X", .issuingAuthority: "北京市公安局西城分局",
        .validFrom: "20200101", .validUntil: "长期",
    ], as: .resident), photo: photo)

    /// 港澳台居民居住证 of a made-up Hong Kong resident.
    public static let hkMacaoTaiwan = BaseInfo(text: CardText.encode([
        .name: "陈大文", .sex: "1", .birthDate: "19900101", .address: "广东省深圳市福田区示例路8号",
        .number: withCheck("81000019900101001"), .issuingAuthority: "深圳市公安局", .validFrom: "20230301",
        .validUntil: "20280301", .passNumber: "H12345678", .issueCount: "01",
    ], as: .hkMacaoTaiwan), photo: photo)

    /// 外国人永久居留身份证 (2017) of a made-up American man.
    public static let foreigner2017 = BaseInfo(text: CardText.encode([
        .nameEnglish: "SMITH, JOHN", .sex: "1", .number: withICAOCheck("USA31008506123"), .nationality: "USA",
        .name: "约翰", .validFrom: "20200101", .validUntil: "20300101", .birthDate: "19850612", .cardVersion: "01",
        .authorityCode: "1500",
    ], as: .foreigner2017), photo: photo)

    /// 外国人永久居留身份证 (2023) of a made-up Canadian woman.
    public static let foreigner2023 = BaseInfo(text: CardText.encode([
        .name: "玛丽", .sex: "2", .renewalCount: "00", .birthDate: "19920304", .nameEnglish: "MARTIN",
        .number: withCheck("93112419920304002"), .validFrom: "20240101", .validUntil: "20340101",
        .nameEnglish2: "MARIE", .nationality: "CAN",
    ], as: .foreigner2023), photo: photo)

    public static let all: [(CardType, BaseInfo)] = [
        (.resident, resident), (.hkMacaoTaiwan, hkMacaoTaiwan), (.foreigner2017, foreigner2017), (.foreigner2023, foreigner2023),
    ]
}
