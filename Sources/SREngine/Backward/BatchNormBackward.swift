/// Backward of BatchNorm2d in eval mode, y = (x − μ_run)/√(σ²_run + ε)·γ + β, channels-last rows × C.
/// The running statistics are constants (not differentiated), as in PyTorch's eval mode.
public struct BatchNormEvalBackward {
    public let weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float], eps: Float
    /// γ/√(σ² + ε) per channel (the same Double-then-Float rounding as `BatchNormEval`).
    public let invStd: [Float]

    public init(weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float], eps: Float = 1e-5) {
        self.weight = weight; self.bias = bias; self.runningMean = runningMean; self.runningVar = runningVar; self.eps = eps
        invStd = runningVar.map { Float(1 / (Double($0) + Double(eps)).squareRoot()) }
    }

    public var channels: Int { weight.count }

    /// dx = g·γ/σ (overwritten); dγ += Σ g·(x − μ)/σ; dβ += Σ g. x: the BN input.
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int, dx: UnsafeMutablePointer<Float>?,
                         dGamma: UnsafeMutablePointer<Float>?, dBeta: UnsafeMutablePointer<Float>?) {
        let C = channels
        weight.withUnsafeBufferPointer { wp in invStd.withUnsafeBufferPointer { ip in runningMean.withUnsafeBufferPointer { mp in
            let w = wp.baseAddress!, inv = ip.baseAddress!, mu = mp.baseAddress!
            if let dx {
                Parallel.ranges(rows, minPerChunk: 1024) { rr in
                    for r in rr { for c in 0..<C { dx[r * C + c] = dy[r * C + c] * w[c] * inv[c] } }
                }
            }
            if let dGamma {
                BackwardReduce.columnSums(rows: rows, cols: C, into: dGamma) { r, p in
                    for c in 0..<C { p[c] += dy[r * C + c] * (x[r * C + c] - mu[c]) * inv[c] }
                }
            }
            if let dBeta { BackwardReduce.addColumnSums(dy, ld: C, rows: rows, cols: C, into: dBeta) }
        }}}
    }

    // MARK: - Float64 reference

    public static func referenceForward(_ x: [Double], rows: Int, weight: [Double], bias: [Double], runningMean: [Double],
                                        runningVar: [Double], eps: Double = 1e-5) -> [Double] {
        let C = weight.count
        var y = x
        for r in 0..<rows { for c in 0..<C {
            y[r * C + c] = (x[r * C + c] - runningMean[c]) / (runningVar[c] + eps).squareRoot() * weight[c] + bias[c]
        }}
        return y
    }

    public func referenceForward(_ x: [Double], rows: Int) -> [Double] {
        Self.referenceForward(x, rows: rows, weight: weight.map(Double.init), bias: bias.map(Double.init),
                              runningMean: runningMean.map(Double.init), runningVar: runningVar.map(Double.init), eps: Double(eps))
    }

    public func reference(_ x: [Double], dy: [Double], rows: Int) -> (dx: [Double], dGamma: [Double], dBeta: [Double]) {
        let C = channels
        var dx = x, dg = [Double](repeating: 0, count: C), db = dg
        for r in 0..<rows { for c in 0..<C {
            let sd = (Double(runningVar[c]) + Double(eps)).squareRoot(), g = dy[r * C + c]
            dx[r * C + c] = g * Double(weight[c]) / sd
            dg[c] += g * (x[r * C + c] - Double(runningMean[c])) / sd
            db[c] += g
        }}
        return (dx, dg, db)
    }
}
