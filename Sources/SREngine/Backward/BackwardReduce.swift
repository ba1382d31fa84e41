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
        Parallel.ranges(cols, minPerChunk: 8) { cr in
            for c in cr { let o = t + c * rows; for r in 0..<rows { o[r] = x[r * ld + c] } }
        }
    }

    /// y[i] += x[i].
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.elementwise(count) { r in for i in r { y[i] += x[i] } }
    }
}
