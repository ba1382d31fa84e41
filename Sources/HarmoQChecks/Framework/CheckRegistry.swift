/// The one list of registered checkers, and the claims that have none yet ("pending", never counted as passed).
public enum CheckRegistry {
    /// Every claim id the CLI accepts, in report order.
    public static let claimIDs = ["T1", "T2", "T3", "T4", "T5", "O1", "quantizer"]

    /// Registered checkers. Add a checker here, in one line.
    public static var checkers: [any Checker] {
        [T1SRCClosedForm(), T2HSOScale(), T3BoundaryGradients(), T4Convergence(), T5Complexity(), O1KeyObservation(), QuantizerConformance()]
    }

    /// Titles of claims without a registered checker.
    static let pendingTitles: [String: String] = [
        "T4": "Convergence of Algorithm 1 (monotone decrease, |ΔL| < τ)",
        "O1": "Key observation: weight-only quantization lowers SSIM, activation-only lowers PSNR",
        "quantizer": "Quantizer conformance (grid, rounding, derivatives)",
    ]

    public static func checker(_ id: String) -> (any Checker)? { checkers.first { $0.id == id } }

    /// Runs the claims `ids` (registered ones run, others are reported pending).
    public static func run(_ ids: [String], size: CheckSize, seed: UInt64) -> [ClaimRun] {
        ids.map { id in
            if let c = checker(id) { return ClaimRun.run(c, size: size, seed: seed) }
            return ClaimRun.pending(id, title: pendingTitles[id] ?? id, reason: "no checker registered yet")
        }
    }
}
