/// The verdict a Proofs/ document states for one claim.
public struct ClaimVerdict: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case holds
        case holdsUnderConditions = "holds under stated conditions"
        case refuted
        case pending
    }
    public let claim: String
    public let status: Status
    /// One-line summary (with the corrected statement when refuted).
    public let summary: String
    /// The command that reproduces it.
    public let reproduce: String
    public init(claim: String, status: Status, summary: String, reproduce: String) {
        self.claim = claim; self.status = status; self.summary = summary; self.reproduce = reproduce
    }
}
