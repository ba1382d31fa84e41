/// One linear site to calibrate: the FP weight W₀ (m×d, row-major; row = output channel) and samples of the input
/// the layer receives (n×d), optionally laid out on a token grid (needed by token-axis projections).
public struct LayerProblem: Sendable {
    public var weight: [Float]
    public var outputs: Int
    public var inputs: Int
    public var samples: [Float]
    public var rows: Int
    public var grid: TokenGrid?

    public init(weight: [Float], outputs m: Int, inputs d: Int, samples: [Float], rows n: Int, grid: TokenGrid? = nil) throws {
        guard m > 0, d > 0 else { throw QuantError("LayerProblem: weight must be non-empty, got \(m)×\(d)") }
        guard weight.count == m * d else { throw QuantError("LayerProblem: weight has \(weight.count) values, expected \(m)×\(d)") }
        guard n > 0, samples.count == n * d else { throw QuantError("LayerProblem: samples have \(samples.count) values, expected \(n)×\(d) with n > 0") }
        if let g = grid, g.tokens != n { throw QuantError("LayerProblem: grid has \(g.tokens) tokens, samples have \(n) rows") }
        try Quantizer.validate(weight, what: "layer weight")
        try Quantizer.validate(samples, what: "layer input samples")
        self.weight = weight; outputs = m; inputs = d; self.samples = samples; rows = n; self.grid = grid
    }

    /// A deterministic subset of `count` rows (all rows when count ≥ n), in increasing order; drawn with SplitMix64.
    public func rowSubset(_ count: Int, seed: UInt64) -> [Int] {
        if count >= rows { return Array(0..<rows) }
        var rng = SplitMix64(seed: seed)
        var idx = Array(0..<rows)
        for i in 0..<count {  // partial Fisher–Yates
            let j = i + Int(rng.next() % UInt64(rows - i))
            idx.swapAt(i, j)
        }
        return Array(idx[0..<count]).sorted()
    }

    public func gather(_ rowsIdx: [Int]) -> [Float] {
        var out = [Float](repeating: 0, count: rowsIdx.count * inputs)
        for (k, r) in rowsIdx.enumerated() {
            for j in 0..<inputs { out[k * inputs + j] = samples[r * inputs + j] }
        }
        return out
    }
}

/// The calibrated quantization of one linear site, everything needed to run it:
/// y = Q_w(weight) · Q_x(x ⊘ inputScale) (+ bias, untouched).
///
/// How the weight grid is shared: one pair of bounds per output channel (row, axis 0 of the m×d weight) or one for the
/// whole tensor. Written in files as "perChannel" / "perTensor".
public enum WeightGranularity: String, Codable, Sendable, CaseIterable {
    case perChannel, perTensor
    /// The weight axis the bounds run along (rows); nil for one pair for the whole tensor.
    public var axis: Int? { self == .perChannel ? 0 : nil }
}

/// `weight` is the weight actually quantized (W₀ with the SRC correction and HSO scales folded in); weights are
/// quantized per output channel (row) with bounds `weightLower[i]`, `weightUpper[i]`; the input per tensor.
public struct LayerQuantization: Codable, Sendable, Equatable {
    public var weightBits: Int
    public var activationBits: Int
    public var weightScheme: QuantScheme
    public var activationScheme: QuantScheme
    public var rounding: Rounding
    /// Per output channel (row), or per tensor (all rows share one pair of bounds).
    public var weightGranularity: WeightGranularity
    public var outputs: Int
    public var inputs: Int
    public var weightLower: [Float]
    public var weightUpper: [Float]
    public var activationLower: Float
    public var activationUpper: Float
    /// Per-input-channel divisor applied to x before quantization (HSO); nil = 1.
    public var inputScale: [Float]?
    /// m×d row-major.
    public var weight: [Float]
    /// Affine activation grid with an integer zero point (`Quantizer(integerZeroPoint:)`); nil/false = float zero
    /// point (files written before this field). The bounds stay as calibrated; the quantizer snaps them.
    public var activationIntegerZeroPoint: Bool? = nil
    /// The same for affine weight grids.
    public var weightIntegerZeroPoint: Bool? = nil
    /// The Linear's bias when it differs from the model's (rotations folded into the weight rows, `OperandRotationFold`);
    /// nil = the model's own bias.
    public var bias: [Float]? = nil

    /// One quantizer per row (`weightPlan`).
    public func weightQuantizers() throws -> [Quantizer] { try weightPlan.quantizers() }

    /// The input's quantizer (`activationPlan`).
    public func activationQuantizer() throws -> Quantizer { try activationPlan.quantizer() }

    /// Q_w(weight), m×d.
    public func quantizedWeight() throws -> [Float] { try weightPlan.quantize(weight, inputs: inputs) }

    /// x ← Q_x(x ⊘ inputScale) in place, x rows×d row-major.
    public func quantizeInput(_ x: inout [Float]) throws {
        guard x.count % inputs == 0 else { throw QuantError("input has \(x.count) values, not a multiple of d = \(inputs)") }
        let q = try activationQuantizer()
        if let s = inputScale {
            for i in 0..<x.count { x[i] = q.fakeQuant(x[i] / s[i % inputs]) }
        } else {
            for i in 0..<x.count { x[i] = q.fakeQuant(x[i]) }
        }
    }

    /// The quantized layer's output (no bias): Q_x(x ⊘ s) · Q_w(weight)ᵀ, rows×m.
    public func forward(_ x: [Float]) throws -> [Float] {
        var xq = x
        try quantizeInput(&xq)
        return DenseKernels.matmulABt(xq, try quantizedWeight(), n: x.count / inputs, d: inputs, m: outputs)
    }
}
