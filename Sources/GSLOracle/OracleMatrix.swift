// OracleMatrix: the oracle's own dense Float64 matrix (row-major). Deliberately NOT the core's DMatrix:
// GSLOracle never imports HarmoQ, so the two implementations share no code.

/// Dense row-major Float64 matrix used by every GSLOracle entry point.
public struct OracleMatrix: Sendable, Equatable, Codable {
    public var rows: Int
    public var cols: Int
    /// Row-major storage, `rows * cols` values.
    public var data: [Double]

    public init(rows: Int, cols: Int, data: [Double]) {
        precondition(rows >= 0 && cols >= 0 && data.count == rows * cols, "OracleMatrix: data.count != rows*cols")
        self.rows = rows; self.cols = cols; self.data = data
    }
    public init(rows: Int, cols: Int, repeating v: Double = 0) {
        self.init(rows: rows, cols: cols, data: [Double](repeating: v, count: rows * cols))
    }
    public static func identity(_ n: Int) -> OracleMatrix {
        var m = OracleMatrix(rows: n, cols: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }
    public subscript(i: Int, j: Int) -> Double {
        get { data[i * cols + j] }
        set { data[i * cols + j] = newValue }
    }
    public var transposed: OracleMatrix {
        var t = OracleMatrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t.data[j * rows + i] = data[i * cols + j] } }
        return t
    }
    /// Frobenius norm.
    public var frobeniusNorm: Double {
        var scale = 0.0, ssq = 1.0  // LAPACK dlassq-style: no overflow/underflow for extreme entries
        for v in data where v != 0 {
            let a = abs(v)
            if scale < a { ssq = 1 + ssq * (scale / a) * (scale / a); scale = a } else { ssq += (a / scale) * (a / scale) }
        }
        return scale * ssq.squareRoot()
    }
    /// Induced 1-norm (max column sum), LAPACK's norm for residual ratios.
    public var oneNorm: Double {
        var best = 0.0
        for j in 0..<cols {
            var s = 0.0
            for i in 0..<rows { s += abs(data[i * cols + j]) }
            best = max(best, s)
        }
        return best
    }
    public static func - (a: OracleMatrix, b: OracleMatrix) -> OracleMatrix {
        precondition(a.rows == b.rows && a.cols == b.cols)
        return OracleMatrix(rows: a.rows, cols: a.cols, data: zip(a.data, b.data).map { $0 - $1 })
    }
    public static func + (a: OracleMatrix, b: OracleMatrix) -> OracleMatrix {
        precondition(a.rows == b.rows && a.cols == b.cols)
        return OracleMatrix(rows: a.rows, cols: a.cols, data: zip(a.data, b.data).map { $0 + $1 })
    }
    public static func * (s: Double, a: OracleMatrix) -> OracleMatrix {
        OracleMatrix(rows: a.rows, cols: a.cols, data: a.data.map { s * $0 })
    }
}
