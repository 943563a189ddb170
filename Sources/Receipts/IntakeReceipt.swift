import Foundation
import TongbanCore

/// 接件回执: the slip the applicant takes away when the counter accepts an application — the case number to ask
/// about progress and to collect the result with (seed 001: 出具接件回执; 凭接件回执查询、领取).
public struct IntakeReceipt: Codable, Sendable, Equatable {
    /// The hall, e.g. 晋安区行政服务中心.
    public var hall: String
    public var counter: String
    /// 受理编号.
    public var caseNumber: String
    /// 事项名称.
    public var matter: String
    /// The applicant's name; printed masked (张*) unless `printFullName`.
    public var applicant: String
    public var printFullName: Bool?
    /// The materials received.
    public var materials: [String]
    public var acceptedAt: Date
    /// 承诺办结日期, as the clerk's system states it.
    public var promisedBy: String?
    /// Where to ask, e.g. a phone number.
    public var enquiries: String?

    public init(hall: String, counter: String, caseNumber: String, matter: String, applicant: String, printFullName: Bool? = nil,
                materials: [String], acceptedAt: Date, promisedBy: String? = nil, enquiries: String? = nil) {
        self.hall = hall
        self.counter = counter
        self.caseNumber = caseNumber
        self.matter = matter
        self.applicant = applicant
        self.printFullName = printFullName
        self.materials = materials
        self.acceptedAt = acceptedAt
        self.promisedBy = promisedBy
        self.enquiries = enquiries
    }

    /// Every missing field at once.
    public var problems: [String] {
        var problems: [String] = []
        for (name, value) in [("hall", hall), ("counter", counter), ("caseNumber", caseNumber), ("matter", matter), ("applicant", applicant)]
            where value.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append("\(name) is empty")
        }
        if materials.isEmpty { problems.append("materials is empty") }
        return problems
    }

    /// The slip as ESC/POS for an 80 mm printer; `timeZone` is the counter's.
    public func escPOS(timeZone: TimeZone = .current) throws(TextEncodingError) -> ESCPOSDocument {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        var document = ESCPOSDocument()
        try document.line(hall, alignment: .centre, bold: true)
        try document.line("接件回执", alignment: .centre, bold: true, doubleSize: true)
        document.rule()
        try document.pair("受理编号", caseNumber)
        try document.pair("事项", matter)
        try document.pair("申请人", printFullName == true ? applicant : PersonalData.maskName(applicant))
        try document.pair("受理窗口", counter)
        try document.pair("受理时间", formatter.string(from: acceptedAt))
        if let promisedBy { try document.pair("承诺办结", promisedBy) }
        document.rule()
        try document.line("已收材料（\(materials.count)件）：")
        for (index, material) in materials.enumerated() { try document.line("\(index + 1). \(material)") }
        document.rule()
        document.qrCode(caseNumber)
        try document.line("凭本回执查询办理进度、领取办理结果", alignment: .centre)
        if let enquiries { try document.line("咨询：\(enquiries)", alignment: .centre) }
        document.cut()
        return document
    }
}
