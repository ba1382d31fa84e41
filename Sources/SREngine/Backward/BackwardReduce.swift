import CKernels
/// Deterministic reductions for the backward kernels: sums over fixed 256-row blocks (Float), the blocks
/// added in Double in block order, so results do not depend on `Parallel.threads`.
public enum BackwardReduce {
    public static let block = 256

    /// acc[c] += Σ_r f(r, c) for a rows × cols problem, where `rowTerm(r, partial)` adds row r's terms into
    /// the `cols` Float partial sums of its block.
    public static func columnSums(rows: Int, cols: Int, into acc: UnsafeMutablePointer<Float>,
                                  _ rowTerm: (Int, UnsafeMutablePointer<Float>) -> Void) {
        guard rows > 0, cols > 0 else { return }
        let n = (rows + block - 1) / block
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: n * cols)
        partial.initialize(repeating: 0, count: n * cols)
        defer { partial.deallocate() }
        Parallel.ranges(n) { br in
            for b in br {
                let p = partial + b * cols
                for r in (b * block)..<min(rows, (b + 1) * block) { rowTerm(r, p) }
            }
        }
        for c in 0..<cols {
            var s = 0.0
            for b in 0..<n { s += Double(partial[b * cols + c]) }
            acc[c] = Float(Double(acc[c]) + s)
        }
    }

    /// acc[c] += Σ_r x[r·ld + c].
    public static func addColumnSums(_ x: UnsafePointer<Float>, ld: Int, rows: Int, cols: Int, into acc: UnsafeMutablePointer<Float>) {
        columnSums(rows: rows, cols: cols, into: acc) { r, p in
            let row = x + r * ld
            for c in 0..<cols { p[c] += row[c] }
        }
    }

    /// Out-of-place transpose: t (cols × rows) = xᵀ, x rows × cols with row stride ld.
    public static func transpose(_ x: UnsafePointer<Float>, ld: Int, rows: Int, cols: Int, into t: UnsafeMutablePointer<Float>) {
        // Column blocks of 8 (the C kernel's tile width) per task; each task transposes its columns in 8 × 8 tiles.
        let blocks = (cols + 7) / 8
        Parallel.ranges(blocks, minPerChunk: 1) { br in
            let c0 = br.lowerBound * 8, c1 = Swift.min(cols, br.upperBound * 8)
            ck_transpose(x + c0, rows, c1 - c0, ld, t + c0 * rows, rows)
        }
    }

    /// y[i] += x[i].
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.elementwise(count) { r in for i in r { y[i] += x[i] } }
    }
}
