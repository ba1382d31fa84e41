/// Streaming second moments of a layer input x ∈ ℝ^d and its quantization error δx = Q(x) − x,
/// accumulated in Float64:  Σxx = E[x xᵀ]  and  Σδx = E[δx xᵀ]  (both d×d, row-major).
///
/// Two modes, both from the paper's implementation table:
/// - plain average over every sample (default, `momentum == nil`);
/// - running average with momentum m (0.9) after `warmup` (200) samples: the first `warmup` samples are
///   averaged plainly; every later *batch* b updates S ← m·S + (1−m)·mean_b.
public struct CovarianceAccumulator: Sendable {
    public let dimension: Int
    public let momentum: Double?
    public let warmup: Int
    public private(set) var samples: Int = 0
    public private(set) var xx: [Double]
    public private(set) var dx: [Double]

    public init(dimension: Int, momentum: Double? = nil, warmup: Int = 200) throws {
        guard dimension > 0 else { throw QuantError("CovarianceAccumulator: dimension must be > 0, got \(dimension)") }
        if let m = momentum, !(m >= 0 && m < 1) { throw QuantError("momentum must be in [0, 1), got \(m)") }
        guard warmup >= 0 else { throw QuantError("warm-up must be ≥ 0, got \(warmup)") }
        self.dimension = dimension
        self.momentum = momentum
        self.warmup = warmup
        xx = [Double](repeating: 0, count: dimension * dimension)
        dx = [Double](repeating: 0, count: dimension * dimension)
    }

    /// Adds a batch of `rows` samples: x is rows×d row-major, xq = Q(x) (same layout; pass nil to skip Σδx).
    public mutating func add(x: [Float], quantized xq: [Float]?, rows: Int) throws {
        let d = dimension
        guard x.count == rows * d else { throw QuantError("CovarianceAccumulator.add: x has \(x.count) values, expected \(rows)×\(d)") }
        if let xq, xq.count != x.count { throw QuantError("CovarianceAccumulator.add: Q(x) has \(xq.count) values, x has \(x.count)") }
        try Quantizer.validate(x, what: "CovarianceAccumulator.add x")
        guard rows > 0 else { return }
        var bxx = [Double](repeating: 0, count: d * d)
        var bdx = [Double](repeating: 0, count: d * d)
        var xi = [Double](repeating: 0, count: d)
        var di = [Double](repeating: 0, count: d)
        for r in 0..<rows {
            for j in 0..<d { xi[j] = Double(x[r * d + j]) }
            if let xq { for j in 0..<d { di[j] = Double(xq[r * d + j]) - xi[j] } }
            for a in 0..<d {
                let xa = xi[a], da = di[a]
                for b in 0..<d {
                    bxx[a * d + b] += xa * xi[b]
                    bdx[a * d + b] += da * xi[b]
                }
            }
        }
        if let m0 = momentum, samples >= warmup {
            let m = ShippedMutant.active == .covarianceEMAWeightsSwapped ? 1 - m0 : m0
            let inv = 1.0 / Double(rows)
            for i in 0..<(d * d) {
                xx[i] = m * xx[i] + (1 - m) * bxx[i] * inv
                dx[i] = m * dx[i] + (1 - m) * bdx[i] * inv
            }
        } else {
            let total = Double(samples + rows)
            let wOld = Double(samples) / total, wNew = 1.0 / total
            for i in 0..<(d * d) {
                xx[i] = wOld * xx[i] + wNew * bxx[i]
                dx[i] = wOld * dx[i] + wNew * bdx[i]
            }
        }
        samples += rows
    }

    /// Σxx = E[x xᵀ].
    public var secondMoment: DMatrix { DMatrix(rows: dimension, cols: dimension, data: xx) }
    /// Σδx = E[δx xᵀ] (row index: δx component, column index: x component).
    public var errorCrossMoment: DMatrix { DMatrix(rows: dimension, cols: dimension, data: dx) }
}
