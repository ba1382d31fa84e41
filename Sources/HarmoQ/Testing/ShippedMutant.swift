import Foundation

/// **Test seam.** Deliberately wrong variants of the core's own calibration code, so that `harmoq verify --mutants`
/// (and the tests that run it) can show that each checker catches a bug in the code that ships — not in a copy.
///
/// How it works: each case names one wrong line in one shipped function. That function reads `ShippedMutant.active`
/// once per call (per element only for the per-element `Quantizer`/`Observer` primitives) and, when it matches,
/// executes the wrong line instead of the right one. The switch is off (`.none`) unless
/// `ShippedMutant.withActive(_:_:)` is running; only `HarmoQChecks.MutantReport` (used by `harmoq verify --mutants`
/// and the checker tests) calls it.
///
/// Cost when off: one relaxed atomic load of a byte and a predicted branch per read, no allocation, no lock; results
/// are bit-identical to a build without the seam (the golden calibration snapshot checks this).
///
/// Scope: a mutant is visible only on the thread that activated it (other threads — parallel tests, calibration
/// workers — always see `.none`), and activations are serialised by a mutex, so an in-process mutant run cannot
/// corrupt concurrent work. Code that the activating thread hands to other threads runs unmutated there: such a mutant
/// can only survive (reported), never make a wrong result look right.
public enum ShippedMutant: UInt8, CaseIterable, Sendable {
    case none = 0

    // Quantizer, QuantKernel (bulk), ChannelQuantizer — owned by the `quantizer` checker.
    case quantizerRoundHalfUp = 1
    case quantizerStepOverTwoToB
    case quantizerSymmetricCodeMaxOffByOne
    case quantizerAffineDropsOffset
    case quantizerCodesNotClamped
    case quantizerExactDerivativeIsSTE
    case quantizerClipGradientMissing
    case kernelRoundingIgnoresMode
    case kernelBulkScaleIndexShifted
    case channelQuantizerWrongChannel
    case projectionOrderSwapped
    // Observers — owned by the `quantizer` checker.
    case observerMinMaxSwapped = 30
    case observerAbsMaxUsesSmaller
    case observerPercentileIndexOffByOne
    case observerDOBIShrinksTwiceAsFast
    case observerMSESearchSkipsFullRange

    // SRC, its statistics and solvers — owned by T1.
    case srcRidgeDropped = 60
    case srcSigmaDxTransposed
    case srcEigenBackRotationNotTransposed
    case srcEigenLambdaDropped
    case srcPaperFormulaHNotTransposed
    case srcPaperFormulaRidgeDropped
    case jacobiRotationSignFlipped
    case choleskyBackSubstitutionTransposed
    case statisticsQuantizedRegressorErrorSign
    case covarianceEMAWeightsSwapped
    case calibratorSRCBoundsNotReestimated
    case calibratorSRCScaleNotFolded

    // HSO — owned by T2.
    case hsoScaleInverted = 90
    case hsoBitsSwapped
    case hsoSquareRootDropped
    case hsoLevelsInsteadOfSteps
    case hsoWeightRangeMeanNotRMS
    case hsoClampDropped
    case hsoMSEModelLevels
    case hsoPerChannelExponentSwapped
    case hsoPerChannelBitFactorInverted
    case hsoPerChannelBoundsNotReestimated
    case hsoScalarScaleBoundsNotScaled

    // CompoundLoss and the ABR quantizer kernel's derivatives — owned by T3.
    case lossGradientSignFlipped = 120
    case lossGradientFactorTwoDropped
    case lossDeploymentWeightGradientUsesRawInput
    case lossDeploymentActivationGradientUsesFPWeight
    case lossGradientLayoutLowerUpperSwapped
    case lossLinearisedResidualMissingTerm
    case lossPrepareMultipliesByScale
    case kernelSTEMaskOffByOne
    case kernelExactIsSTE
    case kernelAffineClipGradientMissing
    case kernelSymmetricClippedUsesSTE

    // ABR optimizer, schedule and loop — owned by T4.
    case adamBiasCorrectionDropped = 150
    case adamBeta2IsBeta1
    case adamEpsilonInsideSquareRoot
    case adamClipNormIgnored
    case adamWeightDecaySignFlipped
    case scheduleWarmupOffByOne
    case scheduleCosineHalfPeriod
    case abrKeepBestIgnored
    case abrRelativeScaleIgnored

    /// What the wrong line does (printed by `harmoq verify --mutants`).
    public var summary: String {
        switch self {
        case .none: return "the shipped code"
        case .quantizerRoundHalfUp: return "Rounding.halfToEven rounds ties up (⌊v + ½⌋)"
        case .quantizerStepOverTwoToB: return "Quantizer step Δ = (β−α)/2^b instead of (β−α)/(2^b−1)"
        case .quantizerSymmetricCodeMaxOffByOne: return "symmetric codeMax = 2^(b−1) (one level too many)"
        case .quantizerAffineDropsOffset: return "affine dequantize drops the +α"
        case .quantizerCodesNotClamped: return "Quantizer.code does not clamp to [codeMin, codeMax]"
        case .quantizerExactDerivativeIsSTE: return "Quantizer.derivatives(.exact) returns the STE/LSQ derivative"
        case .quantizerClipGradientMissing: return "Quantizer.derivatives gives 0 bound derivatives for clipped inputs"
        case .kernelRoundingIgnoresMode: return "QuantKernel rounds half to even even for a half-away quantizer"
        case .kernelBulkScaleIndexShifted: return "QuantKernel.fakeQuantInPlace(divideBy:) divides by the next channel's scale"
        case .channelQuantizerWrongChannel: return "ChannelQuantizer applies channel c+1's quantizer to channel c"
        case .projectionOrderSwapped: return "Quantizer.projectFeasible moves β first, then α (wrong order)"
        case .observerMinMaxSwapped: return "Observer.minMax returns (max, min) widened"
        case .observerAbsMaxUsesSmaller: return "Observer.absMax uses min(|lo|, |hi|)"
        case .observerPercentileIndexOffByOne: return "Observer.percentile position q/100·n instead of q/100·(n−1)"
        case .observerDOBIShrinksTwiceAsFast: return "DOBI two-sided δ = (max−min)/candidates instead of /(2·candidates)"
        case .observerMSESearchSkipsFullRange: return "Observer.mseSearch never tries the full range c = 1"
        case .srcRidgeDropped: return "SRC (H = I) solves Σxx·δWᵀ = … without λ on the diagonal"
        case .srcSigmaDxTransposed: return "SRC uses W·Σδxᵀ instead of W·Σδx"
        case .srcEigenBackRotationNotTransposed: return "SRC eigen form rotates back by V instead of Vᵀ"
        case .srcEigenLambdaDropped: return "SRC eigen form denominators a_i·g_j without + λ"
        case .srcPaperFormulaHNotTransposed: return "SRC formula (5) uses W·Σδx·H instead of W·Σδx·Hᵀ"
        case .srcPaperFormulaRidgeDropped: return "SRC formula (5) without λ in HΣxxHᵀ + λI"
        case .jacobiRotationSignFlipped: return "SymmetricEigen rotation with the sign of s flipped"
        case .choleskyBackSubstitutionTransposed: return "Cholesky back substitution uses L instead of Lᵀ"
        case .statisticsQuantizedRegressorErrorSign: return "LayerStatistics (.quantized regressor) accumulates −δ"
        case .covarianceEMAWeightsSwapped: return "CovarianceAccumulator EMA S ← (1−m)·S + m·batch"
        case .calibratorSRCBoundsNotReestimated: return "LayerCalibrator SRC keeps the weight bounds of W₀ for W_c"
        case .calibratorSRCScaleNotFolded: return "LayerCalibrator SRC corrects W₀ instead of W₀·diag(s)"
        case .hsoScaleInverted: return "HSO literal s* returns 1/s*"
        case .hsoBitsSwapped: return "HSO literal s* with (2^bx−1)/(2^bw−1) instead of (2^bw−1)/(2^bx−1)"
        case .hsoSquareRootDropped: return "HSO literal s* without the square root"
        case .hsoLevelsInsteadOfSteps: return "HSO literal s* with 2^b levels instead of 2^b−1 steps"
        case .hsoWeightRangeMeanNotRMS: return "HSO literal s* with R_w = mean range instead of RMS range"
        case .hsoClampDropped: return "HSO s* and s_j not clamped to [scaleMin, scaleMax]"
        case .hsoMSEModelLevels: return "HSO MSE models use 2^b instead of 2^b−1"
        case .hsoPerChannelExponentSwapped: return "per-channel s_j = (max|W_j|/max|x_j|)^½·… (exponents α and 1−α swapped)"
        case .hsoPerChannelBitFactorInverted: return "per-channel s_j with (2^bx−1)/(2^bw−1)"
        case .hsoPerChannelBoundsNotReestimated: return "per-channel HSO keeps the unscaled bounds"
        case .hsoScalarScaleBoundsNotScaled: return "literal scalar HSO rescales the tensors but not the bounds"
        case .lossGradientSignFlipped: return "CompoundLoss gradient with the sign flipped"
        case .lossGradientFactorTwoDropped: return "CompoundLoss gradient scale 1/n instead of 2/n"
        case .lossDeploymentWeightGradientUsesRawInput: return "deployment ∂L/∂Q(W) uses x instead of Q(x)"
        case .lossDeploymentActivationGradientUsesFPWeight: return "deployment ∂L/∂Q(x) uses W_c instead of Q(W_c)"
        case .lossGradientLayoutLowerUpperSwapped: return "CompoundLoss writes ∂/∂α_w into the β_w slots and vice versa"
        case .lossLinearisedResidualMissingTerm: return "linearised residual W_cQ(x) + Q(W_c)x − W_cx (one W_cx missing)"
        case .lossPrepareMultipliesByScale: return "CompoundLoss.prepare computes x_raw·s instead of x_raw/s"
        case .kernelSTEMaskOffByOne: return "QuantKernel STE mask r < codeMax (the top code counted as clipped)"
        case .kernelExactIsSTE: return "CompoundLoss evaluates .exact with the STE derivative"
        case .kernelAffineClipGradientMissing: return "QuantKernel affine x ≥ β gives ∂x̂/∂β = 0"
        case .kernelSymmetricClippedUsesSTE: return "QuantKernel symmetric clipped inputs use q − v"
        case .adamBiasCorrectionDropped: return "Adam without bias correction"
        case .adamBeta2IsBeta1: return "Adam second moment with β₁ instead of β₂"
        case .adamEpsilonInsideSquareRoot: return "Adam √(v̂ + ε) instead of √v̂ + ε"
        case .adamClipNormIgnored: return "Adam ignores the gradient-norm clip"
        case .adamWeightDecaySignFlipped: return "Adam weight decay g − wd·θ instead of g + wd·θ"
        case .scheduleWarmupOffByOne: return "warm-up lr·t/warmup instead of lr·(t+1)/warmup"
        case .scheduleCosineHalfPeriod: return "cosine decay cos(πf/2) instead of cos(πf)"
        case .abrKeepBestIgnored: return "ABR returns the last bounds even when an earlier one had lower loss"
        case .abrRelativeScaleIgnored: return "ABR relative parameterisation steps θ itself (scale 1)"
        }
    }

    private static let mutantSwitch = MutantSwitch()

    /// The mutant active on this thread (`.none` unless inside `withActive` on this thread).
    @inline(__always) public static var active: ShippedMutant {
        let raw = mutantSwitch.active
        return raw == 0 ? .none : (ShippedMutant(rawValue: raw) ?? .none)
    }

    /// Runs `body` with `mutant` active on the calling thread, then switches it off. Activations from several threads
    /// wait for each other. For `harmoq verify --mutants` and tests only.
    public static func withActive<T>(_ mutant: ShippedMutant, _ body: () throws -> T) rethrows -> T {
        try mutantSwitch.withActive(mutant.rawValue, body)
    }
}
