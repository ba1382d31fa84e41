import CGSL

extension GSL {
    /// Least-squares solution of min‖A·X − B‖_F for full-column-rank A (m×n, m ≥ n), by Householder QR
    /// (gsl_linalg_QR_decomp + gsl_linalg_QR_lssolve), one column of B at a time.
    public static func qrLeastSquares(_ a: OracleMatrix, _ b: OracleMatrix) throws -> OracleMatrix {
        begin()
        guard a.rows >= a.cols, b.rows == a.rows else {
            throw OracleArgumentError("qrLeastSquares: A \(a.rows)x\(a.cols) (need rows ≥ cols), B \(b.rows)x\(b.cols)")
        }
        try requireNonEmpty(a, "qrLeastSquares")
        let m = a.rows, n = a.cols
        var qr = a
        var tau = [Double](repeating: 0, count: n)
        var x = OracleMatrix(rows: n, cols: b.cols)
        try withMatrix(&qr) { pqr in
            try withVector(&tau) { pt in
                try check(gsl_linalg_QR_decomp(pqr, pt), "gsl_linalg_QR_decomp")
                var col = [Double](repeating: 0, count: m), sol = [Double](repeating: 0, count: n)
                var res = [Double](repeating: 0, count: m)
                for j in 0..<b.cols {
                    for i in 0..<m { col[i] = b[i, j] }
                    try withVector(&col) { pb in try withVector(&sol) { px in try withVector(&res) { pr in
                        try check(gsl_linalg_QR_lssolve(pqr, pt, pb, px, pr), "gsl_linalg_QR_lssolve") } } }
                    for i in 0..<n { x[i, j] = sol[i] }
                }
            }
        }
        return x
    }
}
