import Dispatch

/// Small row-major dense kernels used by the per-layer calibration (no BLAS; vectorisable inner loops).
///
/// Shapes are explicit; every function checks `precondition`s on sizes because callers are internal.
/// Large products split their rows into a fixed number of chunks (`chunks`, independent of the machine) run in
/// parallel; each chunk's arithmetic and the order partial sums are combined in are fixed, so results are
/// bit-identical however the chunks are scheduled.
public enum DenseKernels {
    /// Fixed row-chunk count for large products (2 = the project's 2-core target).
    public static let chunks = 2
    static func chunkRanges(_ n: Int) -> [Range<Int>] {
        guard n >= 256 else { return [0..<n] }
        let per = (n + chunks - 1) / chunks
        return (0..<chunks).map { ($0 * per)..<Swift.min(n, ($0 + 1) * per) }.filter { !$0.isEmpty }
    }

    /// C (n×m) = A (n×d) · Bᵀ, B given as m×d. Accumulates in Float.
    public static func matmulABt(_ a: [Float], _ b: [Float], n: Int, d: Int, m: Int) -> [Float] {
        precondition(a.count == n * d && b.count == m * d, "matmulABt: shape mismatch")
        // Transpose B to d×m so the inner loop is an axpy over m contiguous floats.
        var bt = [Float](repeating: 0, count: d * m)
        for i in 0..<m { for j in 0..<d { bt[j * m + i] = b[i * d + j] } }
        return matmulAB(a, bt, n: n, k: d, m: m)
    }

    /// C (n×m) = A (n×k) · B (k×m).
    public static func matmulAB(_ a: [Float], _ b: [Float], n: Int, k: Int, m: Int) -> [Float] {
        precondition(a.count == n * k && b.count == k * m, "matmulAB: shape mismatch")
        var c = [Float](repeating: 0, count: n * m)
        let ranges = chunkRanges(n)
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            DispatchQueue.concurrentPerform(iterations: ranges.count) { ci in
            for t in ranges[ci] {
                let crow = pc.baseAddress! + t * m
                for j in 0..<k {
                    let s = pa[t * k + j]
                    if s == 0 { continue }
                    let brow = pb.baseAddress! + j * m
                    for i in 0..<m { crow[i] += s * brow[i] }
                }
            }
            }
        } } }
        return c
    }

    /// C (m×d) = Aᵀ · B with A n×m, B n×d (a sum over the n rows, accumulated in Double for stability).
    public static func matmulAtB(_ a: [Float], _ b: [Float], n: Int, m: Int, d: Int) -> [Double] {
        precondition(a.count == n * m && b.count == n * d, "matmulAtB: shape mismatch")
        let ranges = chunkRanges(n)
        var partial = [[Double]](repeating: [], count: ranges.count)
        partial.withUnsafeMutableBufferPointer { pp in
            DispatchQueue.concurrentPerform(iterations: ranges.count) { ci in
                pp[ci] = atbRange(a, b, rows: ranges[ci], m: m, d: d)
            }
        }
        var c = partial[0]
        for k in 1..<partial.count { for i in 0..<(m * d) { c[i] += partial[k][i] } }
        return c
    }

    /// Σ_{t ∈ rows} a_t ⊗ b_t with Float partial sums over blocks of 64 rows flushed into Double.
    static func atbRange(_ a: [Float], _ b: [Float], rows: Range<Int>, m: Int, d: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * d)
        var rowAcc = [Float](repeating: 0, count: m * d)
        let block = 64
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in rowAcc.withUnsafeMutableBufferPointer { pr in
            var t0 = rows.lowerBound
            while t0 < rows.upperBound {
                let t1 = Swift.min(rows.upperBound, t0 + block)
                for i in 0..<(m * d) { pr[i] = 0 }
                for t in t0..<t1 {
                    let brow = pb.baseAddress! + t * d
                    for i in 0..<m {
                        let s = pa[t * m + i]
                        if s == 0 { continue }
                        let crow = pr.baseAddress! + i * d
                        for j in 0..<d { crow[j] += s * brow[j] }
                    }
                }
                for i in 0..<(m * d) { c[i] += Double(pr[i]) }
                t0 = t1
            }
        } } }
        return c
    }

    /// Mean over rows of ‖row‖² for an n×m matrix, in Double.
    public static func meanRowSquaredNorm(_ a: [Float], n: Int, m: Int) -> Double {
        precondition(a.count == n * m)
        var s = 0.0
        var i = 0
        while i < a.count {
            var p: Float = 0
            let e = Swift.min(a.count, i + 4096)
            for j in i..<e { p += a[j] * a[j] }
            s += Double(p)
            i = e
        }
        return n > 0 ? s / Double(n) : 0
    }
}
