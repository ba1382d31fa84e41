import CGSL

extension GSL {
    /// Thin SVD A = U·diag(s)·Vᵀ by gsl_linalg_SV_decomp (one-sided Golub–Reinsch), singular values descending.
    /// GSL needs rows ≥ cols; a wide A is handled through Aᵀ.
    public static func svd(_ a: OracleMatrix) throws -> (u: OracleMatrix, s: [Double], v: OracleMatrix) {
        begin()
        try requireNonEmpty(a, "svd")
        if a.rows < a.cols {
            let t = try svd(a.transposed)
            return (t.v, t.s, t.u)
        }
        let n = a.cols
        var u = a
        var v = OracleMatrix(rows: n, cols: n)
        var s = [Double](repeating: 0, count: n), work = [Double](repeating: 0, count: n)
        try withMatrix(&u) { pu in try withMatrix(&v) { pv in try withVector(&s) { ps in try withVector(&work) { pw in
            try check(gsl_linalg_SV_decomp(pu, pv, ps, pw), "gsl_linalg_SV_decomp")
        } } } }
        return (u, s, v)
    }
}
