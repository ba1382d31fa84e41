import Foundation
import GSLOracle
import HarmoQ

/// T1, part 3: the rest of the SRC step the calibrator ships — the regressor statistics (`LayerStatistics`), the
/// running covariance (`CovarianceAccumulator` with momentum), and `LayerCalibrator`'s SRC step end to end (HSO scale
/// folded into W₀, the ridge solve, weight bounds re-estimated) — against Float64 Gram matrices and GSL.
extension T1SRCClosedForm {
    func corePipeline(_ layer: CheckLayer, bits: Int, seed: UInt64) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let n = layer.tokens, d = layer.d, m = layer.m
        let xf = layer.x.data.map { Float($0) }
        let p0 = layer.parameterText + [("bits", "\(bits)"), ("impl", "core")]

        // (1) LayerStatistics with the quantized regressor (the corrected default)
        do {
            let a = xf.reduce(Float(0)) { max($0, abs($1)) }
            let q = try Quantizer(bits: bits, lower: -a, upper: a)
            let xq = xf.map { q.fakeQuant($0) }
            let (sxx, sdx) = try LayerStatistics.moments(x: xf, xq: xq, rows: n, dimension: d, regressor: .quantized,
                                                         tokenProjection: nil, grid: nil, momentum: nil, warmup: 0)
            let r = OracleMatrix(rows: n, cols: d, data: xq.map(Double.init))
            let delta = OracleMatrix(rows: n, cols: d, data: zip(xq, xf).map { Double($0) - Double($1) })
            let rAbs = OracleMatrix(rows: n, cols: d, data: r.data.map(abs))
            let scale = Dense.gram(rAbs, rAbs, scale: Double(n)).frobeniusNorm * Thresholds.epsFloat
            let eXX = (OracleMatrix(rows: d, cols: d, data: sxx.data) - Dense.gram(r, r, scale: Double(n))).frobeniusNorm
            let eDX = (OracleMatrix(rows: d, cols: d, data: sdx.data) - Dense.gram(delta, r, scale: Double(n))).frobeniusNorm
            out.append(result("core-statistics-quantized", "", max(eXX, eDX) / scale, eps: Thresholds.epsFloat,
                              p0 + [("regressor", "quantized")], .holds))
        }

        // (2) CovarianceAccumulator with momentum 0.9 after 200 warm-up samples, batches of 256 rows
        do {
            let dx = layer.activationError(bits: bits)
            let dxf = dx.data.map { Float($0) }
            let xqf = zip(xf, dxf).map { $0 + $1 }
            var acc = try CovarianceAccumulator(dimension: d, momentum: 0.9, warmup: 200)
            var sxx = OracleMatrix(rows: d, cols: d), sdx = OracleMatrix(rows: d, cols: d)
            var seen = 0
            var start = 0
            while start < n {
                let end = min(n, start + 256)
                try acc.add(x: Array(xf[(start * d)..<(end * d)]), quantized: Array(xqf[(start * d)..<(end * d)]), rows: end - start)
                let xb = OracleMatrix(rows: end - start, cols: d, data: xf[(start * d)..<(end * d)].map(Double.init))
                let db = OracleMatrix(rows: end - start, cols: d,
                                      data: zip(xqf[(start * d)..<(end * d)], xf[(start * d)..<(end * d)]).map { Double($0) - Double($1) })
                let bxx = Dense.gram(xb, xb, scale: Double(end - start)), bdx = Dense.gram(db, xb, scale: Double(end - start))
                if seen >= 200 {
                    sxx = 0.9 * sxx + 0.1 * bxx
                    sdx = 0.9 * sdx + 0.1 * bdx
                } else {   // plain running mean over the first batches
                    let wOld = Double(seen) / Double(seen + end - start), wNew = Double(end - start) / Double(seen + end - start)
                    sxx = wOld * sxx + wNew * bxx
                    sdx = wOld * sdx + wNew * bdx
                }
                seen += end - start
                start = end
            }
            let e = max((OracleMatrix(rows: d, cols: d, data: acc.secondMoment.data) - sxx).frobeniusNorm / sxx.frobeniusNorm,
                        (OracleMatrix(rows: d, cols: d, data: acc.errorCrossMoment.data) - sdx).frobeniusNorm / sdx.frobeniusNorm)
            out.append(result("core-covariance-ema", "", e / (Double(n) * Thresholds.epsDouble),
                              p0 + [("momentum", "0.9"), ("warmup", "200"), ("batch", "256")], .holds))
        }

        // (3) LayerCalibrator's corrected SRC step after per-channel HSO (no ABR): W_c = W₀·diag(s) + δW
        do {
            let wf = layer.w.data.map { Float($0) }
            let problem = try LayerProblem(weight: wf, outputs: m, inputs: d, samples: xf, rows: n)
            var cfg = HarmoQConfig()
            cfg.useABR = false
            let q = try LayerCalibrator.calibrate(problem, method: .harmoq(cfg), weightBits: bits, activationBits: bits, seed: seed).quantization
            let s = q.inputScale ?? [Float](repeating: 1, count: d)
            let aq = try q.activationQuantizer()
            var xs = xf
            for i in 0..<xs.count { xs[i] /= s[i % d] }
            let xq = xs.map { aq.fakeQuant($0) }
            let lam = cfg.lambda + cfg.choleskyJitter
            let sn = Double(n).squareRoot()
            var aa = OracleMatrix(rows: n + d, cols: d), bb = OracleMatrix(rows: n + d, cols: m)
            var base = OracleMatrix(rows: m, cols: d)
            for i in 0..<m { for j in 0..<d { base[i, j] = Double(wf[i * d + j] * s[j]) } }
            for t in 0..<n { for j in 0..<d { aa[t, j] = Double(xq[t * d + j]) / sn } }
            for j in 0..<d { aa[n + j, j] = lam.squareRoot() }
            let delta = OracleMatrix(rows: n, cols: d, data: zip(xq, xs).map { Double($0) - Double($1) })
            let dxw = Dense.mul(delta, base.transposed)
            for t in 0..<n { for i in 0..<m { bb[t, i] = -dxw[t, i] / sn } }
            let ref = try GSL.qrLeastSquares(aa, bb).transposed
            let xqm = OracleMatrix(rows: n, cols: d, data: xq.map(Double.init))
            let kappa = 1 / (try GSL.choleskyRcond(Dense.addDiagonal(Dense.gram(xqm, xqm, scale: Double(n)), lam)))
            let wc = OracleMatrix(rows: m, cols: d, data: q.weight.map(Double.init))
            let err = ((wc - base) - ref).frobeniusNorm
            let scale = Thresholds.epsFloat * (base.frobeniusNorm + ref.frobeniusNorm) + kappa * Double(d) * Thresholds.epsDouble * ref.frobeniusNorm
            let p = p0 + [("variant", "corrected"), ("H", "identity"), ("regressor", "quantized"), ("lambda", fmt(cfg.lambda)),
                          ("kappa", fmt(kappa))]
            out.append(result("core-calibrator-src", "", err / scale, eps: Thresholds.epsFloat, p, .holds))
            var worst = 0.0
            for i in 0..<m {
                var a = 0.0
                for j in 0..<d { a = max(a, abs(Double(q.weight[i * d + j]))) }
                worst = max(worst, abs(Double(q.weightUpper[i]) - a) / a, abs(Double(-q.weightLower[i]) - a) / a)
            }
            out.append(result("core-calibrator-src-bounds", "", worst / Thresholds.epsFloat, eps: Thresholds.epsFloat, p, .holds))
        }
        return out
    }
}
