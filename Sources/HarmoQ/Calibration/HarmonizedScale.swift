/// Harmonized Scale Optimization (HSO, paper Step 2).
///
/// The printed s* = sqrt((β_x−α_x)(2^{b_w}−1) / ((β_w−α_w)(2^{b_x}−1))) (eq. 6; "b_w" is both the weight bit-width
/// in 2^{b_w} and the weight upper bound in β_w − α_w: we write B for bits) equalises the uniform-noise models
/// MSE_x(s) = R_x²/(12 s² (2^{B_x}−1)²) and MSE_w(s) = s² R_w²/(12 (2^{B_w}−1)²).
/// With per-channel weight bounds, R_w is the effective range sqrt(mean_i (β_wi − α_wi)²), the value for which the
/// channel-averaged MSE_w model equals MSE_x at s*.
///
/// A scalar s applied as W → sW, x → x/s with bounds that follow the tensors (MinMax, percentile, DOBI — or the
/// literal variant, which scales the bounds with the tensors) leaves Q(sW)·Q(x/s) = Q(W)·Q(x) unchanged (up to
/// float rounding of the scaled values): it cannot change the layer's error. `perChannel` is the variant that acts:
/// one s_j per input channel (SmoothQuant-style migration with the paper's bit-width factor), after which the
/// per-tensor activation range and per-row weight ranges are re-estimated on the scaled tensors.
public enum HarmonizedScale {
    /// Uniform-noise MSE model of the activation quantizer: R_x²/(12(2^B−1)²) at the current (already scaled) bounds.
    public static func activationMSEModel(lower: Float, upper: Float, bits: Int) -> Double {
        let r = Double(upper - lower), n = Double((1 << bits) - (ShippedMutant.active == .hsoMSEModelLevels ? 0 : 1))
        return r * r / (12 * n * n)
    }

    /// Channel-averaged weight MSE model: mean_i (β_i−α_i)² / (12(2^B−1)²).
    public static func weightMSEModel(lower: [Float], upper: [Float], bits: Int) -> Double {
        let n = Double((1 << bits) - (ShippedMutant.active == .hsoMSEModelLevels ? 0 : 1))
        var s = 0.0
        for i in lower.indices { let r = Double(upper[i] - lower[i]); s += r * r }
        return s / Double(max(lower.count, 1)) / (12 * n * n)
    }

    /// The paper's s* (eq. 6) from the current bounds, clamped to [minScale, maxScale] (paper: [0.1, 10]).
    public static func literalScale(activationLower: Float, activationUpper: Float, weightLower: [Float], weightUpper: [Float],
                                    weightBits: Int, activationBits: Int, minScale: Float = 0.1, maxScale: Float = 10) throws -> Float {
        let mutant = ShippedMutant.active
        let rx = Double(activationUpper - activationLower)
        var s2 = 0.0, s1 = 0.0
        for i in weightLower.indices { let r = Double(weightUpper[i] - weightLower[i]); s2 += r * r; s1 += r }
        var rw = (s2 / Double(max(weightLower.count, 1))).squareRoot()
        if mutant == .hsoWeightRangeMeanNotRMS { rw = s1 / Double(max(weightLower.count, 1)) }
        guard rx > 0, rw > 0, rx.isFinite, rw.isFinite else {
            throw QuantError("HSO: ranges must be positive and finite, got R_x = \(rx), R_w = \(rw)")
        }
        let dropOne = mutant == .hsoLevelsInsteadOfSteps ? 0 : 1
        var nw = Double((1 << weightBits) - dropOne), nx = Double((1 << activationBits) - dropOne)
        if mutant == .hsoBitsSwapped { swap(&nw, &nx) }
        var ratio = rx * nw / (rw * nx)
        if mutant == .hsoScaleInverted { ratio = 1 / ratio }
        let s = mutant == .hsoSquareRootDropped ? ratio : ratio.squareRoot()
        if mutant == .hsoClampDropped { return Float(s) }
        return Swift.min(Swift.max(Float(s), minScale), maxScale)
    }

    /// Per-input-channel s_j = clamp(sqrt(max_t|x_tj|·(2^{B_w}−1) / (max_i|W_ij|·(2^{B_x}−1))), minScale, maxScale);
    /// channels with an all-zero column or input get s_j = 1. x (n×d), w (m×d).
    public static func perChannelScales(inputs x: [Float], rows n: Int, weight w: [Float], outputs m: Int, dimension d: Int,
                                        weightBits: Int, activationBits: Int, minScale: Float = 0.1, maxScale: Float = 10) -> [Float] {
        var ax = [Float](repeating: 0, count: d), aw = [Float](repeating: 0, count: d)
        for t in 0..<n { for j in 0..<d { ax[j] = Swift.max(ax[j], abs(x[t * d + j])) } }
        for i in 0..<m { for j in 0..<d { aw[j] = Swift.max(aw[j], abs(w[i * d + j])) } }
        let mutant = ShippedMutant.active
        var bitFactor = Float((1 << weightBits) - 1) / Float((1 << activationBits) - 1)
        if mutant == .hsoPerChannelBitFactorInverted { bitFactor = 1 / bitFactor }
        if mutant == .hsoPerChannelExponentSwapped { swap(&ax, &aw) }
        return (0..<d).map { j in
            guard ax[j] > 0, aw[j] > 0 else { return 1 }
            let s = (ax[j] / aw[j] * bitFactor).squareRoot()
            return mutant == .hsoClampDropped ? s : Swift.min(Swift.max(s, minScale), maxScale)
        }
    }
}
