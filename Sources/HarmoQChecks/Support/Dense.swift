import GSLOracle

/// Small dense helpers on the oracle's matrix type for checker-side arithmetic (plain loops, -O).
enum Dense {
    /// C = A·B.
    static func mul(_ a: OracleMatrix, _ b: OracleMatrix) -> OracleMatrix {
        precondition(a.cols == b.rows, "Dense.mul \(a.rows)x\(a.cols) · \(b.rows)x\(b.cols)")
        var c = OracleMatrix(rows: a.rows, cols: b.cols)
        a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in c.data.withUnsafeMutableBufferPointer { pc in
            for i in 0..<a.rows { for k in 0..<a.cols {
                let v = pa[i * a.cols + k]; if v == 0 { continue }
                for j in 0..<b.cols { pc[i * b.cols + j] += v * pb[k * b.cols + j] }
            } }
        } } }
        return c
    }
    /// C = Aᵀ·B / scale.
    static func gram(_ a: OracleMatrix, _ b: OracleMatrix, scale: Double) -> OracleMatrix {
        precondition(a.rows == b.rows)
        var c = OracleMatrix(rows: a.cols, cols: b.cols)
        a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in c.data.withUnsafeMutableBufferPointer { pc in
            for r in 0..<a.rows { for i in 0..<a.cols {
                let v = pa[r * a.cols + i]; if v == 0 { continue }
                for j in 0..<b.cols { pc[i * b.cols + j] += v * pb[r * b.cols + j] }
            } }
        } } }
        for i in c.data.indices { c.data[i] /= scale }
        return c
    }
    static func addDiagonal(_ a: OracleMatrix, _ v: Double) -> OracleMatrix {
        var r = a; for i in 0..<min(a.rows, a.cols) { r[i, i] += v }; return r
    }
    static func trace(_ a: OracleMatrix) -> Double { (0..<min(a.rows, a.cols)).reduce(0) { $0 + a[$1, $1] } }
    /// Frobenius inner product tr(AᵀB).
    static func dot(_ a: OracleMatrix, _ b: OracleMatrix) -> Double { zip(a.data, b.data).reduce(0) { $0 + $1.0 * $1.1 } }
}
