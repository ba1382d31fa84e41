import HarmoQ
import SRCalibration
import SREngine
import SRIO

/// An integer plan plus the fake-quant simulation it must reproduce (shared by `infer --int` and `bench --int`).
public struct IntegerSetup {
    public let plan: IntegerModelPlan
    /// QPARAMS run: the calibration's hook (applies HSO scales and quantizes matmul operands) stays in front of the executor.
    public let qparams: QParams?
    public let label: String

    /// "w8a8" → 8, "w4a4" → 4 (the MinMax plans integer execution offers without a QPARAMS file).
    public static func parseBits(_ s: String) throws -> Int {
        switch s.lowercased() {
        case "w8a8": return 8
        case "w4a4": return 4
        default: throw IntegerError("--bits must be w8a8 or w4a4, got '\(s)'")
        }
    }

    /// The integer plan of a QPARAMS file `q` (read and checked against the model by the caller; `source` names it in
    /// messages), or — without one — a MinMax plan of `bits` (w8a8 when nil) calibrated on `calibration`.
    /// With a file, `bits` must agree with it.
    public static func make(model: any SRModel, bits: String?, qparams q: QParams?, source: String?,
                            calibration: [Tensor]) throws -> IntegerSetup {
        if let q {
            let quant = source ?? "the QPARAMS"
            if let bits, try parseBits(bits) != q.weightBits || q.weightBits != q.activationBits {
                throw IntegerError("--bits \(bits) disagrees with \(quant) (W\(q.weightBits)A\(q.activationBits))")
            }
            var layers: [String: LayerQuantization] = [:]
            for s in q.sites where s.weightPlan != nil && s.activationPlan != nil { if let l = s.layer { layers[s.name] = l } }
            let plan = try IntegerModelPlan.fromLayers(model: model, layers: layers)
            let floatSites = model.sites.filter(\.isLinear).count - plan.linears.count
            return IntegerSetup(plan: plan, qparams: q,
                                label: "\(q.method) W\(q.weightBits)A\(q.activationBits) from \(quant), \(plan.linears.count) integer Linear sites"
                                    + (floatSites > 0 ? ", \(floatSites) left in float (not weight- and activation-quantized)" : ""))
        }
        let b = try parseBits(bits ?? "w8a8")
        let plan = try IntegerModelPlan.minMax(model: model, bits: b, calibration: calibration)
        return IntegerSetup(plan: plan, qparams: nil,
                            label: "MinMax W\(b)A\(b) on \(calibration.count) calibration image(s), \(plan.linears.count) integer Linear sites")
    }

    /// The plan as the applier installs it: the QPARAMS file's sites (input scales, rotations, matmul operands), or
    /// the MinMax plan's Linear sites.
    public func sitePlans(for model: any SRModel) throws -> [SitePlan] {
        try qparams?.sitePlans(for: model) ?? plan.sitePlans
    }

    /// Integer execution (`QuantizedModel.Mode.integer`). MinMax: the executor alone (it quantizes each Linear input
    /// itself). QPARAMS: the file's fake-quant hook (HSO scales, matmul operands), then the executor; the attention
    /// matmuls whose operand sites the file quantizes on centred grids run as int8 GEMMs (`IntegerOperandProducts`).
    public func installInteger(on model: any SRModel) throws {
        try QuantizedModel.apply(sitePlans(for: model), to: model, mode: plan.integerMode)
    }

    /// The simulation: fake-quantized weights and activations, Linear sites in the exact code domain.
    /// `codeDomain: false`: the float-domain simulation (x̂ and Ŵ in Float, float GEMM) everywhere, for comparison.
    public func installFake(on model: any SRModel, codeDomain: Bool = true) throws {
        try QuantizedModel.apply(sitePlans(for: model), to: model, mode: codeDomain ? .codeDomain : .fakeQuant)
    }

    /// Back to FP32: no executor, no hook, loaded weights.
    public func remove(from model: any SRModel) {
        plan.remove(from: model)
        model.linearExecutor = nil   // also the fake-quant simulation's code-domain executor
        model.operandExecutor = nil
        model.hook = nil
        model.restoreOriginalWeights()
    }
}
