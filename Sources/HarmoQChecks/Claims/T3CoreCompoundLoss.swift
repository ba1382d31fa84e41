import Foundation
import GSLOracle
import HarmoQ

/// T3, part 2: the gradient ABR really uses — `CompoundLoss.evaluate` (both losses, STE and a.e. derivatives through the
/// ABR kernel `QuantKernel`, symmetric and affine grids, per-channel and per-tensor weight bounds, with an HSO input
/// scale) — against finite differences of an independent Float64 loss (a plain central difference and GSL's
/// `gsl_deriv_central`).
///
/// The Float64 reference quantizes with `ReferenceQuantizer`. For the a.e. (exact) gradient it is the real loss, evaluated
/// on tokens and weight bounds with no element within 10⁻³ of a rounding kink (so the codes cannot change within the FD
/// steps). For the STE gradient it is the straight-through surrogate, fixed by the definition d round(v)/dv := 1: each
/// element keeps its code r₀ and grid coordinate v₀ from θ₀ and moves as x̂(θ) = Δ(θ)(r₀ − v₀) + x inside the grid,
/// Δ(θ)·r₀ (symmetric) or the bound itself (affine) when clipped; its value at θ₀ is the real x̂.
extension T3BoundaryGradients {
    struct LossCase {
        let kind: RefinementLoss, scheme: QuantScheme, granularity: WeightGranularity, bits: Int
        /// One pair of weight bounds shared by every row.
        var perTensor: Bool { granularity == .perTensor }
    }

    func coreCompoundLoss(size: CheckSize, seed: UInt64) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let layer = CheckLayer(d: 8, m: 6, images: 1, grid: size == .ci ? 16 : 32, seed: seed &+ 5)
        let n0 = layer.tokens, d = layer.d, m = layer.m
        let raw0 = layer.x.data.map { Float($0) }
        let w0 = layer.w.data.map { Float($0) }
        // HSO input scale (0.5 … 2) and a corrected weight W_c = W₀·diag(s) + a small SRC-like change
        let s: [Float] = (0..<d).map { Float(0.5 + 1.5 * Double($0) / Double(d - 1)) }
        var rng = CheckRNG(seed: seed ^ 0x7303)
        var wc = [Float](repeating: 0, count: m * d)
        for i in 0..<m { for j in 0..<d { wc[i * d + j] = w0[i * d + j] * s[j] * Float(1 + 0.05 * rng.gaussian()) } }
        var cases: [LossCase] = []
        for kind in [RefinementLoss.deployment, .linearised] { for scheme in QuantScheme.allCases {
            for granularity in WeightGranularity.allCases { for bits in [2, 4] {
                cases.append(LossCase(kind: kind, scheme: scheme, granularity: granularity, bits: bits))
            } }
        } }
        for c in cases {
            let xs0 = (0..<(n0 * d)).map { raw0[$0] / s[$0 % d] }
            // bounds: activations percentile 99.5 (some clipping), weights 0.8 × MinMax per row (or of the whole tensor)
            let (pl, pu) = try Observer.percentile(xs0, 99.5)
            let (al, au): (Float, Float) = c.scheme == .symmetric ? (-max(-pl, pu), max(-pl, pu)) : (pl, pu)
            var wl = [Float](repeating: 0, count: m), wu = wl
            for i in 0..<m {
                let row = c.perTensor ? wc : Array(wc[(i * d)..<((i + 1) * d)])
                let (lo, hi) = c.scheme == .symmetric ? try Observer.absMax(row) : try Observer.minMax(row)
                wl[i] = 0.8 * lo; wu[i] = 0.8 * hi
            }
            // weight bounds away from kinks (per row, or one factor for the shared per-tensor bounds)
            let groups: [[Int]] = c.perTensor ? [Array(0..<m)] : (0..<m).map { [$0] }
            for g in groups {
                var best = 1.0, bestDist = -1.0
                for k in 0..<40 {
                    let f = 1 + 0.0007 * Double(k)
                    var dist = Double.infinity
                    for i in g {
                        let rq = ReferenceQuantizer(bits: c.bits, lower: Double(Float(Double(wl[i]) * f)), upper: Double(Float(Double(wu[i]) * f)),
                                                    scheme: c.scheme == .symmetric ? .symmetric : .affine)
                        for j in 0..<d { dist = min(dist, kinkDistance(rq, Double(wc[i * d + j]))) }
                    }
                    if dist > bestDist { bestDist = dist; best = f }
                }
                for i in g { wl[i] = Float(Double(wl[i]) * best); wu[i] = Float(Double(wu[i]) * best) }
            }
            // tokens with no activation element within 1e-3 of a kink
            let aRef = ReferenceQuantizer(bits: c.bits, lower: Double(al), upper: Double(au), scheme: c.scheme == .symmetric ? .symmetric : .affine)
            let keep = (0..<n0).filter { t in (0..<d).allSatisfy { kinkDistance(aRef, Double(xs0[t * d + $0])) > 1e-3 } }
            let n = keep.count
            var raw = [Float](), xs = [Float]()
            for t in keep { raw += raw0[(t * d)..<((t + 1) * d)]; xs += xs0[(t * d)..<((t + 1) * d)] }
            var q = try BaselineCalibration.calibrate(try LayerProblem(weight: wc, outputs: m, inputs: d, samples: xs, rows: n),
                                                      method: .minMax, weightBits: c.bits, activationBits: c.bits)
            q.weightScheme = c.scheme; q.activationScheme = c.scheme; q.rounding = .halfToEven
            q.weightGranularity = c.granularity
            q.weightLower = wl; q.weightUpper = wu; q.activationLower = al; q.activationUpper = au
            q.inputScale = s; q.weight = wc
            var loss = CompoundLoss(kind: c.kind, rawInputs: raw, rows: n, originalWeight: w0, outputs: m, inputs: d)
            loss.prepare(rawInputs: raw, inputScale: s, weight: wc)
            let theta0 = [Double(al), Double(au)] + wl.map(Double.init) + wu.map(Double.init)
            let ref = ReferenceLoss(kind: c.kind, n: n, d: d, m: m, raw: raw.map(Double.init), xs: xs.map(Double.init),
                                    w0: w0.map(Double.init), wc: wc.map(Double.init), bits: c.bits,
                                    scheme: c.scheme == .symmetric ? .symmetric : .affine, theta0: theta0)
            var p = layer.parameterText
            p += [("loss", c.kind.rawValue), ("scheme", c.scheme.rawValue), ("weights", c.granularity.rawValue),
                  ("bits", "\(c.bits)"), ("inputScale", "0.5…2"), ("tokens", "\(n)/\(n0)")]

            // loss value
            let (lCore, _) = try loss.evaluate(q, mode: .ste, gradient: false)
            let (lRef, rScale) = ref.loss(theta0, ste: false)
            out.append(r("core-loss", abs(lCore - lRef) / (Double(d + 2) * Thresholds.epsFloat * rScale + Thresholds.epsDouble * lRef), p, .holds))

            for mode in GradientMode.allCases {
                let (_, g) = try loss.evaluate(q, mode: mode, gradient: true)
                // parameters: αx, βx, then per row (or shared) αw, βw
                var worst = 0.0, worstName = ""
                var params: [(name: String, idx: [Int], gradient: Double, range: Double, act: Bool)] = [
                    ("alphaX", [0], g[0], Double(au - al), true), ("betaX", [1], g[1], Double(au - al), true)]
                for grp in groups {
                    let i0 = grp[0]
                    params.append(("alphaW\(c.perTensor ? "" : "\(i0)")", grp.map { 2 + $0 }, grp.reduce(0) { $0 + g[2 + $1] },
                                   Double(wu[i0] - wl[i0]), false))
                    params.append(("betaW\(c.perTensor ? "" : "\(i0)")", grp.map { 2 + m + $0 }, grp.reduce(0) { $0 + g[2 + m + $1] },
                                   Double(wu[i0] - wl[i0]), false))
                }
                for prm in params {
                    let h = 1e-5 * prm.range
                    let f: (Double) -> Double = { v in
                        var t = theta0
                        for k in prm.idx { t[k] = theta0[k] + (v - theta0[prm.idx[0]]) }
                        return ref.loss(t, ste: mode == .ste).value
                    }
                    let x0 = theta0[prm.idx[0]]
                    let (gsl, abserr) = try GSL.centralDerivative(f, at: x0, step: h)
                    let cd = (f(x0 + h) - f(x0 - h)) / (2 * h)
                    let scale = Double(d + 2) * Thresholds.epsFloat * ref.gradientScale(theta0, activation: prm.act,
                                                                                      rows: prm.act ? nil : prm.idx.map { ($0 - 2) % m })
                    let ratio = max(abs(prm.gradient - gsl) / (scale + abserr + Thresholds.epsDouble * abs(gsl)),
                                    abs(prm.gradient - cd) / (scale + 1e-9 * abs(cd) + Thresholds.epsDouble * abs(cd)))
                    if !(ratio <= worst) { worst = ratio; worstName = prm.name }
                }
                out.append(r("core-grad-\(mode.rawValue)", worst, p + [("worst", worstName)], .holds))
            }
        }
        return out
    }

    /// Distance of the grid coordinate of x from the nearest rounding kink (a half-integer), ∞ for clipped affine inputs.
    func kinkDistance(_ q: ReferenceQuantizer, _ x: Double) -> Double {
        if q.scheme == .affine && (x <= q.lower || x >= q.upper) { return .infinity }
        let v = q.coordinate(x)
        return abs(abs(v - v.rounded(.down)) - 0.5)
    }
}

/// The compound losses of `CompoundLoss` written out in Float64 from their definitions, with the reference quantizer.
struct ReferenceLoss {
    let kind: RefinementLoss
    let n: Int, d: Int, m: Int
    let raw: [Double], xs: [Double], w0: [Double], wc: [Double]
    let bits: Int
    let scheme: ReferenceQuantizer.Scheme
    let theta0: [Double]

    func quantizers(_ t: [Double]) -> (ReferenceQuantizer, [ReferenceQuantizer]) {
        (ReferenceQuantizer(bits: bits, lower: t[0], upper: t[1], scheme: scheme),
         (0..<m).map { ReferenceQuantizer(bits: bits, lower: t[2 + $0], upper: t[2 + m + $0], scheme: scheme) })
    }

    /// x̂ at θ: the real quantizer, or the STE surrogate anchored at θ₀.
    func quantize(_ x: Double, _ q: ReferenceQuantizer, _ q0: ReferenceQuantizer, ste: Bool) -> Double {
        guard ste else { return q.fakeQuant(x) }
        switch scheme {
        case .symmetric:
            let v0 = q0.coordinate(x), r0 = v0.rounded(.toNearestOrEven)
            if r0 >= q0.codeMin && r0 <= q0.codeMax { return q.step * (r0 - v0) + x }
            return q.step * min(max(r0, q0.codeMin), q0.codeMax)
        case .affine:
            if x >= q0.upper { return q.upper }
            if x <= q0.lower { return q.lower }
            let v0 = q0.coordinate(x), r0 = v0.rounded(.toNearestOrEven)
            return q.step * (r0 - v0) + x
        }
    }

    /// (1/n)Σ‖r_t‖², and the rounding scale (2/n)Σ|r|·M (M = Σ|terms| of r) used for the loss comparison.
    func loss(_ t: [Double], ste: Bool) -> (value: Double, scale: Double) {
        let (qx, qw) = quantizers(t), (qx0, qw0) = quantizers(theta0)
        let wh = (0..<(m * d)).map { quantize(wc[$0], qw[$0 / d], qw0[$0 / d], ste: ste) }
        var total = 0.0, scale = 0.0
        var xh = [Double](repeating: 0, count: d)
        for tok in 0..<n {
            for j in 0..<d { xh[j] = quantize(xs[tok * d + j], qx, qx0, ste: ste) }
            for i in 0..<m {
                var ri = 0.0, mag = 0.0
                for j in 0..<d {
                    let a = wh[i * d + j], x = xs[tok * d + j], w = wc[i * d + j]
                    switch kind {
                    case .deployment:
                        ri += a * xh[j] - w0[i * d + j] * raw[tok * d + j]
                        mag += abs(a * xh[j]) + abs(w0[i * d + j] * raw[tok * d + j])
                    case .linearised:
                        ri += w * (xh[j] - x) + (a - w) * x
                        mag += abs(w * xh[j]) + abs(a * x) + 2 * abs(w * x)
                    }
                }
                total += ri * ri
                scale += abs(ri) * mag
            }
        }
        return (total / Double(n), 2 * scale / Double(n))
    }

    /// Magnitude bound of ∂L/∂θ's terms: (2/n)Σ_t Σ_i (|r_ti| + M_ti)·2·Σ_j |B_ij| (activation bounds) or
    /// ·2·Σ_j |u_tj| (weight bounds of `rows`), with |∂x̂/∂θ| ≤ 2.
    func gradientScale(_ t: [Double], activation: Bool, rows: [Int]?) -> Double {
        let (qx, qw) = quantizers(t)
        let wh = (0..<(m * d)).map { qw[$0 / d].fakeQuant(wc[$0]) }
        var s = 0.0
        for tok in 0..<n {
            let xh = (0..<d).map { qx.fakeQuant(xs[tok * d + $0]) }
            for i in 0..<m where activation || rows!.contains(i) {
                var ri = 0.0, mag = 0.0, sens = 0.0
                for j in 0..<d {
                    let a = wh[i * d + j], x = xs[tok * d + j], w = wc[i * d + j]
                    switch kind {
                    case .deployment:
                        ri += a * xh[j] - w0[i * d + j] * raw[tok * d + j]
                        mag += abs(a * xh[j]) + abs(w0[i * d + j] * raw[tok * d + j])
                        sens += activation ? abs(a) : abs(xh[j])
                    case .linearised:
                        ri += w * (xh[j] - x) + (a - w) * x
                        mag += abs(w * xh[j]) + abs(a * x) + 2 * abs(w * x)
                        sens += activation ? abs(w) : abs(x)
                    }
                }
                s += (abs(ri) + mag) * 2 * sens
            }
        }
        return 2 * s / Double(n)
    }
}
