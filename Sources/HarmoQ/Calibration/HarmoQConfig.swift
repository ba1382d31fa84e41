/// Which reading of HarmoQ a calibration follows.
///
/// - `paperLiteral`: the formulas exactly as printed, where they are well-typed: SRC formula (5)
///   (H applied on the input side, k = d required), scalar HSO s* (eq. 6) applied to tensors *and* bounds,
///   ABR on the linearised loss E‖W·δx + δW·x‖² with absolute Adam steps on the bounds, rollback only on a
///   balance violation (|MSE_x − MSE_w| > 1.5ε).
/// - `corrected`: the exact minimiser of objective (3) (eigen form of the normal equations), a per-input-channel
///   HSO that changes the quantized product, and a safeguarded ABR on the deployment loss
///   ‖W₀x − Q(W_c)·Q(x/s)‖² (rollback + halve η whenever the loss rises, so its trace is monotone).
public enum HarmoQVariant: String, Codable, Sendable, CaseIterable {
    case paperLiteral = "literal"
    case corrected
}

/// The axis a structural projection H acts on.
public enum ProjectionAxis: String, Codable, Sendable, CaseIterable {
    /// H acts on the layer's output channels (k × m); for the square layers of the paper (m = d) this is its k × d.
    case channels
    /// H is a spatial filter over the token grid (commutes with a token-wise linear layer).
    case tokens
}

/// The structural projection H of SRC (paper Table 3).
public enum ProjectionKind: String, Codable, Sendable, CaseIterable {
    case identity, laplacian, sobel, dctHighPass = "dct", learned, random
}

/// Which loss the boundary refinement (ABR) minimises.
public enum RefinementLoss: String, Codable, Sendable, CaseIterable {
    /// The paper's L_total = E‖W_c·δx + δW·x‖² (δx = Q(x)−x, δW = Q(W_c)−W_c; the δW·δx term dropped).
    case linearised
    /// The deployment loss E‖W₀x − Q(W_c)·Q(x)‖² (everything the quantized layer gets wrong).
    case deployment
}

/// How ABR parameterises the clipping bounds for Adam.
public enum BoundParameterisation: String, Codable, Sendable, CaseIterable {
    /// Adam steps act on the bounds themselves (the paper: lr 1e-2 on θ).
    case absolute
    /// Adam steps act on θ/θ₀ (each bound relative to its initial magnitude), so lr 1e-2 means ~1%.
    case relative
}

/// Regressor in the SRC statistics.
public enum SRCRegressor: String, Codable, Sendable, CaseIterable {
    /// Objective (3) as printed: Σxx = E[xxᵀ], Σδx = E[δx xᵀ].
    case fullPrecision
    /// x̂ = Q(x) as regressor: the exact ridge minimiser of E‖W x − (W+δW)·Q(x)‖² (weight quantization ignored).
    case quantized
}

/// Every hyperparameter of HarmoQ (paper implementation table), with the paper's defaults.
public struct HarmoQConfig: Codable, Sendable, Equatable {
    public var variant: HarmoQVariant = .corrected
    public var weightBits: Int = 4
    public var activationBits: Int = 4
    public var rounding: Rounding = .halfToEven
    public var gradientMode: GradientMode = .ste
    /// Activation quantizer scheme (per tensor): nil = symmetric (the paper's implementation table). `.affine`
    /// gives one-sided inputs (post-GELU, softmax probabilities) all 2^b levels instead of about half of them.
    /// Optional so that configurations recorded before this option decode unchanged.
    public var activationScheme: QuantScheme?
    /// Zero point of an affine activation grid: nil = `.float` (configurations recorded before this option).
    /// The corrected preset uses `.integer` (docs/integer.md "Integer zero points": the measured cost).
    public var zeroPoint: ZeroPoint?

    // Steps on/off (Table 2 ablation).
    public var useSRC = true
    public var useHSO = true
    public var useABR = true

    // SRC
    /// Corrected default: identity (plain ridge), because the structural H only fit the filtered error and, on the
    /// layers tried while building this, raised the deployment loss; `harmoq tables --only 3` measures every H on
    /// DAT-light. The paper-literal preset uses the Laplacian (across channels).
    public var projection: ProjectionKind = .identity
    public var projectionAxis: ProjectionAxis = .tokens
    /// k for learned (PCA) and random projections; clamped to the layer's output width.
    public var projectionRank: Int = 32
    public var projectionSeed: UInt64 = 0
    /// λ for the weight calibration (paper: 1e-2).
    public var lambda: Double = 1e-2
    /// Cholesky stabiliser added to the diagonal (paper: 1e-6).
    public var choleskyJitter: Double = 1e-6
    /// Corrected default `.quantized` (the deployment-consistent ridge); `.fullPrecision` is objective (3) as printed.
    public var srcRegressor: SRCRegressor = .quantized
    /// Covariance running average: momentum 0.9 after 200 warm-up samples (paper; the literal preset). 0 = plain
    /// mean over all samples (corrected default: the EMA over per-image batches over-weights the last images).
    public var covarianceMomentum: Double = 0
    public var covarianceWarmup: Int = 200

    // HSO
    public var scaleMin: Float = 0.1
    public var scaleMax: Float = 10
    /// Recompute s* every this many boundary iterations (paper: 5).
    public var rebalancePeriod: Int = 5
    /// ε = balanceTolerance × (MSE_x + MSE_w) at the start of ABR (paper: 1% of the initial error).
    public var balanceTolerance: Double = 0.01
    /// SRC re-applied when |MSE_x − MSE_w| > srcReapplyFactor·ε (paper: 1.5).
    public var srcReapplyFactor: Double = 1.5

    // ABR
    public var iterations: Int = 3000
    public var warmupIterations: Int = 300
    public var learningRate: Double = 1e-2
    public var finalLearningRate: Double = 1e-4
    public var adamBeta1: Double = 0.9
    public var adamBeta2: Double = 0.999
    public var adamEpsilon: Double = 1e-8
    public var weightDecay: Double = 1e-5
    public var gradientClipNorm: Double = 1.0
    /// Feasibility projection margin: α ≤ β − margin.
    public var feasibilityMargin: Float = 0.01
    /// Early stop when |ΔL| < earlyStopDelta for earlyStopPatience consecutive iterations (paper: 1e-5, 50).
    public var earlyStopDelta: Double = 1e-5
    public var earlyStopPatience: Int = 50
    /// Whether ΔL in the early-stop test is relative to L (the table's "relative change" for τ) or absolute.
    public var earlyStopRelative = false
    public var refinementLoss: RefinementLoss = .deployment
    public var boundParameterisation: BoundParameterisation = .relative
    /// Roll back and halve η whenever the loss rises (corrected) — the paper only does so on a balance violation.
    /// Off by default: rollback-and-halve on every increase stalls within 38–97 iterations with ≤ 2% gain, while plain
    /// Adam with `keepBest` gains 26–66% (`harmoq verify T4 --size full -v`; Proofs/T4-convergence.md).
    public var rollbackOnIncrease = false
    /// Return the bounds with the lowest evaluated loss seen during ABR (not with the literal variant, whose
    /// rebalancing changes the problem mid-run).
    public var keepBest = true
    /// Rows (tokens) ABR optimises on, drawn once with `seed` (the paper's batch; deterministic full-batch descent).
    public var refinementRows: Int = 2048
    public var seed: UInt64 = 0

    public init() {}

    /// The paper-literal preset: formulas as printed, paper hyperparameters.
    public static func paperLiteral(weightBits: Int = 4, activationBits: Int = 4) -> HarmoQConfig {
        var c = HarmoQConfig()
        c.variant = .paperLiteral
        c.weightBits = weightBits
        c.activationBits = activationBits
        c.projection = .laplacian
        c.projectionAxis = .channels
        c.srcRegressor = .fullPrecision
        c.refinementLoss = .linearised
        c.boundParameterisation = .absolute
        c.rollbackOnIncrease = false
        c.keepBest = false
        c.covarianceMomentum = 0.9
        return c
    }

    /// The corrected preset (the default). Besides the corrected formulas it quantizes activations with an affine
    /// per-tensor grid: the paper's symmetric grid leaves about half of the 2^b levels unused on one-sided inputs
    /// (post-GELU, softmax probabilities); on DAT-light ×2 W4A4 (4 patches, 100 ABR iterations) Set5 PSNR goes from
    /// 36.86 (symmetric) to 37.28 dB (affine).
    public static func corrected(weightBits: Int = 4, activationBits: Int = 4) -> HarmoQConfig {
        var c = HarmoQConfig()
        c.weightBits = weightBits
        c.activationBits = activationBits
        c.activationScheme = .affine
        c.zeroPoint = .integer
        return c
    }

    /// Throws a `QuantError` naming the first out-of-range hyperparameter.
    public func validate() throws {
        guard Quantizer.supportedBits.contains(weightBits) else { throw QuantError("weightBits must be in 1…16, got \(weightBits)") }
        guard Quantizer.supportedBits.contains(activationBits) else { throw QuantError("activationBits must be in 1…16, got \(activationBits)") }
        guard lambda > 0 else { throw QuantError("lambda must be > 0, got \(lambda)") }
        guard choleskyJitter >= 0 else { throw QuantError("choleskyJitter must be ≥ 0, got \(choleskyJitter)") }
        guard scaleMin > 0, scaleMin <= scaleMax else { throw QuantError("scale bounds need 0 < min ≤ max, got [\(scaleMin), \(scaleMax)]") }
        guard iterations >= 0 else { throw QuantError("iterations must be ≥ 0, got \(iterations)") }
        guard learningRate > 0, finalLearningRate > 0 else { throw QuantError("learning rates must be > 0") }
        guard refinementRows >= 1 else { throw QuantError("refinementRows must be ≥ 1, got \(refinementRows)") }
        guard rebalancePeriod >= 1 else { throw QuantError("rebalancePeriod must be ≥ 1, got \(rebalancePeriod)") }
        guard projectionRank >= 1 else { throw QuantError("projectionRank must be ≥ 1, got \(projectionRank)") }
        guard feasibilityMargin > 0 else { throw QuantError("feasibilityMargin must be > 0, got \(feasibilityMargin)") }
    }
}
