import Foundation
import HarmoQ
@testable import SRCalibration
import SREngine
import SRIO
import Testing

/// Learned rotations (`refine --learn-rotations`, `RotationFactor`): the chain rule of the two wrapper sites against
/// central differences, the Cayley step (orthogonal, descending), and the folding of a learned factor into the plan.
struct LearnedRotationTests {
    static func orthogonal(_ n: Int, seed: UInt64) throws -> [Double] {
        var rng = SplitMix64(seed: seed)
        var s = [Double](repeating: 0, count: n * n)
        for i in 0..<n { s[i * n + i] = 1 }
        let g = (0..<(n * n)).map { _ in rng.nextGaussian() }
        return try RotationParameters.cayleyStep(s, gradient: g, n: n, angle: 0.7)
    }

    static func defect(_ s: [Double], _ n: Int) -> Double {
        var worst = 0.0
        for i in 0..<n { for j in 0..<n {
            var t = 0.0
            for k in 0..<n { t += s[k * n + i] * s[k * n + j] }
            worst = max(worst, abs(t - (i == j ? 1 : 0)))
        } }
        return worst
    }

    /// L = Σ G1 ⊙ (x·S) + Σ G2 ⊙ (((W ⊘ s)·S) ⊙ s) through `RotatingSite` (.input / .weight) around identity quantizers:
    /// the accumulated Euclidean dL/dS and the returned dL/dx, dL/dW against central differences in Float64 of the same
    /// formula (sizes 7×5 activations, 3×5 weight, seed 5; scaled error |analytic − FD| / max(1, |FD|), threshold 1e-3
    /// for Float32 forwards with h = 1e-3).
    @Test func chainRuleAgainstCentralDifferences() throws {
        var rng = SplitMix64(seed: 5)
        let rows = 7, d = 5, m = 3
        func r() -> Float { Float(rng.nextGaussian()) }
        let x = (0..<(rows * d)).map { _ in r() }, w = (0..<(m * d)).map { _ in r() }
        let g1 = (0..<(rows * d)).map { _ in r() }, g2 = (0..<(m * d)).map { _ in r() }
        let s = (0..<d).map { _ in Float(0.5 + 1.5 * rng.nextUniform()) }
        let s0 = try Self.orthogonal(d, seed: 9)
        let f = RotationFactor(site: "t", order: d, inputScale: s)
        f.set(s0)
        let a = RotatingSite(f, .input, inner: IdentitySiteQuantizer()), b = RotatingSite(f, .weight, inner: IdentitySiteQuantizer())
        var dx = [Float](repeating: 0, count: rows * d), dw = [Float](repeating: 0, count: m * d)
        a.backward(input: x, gradOutput: g1, gradInput: &dx, rows: rows, cols: d)
        b.backward(input: w, gradOutput: g2, gradInput: &dw, rows: m, cols: d)
        func loss(_ S: [Double], _ x: [Double], _ w: [Double]) -> Double {
            var t = 0.0
            for i in 0..<rows { for j in 0..<d {
                var u = 0.0
                for k in 0..<d { u += x[i * d + k] * S[k * d + j] }
                t += Double(g1[i * d + j]) * u
            } }
            for i in 0..<m { for j in 0..<d {
                var v = 0.0
                for k in 0..<d { v += w[i * d + k] / Double(s[k]) * S[k * d + j] }
                t += Double(g2[i * d + j]) * v * Double(s[j])
            } }
            return t
        }
        let xd = x.map(Double.init), wd = w.map(Double.init), h = 1e-3
        var worst = 0.0
        for e in 0..<(d * d) {
            var up = s0, dn = s0
            up[e] += h; dn[e] -= h
            let fd = (loss(up, xd, wd) - loss(dn, xd, wd)) / (2 * h)
            worst = max(worst, abs(f.gradient[e] - fd) / max(1, abs(fd)))
        }
        #expect(worst <= 1e-3, "dL/dS: worst scaled error \(worst) (7×5, 3×5, seed 5)")
        var worstX = 0.0, worstW = 0.0
        for e in 0..<(rows * d) {
            var up = xd, dn = xd
            up[e] += h; dn[e] -= h
            let fd = (loss(s0, up, wd) - loss(s0, dn, wd)) / (2 * h)
            worstX = max(worstX, abs(Double(dx[e]) - fd) / max(1, abs(fd)))
        }
        for e in 0..<(m * d) {
            var up = wd, dn = wd
            up[e] += h; dn[e] -= h
            let fd = (loss(s0, xd, up) - loss(s0, xd, dn)) / (2 * h)
            worstW = max(worstW, abs(Double(dw[e]) - fd) / max(1, abs(fd)))
        }
        #expect(worstX <= 1e-3 && worstW <= 1e-3, "dL/dx \(worstX), dL/dW \(worstW)")
        // FP invariance: (x·S)·(((W ⊘ s)·S) ⊙ s ⊘ s)ᵀ … i.e. with s = 1 the pair leaves x·Wᵀ unchanged.
        let g = RotationFactor(site: "u", order: d, inputScale: nil)
        g.set(s0)
        var u = [Float](repeating: 0, count: rows * d), v = [Float](repeating: 0, count: m * d)
        RotatingSite(g, .input, inner: IdentitySiteQuantizer()).quantize(x, into: &u, rows: rows, cols: d)
        RotatingSite(g, .weight, inner: IdentitySiteQuantizer()).quantize(w, into: &v, rows: m, cols: d)
        var worstP: Float = 0
        for i in 0..<rows { for k in 0..<m {
            var p: Float = 0, q: Float = 0
            for j in 0..<d { p += u[i * d + j] * v[k * d + j]; q += x[i * d + j] * w[k * d + j] }
            worstP = max(worstP, abs(p - q) / max(1, abs(q)))
        } }
        #expect(worstP <= 1e-5, "FP product changed by \(worstP) (scaled)")
    }

    /// The Cayley step keeps S orthogonal (order 60, 20 steps: max |SᵀS − I| ≤ 1e-12) and, for a small angle, lowers a
    /// linear objective ⟨G, S⟩ (its Riemannian gradient is not zero).
    @Test func cayleyStepStaysOrthogonalAndDescends() throws {
        let n = 60
        var rng = SplitMix64(seed: 2)
        let g = (0..<(n * n)).map { _ in rng.nextGaussian() }
        var s = try Self.orthogonal(n, seed: 4)
        func objective(_ m: [Double]) -> Double { zip(g, m).reduce(0) { $0 + $1.0 * $1.1 } }
        var last = objective(s)
        for _ in 0..<20 {
            s = try RotationParameters.cayleyStep(s, gradient: g, n: n, angle: 0.05)
            let now = objective(s)
            #expect(now < last, "⟨G, S⟩ rose: \(last) → \(now)")
            last = now
        }
        #expect(Self.defect(s, n) <= 1e-12, "max |SᵀS − I| = \(Self.defect(s, n))")
    }
}

/// A learned rotation folded into a plan on DAT-light ×2 (CI-sized plan: block 0's 12 sites, Hadamard rotations).
@Suite(needsModelAndImages)
struct LearnedRotationPlanTests {
    static func rotatedPlan() throws -> (QParams, [String: Tensor], CalibrationPatches) {
        try rotatedCalibration(ciHarmoQ(.corrected), kind: .learned)
    }

    /// Random orthogonal factors on every rotated site: `applied(to:)` stores R₀·S (kind learned) and the turned weight,
    /// and `QuantizedModel` running that plan computes what the differentiable forward with the factors computes
    /// (max |Δ| ≤ 1e-5 on a 64×64 patch).
    @Test func learnedFactorsAreFoldedIntoThePlan() throws {
        let (qp, weights, patches) = try Self.rotatedPlan()
        let pq = try PlanQuantizers(plan: qp, weights: weights, gradient: .ste, learnWeights: true, learnRotations: true)
        #expect(pq.rotationFactors.count == 3, "qkv, fc1, fc2 of block 0")
        for (k, f) in pq.rotationSites.enumerated() { f.set(try LearnedRotationTests.orthogonal(f.order, seed: 40 + UInt64(k))) }
        let tape = try DATLightBackward(weights: pq.weights, scale: 2, quantizers: pq.siteQuantizers).forward(patches.lr[0])
        let folded = pq.applied(to: qp)
        for (a, b) in zip(qp.sites, folded.sites) where pq.rotationFactors[a.name] != nil {
            #expect(b.rotation?.kind == .learned && b.rotation?.matrix != nil && a.layer?.weight != b.layer?.weight, "\(a.name) not folded")
            let r = try #require(try b.rotation?.rotation())
            #expect(r.orthogonalityDefect <= Rotation.storedTolerance)
        }
        let engine = try ModelLoader.build(weights: weights)
        try QuantizedModel.apply(folded, to: engine, codeDomain: false)
        let y = try engine.forward(patches.lr[0])
        let maxAbs = zip(tape.output.data, y.data).map { abs($0 - $1) }.max()!
        #expect(maxAbs <= 1e-5, "max |Δ| \(maxAbs)")
    }

    /// A short refinement with `learnRotations` lowers block 0's loss and turns its rotations (kind learned).
    @Test func shortRefinementLearnsRotations() throws {
        let (qp, weights, patches) = try Self.rotatedPlan()
        var o = BlockReconstructionOptions()
        o.iterations = 4; o.batch = 1; o.checkEvery = 2; o.learnRotations = true
        let out = try BlockReconstruction.refine(plan: qp, weights: weights, patches: patches.lr, options: o)
        #expect(out.steps[0].lossAfter < out.steps[0].lossBefore, "block 0: \(out.steps[0].lossBefore) → \(out.steps[0].lossAfter)")
        let turned = zip(qp.sites, out.qparams.sites).filter { $0.rotation?.matrix != $1.rotation?.matrix }
        #expect(turned.count == 3 && turned.allSatisfy { $1.rotation?.kind == .learned }, "rotations turned at \(turned.count) of 3 sites")
        // Without rotations in the plan, --learn-rotations is refused before any work.
        let (plain, _, _) = try ciCalibration(.minMax)
        #expect(throws: QuantError.self) { try BlockReconstruction.refine(plan: plain, weights: weights, patches: patches.lr, options: o) }
    }
}
