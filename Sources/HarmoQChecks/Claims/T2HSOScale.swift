import Foundation
import GSLOracle
import HarmoQ

/// T2 — Harmonized Scale Optimization s* (eq. 6). The scale under test is the core's (`HarmonizedScale.literalScale`,
/// `perChannelScales`, the MSE models, and the calibrator's HSO steps in `LayerCalibrator`); independent computations:
/// the closed form evaluated here in Float64, GSL Brent minimiser, the core quantizer's actual MSE on a midpoint grid,
/// and the actual compound output error of a quantized layer. See Proofs/T2-hso-scale.md.
public struct T2HSOScale: Checker {
    public init() {}
    public let id = "T2"
    public let title = "HSO closed-form scale s* (6): algebra, Δ²/12 model, effect on the compound error"
    public var verdict: ClaimVerdict {
        ClaimVerdict(claim: id, status: .holdsUnderConditions,
                     summary: "algebra holds and s* minimises the model MSE_x+MSE_w; Δ²/12 exact only for uniform data on a grid-aligned range; a scalar s is inert (bit-exact) whenever bounds are re-calibrated — only per-channel s_j changes the error",
                     reproduce: "harmoq verify T2 -v")
    }
    public var legend: [(ratio: String, formula: String)] {
        [("core-literal-scale", "|s_core − s_ref| / (s_ref·ε_f): HarmonizedScale.literalScale (Float) vs (6) in Float64 with R_w = RMS of the per-row ranges, clamped to [0.1, 10]"),
         ("core-mse-model", "|MSE_core/MSE_ref − 1| / ε_f: HarmonizedScale.activationMSEModel / weightMSEModel vs R²/(12(2^b−1)²) (weights: mean over rows)"),
         ("balance", "|MSE_x(s*) − MSE_w(s*)| / (max(MSE_x, MSE_w)·ε_f), s* = the core's (Float) scale, model in Float64"),
         ("brent-objective", "max(0, f(s*) − f(s_brent)) / (f(s_brent)·ε_f²), f = MSE_x + MSE_w, GSL Brent on log s, s* = the core's (Float: f(s*)/f_min − 1 ≤ ε_f²/2)"),
         ("brent-location", "|log s* − t_brent| / (width of Brent's final bracket on t = log s, |Δt| < 1e-6)"),
         ("model-mse", "|MSE_actual/(Δ²/12) − 1| / (13·4^b/n² + 4·2^b·ε_f), core quantizer on a midpoint grid of n points of [α,β]"),
         ("model-mse-heavy", "measured: MSE_actual/(Δ²/12) on SR-like data with MinMax/percentile/DOBI bounds"),
         ("scalar-inert", "|E(s) − E(1)| / (E(1)·(d+2)·ε) (ε = ε_d for s = 2^k, ε_f otherwise), E = ‖Q(X/s)·Q(sW)ᵀ − XWᵀ‖_F with bounds re-calibrated on the scaled tensors"),
         ("fixed-bounds-effect", "same ratio with bounds calibrated at s = 1 and held fixed (expected ≥ 30: s matters)"),
         ("per-channel-effect", "same ratio for per-input-channel s_j (SmoothQuant α=0.5 and the per-channel analogue of (6))"),
         ("core-per-channel-scales", "max_j |s_j,core − s_j,ref| / (s_j,ref·ε_f): HarmonizedScale.perChannelScales vs clamp(√(max|x_j|·(2^bw−1)/(max|W_:j|·(2^bx−1))), 0.1, 10) in Float64"),
         ("core-literal-hso-scale", "|s − s_ref| / (s_ref·ε_f) for the scale LayerCalibrator's literal HSO step stores (MinMax bounds → (6))"),
         ("core-literal-hso-inert", "#weight and activation codes of the calibrator's literal HSO-only result (Q(sW), Q(x/s)) that differ from MinMax's (Q(W), Q(x)), elements within 1e-4 of a rounding tie excluded (the symmetric grid puts −β exactly on a tie: v = −(2^b−1)/2); expect 0"),
         ("E-ratio-core-literal", "measured: E_hso/E_minmax for the calibrator's literal HSO-only result (tie flips at −β included)"),
         ("core-per-channel-fold", "max relative mismatch of the calibrator's per-channel HSO result: W_c = W₀·diag(s_ref), weight bounds ±max_j|W_c,ij|, activation bounds ±max|x/s| (units of ε_f)"),
         ("core-per-channel-effect", "|E_hso − E_minmax| / (E_minmax·(d+2)·ε_d) for the calibrator's per-channel HSO result (expected ≥ 30: it changes the error)"),
         ("E-ratio-*", "measured: E(s)/E(1)")]
    }
    public var mutants: [Mutant] {
        [Mutant("levelsInsteadOfSteps", "model and s* use 2^b levels instead of 2^b − 1 steps"),
         Mutant("bitsSwapped", "s* with (2^bx−1)/(2^bw−1) instead of (2^bw−1)/(2^bx−1)"),
         Mutant("fourthRootDropped", "s* without the square root"),
         Mutant("boundsNotRecalibrated", "the 'recalibrated' path reuses the s = 1 bounds on the scaled tensors"),
         Mutant("scaleNotCancelled", "scaled weights quantized but activations not divided by s")]
    }

    public var shippedMutants: [ShippedMutant] {
        [.hsoScaleInverted, .hsoBitsSwapped, .hsoSquareRootDropped, .hsoLevelsInsteadOfSteps, .hsoWeightRangeMeanNotRMS,
         .hsoClampDropped, .hsoMSEModelLevels, .hsoPerChannelExponentSwapped, .hsoPerChannelBitFactorInverted,
         .hsoPerChannelBoundsNotReestimated, .hsoScalarScaleBoundsNotScaled]
    }

    public func run(size: CheckSize, seed: UInt64, mutant: Mutant?) throws -> [CheckResult] {
        var out: [CheckResult] = []
        out += try algebra(seed: seed, mutant: mutant)
        out += try modelMSE(size: size, seed: seed, mutant: mutant)
        out += try inertness(size: size, seed: seed, mutant: mutant)
        out += try coreHSO(size: size, seed: seed)
        return out
    }

    func r(_ ratio: String, _ v: Double, _ p: [(String, String)], _ e: Expectation,
                   threshold: Double = Thresholds.scaledRatio, eps: Double = Thresholds.epsDouble) -> CheckResult {
        CheckResult(claim: id, ratio: ratio, formula: "", value: v, threshold: threshold, epsilon: eps, parameters: p, expectation: e)
    }

    private func model(_ rx: Double, _ rw: Double, _ bx: Int, _ bw: Int, _ mutant: Mutant?) -> HSOModel {
        var h = HSOModel(rangeX: rx, rangeW: rw, bitsX: bx, bitsW: bw)
        h.levelsInsteadOfSteps = mutant?.id == "levelsInsteadOfSteps"
        h.bitsSwapped = mutant?.id == "bitsSwapped"
        h.fourthRootDropped = mutant?.id == "fourthRootDropped"
        return h
    }

    /// (a) the core's s* equals (6); MSE_x(s*) = MSE_w(s*); (b) s* minimises MSE_x + MSE_w (GSL Brent).
    /// The scale is the core's `HarmonizedScale.literalScale` on per-row weight bounds (R_w = RMS of the row ranges);
    /// a checker-side mutant replaces it by the checker's own model (`HSOModel`) with the mutation.
    func algebra(seed: UInt64, mutant: Mutant?) throws -> [CheckResult] {
        var out: [CheckResult] = []
        var rng = CheckRNG(seed: seed ^ 0x7202)
        // the last two cases put s* beyond the clamp [0.1, 10]
        for (ci, (bx, bw)) in [(2, 2), (2, 4), (4, 2), (3, 8), (8, 8), (4, 4), (2, 8), (8, 2)].enumerated() {
            let clampCase = ci >= 6
            let rx = Double(Float(clampCase ? (bx == 2 ? 400 : 1e-3) : exp(4 * rng.uniform() - 1)))
            // per-row weight ranges (4 rows, different widths); R_w = RMS
            let rows = (0..<4).map { i in Float(exp(3 * rng.uniform() - 3) * (1 + 0.5 * Double(i))) }
            let wl = rows.map { -$0 / 2 }, wu = rows.map { $0 / 2 }
            let rw = (zip(wl, wu).map { Double($1 - $0) * Double($1 - $0) }.reduce(0, +) / Double(rows.count)).squareRoot()
            let truth = HSOModel(rangeX: rx, rangeW: rw, bitsX: bx, bitsW: bw)   // the objective is always the paper's
            let sRef = min(max(truth.sStar, 0.1), 10)
            let s: Double
            if let m = mutant, ["levelsInsteadOfSteps", "bitsSwapped", "fourthRootDropped"].contains(m.id) {
                s = model(rx, rw, bx, bw, mutant).sStar
            } else {
                s = Double(try HarmonizedScale.literalScale(activationLower: Float(-rx / 2), activationUpper: Float(rx / 2),
                                                            weightLower: wl, weightUpper: wu, weightBits: bw, activationBits: bx))
            }
            let p: [(String, String)] = [("bx", "\(bx)"), ("bw", "\(bw)"), ("rangeX", fmt(rx)), ("rangeW", fmt(rw)),
                                         ("rows", "4"), ("type", clampCase ? "model-clamped" : "model"), ("seed", seedText(seed))]
            out.append(r("core-literal-scale", abs(s - sRef) / (sRef * Thresholds.epsFloat), p, .holds, eps: Thresholds.epsFloat))
            // core MSE models vs the formula (Float bounds → Double ranges: relative error ≤ ε_f)
            let mxCore = HarmonizedScale.activationMSEModel(lower: Float(-rx / 2), upper: Float(rx / 2), bits: bx)
            let mwCore = HarmonizedScale.weightMSEModel(lower: wl, upper: wu, bits: bw)
            let nx = Double((1 << bx) - 1), nw = Double((1 << bw) - 1)
            let mxRef = rx * rx / (12 * nx * nx), mwRef = rw * rw / (12 * nw * nw)
            out.append(r("core-mse-model", max(abs(mxCore / mxRef - 1), abs(mwCore / mwRef - 1)) / Thresholds.epsFloat, p, .holds,
                         eps: Thresholds.epsFloat))
            if clampCase || truth.sStar != sRef { continue }   // balance and minimality hold for the unclamped s* only
            let mx = truth.mseX(s), mw = truth.mseW(s)
            out.append(r("balance", abs(mx - mw) / (max(mx, mw) * Thresholds.epsFloat), p, .holds, eps: Thresholds.epsFloat))
            let f: (Double) -> Double = { t in truth.mseX(exp(t)) + truth.mseW(exp(t)) }
            // bracket from the model's own scale of the problem, not from s*: t ∈ [t0 − 6, t0 + 6], t0 = ¼ log(A/B)·1.3 + 0.2
            let tTrue = 0.25 * log((rx * rx / Double(((1 << bx) - 1) * ((1 << bx) - 1))) / (rw * rw / Double(((1 << bw) - 1) * ((1 << bw) - 1))))
            let lo = tTrue - 5, hi = tTrue + 7, guess = tTrue + 0.9
            let mres = try GSL.minimizeBrent(f, lower: lo, upper: hi, guess: guess, epsAbs: 1e-6, epsRel: 0)
            let fs = f(log(s))
            out.append(r("brent-objective", max(0, fs - mres.fx) / (mres.fx * Thresholds.epsFloat * Thresholds.epsFloat), p, .holds,
                         eps: Thresholds.epsFloat))
            out.append(r("brent-location", abs(log(s) - mres.x) / (mres.upper - mres.lower), p, .holds, eps: 0))
        }
        return out
    }

    /// (c) Δ²/12 vs the core quantizer's actual MSE.
    func modelMSE(size: CheckSize, seed: UInt64, mutant: Mutant?) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let n = size == .ci ? 1 << 16 : 1 << 20
        let rounding: Rounding = .halfToEven
        for b in [2, 3, 4, 8] {
            for (scheme, lo, hi, expect) in [(QuantScheme.symmetric, -1.5, 1.5, Expectation.holds),
                                             (.affine, -0.4, 2.1, .holds),
                                             (.symmetric, 0.0, 3.0, .refutationReproduces)] {
                let q = try Quantizer(bits: b, lower: Float(lo), upper: Float(hi), scheme: scheme, rounding: rounding)
                var sse = 0.0
                for i in 0..<n {
                    let x = Float(lo + (Double(i) + 0.5) * (hi - lo) / Double(n))
                    let e = Double(q.fakeQuant(x)) - Double(x)
                    sse += e * e
                }
                let actual = sse / Double(n)
                let hso = model(hi - lo, 1, b, b, mutant)
                let predicted = hso.mseX(1)
                let scale = 13 * pow(4, Double(b)) / (Double(n) * Double(n)) + 4 * pow(2, Double(b)) * Thresholds.epsFloat
                let p: [(String, String)] = [("bits", "\(b)"), ("scheme", scheme.rawValue), ("range", "[\(fmt(lo)),\(fmt(hi))]"),
                                             ("n", "\(n)"), ("type", "uniformMidpoint"), ("seed", "none")]
                out.append(r("model-mse", abs(actual / predicted - 1) / scale, p, expect, eps: Thresholds.epsFloat))
            }
        }
        // measured: SR-like data, bounds from the core observers
        let layer = CheckLayer(d: 16, m: 16, images: 1, grid: 32, seed: seed)
        let xs = layer.x.data.map { Float($0) }
        for b in [2, 4, 8] {
            for (name, bounds) in [("minMax", try Observer.absMax(xs)), ("percentile99.9", try Observer.percentile(xs, 99.9)),
                                   ("dobi", try Observer.dobi(xs, bits: b, scheme: .symmetric))] {
                let q = try Quantizer(bits: b, lower: bounds.0, upper: bounds.1, scheme: .symmetric)
                var sse = 0.0
                for v in xs { let e = Double(q.fakeQuant(v)) - Double(v); sse += e * e }
                let step = Double(q.step)
                let p: [(String, String)] = [("bits", "\(b)"), ("observer", name), ("n", "\(xs.count)"), ("type", "srLike"),
                                             ("seed", seedText(seed))]
                out.append(r("model-mse-heavy", (sse / Double(xs.count)) / (step * step / 12), p, .measured, threshold: 0, eps: 0))
            }
        }
        return out
    }

    /// (d) scalar s with re-calibrated vs fixed bounds; (e) per-channel s_j.
    func inertness(size: CheckSize, seed: UInt64, mutant: Mutant?) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let layer = CheckLayer(d: 16, m: 16, images: size == .ci ? 1 : 4, grid: 32, seed: seed &+ 7)
        let n = layer.tokens, d = layer.d, m = layer.m
        let x = layer.x.data.map { Float($0) }, w = layer.w.data.map { Float($0) }
        let rounding: Rounding = .halfToEven
        let noCancel = mutant?.id == "scaleNotCancelled"
        typealias Obs = (String, ([Float], Int) throws -> (Float, Float))
        let observers: [Obs] = [("minMax", { v, _ in try Observer.minMax(v) }),
                                ("percentile99.9", { v, _ in try Observer.percentile(v, 99.9) }),
                                ("dobi", { v, b in try Observer.dobi(v, bits: b, scheme: .symmetric) })]
        func quantizer(_ v: [Float], _ b: Int, _ obs: Obs) throws -> Quantizer {
            let (lo, hi) = try obs.1(v, b)
            return try Quantizer(bits: b, lower: lo, upper: hi, scheme: .symmetric, rounding: rounding)
        }
        let eps = Thresholds.epsDouble
        for b in [2, 4] {
            for obs in observers {
                let qx1 = try quantizer(x, b, obs), qw1 = try quantizer(w, b, obs)
                let e1 = LayerError.outputError(x: x, w: w, n: n, d: d, m: m, qx: { qx1.fakeQuant($0) }, qw: { qw1.fakeQuant($0) })
                let rx = Double(qx1.upper - qx1.lower), rw = Double(qw1.upper - qw1.lower)
                let sStar = model(rx, rw, b, b, mutant).sStar
                for s in [0.125, 4.0, sStar] {
                    let fs = Float(s)
                    let xs = x.map { $0 / fs }, ws = w.map { $0 * fs }
                    let stale = mutant?.id == "boundsNotRecalibrated"
                    let qxs = stale ? qx1 : try quantizer(xs, b, obs), qws = stale ? qw1 : try quantizer(ws, b, obs)
                    let sc = [Float](repeating: fs, count: d)
                    let es = LayerError.outputError(x: x, w: w, n: n, d: d, m: m, qx: { qxs.fakeQuant($0) }, qw: { qws.fakeQuant($0) },
                                                    xScale: noCancel ? nil : sc, wScale: sc)
                    var p = layer.parameterText
                    p += [("bits", "W\(b)A\(b)"), ("observer", obs.0), ("s", s == sStar ? "s*=\(fmt(s))" : fmt(s))]
                    let isPow2 = s == 0.125 || s == 4.0
                    // powers of two: bit-exact; s*: up to rounding-tie flips (documented)
                    // powers of two: bit-exact, ε = ε_d; general s: Float rounding of x/s and s·w, ε = ε_f
                    let e = isPow2 ? eps : Thresholds.epsFloat
                    out.append(r("scalar-inert", abs(es - e1) / (e1 * Double(d + 2) * e), p + [("exact", isPow2 ? "pow2" : "general")],
                                 .holds, eps: e))
                    if !isPow2 {
                        out.append(r("E-ratio-recalibrated", es / e1, p, .measured, threshold: 0, eps: 0))
                        // fixed bounds: the s = 1 quantizers applied to the scaled tensors
                        let ef = LayerError.outputError(x: x, w: w, n: n, d: d, m: m, qx: { qx1.fakeQuant($0) }, qw: { qw1.fakeQuant($0) },
                                                        xScale: sc, wScale: sc)
                        let expectFixed: Expectation = abs(sStar - 1) > 0.05 ? .refutationReproduces : .measured
                        out.append(r("fixed-bounds-effect", abs(ef - e1) / (e1 * Double(d + 2) * eps), p, expectFixed))
                        out.append(r("E-ratio-fixed-bounds", ef / e1, p, .measured, threshold: 0, eps: 0))
                    }
                }
            }
            // (e) per-channel s_j, MinMax bounds re-calibrated per tensor
            var sq = [Float](repeating: 1, count: d), hq = [Float](repeating: 1, count: d)
            for j in 0..<d {
                var ax: Float = 0, aw: Float = 0, lox = Float.infinity, hix = -Float.infinity, low = Float.infinity, hiw = -Float.infinity
                for t in 0..<n { let v = x[t * d + j]; ax = max(ax, abs(v)); lox = min(lox, v); hix = max(hix, v) }
                for i in 0..<m { let v = w[i * d + j]; aw = max(aw, abs(v)); low = min(low, v); hiw = max(hiw, v) }
                sq[j] = (ax / aw).squareRoot()
                hq[j] = Float(model(Double(hix - lox), Double(hiw - low), b, b, nil).sStar)
            }
            let obs = observers[0]
            let qx1 = try quantizer(x, b, obs), qw1 = try quantizer(w, b, obs)
            let e1 = LayerError.outputError(x: x, w: w, n: n, d: d, m: m, qx: { qx1.fakeQuant($0) }, qw: { qw1.fakeQuant($0) })
            for (name, sj) in [("smoothQuant", sq), ("perChannelHSO", hq)] {
                var xs = x, ws = w
                for t in 0..<n { for j in 0..<d { xs[t * d + j] /= sj[j] } }
                for i in 0..<m { for j in 0..<d { ws[i * d + j] *= sj[j] } }
                let qxs = try quantizer(xs, b, obs), qws = try quantizer(ws, b, obs)
                let es = LayerError.outputError(x: x, w: w, n: n, d: d, m: m, qx: { qxs.fakeQuant($0) }, qw: { qws.fakeQuant($0) },
                                                xScale: sj, wScale: sj)
                var p = layer.parameterText
                p += [("bits", "W\(b)A\(b)"), ("observer", "minMax"), ("s", name)]
                out.append(r("per-channel-effect", abs(es - e1) / (e1 * Double(d + 2) * eps), p, .refutationReproduces))
                out.append(r("E-ratio-per-channel", es / e1, p, .measured, threshold: 0, eps: 0))
            }
        }
        return out
    }
}
