/// A seeded random orthogonal matrix: Householder QR of an n×n standard Gaussian matrix (SplitMix64, Box–Muller),
/// Q with its columns' signs chosen so that diag(R) > 0 (then Q is Haar-distributed; Mezzadri 2007). Float64
/// throughout; orthogonal to a few ε (checked against GSL in OracleTests/RotationOrthogonalityTests).
public enum RandomOrthogonal {
    /// Row-major n×n, seeded.
    public static func matrix(order n: Int, seed: UInt64) -> [Double] {
        precondition(n >= 1)
        var rng = SplitMix64(seed: seed)
        var a = (0..<(n * n)).map { _ in rng.nextGaussian() }     // row-major, A = QR
        // Householder vectors v_k (stored separately) and R's diagonal signs.
        var vs: [[Double]] = []
        var signs = [Double](repeating: 1, count: n)
        for k in 0..<n {
            var norm = 0.0
            for i in k..<n { norm += a[i * n + k] * a[i * n + k] }
            norm = norm.squareRoot()
            let x0 = a[k * n + k]
            let alpha = x0 >= 0 ? -norm : norm                     // R[k][k] = alpha; no cancellation in v0
            var v = [Double](repeating: 0, count: n - k)
            for i in k..<n { v[i - k] = a[i * n + k] }
            v[0] -= alpha
            var vv = 0.0
            for x in v { vv += x * x }
            if vv > 0 {
                for j in k..<n {
                    var dot = 0.0
                    for i in k..<n { dot += v[i - k] * a[i * n + j] }
                    let f = 2 * dot / vv
                    for i in k..<n { a[i * n + j] -= f * v[i - k] }
                }
            }
            signs[k] = alpha < 0 ? -1 : 1
            vs.append(vv > 0 ? v.map { $0 / vv.squareRoot() } : v.map { _ in 0 })
        }
        // Q = H_0 H_1 … H_{n−1}: apply the reflectors to I from the last one, then scale column k by sign(R[k][k]).
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { q[i * n + i] = 1 }
        for k in stride(from: n - 1, through: 0, by: -1) {
            let v = vs[k]
            for j in 0..<n {
                var dot = 0.0
                for i in k..<n { dot += v[i - k] * q[i * n + j] }
                if dot == 0 { continue }
                for i in k..<n { q[i * n + j] -= 2 * dot * v[i - k] }
            }
        }
        for i in 0..<n { for k in 0..<n { q[i * n + k] *= signs[k] } }
        return q
    }
}
