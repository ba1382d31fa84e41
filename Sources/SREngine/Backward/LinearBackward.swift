/// Backward of a Linear y = x·Wᵀ + b (x rows × in, W out × in, y rows × out).
public enum LinearBackward {
    /// dx (rows × in, stride lddx) = dy·W, overwritten (or added with `accumulate`); dW (out × in) += dyᵀ·x;
    /// db (out) += Σ_rows dy. Any of dx, dW, db may be nil. Fast path: the engine's GEMM.
    public static func backward(x: UnsafePointer<Float>, ldx: Int, dy: UnsafePointer<Float>, ldy: Int, rows: Int,
                                weight: UnsafePointer<Float>, inFeatures: Int, outFeatures: Int,
                                dx: UnsafeMutablePointer<Float>?, lddx: Int, accumulate: Bool = false,
                                dW: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?) {
        guard rows > 0 else { return }
        if let dx {
            GEMM.multiply(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: ldy, b: weight, ldb: inFeatures,
                          transB: false, c: dx, ldc: lddx, accumulate: accumulate)
        }
        if let dW {
            let t = UnsafeMutablePointer<Float>.allocate(capacity: outFeatures * rows)
            defer { t.deallocate() }
            BackwardReduce.transpose(dy, ld: ldy, rows: rows, cols: outFeatures, into: t)
            GEMM.multiply(m: outFeatures, n: inFeatures, k: rows, a: t, lda: rows, b: x, ldb: ldx, transB: false,
                          c: dW, ldc: inFeatures, accumulate: true)
        }
        if let db { BackwardReduce.addColumnSums(dy, ld: ldy, rows: rows, cols: outFeatures, into: db) }
    }

    /// Array convenience: returns dx; adds into dW / db.
    public static func backward(x: [Float], dy: [Float], rows: Int, weight: [Float], inFeatures: Int, outFeatures: Int,
                                dW: inout [Float], db: inout [Float]) -> [Float] {
        var dx = [Float](repeating: 0, count: rows * inFeatures)
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in weight.withUnsafeBufferPointer { wp in
            dx.withUnsafeMutableBufferPointer { dp in dW.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in
                backward(x: xp.baseAddress!, ldx: inFeatures, dy: gp.baseAddress!, ldy: outFeatures, rows: rows,
                         weight: wp.baseAddress!, inFeatures: inFeatures, outFeatures: outFeatures,
                         dx: dp.baseAddress!, lddx: inFeatures, dW: dwp.baseAddress!, db: dbp.baseAddress!)
            }}}
        }}}
        return dx
    }

    // MARK: - Float64 reference

    /// y = x·Wᵀ + b in Double.
    public static func referenceForward(x: [Double], rows: Int, weight: [Double], bias: [Double], inFeatures: Int,
                                        outFeatures: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows { for o in 0..<outFeatures {
            var s = bias[o]
            for i in 0..<inFeatures { s += x[r * inFeatures + i] * weight[o * inFeatures + i] }
            y[r * outFeatures + o] = s
        }}
        return y
    }

    /// (dx, dW, db) by the definition, plain loops in Double.
    public static func reference(x: [Double], dy: [Double], rows: Int, weight: [Double], inFeatures: Int, outFeatures: Int)
        -> (dx: [Double], dW: [Double], db: [Double]) {
        var dx = [Double](repeating: 0, count: rows * inFeatures)
        var dW = [Double](repeating: 0, count: outFeatures * inFeatures)
        var db = [Double](repeating: 0, count: outFeatures)
        for r in 0..<rows { for o in 0..<outFeatures {
            let g = dy[r * outFeatures + o]
            db[o] += g
            for i in 0..<inFeatures {
                dx[r * inFeatures + i] += g * weight[o * inFeatures + i]
                dW[o * inFeatures + i] += g * x[r * inFeatures + i]
            }
        }}
        return (dx, dW, db)
    }
}
