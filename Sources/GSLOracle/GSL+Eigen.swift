import CGSL

extension GSL {
    /// Symmetric eigen-decomposition A = V·diag(λ)·Vᵀ (gsl_eigen_symmv), eigenvalues ascending,
    /// eigenvectors as the COLUMNS of `vectors`. Only the lower triangle of A is read.
    public static func symmetricEigen(_ a: OracleMatrix) throws -> (values: [Double], vectors: OracleMatrix) {
        begin()
        guard a.rows == a.cols else { throw OracleArgumentError("symmetricEigen: \(a.rows)x\(a.cols) not square") }
        try requireNonEmpty(a, "symmetricEigen")
        let n = a.rows
        var work = a
        var values = [Double](repeating: 0, count: n)
        var vectors = OracleMatrix(rows: n, cols: n)
        guard let ws = gsl_eigen_symmv_alloc(n) else { throw GSLError(code: Int32(GSL_ENOMEM), function: "gsl_eigen_symmv_alloc") }
        defer { gsl_eigen_symmv_free(ws) }
        try withMatrix(&work) { pa in try withVector(&values) { pv in try withMatrix(&vectors) { pe in
            try check(gsl_eigen_symmv(pa, pv, pe, ws), "gsl_eigen_symmv")
            try check(gsl_eigen_symmv_sort(pv, pe, GSL_EIGEN_SORT_VAL_ASC), "gsl_eigen_symmv_sort")
        } } }
        return (values, vectors)
    }
}
