import CGSL

extension GSL {
    /// C = A·B with gsl_blas_dgemm (GSL's own CBLAS, see `provider(of:)`).
    public static func matmul(_ a: OracleMatrix, _ b: OracleMatrix) throws -> OracleMatrix {
        begin()
        guard a.cols == b.rows else { throw OracleArgumentError("matmul: \(a.rows)x\(a.cols) · \(b.rows)x\(b.cols)") }
        var c = OracleMatrix(rows: a.rows, cols: b.cols)
        if a.rows == 0 || b.cols == 0 { return c }
        if a.cols == 0 { return c }
        var a = a, b = b
        try withMatrix(&a) { pa in try withMatrix(&b) { pb in try withMatrix(&c) { pc in
            try check(gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, pa, pb, 0.0, pc), "gsl_blas_dgemm")
        } } }
        return c
    }
}
