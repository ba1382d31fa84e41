import Foundation
import GSLOracle
import HarmoQ

/// T3 — Boundary gradients (Theorem 3): ∂L/∂θ = 2E[(Wδx + δWx)ᵀ(W ∂δx/∂θ + ∂δW/∂θ x)], θ ∈ {αx, βx, αw, βw}.
/// Analytic gradient from the core quantizer's `derivatives(_:mode:)`; independent computation: GSL central
/// differences (gsl_deriv_central) of the empirical loss evaluated with a Float64 reference quantizer, away from
/// kinks; and secant differences of the large-sample loss for the STE/LSQ gradient. See Proofs/T3-boundary-gradients.md.
public struct T3BoundaryGradients: Checker {
    public init() {}
    public let id = "T3"
    public let title = "Boundary gradients (Theorem 3) vs finite differences"
    public var verdict: ClaimVerdict {
        ClaimVerdict(claim: id, status: .holdsUnderConditions,
                     summary: "the chain rule holds a.e. (= FD of the empirical loss away from kinks); neither the a.e. nor the STE/LSQ gradient is the gradient of the large-sample loss (median rel. error ≥ 28%, STE sign agreement 38–100%)",
                     reproduce: "harmoq verify T3 -v")
    }
    public var legend: [(ratio: String, formula: String)] {
        [("grad-exact", "|g_an − g_fd| / (ε_f·G + abserr), g_an from core derivatives(.exact), g_fd = gsl_deriv_central of the Float64 empirical loss on kink-free tokens; G = (2/N)Σ(|W||x̂|+|Ŵ||x|+|r|)ᵀ(|W||∂δx|+|∂δW||x|)"),
         ("kink-free-fraction", "measured: fraction of tokens kept (no element within ±h of a rounding/clipping kink)"),
         ("sign-agree-*", "measured: fraction of (4 evaluation points: bounds × c, c ∈ {0.6, 0.8, 1, 1.25}) × 4 parameters where sign(g) = sign(g_fd), g_fd = secant FD (h = 2% of the range) of the large-sample loss"),
         ("median-relerr-*", "measured: median |g − g_fd|/|g_fd| over the same 16 components"),
         ("cos-*", "measured: smallest cosine between g and g_fd over the 4 evaluation points"),
         ("core-loss", "|L_core − L_ref| / ((d+2)·ε_f·(2/n)Σ|r|·M + ε_d·L_ref): CompoundLoss.evaluate (ABR's loss, HSO input scale 0.5…2) vs its Float64 definition with the reference quantizer, on kink-free tokens"),
         ("core-grad-*", "worst over θ (α_x, β_x, α_w, β_w per row or shared) of |g_core − g_fd| / ((d+2)·ε_f·G + abserr + ε_d|g_fd|): g_core = CompoundLoss.evaluate (the gradient ABR uses, through QuantKernel), g_fd = gsl_deriv_central and a plain Float64 central difference (h = 1e-5·range) of the real loss (exact) or of the straight-through surrogate x̂ = Δ(θ)(r₀ − v₀) + x (ste); G = (2/n)Σ(|r| + M)·2Σ|B or u|"),
         ("exact-vs-expected / ste-vs-expected", "median |g − g_fd|/|g_fd| (documented refutation: ≥ 0.1 — neither the a.e. nor the STE/LSQ gradient is the gradient of the large-sample loss)")]
    }
    public var shippedMutants: [ShippedMutant] {
        [.lossGradientSignFlipped, .lossGradientFactorTwoDropped, .lossDeploymentWeightGradientUsesRawInput,
         .lossDeploymentActivationGradientUsesFPWeight, .lossGradientLayoutLowerUpperSwapped, .lossLinearisedResidualMissingTerm,
         .lossPrepareMultipliesByScale, .kernelSTEMaskOffByOne, .kernelExactIsSTE, .kernelAffineClipGradientMissing,
         .kernelSymmetricClippedUsesSTE]
    }
    public var mutants: [Mutant] {
        [Mutant("signFlip", "analytic gradient with the sign flipped"),
         Mutant("clipTermMissing", "clipped elements contribute 0 to ∂x̂/∂θ (clip term missing)"),
         Mutant("levelsInsteadOfSteps", "∂Δ/∂θ = ±1/2^b instead of ±1/(2^b − 1)"),
         Mutant("factorTwoDropped", "the factor 2 of ∂‖r‖²/∂θ dropped"),
         Mutant("weightTermMissing", "∂δW/∂θ·x term dropped (only W·∂δx/∂θ kept)"),
         Mutant("exactReturnsSTE", "the a.e. gradient path uses the STE/LSQ derivative"),
         Mutant("lowerUpperSwapped", "∂/∂α and ∂/∂β swapped")]
    }

    struct Setup {
        let n: Int, d: Int, m: Int
        let x: [Double], w: [Double]            // n×d, m×d
        var theta: [Double]                      // αx, βx, αw, βw
        let bits: Int, scheme: QuantScheme
    }

    public func run(size: CheckSize, seed: UInt64, mutant: Mutant?) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let layer = CheckLayer(d: 16, m: 16, images: 1, grid: size == .ci ? 16 : 32, seed: seed &+ 3)
        let big = CheckLayer(d: 16, m: 16, images: size == .ci ? 8 : 32, grid: 32, seed: seed &+ 4)
        for scheme in [QuantScheme.symmetric, .affine] {
            for bits in [2, 3, 4, 8] {
                var s = try setup(layer, bits: bits, scheme: scheme)
                s.theta = try awayFromKinks(s)
                out += try exactVsFD(s, layer: layer, mutant: mutant)
                if bits <= 4 {
                    let sb = try setup(big, bits: bits, scheme: scheme)
                    out += try steVsExpected(sb, layer: big, mutant: mutant)
                }
            }
        }
        out += try coreCompoundLoss(size: size, seed: seed)
        return out
    }

    func r(_ ratio: String, _ v: Double, _ p: [(String, String)], _ e: Expectation,
                   threshold: Double = Thresholds.scaledRatio, eps: Double = Thresholds.epsFloat) -> CheckResult {
        CheckResult(claim: id, ratio: ratio, formula: "", value: v, threshold: threshold, epsilon: eps, parameters: p, expectation: e)
    }

    /// Bounds: x from the 99.5th percentile (some clipping), W from 0.8·MinMax (some clipping).
    func setup(_ layer: CheckLayer, bits: Int, scheme: QuantScheme) throws -> Setup {
        let xs = layer.x.data.map { Float($0) }
        let (xl, xh) = try Observer.percentile(xs, 99.5)
        let (wl, wh) = try Observer.minMax(layer.w.data.map { Float($0) })
        return Setup(n: layer.tokens, d: layer.d, m: layer.m, x: layer.x.data, w: layer.w.data,
                     theta: [Double(xl), Double(xh), Double(0.8 * wl), Double(0.8 * wh)], bits: bits, scheme: scheme)
    }

    func coreQuantizers(_ s: Setup, _ theta: [Double], rounding: Rounding = .halfToEven) throws -> (Quantizer, Quantizer) {
        (try Quantizer(bits: s.bits, lower: Float(theta[0]), upper: Float(theta[1]), scheme: s.scheme, rounding: rounding),
         try Quantizer(bits: s.bits, lower: Float(theta[2]), upper: Float(theta[3]), scheme: s.scheme, rounding: rounding))
    }

    func refQuantizers(_ s: Setup, _ theta: [Double]) -> (ReferenceQuantizer, ReferenceQuantizer) {
        let sc: ReferenceQuantizer.Scheme = s.scheme == .symmetric ? .symmetric : .affine
        return (ReferenceQuantizer(bits: s.bits, lower: theta[0], upper: theta[1], scheme: sc),
                ReferenceQuantizer(bits: s.bits, lower: theta[2], upper: theta[3], scheme: sc))
    }

    /// Moves the W bounds (by < 1% of the range, Float-representable) so no weight sits near a rounding kink:
    /// the candidate maximising the smallest distance |frac(v) − ½| over all weights is chosen.
    func awayFromKinks(_ s: Setup) throws -> [Double] {
        var best = s.theta, bestDist = -1.0
        for i in 0..<24 {
            var t = s.theta
            t[3] = Double(Float(s.theta[3] * (1 + 0.0004 * Double(i))))
            t[2] = Double(Float(s.theta[2] * (1 + 0.0003 * Double(i))))
            let (_, qw) = refQuantizers(s, t)
            var dist = Double.infinity
            for v in s.w {
                let c = qw.coordinate(v)
                dist = min(dist, abs(abs(c - c.rounded(.down)) - 0.5))
            }
            if dist > bestDist { bestDist = dist; best = t }
        }
        return best
    }

    /// Loss (1/|T|)Σ_{t∈T} ‖W δx_t + δW x_t‖² with the Float64 reference quantizer.
    func referenceLoss(_ s: Setup, _ theta: [Double], tokens: [Int]) -> Double {
        let (qx, qw) = refQuantizers(s, theta)
        let dW = s.w.map { qw.fakeQuant($0) - $0 }
        var total = 0.0
        var dx = [Double](repeating: 0, count: s.d)
        for t in tokens {
            for j in 0..<s.d { let v = s.x[t * s.d + j]; dx[j] = qx.fakeQuant(v) - v }
            for i in 0..<s.m {
                var ri = 0.0
                for j in 0..<s.d { ri += s.w[i * s.d + j] * dx[j] + dW[i * s.d + j] * s.x[t * s.d + j] }
                total += ri * ri
            }
        }
        return total / Double(tokens.count)
    }

    /// Analytic gradient (4-vector) from the core quantizer, and its rounding scale G.
    func analytic(_ s: Setup, _ theta: [Double], tokens: [Int], mode: GradientMode, mutant: Mutant?) throws -> (g: [Double], scale: [Double]) {
        let rounding: Rounding = .halfToEven
        let (qx, qw) = try coreQuantizers(s, theta, rounding: rounding)
        let nSteps = Double((1 << s.bits) - 1), nLevels = Double(1 << s.bits)
        func deriv(_ q: Quantizer, _ v: Double) -> (Double, Double) {
            let dv = q.derivatives(Float(v), mode: mode)
            var lo = Double(dv.dLower), hi = Double(dv.dUpper)
            if mutant?.id == "clipTermMissing" && (v < Double(q.lower) || v > Double(q.upper)) { lo = 0; hi = 0 }
            if mutant?.id == "levelsInsteadOfSteps" { lo *= nSteps / nLevels; hi *= nSteps / nLevels }
            if mutant?.id == "lowerUpperSwapped" { swap(&lo, &hi) }
            return (lo, hi)
        }
        let wh = s.w.map { Double(qw.fakeQuant(Float($0))) }
        let dW = zip(wh, s.w).map { $0 - $1 }
        let dWd = s.w.map { deriv(qw, $0) }
        var g = [Double](repeating: 0, count: 4), scale = [Double](repeating: 0, count: 4)
        var xh = [Double](repeating: 0, count: s.d), dxd = [(Double, Double)](repeating: (0, 0), count: s.d)
        for t in tokens {
            for j in 0..<s.d { let v = s.x[t * s.d + j]; xh[j] = Double(qx.fakeQuant(Float(v))); dxd[j] = deriv(qx, v) }
            for i in 0..<s.m {
                var ri = 0.0, mag = 0.0
                var a = [Double](repeating: 0, count: 4), aAbs = [Double](repeating: 0, count: 4)
                for j in 0..<s.d {
                    let wij = s.w[i * s.d + j], xj = s.x[t * s.d + j], dxj = xh[j] - xj
                    ri += wij * dxj + dW[i * s.d + j] * xj
                    mag += abs(wij) * abs(xh[j]) + abs(wh[i * s.d + j]) * abs(xj)
                    a[0] += wij * dxd[j].0; a[1] += wij * dxd[j].1
                    aAbs[0] += abs(wij * dxd[j].0); aAbs[1] += abs(wij * dxd[j].1)
                    if mutant?.id != "weightTermMissing" {
                        a[2] += dWd[i * s.d + j].0 * xj; a[3] += dWd[i * s.d + j].1 * xj
                    }
                    aAbs[2] += abs(dWd[i * s.d + j].0 * xj); aAbs[3] += abs(dWd[i * s.d + j].1 * xj)
                }
                for p in 0..<4 { g[p] += ri * a[p]; scale[p] += (mag + abs(ri)) * aAbs[p] }
            }
        }
        let factor = (mutant?.id == "factorTwoDropped" ? 1.0 : 2.0) * (mutant?.id == "signFlip" ? -1 : 1) / Double(tokens.count)
        return (g.map { $0 * factor }, scale.map { $0 * 2 / Double(tokens.count) })
    }

    /// Part A: exact a.e. gradient vs GSL central differences of the empirical loss, away from kinks.
    func exactVsFD(_ s: Setup, layer: CheckLayer, mutant: Mutant?) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let names = ["alphaX", "betaX", "alphaW", "betaW"]
        let range = [s.theta[1] - s.theta[0], s.theta[1] - s.theta[0], s.theta[3] - s.theta[2], s.theta[3] - s.theta[2]]
        for p in 0..<4 {
            var h = 1e-4 * range[p]
            var tokens = Array(0..<s.n)
            func codesUnchanged(_ hh: Double, _ t: Int?) -> Bool {
                var lo = s.theta, hi = s.theta
                lo[p] -= hh; hi[p] += hh
                let (ax, aw) = refQuantizers(s, s.theta), (bx, bw) = refQuantizers(s, lo), (cx, cw) = refQuantizers(s, hi)
                if let t = t {
                    for j in 0..<s.d { let v = s.x[t * s.d + j]; let c = ax.code(v); if bx.code(v) != c || cx.code(v) != c { return false } }
                    return true
                }
                for v in s.w { let c = aw.code(v); if bw.code(v) != c || cw.code(v) != c { return false } }
                return true
            }
            if p < 2 {
                tokens = tokens.filter { codesUnchanged(h, $0) }   // skip tokens with an element within ±h of a kink
            } else {
                var tries = 0
                while !codesUnchanged(h, nil) && tries < 40 { h /= 2; tries += 1 }
            }
            let (g, scale) = try analytic(s, s.theta, tokens: tokens, mode: mutant?.id == "exactReturnsSTE" ? .ste : .exact, mutant: mutant)
            let f: (Double) -> Double = { v in var t = s.theta; t[p] = v; return referenceLoss(s, t, tokens: tokens) }
            let (fd, abserr) = try GSL.centralDerivative(f, at: s.theta[p], step: h)
            var params = layer.parameterText
            params += [("bits", "\(s.bits)"), ("scheme", s.scheme.rawValue), ("theta", names[p]), ("h", fmt(h)),
                       ("tokens", "\(tokens.count)/\(s.n)")]
            let ratio = abs(g[p] - fd) / (Thresholds.epsFloat * scale[p] + abserr + Thresholds.epsDouble * abs(fd))
            out.append(r("grad-exact", ratio, params, .holds))
            if p == 0 {
                out.append(r("kink-free-fraction", Double(tokens.count) / Double(s.n), params, .measured, threshold: 0, eps: 0))
            }
        }
        return out
    }

    /// Part B: STE/LSQ and a.e. gradients vs secant FD of the large-sample loss, at 4 evaluation points
    /// (all bounds scaled by c ∈ {0.6, 0.8, 1.0, 1.25}).
    func steVsExpected(_ s0: Setup, layer: CheckLayer, mutant: Mutant?) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let all = Array(0..<s0.n)
        var relSTE: [Double] = [], relExact: [Double] = []
        var signSTE = 0, signExact = 0, total = 0
        var cosSTE: [Double] = [], cosExact: [Double] = []
        func cosine(_ a: [Double], _ b: [Double]) -> Double {
            let ab = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
            return ab / ((a.reduce(0) { $0 + $1 * $1 }).squareRoot() * (b.reduce(0) { $0 + $1 * $1 }).squareRoot())
        }
        for c in [0.6, 0.8, 1.0, 1.25] {
            var s = s0
            s.theta = s0.theta.map { $0 * c }
            var fd = [Double](repeating: 0, count: 4)
            for p in 0..<4 {
                let range = p < 2 ? s.theta[1] - s.theta[0] : s.theta[3] - s.theta[2]
                let h = 0.02 * range
                var lo = s.theta, hi = s.theta
                lo[p] -= h; hi[p] += h
                fd[p] = (referenceLoss(s, hi, tokens: all) - referenceLoss(s, lo, tokens: all)) / (2 * h)
            }
            let ste = try analytic(s, s.theta, tokens: all, mode: .ste, mutant: mutant).g
            let exact = try analytic(s, s.theta, tokens: all, mode: .exact, mutant: mutant).g
            cosSTE.append(cosine(ste, fd)); cosExact.append(cosine(exact, fd))
            for p in 0..<4 {
                relSTE.append(abs(ste[p] - fd[p]) / abs(fd[p])); relExact.append(abs(exact[p] - fd[p]) / abs(fd[p]))
                if (ste[p] > 0) == (fd[p] > 0) { signSTE += 1 }
                if (exact[p] > 0) == (fd[p] > 0) { signExact += 1 }
                total += 1
            }
        }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2]) }
        var params = layer.parameterText
        params += [("bits", "\(s0.bits)"), ("scheme", s0.scheme.rawValue), ("h", "0.02·range"), ("points", "c∈{0.6,0.8,1,1.25}")]
        let m = { (name: String, v: Double) in out.append(self.r(name, v, params, .measured, threshold: 0, eps: 0)) }
        m("sign-agree-ste", Double(signSTE) / Double(total))
        m("sign-agree-exact", Double(signExact) / Double(total))
        m("median-relerr-ste", median(relSTE))
        m("median-relerr-exact", median(relExact))
        m("cos-ste-min", cosSTE.min()!)
        m("cos-exact-min", cosExact.min()!)
        // documented refutation: the a.e. gradient is not the gradient of the large-sample loss (median relative error ≥ 10%)
        out.append(r("exact-vs-expected", median(relExact), params, .refutationReproduces, threshold: 0.1, eps: 0))
        out.append(r("ste-vs-expected", median(relSTE), params, .refutationReproduces, threshold: 0.1, eps: 0))
        return out
    }
}
