/// A row-major Float64 matrix: element (i, j) at `data[i * cols + j]`. The core's solvers use it;
/// the GSL oracle has its own type and the checks convert between them.
public struct DMatrix: Sendable, Equatable, Codable {
    public var rows: Int
    public var cols: Int
    public var data: [Double]

    public init(rows: Int, cols: Int, data: [Double]) {
        precondition(rows >= 0 && cols >= 0 && rows * cols == data.count,
                     "DMatrix: \(rows)×\(cols) needs \(rows * cols) elements, got \(data.count)")
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    public init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, data: [Double](repeating: 0, count: rows * cols))
    }

    public static func identity(_ n: Int) -> DMatrix {
        var m = DMatrix(zeros: n, n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    @inline(__always)
    public subscript(i: Int, j: Int) -> Double {
        get { data[i * cols + j] }
        set { data[i * cols + j] = newValue }
    }

    public var transposed: DMatrix {
        var t = DMatrix(zeros: cols, rows)
        for i in 0..<rows { for j in 0..<cols { t[j, i] = self[i, j] } }
        return t
    }

    /// Plain triple-loop product (i-k-j order). Slow and obviously correct.
    public static func * (a: DMatrix, b: DMatrix) -> DMatrix {
        precondition(a.cols == b.rows, "DMatrix product: \(a.rows)×\(a.cols) · \(b.rows)×\(b.cols)")
        var c = DMatrix(zeros: a.rows, b.cols)
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    for i in 0..<a.rows {
                        for k in 0..<a.cols {
                            let aik = pa[i * a.cols + k]
                            if aik == 0 { continue }
                            for j in 0..<b.cols { pc[i * b.cols + j] += aik * pb[k * b.cols + j] }
                        }
                    }
                }
            }
        }
        return c
    }

    public static func + (a: DMatrix, b: DMatrix) -> DMatrix {
        precondition(a.rows == b.rows && a.cols == b.cols, "DMatrix sum: shape mismatch")
        return DMatrix(rows: a.rows, cols: a.cols, data: zip(a.data, b.data).map { $0 + $1 })
    }

    public static func - (a: DMatrix, b: DMatrix) -> DMatrix {
        precondition(a.rows == b.rows && a.cols == b.cols, "DMatrix difference: shape mismatch")
        return DMatrix(rows: a.rows, cols: a.cols, data: zip(a.data, b.data).map { $0 - $1 })
    }

    public static func * (s: Double, a: DMatrix) -> DMatrix {
        DMatrix(rows: a.rows, cols: a.cols, data: a.data.map { s * $0 })
    }

    /// Frobenius norm.
    public var frobeniusNorm: Double { data.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// 1-norm (max absolute column sum), as LAPACK's ratios use.
    public var oneNorm: Double {
        var best = 0.0
        for j in 0..<cols { var s = 0.0; for i in 0..<rows { s += abs(self[i, j]) }; best = Swift.max(best, s) }
        return best
    }
}
