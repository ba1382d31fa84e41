/// What a linear solve actually did, so a user can judge its result (reported in audits).
public struct SolveCertificate: Sendable, Codable, Equatable {
    /// Jitter added to the diagonal (absolute), after any escalation.
    public var jitterUsed: Double
    /// How many times the jitter was escalated (×10) because the factorisation broke down.
    public var escalations: Int
    /// Whether the factorisation succeeded.
    public var choleskySucceeded: Bool
    /// LAPACK-style scaled residual ‖A·X − B‖₁ / (n·‖A‖₁·‖X‖₁·ε) with A including the jitter; O(1) is good.
    public var scaledResidual: Double
    /// Estimate of 1/κ₁(A): (min diag L / max diag L)², a cheap lower-quality estimate.
    public var reciprocalConditionEstimate: Double
}

/// Cholesky factorisation A = L·Lᵀ of a symmetric positive (semi)definite matrix, in Float64.
public enum Cholesky {
    /// Factorises `a + jitter·I` (only the lower triangle of `a` is read). Returns nil when a pivot is ≤ 0
    /// or not finite.
    public static func factor(_ a: DMatrix, jitter: Double = 0) -> DMatrix? {
        precondition(a.rows == a.cols, "Cholesky.factor: matrix is \(a.rows)×\(a.cols), not square")
        let n = a.rows
        var l = DMatrix(zeros: n, n)
        for j in 0..<n {
            var d = a[j, j] + jitter
            for k in 0..<j { d -= l[j, k] * l[j, k] }
            guard d > 0, d.isFinite else { return nil }
            let ljj = d.squareRoot()
            l[j, j] = ljj
            for i in (j + 1)..<Swift.max(j + 1, n) {
                var s = a[i, j]
                for k in 0..<j { s -= l[i, k] * l[j, k] }
                l[i, j] = s / ljj
            }
        }
        return l
    }

    /// Solves (A + jitter·I)·X = B for X. When the factorisation fails the jitter is escalated
    /// (×10, starting from max(jitter, 1e-12·mean diag)) up to 12 times; the certificate says what was used.
    /// Throws for non-square A, mismatched B, non-finite entries, or failure after all escalations.
    public static func solve(_ a: DMatrix, _ b: DMatrix, jitter: Double = 0) throws -> (x: DMatrix, certificate: SolveCertificate) {
        guard a.rows == a.cols else { throw QuantError("Cholesky.solve: A is \(a.rows)×\(a.cols), not square") }
        guard b.rows == a.rows else { throw QuantError("Cholesky.solve: B has \(b.rows) rows, A has \(a.rows)") }
        guard a.data.allSatisfy({ $0.isFinite }) else { throw QuantError("Cholesky.solve: A has NaN/Inf entries") }
        guard b.data.allSatisfy({ $0.isFinite }) else { throw QuantError("Cholesky.solve: B has NaN/Inf entries") }
        let n = a.rows
        var j = jitter
        var escalations = 0
        var lOpt = factor(a, jitter: j)
        if lOpt == nil {
            let meanDiag = n > 0 ? (0..<n).reduce(0.0) { $0 + abs(a[$1, $1]) } / Double(n) : 1
            // relative to the diagonal's scale; an all-zero diagonal gets an absolute 1e-12 start
            j = Swift.max(jitter, 1e-12 * (meanDiag > 0 ? meanDiag : 1))
            while lOpt == nil && escalations < 12 {
                lOpt = factor(a, jitter: j)
                if lOpt == nil { j *= 10; escalations += 1 }
            }
        }
        guard let l = lOpt else {
            throw QuantError("Cholesky.solve: matrix is not positive definite even with jitter \(j) (\(escalations) escalations)")
        }
        let x = substitute(l, b)
        guard x.data.allSatisfy({ $0.isFinite }) else {
            throw QuantError("Cholesky.solve: solution overflowed (jitter \(j), \(escalations) escalations); the matrix is numerically singular at this scale")
        }
        var aj = a
        for i in 0..<n { aj[i, i] += j }
        let r = aj * x - b
        let denom = Double(Swift.max(n, 1)) * aj.oneNorm * x.oneNorm * Double.ulpOfOne
        let ratio = denom > 0 ? r.oneNorm / denom : (r.oneNorm == 0 ? 0 : .infinity)
        var dmin = Double.infinity, dmax = 0.0
        for i in 0..<n { dmin = Swift.min(dmin, l[i, i]); dmax = Swift.max(dmax, l[i, i]) }
        let rcond = n == 0 ? 1 : (dmin / dmax) * (dmin / dmax)
        return (x, SolveCertificate(jitterUsed: j, escalations: escalations, choleskySucceeded: true,
                                    scaledResidual: ratio, reciprocalConditionEstimate: rcond))
    }

    /// Forward then backward substitution with the factor L: solves L·Lᵀ·X = B.
    public static func substitute(_ l: DMatrix, _ b: DMatrix) -> DMatrix {
        let n = l.rows, m = b.cols
        let backTransposed = ShippedMutant.active == .choleskyBackSubstitutionTransposed
        var y = b
        for c in 0..<m {
            for i in 0..<n {
                var s = y[i, c]
                for k in 0..<i { s -= l[i, k] * y[k, c] }
                y[i, c] = s / l[i, i]
            }
            for i in stride(from: n - 1, through: 0, by: -1) {
                var s = y[i, c]
                if backTransposed { for k in (i + 1)..<Swift.max(i + 1, n) { s -= l[i, k] * y[k, c] } }
                else { for k in (i + 1)..<Swift.max(i + 1, n) { s -= l[k, i] * y[k, c] } }
                y[i, c] = s / l[i, i]
            }
        }
        return y
    }
}
