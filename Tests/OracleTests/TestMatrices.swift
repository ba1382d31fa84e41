import Foundation
import GSLOracle
import HarmoQ

/// LAPACK DLATB4-style SPD matrix types for the Cholesky comparison.
enum MatrixType: String, CaseIterable, CustomStringConvertible {
    case kappa2, kappaSqrtInvEps, kappaInvEps, rankDeficient, nearUnderflow
    var description: String { rawValue }
}

struct TestRNG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    mutating func gaussian() -> Double {
        var u = uniform(); while u <= 0 { u = uniform() }
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * uniform())
    }
}

/// A = Q·diag(σ)·Qᵀ with Q orthogonal (eigenvectors of a random symmetric matrix, from GSL) and σ geometric
/// from 1 to 1/κ; rank-deficient: the last quarter of σ are 0; near-underflow: κ = 10 scaled by 2^-1000.
func spdMatrix(_ type: MatrixType, n: Int, seed: UInt64) throws -> (a: OracleMatrix, kappa: Double) {
    var rng = TestRNG(state: seed)
    var g = OracleMatrix(rows: n, cols: n)
    for i in 0..<n { for j in 0...i { let v = rng.gaussian(); g[i, j] = v; g[j, i] = v } }
    let q = try GSL.symmetricEigen(g).vectors
    let kappa: Double
    switch type {
    case .kappa2: kappa = 2
    case .kappaSqrtInvEps: kappa = (1 / Double.ulpOfOne).squareRoot()
    case .kappaInvEps: kappa = 0.1 / Double.ulpOfOne
    case .rankDeficient: kappa = .infinity
    case .nearUnderflow: kappa = 10
    }
    var sigma = (0..<n).map { i -> Double in
        let t = n > 1 ? Double(i) / Double(n - 1) : 0
        return kappa.isFinite ? pow(1 / kappa, t) : 1 + t
    }
    if type == .rankDeficient { for i in max(1, 3 * n / 4)..<n { sigma[i] = 0 } }   // keep rank ≥ 1
    let scale = type == .nearUnderflow ? 0x1p-1000 : 1.0
    var a = OracleMatrix(rows: n, cols: n)
    for i in 0..<n { for j in 0..<n {
        var s = 0.0
        for k in 0..<n { s += q[i, k] * sigma[k] * q[j, k] }
        a[i, j] = s * scale
    } }
    for i in 0..<n { for j in 0..<i { let v = 0.5 * (a[i, j] + a[j, i]); a[i, j] = v; a[j, i] = v } }
    return (a, kappa)
}

extension OracleMatrix {
    var core: DMatrix { DMatrix(rows: rows, cols: cols, data: data) }
    init(_ m: DMatrix) { self.init(rows: m.rows, cols: m.cols, data: m.data) }
}

func mul(_ a: OracleMatrix, _ b: OracleMatrix) -> OracleMatrix {
    var c = OracleMatrix(rows: a.rows, cols: b.cols)
    for i in 0..<a.rows { for k in 0..<a.cols { let v = a[i, k]; for j in 0..<b.cols { c[i, j] += v * b[k, j] } } }
    return c
}

/// LAPACK residual ratio ‖A·X − B‖₁ / (n·‖A‖₁·‖X‖₁·ε), ε = Double.ulpOfOne.
func residualRatio(_ a: OracleMatrix, _ x: OracleMatrix, _ b: OracleMatrix) -> Double {
    let r = mul(a, x) - b
    let den = Double(a.rows) * a.oneNorm * x.oneNorm * Double.ulpOfOne
    return den > 0 ? r.oneNorm / den : (r.oneNorm == 0 ? 0 : .infinity)
}
