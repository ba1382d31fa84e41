/// What happened at one boundary-refinement iteration.
public struct RefinementStep: Codable, Sendable, Equatable {
    public enum Event: String, Codable, Sendable {
        case step, rejectedIncrease, balanceRollback, rebalanced, srcReapplied, stalled
    }
    public var iteration: Int
    /// Loss at the bounds evaluated in this iteration (before the update).
    public var loss: Double
    /// Whether this iteration's bounds were kept (false: the loss rose or the balance was violated, rolled back).
    public var accepted: Bool
    public var learningRate: Double
    public var events: [Event]
    public var mseX: Double
    public var mseW: Double
}

/// The per-iteration record of one ABR run and the convergence facts T4 reports.
public struct RefinementTrace: Codable, Sendable, Equatable {
    public var steps: [RefinementStep] = []
    public var initialLoss: Double = .nan
    public var finalLoss: Double = .nan
    /// First iteration t ≥ 1 at which |L(t) − L(t−1)| (accepted losses) fell below the early-stop delta.
    public var firstSmallChange: Int?
    /// Iteration at which the early-stop rule (|ΔL| < δ for `patience` consecutive iterations) fired.
    public var earlyStopIteration: Int?
    public var rollbacks: Int = 0
    public var rebalances: Int = 0
    public var srcReapplications: Int = 0

    public init() {}

    /// Number of iterations whose evaluated loss exceeded the previous iteration's (any increase, accepted or not).
    public var increases: Int {
        var c = 0
        for i in steps.indices.dropFirst() where steps[i].loss > steps[i - 1].loss { c += 1 }
        return c
    }

    /// Accepted losses in order (the trace a safeguarded run promises to be non-increasing).
    public var acceptedLosses: [Double] { steps.filter(\.accepted).map(\.loss) }

    /// True when the accepted-loss sequence never increases.
    public var acceptedMonotone: Bool {
        let a = acceptedLosses
        return zip(a, a.dropFirst()).allSatisfy { $1 <= $0 }
    }
}
