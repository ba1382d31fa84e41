import HarmoQ
import SRIO
import SREngine

/// Everything whole-model integer execution needs except the engine hook that lets a site's GEMM be
/// replaced (docs/integer.md, "Whole-model integer execution"): one `IntegerLinear` per Linear site, with
/// weights packed per output channel and a per-tensor activation quantizer, both from MinMax (AbsMax) bounds.
///
/// `execute` has the shape of the proposed `LinearExecutor.execute`; once SREngine offers that protocol,
/// the runner only needs to conform and install itself.
public final class IntegerModelPlan {
    public let bits: Int
    /// By site name.
    public let linears: [String: IntegerLinear]

    public init(bits: Int, linears: [String: IntegerLinear]) {
        self.bits = bits
        self.linears = linears
    }

    /// Calibrates on `calibration` inputs (each (1, 3, H, W)): activation bounds are the AbsMax of each Linear
    /// site's input over all of them; weights are packed from the model's current Linear weights.
    public static func minMax(model: any SRModel, bits: Int, calibration: [Tensor],
                              isa: IntegerGEMM.ISA = .best) throws -> IntegerModelPlan {
        guard !calibration.isEmpty else { throw IntegerError("IntegerModelPlan needs at least one calibration input") }
        var absMax: [String: Float] = [:]
        for input in calibration {
            for cap in try LinearInputCapture.capture(model, input: input) {
                let (lo, hi) = try Observer.absMax(cap.values)
                absMax[cap.site.name] = max(absMax[cap.site.name] ?? 0, max(-lo, hi))
            }
        }
        var linears: [String: IntegerLinear] = [:]
        for site in model.sites where site.isLinear {
            guard let m = absMax[site.name] else { throw IntegerError("site \(site.name) was not reached by the calibration forward") }
            let (w, b) = try model.linearWeight(site)
            let (packed, _) = try PackedLinearWeight.minMax(w, bits: bits)
            let qx = try Quantizer(bits: bits, lower: -m, upper: m, scheme: .symmetric)
            linears[site.name] = try IntegerLinear(weight: packed, bias: b?.data, activation: qx, isa: isa)
        }
        return IntegerModelPlan(bits: bits, linears: linears)
    }

    /// Runs a planned site in integers: out (rows × out, stride ldo) from x (rows × in, stride ldx).
    /// Returns false, writing nothing, for a site that is not planned or whose shape differs.
    public func execute(site: Site, x: UnsafePointer<Float>, ldx: Int, rows: Int,
                        out: UnsafeMutablePointer<Float>, ldo: Int) -> Bool {
        guard let lin = linears[site.name], case let .linear(i, o) = site.kind,
              i == lin.weight.inFeatures, o == lin.weight.outFeatures, ldx >= i, ldo >= o else { return false }
        lin.apply(x, ldx: ldx, rows: rows, into: out, ldo: ldo)
        return true
    }

    /// The packed model file: every planned Linear's codes and scales, all other tensors of `stateDict` as F32.
    public func packedFile(stateDict: [String: Tensor]) -> PackedModelFile {
        var floats = stateDict
        for name in linears.keys { floats[name + ".weight"] = nil }
        return PackedModelFile(floatTensors: floats, packed: linears.mapValues(\.weight))
    }
}

/// The fake-quant simulation of a plan: installs Ŵ with `setLinearWeight` and fake-quantizes each Linear
/// site's input in the hook with the plan's activation quantizer. `remove` restores the weights and the hook.
public final class FakeQuantPlanHook: ActivationHook {
    let plan: IntegerModelPlan
    private var previous: ActivationHook?

    public init(plan: IntegerModelPlan) { self.plan = plan }

    public func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        previous?.process(site: site, index: index, values: values, rows: rows, cols: cols)
        guard let lin = plan.linears[site.name] else { return }
        lin.activation.fakeQuantInPlace(values)
    }

    public func install(on model: any SRModel) throws {
        for site in model.sites where site.isLinear {
            guard let lin = plan.linears[site.name] else { continue }
            try model.setLinearWeight(site, lin.weight.dequantized())
        }
        previous = model.hook
        model.hook = self
    }

    public func remove(from model: any SRModel) {
        model.restoreOriginalWeights()
        model.hook = previous
        previous = nil
    }
}
