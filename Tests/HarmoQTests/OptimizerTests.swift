import HarmoQ
import Testing

/// `BoundOptimizer` (ABR's Adam) and its schedule against values worked by hand.
@Suite("BoundOptimizer")
struct OptimizerTests {
    /// Two parameters, β₁ = 0.9, β₂ = 0.999, ε = 1e-8, no decay or clip, lr = 0.01, θ₀ = (0, 0):
    /// t=1, g = (1, −4): m = (0.1, −0.4), v = (0.001, 0.016); m̂ = (1, −4), v̂ = (1, 16);
    ///      θ₁ = −0.01·(1/(1 + 1e-8), −4/(4 + 1e-8)) = (−0.0099999999, 0.0099999999750)
    /// t=2, g = (1, 0): m = (0.09 + 0.1, −0.36) = (0.19, −0.36), v = (0.000999 + 0.001, 0.015984) = (0.001999, 0.015984);
    ///      m̂ = m/0.19 = (1, −1.894736842105…), v̂ = v/0.001999 = (1, 7.995997998999…), √v̂₂ = 2.827719575…;
    ///      θ₂ = θ₁ − 0.01·(1/(1 + 1e-8), −1.8947368421/(2.8277195757 + 1e-8))
    ///         = (−0.0199999998, 0.0099999999750 + 0.0067005825…) = (−0.0199999998, 0.0167005825…)
    @Test func adamTwoStepsByHand() {
        var c = HarmoQConfig()
        c.weightDecay = 0; c.gradientClipNorm = 0
        var opt = BoundOptimizer(count: 2, config: c)
        var th = [0.0, 0.0]
        opt.update(&th, grad: [1, -4], lr: 0.01)
        #expect(abs(th[0] - (-0.01 / (1 + 1e-8))) < 1e-15)
        #expect(abs(th[1] - (0.04 / (4 + 1e-8))) < 1e-15)
        opt.update(&th, grad: [1, 0], lr: 0.01)
        #expect(abs(th[0] - (-0.02 / (1 + 1e-8))) < 1e-15)
        // 0.0099999999750 + 0.01·1.894736842105263/(2.8277195757… + 1e-8)
        let v2 = (0.999 * 0.016) / (1 - 0.999 * 0.999)           // 0.015984/0.001999
        let expected = 0.04 / (4 + 1e-8) + 0.01 * (0.36 / 0.19) / (v2.squareRoot() + 1e-8)
        #expect(abs(th[1] - expected) < 1e-15)
        #expect(abs(th[1] - 0.0167005825) < 1e-9)                  // the hand-rounded value
        #expect(opt.step == 2)
    }

    /// Gradient-norm clipping: g = (3, 4) has norm 5 > 1 → (0.6, 0.8); `update` returns the pre-clip norm; the first
    /// Adam step is lr·ĝ/(|ĝ| + ε) per component, i.e. −lr·(0.6/0.60000001, 0.8/0.80000001).
    /// L2 decay 0.5 at θ = (2, −2) with g = 0: g' = (1, −1), first step −lr·(1, −1)/(1 + 1e-8).
    @Test func clipAndDecayByHand() {
        var c = HarmoQConfig()
        c.weightDecay = 0; c.gradientClipNorm = 1
        var opt = BoundOptimizer(count: 2, config: c)
        var th = [0.0, 0.0]
        #expect(opt.update(&th, grad: [3, 4], lr: 0.1) == 5)
        #expect(abs(th[0] + 0.1 * 0.6 / (0.6 + 1e-8)) < 1e-15 && abs(th[1] + 0.1 * 0.8 / (0.8 + 1e-8)) < 1e-15)
        c.weightDecay = 0.5; c.gradientClipNorm = 0
        var dec = BoundOptimizer(count: 2, config: c)
        var t2 = [2.0, -2.0]
        dec.update(&t2, grad: [0, 0], lr: 0.1)
        #expect(abs(t2[0] - (2 - 0.1 / (1 + 1e-8))) < 1e-15 && abs(t2[1] - (-2 + 0.1 / (1 + 1e-8))) < 1e-15)
    }

    /// Schedule with lr 1e-2 → 1e-4, 10 warm-up of 110 iterations:
    /// t = 0: 1e-2·1/10 = 1e-3; t = 9: 1e-2·10/10 = 1e-2; t = 10: f = 0 → 1e-2; t = 60: f = 50/100 = ½ →
    /// 1e-4 + ½·9.9e-3·(1 + 0) = 5.05e-3; t = 110: f = 1 → 1e-4; t = 200: f clamped to 1 → 1e-4.
    @Test func scheduleByHand() {
        var c = HarmoQConfig()
        c.learningRate = 1e-2; c.finalLearningRate = 1e-4; c.warmupIterations = 10; c.iterations = 110
        for (t, want) in [(0, 1e-3), (9, 1e-2), (10, 1e-2), (60, 5.05e-3), (110, 1e-4), (200, 1e-4)] {
            #expect(abs(BoundOptimizer.learningRate(at: t, config: c) - want) < 1e-15, "t = \(t)")
        }
    }
}
