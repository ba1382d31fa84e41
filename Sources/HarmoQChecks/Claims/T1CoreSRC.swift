import Foundation
import GSLOracle
import HarmoQ

/// T1, part 2: the core's SRC (`StructuralResidualCalibration`, `LayerStatistics`, written by the calibrator) against
/// the same GSL oracles as the checker's own corrected form.
extension T1SRCClosedForm {
    func coreSRC(_ layer: CheckLayer, bits: Int) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let dx = layer.activationError(bits: bits)
        let stats = SRCStatistics(w: layer.w, x: layer.x, dx: dx)
        let m = layer.m, d = layer.d
        func core(_ o: OracleMatrix) -> DMatrix { DMatrix(rows: o.rows, cols: o.cols, data: o.data) }
        func oracle(_ c: DMatrix) -> OracleMatrix { OracleMatrix(rows: c.rows, cols: c.cols, data: c.data) }
        let outputCov = Dense.mul(Dense.mul(layer.w, stats.sxx), layer.w.transposed)
        for fam in try StructuralFilters.channelFamily(m: m, outputCov: outputCov, seed: layer.seed) {
            let h = fam.h, k = h.rows
            let a = Dense.mul(h.transposed, h)
            var p = layer.parameterText
            p.insert(("k", "\(k)"), at: 2)
            p += [("H", "channel:\(fam.name)"), ("bits", "\(bits)"), ("impl", "core")]
            // exact minimiser (H = I passes nil: the core's Cholesky path)
            let dWc = oracle(try StructuralResidualCalibration.exactMinimiser(
                weight: core(layer.w), sigmaXX: core(stats.sxx), sigmaDeltaX: core(stats.sdx),
                projection: fam.name == "identity" ? nil : core(h), lambda: stats.lambda))
            out.append(result("core-exact-normal-eq", "", stats.normalEquationRatio(a, dWc), p, .holds))
            if m * d <= 1296 {
                let o = try SRCSolutions.vectorisedOracle(stats, a: a)
                let fwd = (dWc - o.dW).frobeniusNorm / (o.dW.frobeniusNorm * o.kappa * Double(m * d) * Thresholds.epsDouble)
                out.append(result("core-exact-vs-oracle", "", fwd, p + [("kappa", fmt(o.kappa))], .holds))
            }
            // the core's literal formula (5): must refuse k ≠ d, and agree with the GSL evaluation when k = d
            let literal = try? StructuralResidualCalibration.paperFormula(
                weight: core(layer.w), sigmaXX: core(stats.sxx), sigmaDeltaX: core(stats.sdx), projection: core(h), lambda: stats.lambda)
            if k == d {
                let ref = try SRCSolutions.paper(stats, h: h)
                let g = Dense.addDiagonal(Dense.mul(Dense.mul(h, stats.sxx), h.transposed), stats.lambda)
                let kappa = 1 / (try GSL.choleskyRcond(g))
                let v = literal.map { (oracle($0) - ref).frobeniusNorm / (ref.frobeniusNorm * kappa * Double(d) * Thresholds.epsDouble) } ?? .infinity
                out.append(result("core-paper-vs-gsl", "", v, p + [("kappa", fmt(kappa))], .holds))
            } else {
                out.append(result("core-paper-typecheck", "", literal == nil ? 0 : 1, threshold: 0.5, eps: 0, p, .holds))
            }
        }
        // token axis: the core's filtered moments + exact minimiser vs GSL QR on the same Float-rounded data
        let xf = layer.x.data.map { Float($0) }
        let xqf = zip(layer.x.data, dx.data).map { Float($0 + $1) }
        let grid = try TokenGrid(images: layer.images, height: layer.grid, width: layer.grid)
        for (kind, mine) in [(ProjectionKind.laplacian, StructuralFilters.Token.laplacian3x3), (.dctHighPass, .dctHighPass8x8)] {
            let (sxx, sdx) = try LayerStatistics.moments(x: xf, xq: xqf, rows: layer.tokens, dimension: d, regressor: .fullPrecision,
                                                         tokenProjection: kind, grid: grid, momentum: nil, warmup: 0)
            let xr = OracleMatrix(rows: layer.tokens, cols: d, data: xf.map(Double.init))
            let dxr = OracleMatrix(rows: layer.tokens, cols: d, data: zip(xqf, xf).map { Double($0) - Double($1) })
            let xs = StructuralFilters.apply(mine, to: xr, images: layer.images, grid: layer.grid)
            let dxs = StructuralFilters.apply(mine, to: dxr, images: layer.images, grid: layer.grid)
            let st = SRCStatistics(w: layer.w, x: xs, dx: dxs)
            let dWc = oracle(try StructuralResidualCalibration.exactMinimiser(weight: core(layer.w), sigmaXX: sxx, sigmaDeltaX: sdx,
                                                                              projection: nil, lambda: st.lambda))
            // GSL QR of [X̃/√n; √λ I]·δWᵀ = [−ΔX̃·Wᵀ/√n; 0]
            let n = Double(layer.tokens), sn = n.squareRoot()
            var aa = OracleMatrix(rows: layer.tokens + d, cols: d), bb = OracleMatrix(rows: layer.tokens + d, cols: m)
            for t in 0..<layer.tokens { for j in 0..<d { aa[t, j] = xs[t, j] / sn } }
            for j in 0..<d { aa[layer.tokens + j, j] = st.lambda.squareRoot() }
            let dxw = Dense.mul(dxs, layer.w.transposed)
            for t in 0..<layer.tokens { for i in 0..<m { bb[t, i] = -dxw[t, i] / sn } }
            let qr = try GSL.qrLeastSquares(aa, bb).transposed
            let kappa = 1 / (try GSL.choleskyRcond(Dense.addDiagonal(st.sxx, st.lambda)))
            var p = layer.parameterText
            p += [("H", "token:\(mine.rawValue)"), ("bits", "\(bits)"), ("impl", "core")]
            let fwd = (dWc - qr).frobeniusNorm / (qr.frobeniusNorm * kappa * Double(d) * Thresholds.epsFloat)
            out.append(result("core-token-vs-qr", "", fwd, threshold: Thresholds.scaledRatio, eps: Thresholds.epsFloat,
                              p + [("kappa", fmt(kappa))], .holds))
        }
        return out
    }
}
