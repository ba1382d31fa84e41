/// Second moments SRC needs for one layer: Σxx = E[r rᵀ] and Σδx = E[δ rᵀ] with r the regressor and δ the
/// activation error, optionally after a token-grid filter H_s (applied to both).
///
/// Accumulated in Float64 with the core's `CovarianceAccumulator` (momentum/warm-up from the config), in batches
/// of one image's tokens (or 256 rows without a grid).
public enum LayerStatistics {
    /// - Parameters:
    ///   - x: inputs (n×d) the layer sees (already divided by any HSO scale);
    ///   - xq: their fake-quantized values Q(x);
    ///   - regressor: `.fullPrecision` → r = x (objective (3)); `.quantized` → r = Q(x);
    ///   - tokenProjection: a token-axis H_s (or nil), which needs `grid`.
    public static func moments(x: [Float], xq: [Float], rows n: Int, dimension d: Int,
                               regressor: SRCRegressor, tokenProjection: ProjectionKind?, grid: TokenGrid?,
                               momentum: Double?, warmup: Int) throws -> (sigmaXX: DMatrix, sigmaDeltaX: DMatrix) {
        guard x.count == n * d, xq.count == n * d else { throw QuantError("LayerStatistics: expected \(n)×\(d) inputs") }
        // regressor r and "r + δ" so that the accumulator's (xq − x) is δ and its x is r.
        var r: [Float], rPlus: [Float]
        switch regressor {
        case .fullPrecision: r = x; rPlus = xq
        case .quantized:
            r = xq
            rPlus = [Float](repeating: 0, count: x.count)
            if ShippedMutant.active == .statisticsQuantizedRegressorErrorSign {
                for i in 0..<x.count { rPlus[i] = xq[i] - (xq[i] - x[i]) }
            } else {
                for i in 0..<x.count { rPlus[i] = xq[i] + (xq[i] - x[i]) }
            }
        }
        var filters = 1
        var rs = [r], rps = [rPlus]
        if let kind = tokenProjection, kind != .identity {
            guard let grid else { throw QuantError("a token-axis projection needs the token grid of the layer input") }
            guard grid.tokens == n else { throw QuantError("token grid \(grid.images)×\(grid.height)×\(grid.width) has \(grid.tokens) tokens, the layer input has \(n) rows") }
            // H(r + δ) − H r = H δ for the linear filter H.
            rs = try StructuralProjection.tokenFilter(kind, r, channels: d, grid: grid)
            rps = try StructuralProjection.tokenFilter(kind, rPlus, channels: d, grid: grid)
            filters = rs.count
        }
        var acc = try CovarianceAccumulator(dimension: d, momentum: momentum, warmup: warmup)
        let batch = grid.map { $0.height * $0.width } ?? 256
        var start = 0
        while start < n {
            let end = Swift.min(n, start + batch)
            for f in 0..<filters {
                try acc.add(x: Array(rs[f][(start * d)..<(end * d)]), quantized: Array(rps[f][(start * d)..<(end * d)]),
                            rows: end - start)
            }
            start = end
        }
        // Stacked filters (Sobel Gx, Gy) add their moments: E‖[Gx;Gy](…)‖² = Σ_f E‖G_f(…)‖².
        let k = Double(filters)
        return (k * acc.secondMoment, k * acc.errorCrossMoment)
    }
}
