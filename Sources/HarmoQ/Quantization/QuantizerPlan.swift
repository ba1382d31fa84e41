/// Bit widths of a quantized side. In run settings and QPARAMS files, `float` (32) stands for "this side is not
/// quantized"; a quantized side has 1…16 bits. The one place that rule is written.
public enum QuantBits {
    /// The bit width that means "left in float".
    public static let float = 32
    /// Bit widths a quantizer supports.
    public static let quantized = 1...16

    /// True for a quantized side (bits < `float`).
    @inline(__always) public static func isQuantized(_ bits: Int) -> Bool { bits < float }

    /// A quantized width (1…16) or `float`.
    public static func isValid(_ bits: Int) -> Bool { quantized.contains(bits) || bits == float }
}

/// The typed description of one activation quantizer of a plan: x̂ = Q(x) on a per-tensor grid with these bits,
/// scheme, rounding and bounds [lower, upper]; `integerZeroPoint`: an affine grid with an integer zero point
/// (`Quantizer(integerZeroPoint:)`). A plan holds one per quantized input; absent means the input stays in float.
public struct ActivationQuantizerPlan: Sendable, Equatable {
    public var bits: Int
    public var scheme: QuantScheme
    public var rounding: Rounding
    public var integerZeroPoint: Bool
    public var lower: Float
    public var upper: Float

    public init(bits: Int, scheme: QuantScheme, rounding: Rounding, integerZeroPoint: Bool, lower: Float, upper: Float) {
        self.bits = bits; self.scheme = scheme; self.rounding = rounding; self.integerZeroPoint = integerZeroPoint
        self.lower = lower; self.upper = upper
    }

    /// The quantizer (throws for bounds that are not a grid: lower ≥ upper, non-finite, bits out of range).
    public func quantizer() throws -> Quantizer {
        try Quantizer(bits: bits, lower: lower, upper: upper, scheme: scheme, rounding: rounding, integerZeroPoint: integerZeroPoint)
    }
}

/// The typed description of one weight quantizer of a plan: an m×d weight quantized with these bits, scheme and
/// rounding, one pair of bounds per output channel (row; `granularity.axis` = 0) or one pair for the whole tensor
/// (`.perTensor`: every row holds the same pair). `integerZeroPoint`: affine rows with an integer zero point. A plan
/// holds one per quantized weight; absent means the weight stays in float.
public struct WeightQuantizerPlan: Sendable, Equatable {
    public var bits: Int
    public var scheme: QuantScheme
    public var rounding: Rounding
    public var granularity: WeightGranularity
    public var integerZeroPoint: Bool
    /// One per output channel (row), whatever the granularity.
    public var lower: [Float]
    public var upper: [Float]

    public init(bits: Int, scheme: QuantScheme, rounding: Rounding, granularity: WeightGranularity, integerZeroPoint: Bool,
                lower: [Float], upper: [Float]) {
        self.bits = bits; self.scheme = scheme; self.rounding = rounding; self.granularity = granularity
        self.integerZeroPoint = integerZeroPoint; self.lower = lower; self.upper = upper
    }

    /// Output channels (rows).
    public var outputs: Int { lower.count }

    /// The quantizer of row `o`.
    public func quantizer(row o: Int) throws -> Quantizer {
        try Quantizer(bits: bits, lower: lower[o], upper: upper[o], scheme: scheme, rounding: rounding, integerZeroPoint: integerZeroPoint)
    }

    /// One quantizer per row.
    public func quantizers() throws -> [Quantizer] { try (0..<outputs).map { try quantizer(row: $0) } }

    /// The rows' quantizers along axis 0 of the m×d weight.
    public func channelQuantizer() throws -> ChannelQuantizer { try ChannelQuantizer(quantizers: try quantizers(), axis: 0) }

    /// Q_w(weight), m×d row-major (m = `outputs`).
    public func quantize(_ weight: [Float], inputs d: Int) throws -> [Float] {
        try channelQuantizer().fakeQuant(weight, shape: [outputs, d])
    }
}

extension LayerQuantization {
    /// The weight quantizer of this layer (bits, scheme, granularity, per-row bounds).
    public var weightPlan: WeightQuantizerPlan {
        WeightQuantizerPlan(bits: weightBits, scheme: weightScheme, rounding: rounding, granularity: weightGranularity,
                            integerZeroPoint: weightIntegerZeroPoint == true, lower: weightLower, upper: weightUpper)
    }

    /// The activation quantizer of this layer's input (after the HSO scales).
    public var activationPlan: ActivationQuantizerPlan {
        ActivationQuantizerPlan(bits: activationBits, scheme: activationScheme, rounding: rounding,
                                integerZeroPoint: activationIntegerZeroPoint == true, lower: activationLower, upper: activationUpper)
    }
}
