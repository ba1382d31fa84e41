import CGSL

extension GSL {
    /// Solves A·X = B for symmetric positive definite A (n×n) and B (n×r), by gsl_linalg_cholesky_decomp1 +
    /// gsl_linalg_cholesky_solve per column. Also returns GSL's reciprocal 1-norm condition estimate of A.
    /// Throws GSLError (GSL_EDOM) when A is not numerically positive definite.
    public static func choleskySolve(_ a: OracleMatrix, _ b: OracleMatrix) throws -> (x: OracleMatrix, rcond: Double) {
        begin()
        guard a.rows == a.cols, b.rows == a.rows else {
            throw OracleArgumentError("choleskySolve: A \(a.rows)x\(a.cols), B \(b.rows)x\(b.cols)")
        }
        try requireNonEmpty(a, "choleskySolve")
        let n = a.rows
        var l = a
        var x = OracleMatrix(rows: n, cols: b.cols)
        var rcond = 0.0
        try withMatrix(&l) { pl in
            try check(gsl_linalg_cholesky_decomp1(pl), "gsl_linalg_cholesky_decomp1")
            var work = [Double](repeating: 0, count: 3 * n)
            try withVector(&work) { pw in try check(gsl_linalg_cholesky_rcond(pl, &rcond, pw), "gsl_linalg_cholesky_rcond") }
            var col = [Double](repeating: 0, count: n), sol = [Double](repeating: 0, count: n)
            for j in 0..<b.cols {
                for i in 0..<n { col[i] = b[i, j] }
                try withVector(&col) { pb in try withVector(&sol) { px in
                    try check(gsl_linalg_cholesky_solve(pl, pb, px), "gsl_linalg_cholesky_solve") } }
                for i in 0..<n { x[i, j] = sol[i] }
            }
        }
        return (x, rcond)
    }

    /// Reciprocal condition number (1-norm) of an SPD matrix, from gsl_linalg_cholesky_rcond.
    public static func choleskyRcond(_ a: OracleMatrix) throws -> Double {
        try choleskySolve(a, OracleMatrix(rows: a.rows, cols: 0)).rcond
    }
}
