import Foundation
import HarmoQ
@testable import SRCalibration
import SREngine
import SRIO
import Testing

/// Learned input-channel scales (`refine --learn-scales`, `ChannelScale`): the chain rule of the two wrapper sites
/// against central differences, the FP invariance of the pair, and the folding of learned factors into the plan.
struct LearnedInputScaleTests {
    /// L = Σ G1 ⊙ (x ⊘ c) + Σ G2 ⊙ (W ⊙ c) through `ScaledSite` (.input / .weight) around identity quantizers:
    /// the accumulated dL/dc and the returned dL/dx, dL/dW against central differences in Float64 of the same formula
    /// (sizes 7×5 activations, 3×5 weight, seed 11; scaled error = |analytic − FD| / max(1, |FD|), threshold 1e-3 for
    /// Float32 forwards with h = 1e-3).
    @Test func chainRuleAgainstCentralDifferences() {
        var rng = SplitMix64(seed: 11)
        let rows = 7, d = 5, m = 3
        func r() -> Float { Float(rng.nextGaussian()) }
        let x = (0..<(rows * d)).map { _ in r() }, w = (0..<(m * d)).map { _ in r() }
        let g1 = (0..<(rows * d)).map { _ in r() }, g2 = (0..<(m * d)).map { _ in r() }
        let c0 = (0..<d).map { _ in Float(0.5 + 1.5 * rng.nextUniform()) }
        let scale = ChannelScale(site: "t", channels: d)
        scale.factor = c0
        let a = ScaledSite(scale, .input, inner: IdentitySiteQuantizer()), b = ScaledSite(scale, .weight, inner: IdentitySiteQuantizer())
        var dx = [Float](repeating: 0, count: rows * d), dw = [Float](repeating: 0, count: m * d)
        a.backward(input: x, gradOutput: g1, gradInput: &dx, rows: rows, cols: d)
        b.backward(input: w, gradOutput: g2, gradInput: &dw, rows: m, cols: d)
        func loss(_ c: [Double]) -> Double {
            var s = 0.0
            for i in 0..<rows { for j in 0..<d { s += Double(g1[i * d + j]) * Double(x[i * d + j]) / c[j] } }
            for i in 0..<m { for j in 0..<d { s += Double(g2[i * d + j]) * Double(w[i * d + j]) * c[j] } }
            return s
        }
        let h = 1e-3
        for j in 0..<d {
            var up = c0.map(Double.init), dn = up
            up[j] += h; dn[j] -= h
            let fd = (loss(up) - loss(dn)) / (2 * h)
            let err = abs(scale.gradient[j] - fd) / max(1, abs(fd))
            #expect(err <= 1e-3, "dL/dc[\(j)]: analytic \(scale.gradient[j]) vs FD \(fd), scaled error \(err) (7×5, 3×5, seed 11)")
        }
        for i in 0..<rows { for j in 0..<d {
            #expect(abs(dx[i * d + j] - g1[i * d + j] / c0[j]) <= 1e-6 * max(1, abs(g1[i * d + j] / c0[j])))
        } }
        for i in 0..<m { for j in 0..<d {
            #expect(abs(dw[i * d + j] - g2[i * d + j] * c0[j]) <= 1e-6 * max(1, abs(g2[i * d + j] * c0[j])))
        } }
        // FP invariance: (x ⊘ c)(W ⊙ c)ᵀ = x Wᵀ.
        var u = [Float](repeating: 0, count: rows * d), v = [Float](repeating: 0, count: m * d)
        a.quantize(x, into: &u, rows: rows, cols: d)
        b.quantize(w, into: &v, rows: m, cols: d)
        var worst: Float = 0
        for i in 0..<rows { for k in 0..<m {
            var p: Float = 0, q: Float = 0
            for j in 0..<d { p += u[i * d + j] * v[k * d + j]; q += x[i * d + j] * w[k * d + j] }
            worst = max(worst, abs(p - q) / max(1, abs(q)))
        } }
        #expect(worst <= 1e-5, "FP product changed by \(worst) (scaled)")
    }
}

/// The factors folded into a plan on DAT-light ×2 (CI-sized plan: block 0's 12 sites).
@Suite(needsModelAndImages)
struct LearnedInputScalePlanTests {
    /// Random factors set on every scaled site: `applied(to:)` writes s ⊙ c and W ⊙ c, and `QuantizedModel` running that
    /// plan computes what the differentiable forward with the factors computes (max |Δ| ≤ 1e-5 on a 64×64 patch).
    @Test func learnedFactorsAreFoldedIntoThePlan() throws {
        let (qp, weights, patches) = try ciCalibration(ciHarmoQ(.corrected))
        let pq = try PlanQuantizers(plan: qp, weights: weights, gradient: .ste, learnWeights: true, learnScales: true)
        #expect(pq.scales.count == 4)
        var rng = SplitMix64(seed: 3)
        for s in pq.scaleSites { s.factor = s.factor.map { _ in Float(0.7 + 0.6 * rng.nextUniform()) } }
        let tape = try DATLightBackward(weights: pq.weights, scale: 2, quantizers: pq.siteQuantizers).forward(patches.lr[0])
        let folded = pq.applied(to: qp)
        for (a, b) in zip(qp.sites, folded.sites) where pq.scales[a.name] != nil {
            #expect(a.layer?.inputScale != b.layer?.inputScale && a.layer?.weight != b.layer?.weight, "\(a.name) not folded")
        }
        let engine = try ModelLoader.build(weights: weights)
        try QuantizedModel.apply(folded, to: engine, codeDomain: false)
        let y = try engine.forward(patches.lr[0])
        let maxAbs = zip(tape.output.data, y.data).map { abs($0 - $1) }.max()!
        #expect(maxAbs <= 1e-5, "max |Δ| \(maxAbs)")
    }

    /// A short refinement with `learnScales` lowers block 0's loss and moves its factors away from 1.
    @Test func shortRefinementLearnsScales() throws {
        let (qp, weights, patches) = try ciCalibration(ciHarmoQ(.corrected))
        var o = BlockReconstructionOptions()
        o.iterations = 4; o.batch = 1; o.checkEvery = 2; o.learnScales = true
        let out = try BlockReconstruction.refine(plan: qp, weights: weights, patches: patches.lr, options: o)
        #expect(out.steps[0].lossAfter < out.steps[0].lossBefore, "block 0: \(out.steps[0].lossBefore) → \(out.steps[0].lossAfter)")
        let moved = zip(qp.sites, out.qparams.sites).filter { $0.layer?.inputScale != $1.layer?.inputScale }
        #expect(moved.count == 4, "input scales moved at \(moved.count) of 4 Linear sites")
    }
}
