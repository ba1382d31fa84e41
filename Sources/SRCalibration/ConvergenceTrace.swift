import HarmoQ

/// The per-iteration L_total of one site's boundary refinement (ABR), as kept in a QPARAMS sidecar so that an
/// audit can draw the convergence curve. Optional in the file format: older sidecars have none.
public struct ConvergenceTrace: Codable, Sendable, Equatable {
    /// ABR iteration of each entry.
    public var iterations: [Int]
    /// Loss evaluated at that iteration (before its update).
    public var losses: [Double]
    /// Whether the iteration's bounds were kept.
    public var accepted: [Bool]

    public init(iterations: [Int], losses: [Double], accepted: [Bool]) {
        self.iterations = iterations; self.losses = losses; self.accepted = accepted
    }

    /// The trace of a `RefinementTrace` (one entry per step).
    public init(_ trace: RefinementTrace) {
        iterations = trace.steps.map(\.iteration)
        losses = trace.steps.map(\.loss)
        accepted = trace.steps.map(\.accepted)
    }
}
