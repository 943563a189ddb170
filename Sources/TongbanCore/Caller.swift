/// Who is asking, as proven by a credential — never by browser headers, which any local program can send.
public enum Caller: Sendable, Equatable {
    /// No credential: only what is open to every program on this PC (health, the device list, the console's files).
    case anonymous
    /// The API token (`<dataDir>/api-token`, 0600): scripts and the CLI.
    case apiToken
    /// A clerk signed in to the console (`POST /v1/session`).
    case clerk(id: String, name: String)
    /// A case system's page, vouched for by an assertion its backend signed for its operator.
    case caseSystem(origin: String, operatorID: String, name: String?)

    /// The caller of the request being served (set by `AccessMiddleware` around every route).
    @TaskLocal public static var current: Caller = .anonymous

    public var hasCredential: Bool { self != .anonymous }

    /// Whether this caller acts for a person at a browser (who must say why when revealing a card).
    public var isPerson: Bool {
        switch self {
        case .clerk, .caseSystem: true
        case .anonymous, .apiToken: false
        }
    }

    /// The person acting, as forms and manifests name them (经办人): the clerk's or the case system operator's name.
    public var personName: String? {
        switch self {
        case .clerk(_, let name): name
        case .caseSystem(_, let operatorID, let name): name ?? operatorID
        case .anonymous, .apiToken: nil
        }
    }

    /// The operator as the audit log names them.
    public var auditName: String {
        switch self {
        case .anonymous: "anonymous"
        case .apiToken: "api-token"
        case .clerk(let id, let name): "clerk \(id) (\(name))"
        case .caseSystem(let origin, let operatorID, let name): "case-system \(origin) operator \(operatorID)" + (name.map { " (\($0))" } ?? "")
        }
    }

    /// The actor of an audit record: the caller as its credential proved it — with the operator the request names
    /// (经办人) when that is someone else — or, for work no caller asked for (a restart, a timer), the operator named,
    /// or `fallback`.
    public func auditActor(claimed: String?, fallback: String) -> String {
        guard hasCredential else { return claimed ?? fallback }
        guard let claimed, !claimed.isEmpty, claimed != personName else { return auditName }
        return "\(auditName) for \(claimed)"
    }
}
