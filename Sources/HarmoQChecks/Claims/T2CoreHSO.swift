import Foundation
import GSLOracle
import HarmoQ

/// T2, part 2: the HSO steps the calibrator ships — `HarmonizedScale.perChannelScales` and `LayerCalibrator`'s literal
/// (scalar s*, tensors and bounds rescaled) and corrected (per-input-channel s_j, bounds re-estimated) HSO steps —
/// against the closed forms evaluated here in Float64 and the output error of the quantized layer.
extension T2HSOScale {
    func coreHSO(size: CheckSize, seed: UInt64) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let base = CheckLayer(d: 16, m: 16, images: 1, grid: 32, seed: seed &+ 11)
        let n = base.tokens, d = base.d, m = base.m
        var x = base.x.data.map { Float($0) }, w = base.w.data.map { Float($0) }
        // Clamp cases: column 5 of W ×1e-3 (s_5 far above 10), input channel 9 ×1e-4 (s_9 far below 0.1).
        for i in 0..<m { w[i * d + 5] *= 1e-3 }
        for t in 0..<n { x[t * d + 9] *= 1e-4 }
        let problem = try LayerProblem(weight: w, outputs: m, inputs: d, samples: x, rows: n)
        let params = base.parameterText + [("clamped", "col5×1e-3,ch9×1e-4")]

        // Independent per-channel scales (Float64 from the Float data).
        func reference(bw: Int, bx: Int) -> [Double] {
            (0..<d).map { j in
                var ax = 0.0, aw = 0.0
                for t in 0..<n { ax = max(ax, abs(Double(x[t * d + j]))) }
                for i in 0..<m { aw = max(aw, abs(Double(w[i * d + j]))) }
                guard ax > 0, aw > 0 else { return 1 }
                let s = (ax / aw * Double((1 << bw) - 1) / Double((1 << bx) - 1)).squareRoot()
                return min(max(s, 0.1), 10)
            }
        }
        func relMax(_ a: [Float], _ b: [Double]) -> Double {
            zip(a, b).map { abs(Double($0) - $1) / max(abs($1), 1e-30) }.max() ?? 0
        }
        func outputError(_ q: LayerQuantization) throws -> Double {
            let y = try q.forward(x)
            var e = 0.0
            for t in 0..<n { for i in 0..<m {
                var ref = 0.0
                for j in 0..<d { ref += Double(x[t * d + j]) * Double(w[i * d + j]) }
                let dv = Double(y[t * m + i]) - ref
                e += dv * dv
            } }
            return e.squareRoot()
        }

        for (bw, bx) in [(4, 2), (2, 4), (4, 4)] {
            let p = params + [("bits", "W\(bw)A\(bx)")]
            // (1) HarmonizedScale.perChannelScales vs the closed form
            let sCore = HarmonizedScale.perChannelScales(inputs: x, rows: n, weight: w, outputs: m, dimension: d,
                                                        weightBits: bw, activationBits: bx)
            let sRef = reference(bw: bw, bx: bx)
            out.append(r("core-per-channel-scales", relMax(sCore, sRef) / Thresholds.epsFloat, p, .holds, eps: Thresholds.epsFloat))

            // MinMax baseline through the calibrator (the 'before' of every HSO comparison)
            let mm = try LayerCalibrator.calibrate(problem, method: .minMax, weightBits: bw, activationBits: bx, seed: seed).quantization
            let e1 = try outputError(mm)

            // (2) literal HSO step alone: scalar s* from the MinMax bounds, tensors and bounds rescaled
            var lit = HarmoQConfig.paperLiteral(weightBits: bw, activationBits: bx)
            lit.useSRC = false; lit.useABR = false
            let ql = try LayerCalibrator.calibrate(problem, method: .harmoq(lit), weightBits: bw, activationBits: bx, seed: seed).quantization
            var ax = 0.0
            for v in x { ax = max(ax, abs(Double(v))) }
            var s2 = 0.0
            for i in 0..<m {
                var a = 0.0
                for j in 0..<d { a = max(a, abs(Double(w[i * d + j]))) }
                s2 += (2 * a) * (2 * a)
            }
            let sLit = min(max(((2 * ax) * Double((1 << bw) - 1) / ((s2 / Double(m)).squareRoot() * Double((1 << bx) - 1))).squareRoot(), 0.1), 10)
            let stored = ql.inputScale.map { Double($0[0]) } ?? 1
            let uniform = ql.inputScale.map { Set($0).count == 1 } ?? true
            out.append(r("core-literal-hso-scale", uniform ? abs(stored - sLit) / (sLit * Thresholds.epsFloat) : .infinity,
                         p + [("s*", fmt(sLit))], .holds, eps: Thresholds.epsFloat))
            // inert: the same codes as MinMax everywhere except at exact ties of the MinMax grid
            var differ = 0
            func tie(_ v: Double) -> Bool { abs(abs(v - v.rounded(.down)) - 0.5) < 1e-4 }
            let wq0 = try mm.weightQuantizers(), wq1 = try ql.weightQuantizers()
            for i in 0..<m { for j in 0..<d {
                let v = Double(w[i * d + j]) / Double(wq0[i].step)
                if !tie(v) && wq0[i].code(w[i * d + j]) != wq1[i].code(ql.weight[i * d + j]) { differ += 1 }
            } }
            let aq0 = try mm.activationQuantizer(), aq1 = try ql.activationQuantizer()
            let sl = ql.inputScale ?? [Float](repeating: 1, count: d)
            for t in 0..<(n * d) {
                let v = Double(x[t]) / Double(aq0.step)
                if !tie(v) && aq0.code(x[t]) != aq1.code(x[t] / sl[t % d]) { differ += 1 }
            }
            out.append(r("core-literal-hso-inert", Double(differ), p + [("s*", fmt(sLit)), ("codes", "\(m * d + n * d)")], .holds,
                         threshold: 1, eps: 0))
            out.append(r("E-ratio-core-literal", try outputError(ql) / e1, p + [("s*", fmt(sLit))], .measured, threshold: 0, eps: 0))

            // (3) corrected per-channel HSO step alone: W_c = W₀·diag(s), bounds re-estimated on the scaled tensors
            var cor = HarmoQConfig()
            cor.useSRC = false; cor.useABR = false
            let qc = try LayerCalibrator.calibrate(problem, method: .harmoq(cor), weightBits: bw, activationBits: bx, seed: seed).quantization
            let sj = qc.inputScale ?? [Float](repeating: 1, count: d)
            var worst = relMax(sj, sRef)
            var axs = 0.0
            for t in 0..<n { for j in 0..<d { axs = max(axs, abs(Double(x[t * d + j]) / sRef[j])) } }
            worst = max(worst, abs(Double(qc.activationUpper) - axs) / axs, abs(Double(-qc.activationLower) - axs) / axs)
            for i in 0..<m {
                var a = 0.0
                for j in 0..<d {
                    let wc = Double(w[i * d + j]) * sRef[j]
                    a = max(a, abs(wc))
                    worst = max(worst, abs(Double(qc.weight[i * d + j]) - wc) / max(abs(wc), 1e-30))
                }
                worst = max(worst, abs(Double(qc.weightUpper[i]) - a) / a, abs(Double(-qc.weightLower[i]) - a) / a)
            }
            out.append(r("core-per-channel-fold", worst / Thresholds.epsFloat, p, .holds, eps: Thresholds.epsFloat))
            let ec = try outputError(qc)
            out.append(r("core-per-channel-effect", abs(ec - e1) / (e1 * Double(d + 2) * Thresholds.epsDouble), p, .refutationReproduces))
            out.append(r("E-ratio-core-per-channel", ec / e1, p, .measured, threshold: 0, eps: 0))
        }
        return out
    }
}
