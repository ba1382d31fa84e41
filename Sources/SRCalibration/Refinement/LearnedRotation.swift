import Foundation
import HarmoQ
import SREngine

/// A learned orthogonal factor S of a rotated Linear site (SpinQuant-style learned rotation, `refine --learn-rotations`):
/// on top of the plan's rotation R₀ the activation quantizer sees (x·R₀)·S (then the plan's HSO divisor s) and the
/// weight quantizer sees ((W′ ⊘ s)·S) ⊙ s, where W′ = (W·R₀) ⊙ s is the plan's stored weight; the FP product is
/// unchanged because S·Sᵀ = I. S starts at I and stays on the orthogonal group: each step is a Cayley retraction
/// (`RotationParameters`). The refined plan stores the rotation R₀·S (kind `learned`, matrix stored) and the weight
/// ((W′ ⊘ s)·S) ⊙ s.
///
/// `gradient` accumulates the Euclidean dL/dS from both sides: xᵀ·(dL/du) with u = x·S (activation side, x already
/// rotated by R₀), and Aᵀ·(dL/dv ⊙ s) with A = W′ ⊘ s, v = (A·S) ⊙ s (weight side).
final class RotationFactor {
    let site: String
    let order: Int
    /// The plan's HSO input scale s of the site (nil = ones).
    let inputScale: [Float]?
    /// S, row-major n×n, Float64 (the optimiser's state); `packed` / `packedTransposed` hold it in Float32 for the GEMMs.
    private(set) var matrix: [Double]
    var gradient: [Double]
    private(set) var packed: GEMM.Packed
    private(set) var packedTransposed: GEMM.Packed

    init(site: String, order n: Int, inputScale: [Float]?) {
        self.site = site
        order = n
        self.inputScale = inputScale
        var eye = [Double](repeating: 0, count: n * n)
        for i in 0..<n { eye[i * n + i] = 1 }
        matrix = eye
        gradient = [Double](repeating: 0, count: n * n)
        (packed, packedTransposed) = RotationFactor.pack(eye, n)
    }

    static func pack(_ m: [Double], _ n: Int) -> (GEMM.Packed, GEMM.Packed) {
        let f = m.map { Float($0) }
        return f.withUnsafeBufferPointer {
            (GEMM.Packed(k: n, n: n, b: $0.baseAddress!, ldb: n, transB: false), GEMM.Packed(k: n, n: n, b: $0.baseAddress!, ldb: n, transB: true))
        }
    }

    /// Sets S (orthogonal, row-major n×n) and repacks it.
    func set(_ m: [Double]) {
        precondition(m.count == order * order)
        matrix = m
        (packed, packedTransposed) = RotationFactor.pack(m, order)
    }

    func zeroGradient() { for i in gradient.indices { gradient[i] = 0 } }

    /// S = I exactly (never moved, or restored to its start): the plan's site is left as it is.
    var isIdentity: Bool {
        for i in 0..<order { for j in 0..<order where matrix[i * order + j] != (i == j ? 1 : 0) { return false } }
        return true
    }

    /// rows × n times S (or Sᵀ), Float32 GEMM.
    func times(_ x: UnsafePointer<Float>, rows: Int, transposed: Bool = false) -> [Float] {
        var out = [Float](repeating: 0, count: rows * order)
        out.withUnsafeMutableBufferPointer { o in
            GEMM.multiply(m: rows, a: x, lda: order, packed: transposed ? packedTransposed : packed, c: o.baseAddress!, ldc: order)
        }
        return out
    }

    /// gradient += aᵀ·b for row-major rows × n matrices a and b (Float64 accumulation).
    func accumulate(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, rows: Int) {
        let n = order
        gradient.withUnsafeMutableBufferPointer { g in
            for r in 0..<rows {
                let ar = a + r * n, br = b + r * n
                for i in 0..<n {
                    let ai = Double(ar[i])
                    if ai == 0 { continue }
                    for j in 0..<n { g[i * n + j] += ai * Double(br[j]) }
                }
            }
        }
    }

    /// The weight the weight quantizer sees: ((W′ ⊘ s)·S) ⊙ s for the stored rows × n weight W′.
    func rotatedWeight(_ w: UnsafePointer<Float>, rows: Int) -> [Float] {
        guard let s = inputScale else { return times(w, rows: rows) }
        let n = order
        var a = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows { for j in 0..<n { a[r * n + j] = w[r * n + j] / s[j] } }
        var v = a.withUnsafeBufferPointer { times($0.baseAddress!, rows: rows) }
        for r in 0..<rows { for j in 0..<n { v[r * n + j] *= s[j] } }
        return v
    }

    /// R₀·S in Float64 (R₀ row-major n×n).
    func composed(with r0: [Double]) -> [Double] {
        (DMatrix(rows: order, cols: order, data: r0) * DMatrix(rows: order, cols: order, data: matrix)).data
    }
}

/// One side of a `RotationFactor` around a site quantizer:
/// * `.input`: y = inner(u), u = x·S; dL/dx = (dL/du)·Sᵀ, dL/dS += xᵀ·(dL/du);
/// * `.weight`: Q = inner(v), v = ((W ⊘ s)·S) ⊙ s; dL/dW = (((dL/dv) ⊙ s)·Sᵀ) ⊘ s, dL/dS += (W ⊘ s)ᵀ·((dL/dv) ⊙ s).
final class RotatingSite: TransformingSite {
    typealias Side = WrappedSide
    let factor: RotationFactor
    let side: Side
    let inner: DifferentiableSiteQuantizer

    init(_ factor: RotationFactor, _ side: Side, inner: DifferentiableSiteQuantizer) {
        self.factor = factor
        self.side = side
        self.inner = inner
    }

    func transformed(_ x: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float] {
        precondition(cols == factor.order, "RotatingSite \(factor.site) (\(side)): \(cols) columns, rotation of order \(factor.order)")
        return side == .input ? factor.times(x, rows: rows) : factor.rotatedWeight(x, rows: rows)
    }

    func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, gradInput dx: UnsafeMutablePointer<Float>,
                  rows: Int, cols: Int) {
        let n = cols, count = rows * cols
        var (_, du) = innerBackward(x, dy, rows: rows, cols: cols)
        switch side {
        case .input:
            du.withUnsafeBufferPointer { d in factor.accumulate(x, d.baseAddress!, rows: rows) }
            let g = du.withUnsafeBufferPointer { factor.times($0.baseAddress!, rows: rows, transposed: true) }
            dx.update(from: g, count: count)
        case .weight:
            let s = factor.inputScale
            var a = [Float](repeating: 0, count: count)
            for r in 0..<rows { for j in 0..<n { a[r * n + j] = x[r * n + j] / (s?[j] ?? 1) } }
            if let s { for r in 0..<rows { for j in 0..<n { du[r * n + j] *= s[j] } } }
            a.withUnsafeBufferPointer { ap in du.withUnsafeBufferPointer { d in factor.accumulate(ap.baseAddress!, d.baseAddress!, rows: rows) } }
            var g = du.withUnsafeBufferPointer { factor.times($0.baseAddress!, rows: rows, transposed: true) }
            if let s { for r in 0..<rows { for j in 0..<n { g[r * n + j] /= s[j] } } }
            dx.update(from: g, count: count)
        }
    }
}

/// The learned rotation factors of a set of sites, stepped on the orthogonal group: with the Euclidean gradient G of
/// S, A = G·Sᵀ − S·Gᵀ (skew-symmetric) and S ← (I + τ/2·A)⁻¹ (I − τ/2·A) S (the Cayley retraction of Wen & Yin,
/// as SpinQuant's Cayley optimiser; exactly orthogonal in exact arithmetic). τ = lr_t / ‖A‖_F per site, so every step
/// turns S by about lr_t radians whatever the gradient's scale; lr_t decays by a cosine to `finalFraction` of the rate.
struct RotationParameters {
    let factors: [RotationFactor]
    let iterations: Int
    let learningRate: Double
    let finalFraction: Double

    init(_ factors: [RotationFactor], iterations: Int, learningRate: Double, finalFraction: Double) {
        self.factors = factors; self.iterations = iterations; self.learningRate = learningRate; self.finalFraction = finalFraction
    }

    func zeroGradients() { for f in factors { f.zeroGradient() } }
    var snapshot: [[Double]] { factors.map(\.matrix) }
    func restore(_ s: [[Double]]) { for (f, m) in zip(factors, s) { f.set(m) } }

    func rate(at it: Int) -> Double {
        let t = iterations > 1 ? Double(it) / Double(iterations - 1) : 0
        return learningRate * (finalFraction + (1 - finalFraction) * 0.5 * (1 + Foundation.cos(Double.pi * t)))
    }

    func step(iteration it: Int, context: String) throws {
        let lr = rate(at: it)
        for f in factors {
            guard f.gradient.allSatisfy(\.isFinite) else {
                throw QuantError("non-finite gradient of the learned rotation at \(context), site \(f.site); nothing written")
            }
            f.set(try RotationParameters.cayleyStep(f.matrix, gradient: f.gradient, n: f.order, angle: lr))
        }
    }

    /// One Cayley step of S (row-major n×n, orthogonal) against the Euclidean gradient G, turning by `angle` (τ·‖A‖_F).
    static func cayleyStep(_ s: [Double], gradient g: [Double], n: Int, angle: Double) throws -> [Double] {
        // A = G·Sᵀ − S·Gᵀ; (S·Gᵀ) = (G·Sᵀ)ᵀ.
        let gs = DMatrix(rows: n, cols: n, data: g) * DMatrix(rows: n, cols: n, data: s).transposed
        let am = gs - gs.transposed, a = am.data
        let norm = am.frobeniusNorm
        guard norm > 0 else { return s }
        let half = 0.5 * angle / norm
        // Solve (I + half·A)·X = (I − half·A)·S by Gaussian elimination with partial pivoting.
        var lhs = (DMatrix.identity(n) + half * am).data, rhs = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n {
            var t = s[i * n + j]
            for k in 0..<n { t -= half * a[i * n + k] * s[k * n + j] }
            rhs[i * n + j] = t
        } }
        for c in 0..<n {
            var p = c
            for r in (c + 1)..<max(c + 1, n) where abs(lhs[r * n + c]) > abs(lhs[p * n + c]) { p = r }
            guard lhs[p * n + c] != 0 else { throw QuantError("learned rotation: singular Cayley system (order \(n))") }
            if p != c {
                for j in 0..<n { lhs.swapAt(c * n + j, p * n + j); rhs.swapAt(c * n + j, p * n + j) }
            }
            let piv = lhs[c * n + c]
            for r in 0..<n where r != c {
                let f = lhs[r * n + c] / piv
                if f == 0 { continue }
                for j in c..<n { lhs[r * n + j] -= f * lhs[c * n + j] }
                for j in 0..<n { rhs[r * n + j] -= f * rhs[c * n + j] }
            }
        }
        for r in 0..<n { let piv = lhs[r * n + r]; for j in 0..<n { rhs[r * n + j] /= piv } }
        return rhs
    }
}
