import HarmoQ
import SREngine
import SRIO

/// One site of a quantization plan as `QuantizedModel` (the applier) installs it, whatever the plan came from: a
/// QPARAMS file (`QParams.sitePlans(for:)`) or an integer plan (`IntegerModelPlan.sitePlans`, SRInteger).
/// Every field is optional: absent means float (the loaded weight, the raw input).
public struct SitePlan {
    public var name: String
    /// The weight installed in place of the loaded one (outputs × inputs): Ŵ for a quantized weight, or a transformed
    /// float weight (W·R of a rotated, unquantized site). Linear sites only.
    public var weight: Tensor?
    /// The bias installed in place of the loaded one (outputs): a folded operand rotation's bias. Linear sites only.
    public var bias: Tensor?
    /// x̂ = Q(x ⊘ s) on the site's input (after the rotation).
    public var activation: Quantizer?
    /// Per-input-channel divisor s applied before `activation` (HSO); used only when it has one entry per column.
    public var inputScale: [Float]?
    /// Online rotation x ← x·R of the input, before the scale and the quantizer (`weight` is then W·R).
    public var rotation: OnlineRotation?
    /// Centred codes (out × in, Ŵ = code·Δw[o]) and per-row steps Δw of a quantized weight, for the code domain; they
    /// throw when the weight grid is not centred (the site then stays in the float path). Nil: the weight is not
    /// quantized.
    public var weightCodes: (() throws -> (codes: [Int32], steps: [Float]))?

    public init(name: String, weight: Tensor? = nil, bias: Tensor? = nil, activation: Quantizer? = nil, inputScale: [Float]? = nil,
                rotation: OnlineRotation? = nil, weightCodes: (() throws -> (codes: [Int32], steps: [Float]))? = nil) {
        self.name = name
        self.weight = weight
        self.bias = bias
        self.activation = activation
        self.inputScale = inputScale
        self.rotation = rotation
        self.weightCodes = weightCodes
    }
}

extension QParams {
    /// The applier's form of this file's sites. Throws when a site is missing from `model` or has another shape.
    public func sitePlans(for model: any SRModel) throws -> [SitePlan] {
        let names = Set(model.sites.map(\.name))
        for s in sites where !names.contains(s.name) {
            throw QuantError("QPARAMS site '\(s.name)' is not a site of this \(model.architecture.rawValue) model (calibrated on '\(self.model)')")
        }
        return try sites.map { s in
            var p = SitePlan(name: s.name, activation: try s.activationPlan?.quantizer(),
                             rotation: try s.rotation.map { OnlineRotation(try $0.rotation()) })
            guard let l = s.layer else { return p }
            let current = try model.linearWeight(try model.site(named: s.name)).weight
            guard current.shape == [l.outputs, l.inputs] else {
                throw QuantError("QPARAMS site '\(s.name)' is \(l.outputs)×\(l.inputs), the model's weight is \(current.shape)")
            }
            p.inputScale = s.inputScale
            p.weight = try s.appliedWeight()
            p.bias = l.bias.map { Tensor(shape: [l.outputs], data: $0) }   // folded rotations
            if let wq = s.weightPlan { p.weightCodes = { try Self.centredCodes(l.weight, inputs: l.inputs, wq) } }
            return p
        }
    }

    /// Codes q − z[o] (symmetric: the codes) of the corrected weight (m×d) under its per-row quantizers, and Δw per row:
    /// Float(code)·Δw = `WeightQuantizerPlan.quantize` exactly. Throws for a weight grid with a float zero point.
    static func centredCodes(_ weight: [Float], inputs d: Int, _ plan: WeightQuantizerPlan) throws -> (codes: [Int32], steps: [Float]) {
        let qs = try plan.quantizers()
        guard qs.allSatisfy(\.isCentred) else {
            throw QuantError("weight quantizer is \(plan.scheme) with a float zero point; the code domain needs symmetric or integer-zero-point weights")
        }
        var codes = [Int32](repeating: 0, count: qs.count * d)
        for o in qs.indices { for p in 0..<d { codes[o * d + p] = qs[o].centredCode(weight[o * d + p]) } }
        return (codes, qs.map(\.step))
    }
}
