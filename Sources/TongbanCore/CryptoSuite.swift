/// The algorithms a counter uses for what it protects from now on (`security.cryptoSuite`). What was protected
/// under the other suite stays readable and verifiable: every sealed file, identity record, audit record and anchor
/// names the algorithm it was made with.
public enum CryptoSuite: String, Sendable, Codable, CaseIterable {
    /// AES-256-GCM sealing, HMAC-SHA-256 audit chain.
    case standard
    /// The national suite (国密, GB/T 39786-2021): SM4-GCM sealing, HMAC-SM3 audit chain, SM2 signatures on the
    /// audit anchor and on every delivered manifest.
    case sm

    /// The algorithms in words, for `tongban doctor` and the log.
    public var algorithms: String {
        switch self {
        case .standard: "AES-256-GCM sealing, HMAC-SHA-256 audit chain"
        case .sm: "SM4-GCM sealing, HMAC-SM3 audit chain, SM2-with-SM3 signatures (signer id 1234567812345678)"
        }
    }
}
