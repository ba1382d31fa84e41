import Foundation
import HarmoQ

/// T4, part 2: the iteration Algorithm 1's Step 3 ships — `BoundOptimizer` (Adam with bias correction, L2 weight decay,
/// gradient-norm clipping) and its learning-rate schedule against values worked by hand (arithmetic in the comments),
/// and one `AdaptiveBoundaryRefinement` iteration against the first Adam step written out from those definitions.
extension T4Convergence {
    func optimizerTables(seed: UInt64) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let p: [(String, String)] = [("type", "hand-worked"), ("seed", "none")]
        func adamConfig(weightDecay: Double = 0, clip: Double = 0) -> HarmoQConfig {
            var c = HarmoQConfig()   // β₁ = 0.9, β₂ = 0.999, ε = 1e-8
            c.weightDecay = weightDecay; c.gradientClipNorm = clip
            return c
        }
        func run(_ theta0: Double, _ grads: [Double], lr: Double, _ c: HarmoQConfig) -> [Double] {
            var opt = BoundOptimizer(count: 1, config: c)
            var t = [theta0]
            return grads.map { g in opt.update(&t, grad: [g], lr: lr); return t[0] }
        }
        // (A) plain Adam, θ₀ = 1, lr = 0.1, g = 2 then −1:
        //   t=1: m = 0.1·2 = 0.2, v = 0.001·4 = 0.004; m̂ = 0.2/(1−0.9) = 2, v̂ = 0.004/(1−0.999) = 4;
        //        θ₁ = 1 − 0.1·2/(√4 + 1e-8) = 1 − 0.2/2.00000001 = 0.9000000005
        //   t=2: m = 0.9·0.2 + 0.1·(−1) = 0.08, v = 0.999·0.004 + 0.001·1 = 0.004996;
        //        m̂ = 0.08/(1−0.81) = 0.421052631578947…, v̂ = 0.004996/(1−0.998001) = 2.49924962481…, √v̂ = 1.58090152280…;
        //        θ₂ = 0.9000000005 − 0.1·0.4210526316/(1.5809015228 + 1e-8) = 0.9000000005 − 0.0266337038 = 0.8733662967
        // (B) ε regime, θ₀ = 0, lr = 0.1, g = 1e-8: m̂ = 1e-8, v̂ = 1e-16; θ₁ = −0.1·1e-8/(1e-8 + 1e-8) = −0.05
        // (C) weight decay 0.5, θ₀ = 2, g = 0: g' = 0 + 0.5·2 = 1, m̂ = 1, v̂ = 1; θ₁ = 2 − 0.1/(1 + 1e-8) = 1.900000001
        // (D) clip norm 1, θ₀ = 0, g = 10 then 1: g'₁ = 10·(1/10) = 1 → m = 0.1, v = 0.001, θ₁ = −0.1/(1 + 1e-8);
        //     g'₂ = 1 (norm 1, not clipped): m = 0.09 + 0.1 = 0.19, v = 0.000999 + 0.001 = 0.001999,
        //     m̂ = 0.19/0.19 = 1, v̂ = 0.001999/0.001999 = 1 → θ₂ = θ₁ − 0.1/(1 + 1e-8) = −0.199999998
        let table: [(String, [Double], [Double])] = [
            ("adam", run(1, [2, -1], lr: 0.1, adamConfig()), [0.9000000005, 0.8733662967024315]),
            ("adam-epsilon", run(0, [1e-8], lr: 0.1, adamConfig()), [-0.05]),
            ("adam-weight-decay", run(2, [0], lr: 0.1, adamConfig(weightDecay: 0.5)), [1.900000001]),
            ("adam-clip", run(0, [10, 1], lr: 0.1, adamConfig(clip: 1)), [-0.1 / (1 + 1e-8), -0.2 / (1 + 1e-8)]),
        ]
        for (name, got, want) in table {
            let worst = zip(got, want).map { abs($0 - $1) / max(abs($1), 1e-300) }.max() ?? .infinity
            out.append(r("optimizer-table", worst / (16 * Thresholds.epsDouble), threshold: Thresholds.scaledRatio,
                         p + [("case", name), ("steps", "\(want.count)")], .holds))
        }
        // Schedule (paper defaults: lr 1e-2 → 1e-4, warm-up 300 of 3000):
        //   t = 0: 1e-2·1/300 = 3.3333e-5; t = 149: 1e-2·150/300 = 5e-3; t = 299: 1e-2·300/300 = 1e-2;
        //   t = 300: f = 0, 1e-4 + ½·(9.9e-3)·(1 + cos 0) = 1e-2; t = 1650: f = 1350/2700 = ½, 1e-4 + ½·9.9e-3·(1 + cos ½π) = 5.05e-3;
        //   t = 3000: f = 1, 1e-4 + ½·9.9e-3·(1 + cos π) = 1e-4; t = 5000: f clamped to 1 → 1e-4.
        let c = HarmoQConfig()
        let sched: [(Int, Double)] = [(0, 0.01 / 300), (149, 0.005), (299, 0.01), (300, 0.01), (1650, 0.00505), (3000, 1e-4), (5000, 1e-4)]
        let sw = sched.map { abs(BoundOptimizer.learningRate(at: $0.0, config: c) - $0.1) / $0.1 }.max() ?? .infinity
        out.append(r("schedule-table", sw / (16 * Thresholds.epsDouble), threshold: Thresholds.scaledRatio,
                     p + [("case", "lr 1e-2→1e-4, warmup 300/3000"), ("entries", "\(sched.count)")], .holds))
        return out
    }

    /// One ABR iteration (corrected, relative parameterisation p = θ/|θ₀|, deployment loss, STE) from MinMax bounds:
    /// the first Adam step is θ₁ = θ₀ − lr₀·|θ₀|·ĝ/(|ĝ| + ε) per bound, with ĝ = clip(g·|θ₀| + wd·sign θ₀) (m̂ = ĝ, v̂ = ĝ²),
    /// g = CompoundLoss's gradient at θ₀, lr₀ = lr/warm-up. Float rounding of the stored bounds: tolerance in ε_f.
    func abrFirstStep(_ layer: LayerProblem, bits: Int, seed: UInt64, params: [(String, String)]) throws -> [CheckResult] {
        var cfg = HarmoQConfig()
        cfg.useSRC = false; cfg.useHSO = false
        cfg.iterations = 1; cfg.warmupIterations = 4; cfg.keepBest = false; cfg.rollbackOnIncrease = false
        cfg.refinementRows = 512
        let res = try LayerCalibrator.calibrate(layer, method: .harmoq(cfg), weightBits: bits, activationBits: bits, seed: seed)
        let q1 = res.quantization
        // θ₀ and the gradient the ABR saw, rebuilt from the same public pieces
        let q0 = try BaselineCalibration.calibrate(layer, method: .minMax, weightBits: bits, activationBits: bits, seed: seed)
        let rows = layer.rowSubset(cfg.refinementRows, seed: seed)
        let raw = layer.gather(rows)
        var loss = CompoundLoss(kind: .deployment, rawInputs: raw, rows: rows.count, originalWeight: layer.weight,
                                outputs: layer.outputs, inputs: layer.inputs)
        loss.prepare(rawInputs: raw, inputScale: nil, weight: q0.weight)
        let g = try loss.evaluate(q0, mode: .ste, gradient: true).grad
        let m = layer.outputs
        let theta0 = [Double(q0.activationLower), Double(q0.activationUpper)] + q0.weightLower.map(Double.init) + q0.weightUpper.map(Double.init)
        let theta1 = [Double(q1.activationLower), Double(q1.activationUpper)] + q1.weightLower.map(Double.init) + q1.weightUpper.map(Double.init)
        var gh = (0..<theta0.count).map { g[$0] * abs(theta0[$0]) + cfg.weightDecay * (theta0[$0] > 0 ? 1 : -1) }
        let norm = gh.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > cfg.gradientClipNorm { gh = gh.map { $0 * cfg.gradientClipNorm / norm } }
        let lr0 = cfg.learningRate / Double(cfg.warmupIterations)
        var worst = 0.0
        for k in 0..<theta0.count {
            let want = theta0[k] - lr0 * abs(theta0[k]) * gh[k] / (abs(gh[k]) + cfg.adamEpsilon)
            worst = max(worst, abs(theta1[k] - want) / (abs(want) * Thresholds.epsFloat))
        }
        return [r("abr-first-step", worst, threshold: Thresholds.scaledRatio,
                  params + [("bounds", "\(2 + 2 * m)"), ("lr0", fmt(lr0))], .holds)]
    }
}
