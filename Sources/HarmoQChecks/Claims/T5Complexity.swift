import Foundation
import GSLOracle

/// T5 — Complexity claim O(k·d² + n·d + L) per iteration (n = number of parameters). Operation counts of an
/// instrumented iteration (`IterationCost`) are fitted in log–log with gsl_fit_linear and compared with the slope
/// of the claimed cost over the same sweep. See Proofs/T5-complexity.md.
public struct T5Complexity: Checker {
    public init() {}
    public let id = "T5"
    public let title = "Per-iteration complexity O(k·d² + n·d + L)"
    public var verdict: ClaimVerdict {
        ClaimVerdict(claim: id, status: .refuted,
                     summary: "cost is linear in the calibration tokens N (omitted by the claim), N·d² in d (claim predicts d³ via n·d), ~flat in k, and k·d² recurs per layer; measured O(L·(N·d² + N·m·d + k·d² + k³))",
                     reproduce: "harmoq verify T5 -v")
    }
    public var legend: [(ratio: String, formula: String)] {
        [("exponent-gap-*", "|p_claim − p_fit| / (t₀.₉₇₅·se + 0.1): p_fit = gsl_fit_linear slope of log(ops) on log(size), p_claim = the same fit of log(k·d² + n·d + L); < 1 = consistent"),
         ("corrected-gap-*", "|p_corr − p_fit| / (t₀.₉₇₅·se + 0.1), p_corr = slope of log(L·(N·d² + N·m·d + k·d² + k³)) (the corrected statement); < 1"),
         ("slope-*", "measured: fitted exponent and its 95% half-width"),
         ("omitted-share", "measured: share of counted work in terms the claim omits (covariances N·d², step-3 products N·m·d) at d=60, N=4096, k=32"),
         ("instrumented-correct", "‖δW₅(instrumented) − δW₅(GSL)‖_F / (‖δW₅‖_F·κ·d·ε): the counted code computes the real formula"),
         ("time-slope-d", "measured: wall-time slope in d (one run per size; not asserted)")]
    }
    public var mutants: [Mutant] {
        [Mutant("counterIgnoresN", "operation counter counts the N-dependent loops as if N = 1"),
         Mutant("oneLayerCounted", "only the first layer's work is counted"),
         Mutant("linearScaleFit", "slopes fitted on linear instead of log scale"),
         Mutant("lambdaDroppedInInstrumented", "the instrumented SRC drops λ (counts code that computes the wrong thing)"),
         Mutant("claimWithoutParameters", "claimed cost evaluated without the n·d term")]
    }

    struct Sweep { let name: String; let values: [Int]; let config: (Int) -> (d: Int, k: Int, n: Int, layers: Int); let expect: Expectation }

    public func run(size: CheckSize, seed: UInt64, mutant: Mutant?) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let big = size == .full
        let sweeps = [
            Sweep(name: "d", values: big ? [8, 16, 32, 64, 128, 256] : [8, 16, 32, 64, 128],
                  config: { (d: $0, k: 8, n: 1024, layers: 1) }, expect: .refutationReproduces),
            Sweep(name: "N", values: big ? [256, 576, 1024, 2304, 4096, 9216] : [256, 576, 1024, 2304, 4096],
                  config: { (d: 16, k: 8, n: $0, layers: 1) }, expect: .refutationReproduces),
            Sweep(name: "k", values: [2, 4, 8, 16, 32], config: { (d: 32, k: $0, n: 1024, layers: 1) }, expect: .refutationReproduces),
            Sweep(name: "L", values: [1, 2, 4, 8, 16], config: { (d: 16, k: 16, n: 256, layers: $0) }, expect: .refutationReproduces),
        ]
        for sw in sweeps {
            var logX: [Double] = [], logOps: [Double] = [], logClaim: [Double] = [], logTime: [Double] = [], logCorrected: [Double] = []
            for v in sw.values {
                let c = sw.config(v)
                var cost = IterationCost()
                cost.ignoreSamples = mutant?.id == "counterIgnoresN"
                cost.oneLayerOnly = mutant?.id == "oneLayerCounted"
                let t0 = Date()
                _ = try cost.iterate(d: c.d, k: c.k, n: c.n, layers: c.layers, seed: seed)
                let dt = Date().timeIntervalSince(t0)
                let nParams = Double(c.layers * c.d * c.d)
                let claimed = Double(c.k * c.d * c.d) + (mutant?.id == "claimWithoutParameters" ? 0 : nParams * Double(c.d)) + Double(c.layers)
                let linear = mutant?.id == "linearScaleFit"
                logX.append(linear ? Double(v) : log(Double(v)))
                logOps.append(linear ? cost.ops : log(cost.ops))
                logClaim.append(linear ? claimed : log(claimed))
                logTime.append(log(max(dt, 1e-6)))
                // the corrected statement O(L·(N·d² + N·m·d + k·d² + k³)), m = d, unit constants
                let (dd, kk, nn, ll) = (Double(c.d), Double(c.k), Double(c.n), Double(c.layers))
                let corrected = ll * (nn * dd * dd + nn * dd * dd + kk * dd * dd + kk * kk * kk)
                logCorrected.append(linear ? corrected : log(corrected))
            }
            let fit = try GSL.linearFit(x: logX, y: logOps)
            let claim = try GSL.linearFit(x: logX, y: logClaim)
            let p: [(String, String)] = [("sweep", sw.name), ("values", sw.values.map(String.init).joined(separator: ",")),
                                         ("fixed", describe(sw.config(sw.values[0]), sweep: sw.name)), ("type", "srLike"), ("seed", seedText(seed))]
            let gap = abs(claim.slope - fit.slope) / (fit.slopeHalfWidth + Thresholds.exponentMargin)
            out.append(CheckResult(claim: id, ratio: "exponent-gap-\(sw.name)", formula: "", value: gap, threshold: 1, epsilon: 0,
                                   parameters: p + [("fit", fmt(fit.slope)), ("claim", fmt(claim.slope))], expectation: sw.expect))
            let corr = try GSL.linearFit(x: logX, y: logCorrected)
            out.append(CheckResult(claim: id, ratio: "corrected-gap-\(sw.name)", formula: "",
                                   value: abs(corr.slope - fit.slope) / (fit.slopeHalfWidth + Thresholds.exponentMargin), threshold: 1,
                                   epsilon: 0, parameters: p + [("fit", fmt(fit.slope)), ("corrected", fmt(corr.slope))], expectation: .holds))
            out.append(CheckResult(claim: id, ratio: "slope-\(sw.name)", formula: "", value: fit.slope, threshold: 0, epsilon: 0,
                                   parameters: p + [("ci95", "±" + fmt(fit.slopeHalfWidth)), ("r2", fmt(fit.rSquared))], expectation: .measured))
            if sw.name == "d" {
                let tf = try GSL.linearFit(x: logX, y: logTime)
                out.append(CheckResult(claim: id, ratio: "time-slope-d", formula: "", value: tf.slope, threshold: 0, epsilon: 0,
                                       parameters: p + [("ci95", "±" + fmt(tf.slopeHalfWidth))], expectation: .measured))
            }
        }
        // share of omitted terms at a SwinIR-light-like size
        var cost = IterationCost()
        _ = try cost.iterate(d: 60, k: 32, n: size == .ci ? 1024 : 4096, layers: 1, seed: seed)
        out.append(CheckResult(claim: id, ratio: "omitted-share", formula: "", value: (cost.covarianceOps + cost.gradientOps) / cost.ops,
                               threshold: 0, epsilon: 0, parameters: [("d", "60"), ("k", "32"), ("n", size == .ci ? "1024" : "4096"),
                                                                      ("type", "srLike"), ("seed", seedText(seed))], expectation: .measured))
        // the counted code computes the real formula (5) (k = d so it is well-typed)
        var check = IterationCost()
        let (dW, layer, h, dx) = try check.iterate(d: 16, k: 16, n: 256, layers: 1, seed: seed,
                                                   dropLambda: mutant?.id == "lambdaDroppedInInstrumented")
        let stats = SRCStatistics(w: layer.w, x: layer.x, dx: dx)
        let ref = try SRCSolutions.paper(stats, h: h)
        let g = Dense.addDiagonal(Dense.mul(Dense.mul(h, stats.sxx), h.transposed), stats.lambda)
        let kappa = 1 / (try GSL.choleskyRcond(g))
        out.append(CheckResult(claim: id, ratio: "instrumented-correct", formula: "",
                               value: (dW - ref).frobeniusNorm / (ref.frobeniusNorm * kappa * 16 * Thresholds.epsDouble),
                               threshold: Thresholds.scaledRatio, epsilon: Thresholds.epsDouble,
                               parameters: [("m", "16"), ("d", "16"), ("k", "16"), ("n", "\(layer.tokens)"), ("type", "srLike"),
                                            ("seed", seedText(seed))], expectation: .holds))
        return out
    }

    private func describe(_ c: (d: Int, k: Int, n: Int, layers: Int), sweep: String) -> String {
        [("d", c.d), ("k", c.k), ("N", c.n), ("L", c.layers)].filter { $0.0 != sweep }.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
    }
}
