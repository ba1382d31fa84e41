import Foundation

/// Backward of the pointwise activations: exact-erf GELU, sigmoid, LeakyReLU, ReLU.
/// Fast versions work in Float on pointers (in parallel chunks); references work in Double.
public enum ActivationBackward {
    /// GELU'(x) = Φ(x) + x·φ(x).
    @inline(__always)
    public static func geluDerivative(_ x: Float) -> Float {
        let cdf = 0.5 * (1 + erf(x * 0.70710678118654752))
        let pdf = 0.3989422804014327 * exp(-0.5 * x * x)
        return cdf + x * pdf
    }

    /// dx[i] = g[i]·GELU'(x[i]) (dx may alias g; added into dx with `accumulate`).
    public static func gelu(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int,
                            accumulate: Bool = false) {
        Parallel.ranges(count, minPerChunk: 1 << 14) { r in
            for i in r {
                let v = dy[i] * geluDerivative(x[i])
                dx[i] = accumulate ? dx[i] + v : v
            }
        }
    }

    /// dx = g·s·(1 − s) from the sigmoid's output s.
    public static func sigmoid(output s: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.ranges(count, minPerChunk: 1 << 14) { r in for i in r { dx[i] = dy[i] * s[i] * (1 - s[i]) } }
    }

    /// dx = g for x ≥ 0 (x > 0 for ReLU … both agree except at 0, where PyTorch uses the x ≤ 0 branch), g·slope below.
    public static func leakyReLU(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int,
                                 slope: Float = 0.2) {
        Parallel.ranges(count, minPerChunk: 1 << 14) { r in for i in r { dx[i] = x[i] > 0 ? dy[i] : dy[i] * slope } }
    }

    /// ReLU: dx = g where x > 0, else 0 (PyTorch's convention at 0).
    public static func relu(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        leakyReLU(x: x, dy: dy, dx: dx, count: count, slope: 0)
    }

    /// Array conveniences.
    public static func gelu(x: [Float], dy: [Float]) -> [Float] { apply(x, dy) { gelu(x: $0, dy: $1, dx: $2, count: $3) } }
    public static func sigmoid(output s: [Float], dy: [Float]) -> [Float] { apply(s, dy) { sigmoid(output: $0, dy: $1, dx: $2, count: $3) } }
    public static func leakyReLU(x: [Float], dy: [Float], slope: Float = 0.2) -> [Float] {
        apply(x, dy) { leakyReLU(x: $0, dy: $1, dx: $2, count: $3, slope: slope) }
    }
    public static func relu(x: [Float], dy: [Float]) -> [Float] { apply(x, dy) { relu(x: $0, dy: $1, dx: $2, count: $3) } }

    private static func apply(_ a: [Float], _ g: [Float],
                              _ f: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
        precondition(a.count == g.count)
        var out = [Float](repeating: 0, count: a.count)
        a.withUnsafeBufferPointer { ap in g.withUnsafeBufferPointer { gp in out.withUnsafeMutableBufferPointer { op in
            if let b = ap.baseAddress { f(b, gp.baseAddress!, op.baseAddress!, a.count) }
        }}}
        return out
    }

    // MARK: - Float64 references (forward and backward)

    public static func geluReference(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }
    public static func geluDerivativeReference(_ x: Double) -> Double {
        0.5 * (1 + erf(x / 2.0.squareRoot())) + x * exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
    }
    public static func sigmoidReference(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
    public static func sigmoidDerivativeReference(_ x: Double) -> Double { let s = sigmoidReference(x); return s * (1 - s) }
    public static func leakyReLUReference(_ x: Double, slope: Double = 0.2) -> Double { x > 0 ? x : x * slope }
    public static func leakyReLUDerivativeReference(_ x: Double, slope: Double = 0.2) -> Double { x > 0 ? 1 : slope }
}

/// Backward of a row softmax P = softmax(S) (rows of `cols`): dS = P ⊙ (dP − rowsum(dP ⊙ P)).
public enum SoftmaxBackward {
    /// From the probabilities p and dp = dL/dP (row stride ld for all three); ds may alias dp.
    public static func backward(probs p: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                rows: Int, cols: Int, ld: Int) {
        Parallel.ranges(rows, minPerChunk: 64) { rr in
            for r in rr { row(p + r * ld, dy + r * ld, dx + r * ld, cols) }
        }
    }

    /// One row, on the calling thread (used inside attention kernels).
    @inline(__always)
    public static func row(_ p: UnsafePointer<Float>, _ dp: UnsafePointer<Float>, _ ds: UnsafeMutablePointer<Float>, _ n: Int) {
        var s: Float = 0
        for j in 0..<n { s += p[j] * dp[j] }
        for j in 0..<n { ds[j] = p[j] * (dp[j] - s) }
    }

    public static func backward(probs: [Float], dy: [Float], rows: Int, cols: Int) -> [Float] {
        var dx = [Float](repeating: 0, count: probs.count)
        probs.withUnsafeBufferPointer { p in dy.withUnsafeBufferPointer { g in dx.withUnsafeMutableBufferPointer { d in
            backward(probs: p.baseAddress!, dy: g.baseAddress!, dx: d.baseAddress!, rows: rows, cols: cols, ld: cols)
        }}}
        return dx
    }

    public static func referenceForward(_ s: [Double], rows: Int, cols: Int) -> [Double] {
        var out = [Double](repeating: 0, count: s.count)
        for r in 0..<rows {
            let row = s[(r * cols)..<((r + 1) * cols)]
            let m = row.max()!
            let e = row.map { exp($0 - m) }
            let z = e.reduce(0, +)
            for c in 0..<cols { out[r * cols + c] = e[c] / z }
        }
        return out
    }

    /// Through the full Jacobian ∂P_j/∂S_i = P_j (δ_ij − P_i).
    public static func reference(_ s: [Double], dy: [Double], rows: Int, cols: Int) -> [Double] {
        let p = referenceForward(s, rows: rows, cols: cols)
        var dx = [Double](repeating: 0, count: s.count)
        for r in 0..<rows { for i in 0..<cols { for j in 0..<cols {
            dx[r * cols + i] += dy[r * cols + j] * p[r * cols + j] * ((i == j ? 1 : 0) - p[r * cols + i])
        }}}
        return dx
    }
}
