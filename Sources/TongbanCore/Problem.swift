/// An error as the clerk and the calling page see it: RFC 9457 problem details plus Tongban's `code` and `remedy`.
///
/// Every module's typed errors convert into this at the API edge (`ProblemConvertible`).
public struct Problem: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    /// Stable machine-readable code, e.g. `origin-not-allowed`, `device-unavailable`.
    public var code: String
    /// HTTP status to answer with.
    public var status: Int
    /// Short summary, Chinese first with English alongside.
    public var title: String
    /// What exactly happened (names the device, the file, the key, the C call).
    public var detail: String
    /// What to do about it.
    public var remedy: String?
    /// The device concerned, if any.
    public var device: String?
    /// When to try again (the `Retry-After` header of the answer; not part of the JSON).
    public var retryAfterSeconds: Int?

    public init(code: String, status: Int, title: String, detail: String, remedy: String? = nil, device: String? = nil) {
        self.code = code
        self.status = status
        self.title = title
        self.detail = detail
        self.remedy = remedy
        self.device = device
    }

    /// The `type` URI of RFC 9457: a stable identifier derived from the code.
    public var type: String { "urn:tongban:problem:\(code)" }

    public var description: String {
        var text = "\(title): \(detail)"
        if let remedy { text += " — \(remedy)" }
        return text
    }

    enum CodingKeys: String, CodingKey { case type, code, status, title, detail, remedy, device }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(String.self, forKey: .code)
        status = try container.decode(Int.self, forKey: .status)
        title = try container.decode(String.self, forKey: .title)
        detail = try container.decode(String.self, forKey: .detail)
        remedy = try container.decodeIfPresent(String.self, forKey: .remedy)
        device = try container.decodeIfPresent(String.self, forKey: .device)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(code, forKey: .code)
        try container.encode(status, forKey: .status)
        try container.encode(title, forKey: .title)
        try container.encode(detail, forKey: .detail)
        try container.encodeIfPresent(remedy, forKey: .remedy)
        try container.encodeIfPresent(device, forKey: .device)
    }
}

/// A typed error that knows how to present itself to the clerk.
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

extension Problem: ProblemConvertible {
    public var problem: Problem { self }
}
