/// Eigen-decomposition of a real symmetric matrix by the cyclic Jacobi method, in Float64.
///
/// A = V·diag(values)·Vᵀ with V orthogonal. Jacobi is slow (O(n³) per sweep) but unconditionally
/// accurate to high relative precision, which is what the exact SRC minimiser needs; the matrices
/// here are at most a few hundred wide.
public enum SymmetricEigen {
    /// - Parameters: `a` row-major n×n, symmetric (the upper triangle is mirrored to the lower).
    /// - Returns: eigenvalues (unsorted) and V row-major n×n whose column j is the eigenvector of `values[j]`.
    public static func decompose(_ a: [Double], n: Int, maxSweeps: Int = 60) throws -> (values: [Double], vectors: [Double]) {
        guard a.count == n * n else { throw QuantError("SymmetricEigen: expected \(n)×\(n) = \(n * n) entries, got \(a.count)") }
        if let i = a.firstIndex(where: { !$0.isFinite }) { throw QuantError("SymmetricEigen: entry \(i) is \(a[i])") }
        let signS: Double = ShippedMutant.active == .jacobiRotationSignFlipped ? -1 : 1
        var m = a
        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { let s = 0.5 * (m[i * n + j] + m[j * n + i]); m[i * n + j] = s; m[j * n + i] = s } }
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        if n <= 1 { return (n == 1 ? [m[0]] : [], v) }
        var total = 0.0
        for x in m { total += x * x }
        let tiny = 1e-30 * max(total, 1e-300)
        for _ in 0..<maxSweeps {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<n { off += m[i * n + j] * m[i * n + j] } }
            if off <= 1e-30 * total || off < tiny { break }
            for p in 0..<(n - 1) {
                for q in (p + 1)..<n {
                    let apq = m[p * n + q]
                    if abs(apq) < 1e-300 { continue }
                    let app = m[p * n + p], aqq = m[q * n + q]
                    let theta = (aqq - app) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot()
                    let s = signS * t * c
                    // Rotate rows/columns p and q.
                    for k in 0..<n {
                        let mkp = m[k * n + p], mkq = m[k * n + q]
                        m[k * n + p] = c * mkp - s * mkq
                        m[k * n + q] = s * mkp + c * mkq
                    }
                    for k in 0..<n {
                        let mpk = m[p * n + k], mqk = m[q * n + k]
                        m[p * n + k] = c * mpk - s * mqk
                        m[q * n + k] = s * mpk + c * mqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { m[$0 * n + $0] }, v)
    }
}
