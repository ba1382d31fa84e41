import HarmoQ
import SRIO

/// The typed plan of one site, as every consumer reads it (the applier `QuantizedModel` through `sitePlans(for:)`,
/// integer execution, ONNX export, the audit, refinement's `PlanQuantizers`): an optional weight quantizer, an
/// optional activation quantizer, optional per-input-channel scales and the corrected weight. Absent means float.
/// The stored fields (and so the QPARAMS format) are unchanged; these are the one reading of them.
extension SiteQuantization {
    /// The quantizer of the site's input (after the rotation and the HSO scales); nil: the input stays in float.
    public var activationPlan: ActivationQuantizerPlan? { activationQuantized ? activationGrid : nil }

    /// The weight quantizer of a linear site; nil: an operand site, or the weight stays in float.
    public var weightPlan: WeightQuantizerPlan? { weightQuantized ? layer?.weightPlan : nil }

    /// HSO per-input-channel divisors s (x ⊘ s before the activation quantizer); nil = 1.
    public var inputScale: [Float]? { layer?.inputScale }

    /// The corrected weight of a linear site (m×d: W₀ with the SRC correction and HSO scales folded in, W·R when
    /// rotated), before weight quantization; nil for an operand site.
    public var correctedWeight: Tensor? { layer.map { Tensor(shape: [$0.outputs, $0.inputs], data: $0.weight) } }

    /// The weight the applier installs on a linear site: Ŵ = Q_w(corrected weight) when the weight is quantized, else
    /// the corrected weight in float; nil for an operand site.
    public func appliedWeight() throws -> Tensor? {
        guard let l = layer else { return nil }
        guard let w = weightPlan else { return correctedWeight }
        return Tensor(shape: [l.outputs, l.inputs], data: try w.quantize(l.weight, inputs: l.inputs))
    }

    /// Sets the activation bounds (of the one grid: a linear site's layer's, else the site's).
    public mutating func setActivationBounds(lower: Float, upper: Float) {
        activationLower = lower; activationUpper = upper
    }

    /// Sets the per-row weight bounds of a linear site.
    public mutating func setWeightBounds(lower: [Float], upper: [Float]) {
        layer?.weightLower = lower; layer?.weightUpper = upper
    }
}

extension QParams {
    /// The run quantizes weights (`weightBits` < `QuantBits.float`).
    public var quantizesWeights: Bool { QuantBits.isQuantized(weightBits) }
    /// The run quantizes activations.
    public var quantizesActivations: Bool { QuantBits.isQuantized(activationBits) }
}
