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
    /// Each field of the request that was not valid, so a form can mark it beside the field (RFC 9457 §3's
    /// `invalid-params` example, in this API's camel case).
    public var invalidParams: [InvalidParam]?
    /// What made a capture doubtful (`capture-needs-retake`, `document-out-of-frame`): `blur`, `glare`,
    /// `low-resolution`, `out-of-frame` — the console offers a retake, or keeping it anyway.
    public var warnings: [String]?

    /// One field of a request that was not valid.
    public struct InvalidParam: Codable, Sendable, Equatable {
        /// The field's path in the request's data: `matterName`, `materials[0].name`.
        public var name: String
        /// `required` (missing or empty), `unknown` (not a field of the form) or `invalid` (wrong type or value).
        public var kind: String
        /// What is wrong, in words.
        public var reason: String

        public init(name: String, kind: String, reason: String) {
            self.name = name
            self.kind = kind
            self.reason = reason
        }
    }

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

    enum CodingKeys: String, CodingKey { case type, code, status, title, detail, remedy, device, invalidParams, warnings }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(String.self, forKey: .code)
        status = try container.decode(Int.self, forKey: .status)
        title = try container.decode(String.self, forKey: .title)
        detail = try container.decode(String.self, forKey: .detail)
        remedy = try container.decodeIfPresent(String.self, forKey: .remedy)
        device = try container.decodeIfPresent(String.self, forKey: .device)
        invalidParams = try container.decodeIfPresent([InvalidParam].self, forKey: .invalidParams)
        warnings = try container.decodeIfPresent([String].self, forKey: .warnings)
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
        try container.encodeIfPresent(invalidParams, forKey: .invalidParams)
        try container.encodeIfPresent(warnings, forKey: .warnings)
    }
}

/// A typed error that knows how to present itself to the clerk.
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

extension Problem: ProblemConvertible {
    public var problem: Problem { self }
}
