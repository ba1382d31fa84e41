import Foundation

/// Backward of LayerNorm over the last axis, y = (x − μ)/√(σ² + ε)·γ + β (biased variance), rows of C features.
public enum LayerNormBackward {
    /// dx (rows × C, stride lddx) = ∂L/∂x, overwritten (or added with `accumulate`); dγ += Σ g·x̂, dβ += Σ g.
    /// x has row stride ldx, g row stride ldg. Statistics are recomputed from x (two passes, as the forward).
    public static func backward(x: UnsafePointer<Float>, ldx: Int, dy: UnsafePointer<Float>, ldy: Int, rows: Int,
                                gamma: [Float], eps: Float = 1e-5,
                                dx: UnsafeMutablePointer<Float>?, lddx: Int, accumulate: Bool = false,
                                dGamma: UnsafeMutablePointer<Float>?, dBeta: UnsafeMutablePointer<Float>?) {
        let C = gamma.count
        guard rows > 0 else { return }
        gamma.withUnsafeBufferPointer { gp in
            let g = gp.baseAddress!
            if let dx {
                Parallel.ranges(rows, minPerChunk: 256) { rr in
                    let xh = UnsafeMutablePointer<Float>.allocate(capacity: C)
                    defer { xh.deallocate() }
                    for r in rr {
                        let xr = x + r * ldx, gr = dy + r * ldy, o = dx + r * lddx
                        let (mean, rstd) = stats(xr, C, eps)
                        var s1: Float = 0, s2: Float = 0
                        for c in 0..<C {
                            xh[c] = (xr[c] - mean) * rstd
                            let d = gr[c] * g[c]
                            s1 += d; s2 += d * xh[c]
                        }
                        let m1 = s1 / Float(C), m2 = s2 / Float(C)
                        for c in 0..<C {
                            let v = rstd * (gr[c] * g[c] - m1 - xh[c] * m2)
                            o[c] = accumulate ? o[c] + v : v
                        }
                    }
                }
            }
            if let dGamma {
                BackwardReduce.columnSums(rows: rows, cols: C, into: dGamma) { r, p in
                    let xr = x + r * ldx, gr = dy + r * ldy
                    let (mean, rstd) = stats(xr, C, eps)
                    for c in 0..<C { p[c] += gr[c] * (xr[c] - mean) * rstd }
                }
            }
            if let dBeta { BackwardReduce.addColumnSums(dy, ld: ldy, rows: rows, cols: C, into: dBeta) }
        }
    }

    @inline(__always)
    static func stats(_ x: UnsafePointer<Float>, _ C: Int, _ eps: Float) -> (Float, Float) {
        var s: Float = 0
        for c in 0..<C { s += x[c] }
        let mean = s / Float(C)
        var v: Float = 0
        for c in 0..<C { let d = x[c] - mean; v += d * d }
        return (mean, 1 / (v / Float(C) + eps).squareRoot())
    }

    // MARK: - Float64 reference

    public static func referenceForward(x: [Double], rows: Int, gamma: [Double], beta: [Double], eps: Double = 1e-5) -> [Double] {
        let C = gamma.count
        var y = [Double](repeating: 0, count: x.count)
        for r in 0..<rows {
            let row = Array(x[(r * C)..<((r + 1) * C)])
            let mean = row.reduce(0, +) / Double(C)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(C)
            for c in 0..<C { y[r * C + c] = (row[c] - mean) / (v + eps).squareRoot() * gamma[c] + beta[c] }
        }
        return y
    }

    /// Definition-level: ∂L/∂x_i = Σ_j g_j γ_j ∂x̂_j/∂x_i with ∂x̂_j/∂x_i = (δ_ij − 1/C − x̂_i x̂_j / C)/σ.
    public static func reference(x: [Double], dy: [Double], rows: Int, gamma: [Double], eps: Double = 1e-5)
        -> (dx: [Double], dGamma: [Double], dBeta: [Double]) {
        let C = gamma.count
        var dx = [Double](repeating: 0, count: x.count), dg = [Double](repeating: 0, count: C), db = dg
        for r in 0..<rows {
            let row = Array(x[(r * C)..<((r + 1) * C)])
            let mean = row.reduce(0, +) / Double(C)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(C)
            let sd = (v + eps).squareRoot()
            let xh = row.map { ($0 - mean) / sd }
            for j in 0..<C {
                let g = dy[r * C + j]
                dg[j] += g * xh[j]; db[j] += g
                for i in 0..<C {
                    let jac = ((i == j ? 1 : 0) - 1 / Double(C) - xh[i] * xh[j] / Double(C)) / sd
                    dx[r * C + i] += g * gamma[j] * jac
                }
            }
        }
        return (dx, dg, db)
    }
}
