import HarmoQ
import SRCalibration
import SRIO
import SREngine

/// Whole-model integer execution (docs/integer.md): one `IntegerLinear` per Linear site, with weights packed
/// per output channel and a per-tensor activation quantizer, from the registry's MinMax bounds (`minMax`) or from a
/// calibration's per-site `LayerQuantization` (`fromLayers`, e.g. a QPARAMS file).
///
/// It is the engine's `LinearExecutor`: `install(on:)` sets `model.linearExecutor`, after which every planned
/// Linear site runs in integers (the activation hook, if any, still runs first on the site's input).
public final class IntegerModelPlan: LinearExecutor {
    /// Weight bits (of the first planned site for `fromLayers`).
    public let bits: Int
    /// By site name.
    public let linears: [String: IntegerLinear]
    /// Split each site's rows over `Parallel.threads` (the float GEMM is threaded too). The result does not
    /// depend on it.
    public var parallel = true

    public init(bits: Int, linears: [String: IntegerLinear]) {
        self.bits = bits
        self.linears = linears
    }

    /// Calibrates on `calibration` inputs (each (1, 3, H, W)) with the registry's MinMax method (`MethodRegistry`
    /// "minmax", `BaselineCalibration`): symmetric per-output-channel AbsMax weight bounds on the model's current
    /// Linear weights, a per-tensor AbsMax activation bound per site; then `fromLayers`.
    ///
    /// The inputs are streamed, not held: AbsMax reads only the extremes of a site's inputs, so each site's problem
    /// carries two sample rows, its smallest and its largest input value over all calls (`ExtremesObserver`), and
    /// gets the bounds it would get from every input.
    public static func minMax(model: any SRModel, bits: Int, calibration: [Tensor],
                              isa: IntegerGEMM.ISA = .best) throws -> IntegerModelPlan {
        guard !calibration.isEmpty else { throw IntegerError("IntegerModelPlan needs at least one calibration input") }
        let observer = ExtremesObserver()
        let previous = model.hook
        model.hook = observer
        defer { model.hook = previous }
        for input in calibration {
            _ = try model.forward(input)
            if let e = observer.error { throw e }
        }
        let method = try MethodRegistry.method("minmax")
        var layers: [String: LayerQuantization] = [:]
        for site in model.sites where site.isLinear {
            guard let (lo, hi) = observer.extremes[site.name] else { throw IntegerError("site \(site.name) was not reached by the calibration forward") }
            let w = try model.linearWeight(site).weight
            let (m, d) = (w.shape[0], w.shape[1])
            let problem = try LayerProblem(weight: w.data, outputs: m, inputs: d,
                                           samples: [Float](repeating: lo, count: d) + [Float](repeating: hi, count: d), rows: 2)
            layers[site.name] = try BaselineCalibration.calibrate(problem, method: method, weightBits: bits, activationBits: bits)
        }
        return try fromLayers(model: model, layers: layers, isa: isa)
    }

    /// Runs a planned site in integers: out (rows × out, stride ldo) from x (rows × in, stride ldx).
    /// Returns false, writing nothing, for a site that is not planned or whose shape differs.
    public func execute(site: Site, x: UnsafePointer<Float>, ldx: Int, rows: Int,
                        out: UnsafeMutablePointer<Float>, ldo: Int) -> Bool {
        guard let lin = linears[site.name], case let .linear(i, o) = site.kind,
              i == lin.weight.inFeatures, o == lin.weight.outFeatures, ldx >= i, ldo >= o else { return false }
        lin.apply(x, ldx: ldx, rows: rows, into: out, ldo: ldo, parallel: parallel)
        return true
    }

    /// Resident bytes of the planned Linear weights: packed codes + per-channel scales, and as FP32 (4 bytes a weight).
    public var linearWeightBytes: (packed: Int, float32: Int) {
        (linears.values.reduce(0) { $0 + $1.weight.byteCount },
         linears.values.reduce(0) { $0 + 4 * $1.weight.outFeatures * $1.weight.inFeatures })
    }

    /// Makes this plan the model's Linear executor.
    public func install(on model: any SRModel) { model.linearExecutor = self }

    /// Back to the float GEMM everywhere (only if this plan is the installed executor).
    public func remove(from model: any SRModel) {
        if model.linearExecutor === self { model.linearExecutor = nil }
    }

    /// A plan from per-site calibrated quantization (`LayerQuantization`, as stored in a QPARAMS file): the codes
    /// of `layer.weight` under its per-row weight quantizers, packed; the activation quantizer from its bounds;
    /// the bias `layer.bias` when the plan has one (operand rotations folded into the qkv weight *and* bias,
    /// `OperandRotationFold`), else the model's. Sites missing from `layers` are not planned (they keep the float GEMM).
    /// Throws unless every weight and activation quantizer is symmetric or affine with an integer zero point, with at
    /// most 8 bits (affine weights are packed as centred codes, `PackedLinearWeight.init(weight:quantizer:)`).
    /// Input scales (HSO, x ⊘ s) are not part of the plan: the fake-quant hook applies them before the executor.
    public static func fromLayers(model: any SRModel, layers: [String: LayerQuantization],
                                  isa: IntegerGEMM.ISA = .best) throws -> IntegerModelPlan {
        var linears: [String: IntegerLinear] = [:]
        var bits: Int?
        for site in model.sites where site.isLinear {
            guard let l = layers[site.name] else { continue }
            let (w, b) = try model.linearWeight(site)
            guard w.shape == [l.outputs, l.inputs] else {
                throw IntegerError("site \(site.name): layer is \(l.outputs)×\(l.inputs), the model's weight is \(w.shape)")
            }
            let cq = try ChannelQuantizer(quantizers: try l.weightQuantizers(), axis: 0)
            let aq = try l.activationQuantizer()
            guard cq.quantizers.allSatisfy(\.isCentred), aq.isCentred else {
                throw IntegerError("site \(site.name): integer execution needs symmetric or integer-zero-point quantizers "
                                   + "(got \(l.weightScheme) / \(l.activationScheme) with a float zero point); calibrate with --zero-point integer (dobi, 2dquant-scheme; `--method 2dquant` keeps the official float zero point and has no integer form)")
            }
            let packed = try PackedLinearWeight(weight: Tensor(shape: [l.outputs, l.inputs], data: l.weight), quantizer: cq)
            // The plan's bias when it carries one: its weight rows are folded, so the model's bias would not match them.
            linears[site.name] = try IntegerLinear(weight: packed, bias: l.bias ?? b?.data, activation: aq, isa: isa)
            bits = bits ?? l.weightBits
        }
        guard let bits else { throw IntegerError("no Linear site of the model is in the calibration") }
        return IntegerModelPlan(bits: bits, linears: linears)
    }

    /// The packed model file: every planned Linear's codes and scales, all other tensors of `stateDict` as F32.
    public func packedFile(stateDict: [String: Tensor]) -> PackedModelFile {
        var floats = stateDict
        for name in linears.keys { floats[name + ".weight"] = nil }
        return PackedModelFile(floatTensors: floats, packed: linears.mapValues(\.weight))
    }
}

extension IntegerModelPlan {
    /// The plan in the applier's form (`QuantizedModel.apply(_:to:mode:)`): per planned site Ŵ (the packed codes
    /// dequantized), the activation quantizer and the codes for the code domain. No input scales or rotations.
    public var sitePlans: [SitePlan] {
        linears.sorted { $0.key < $1.key }.map { name, lin in
            SitePlan(name: name, weight: lin.weight.dequantized(), activation: lin.activation,
                     weightCodes: { (lin.weight.codes(), lin.weight.scales) })
        }
    }

    /// The applier's integer mode for this plan: it runs its Linear sites; attention matmuls whose operands the
    /// applied plan quantizes on centred grids run as int8 GEMMs (`IntegerOperandProducts`).
    public var integerMode: QuantizedModel.Mode {
        .integer(.init(linear: self, runs: Set(linears.keys), operands: { IntegerOperandProducts.executor(like: $0) }))
    }
}

/// Records the smallest and largest input value of every Linear site over all calls (per call `Observer.minMax`,
/// which also rejects NaN/Inf; then the minimum and maximum over calls).
final class ExtremesObserver: ActivationHook {
    var extremes: [String: (Float, Float)] = [:]
    var error: Error?

    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        guard site.isLinear else { return }
        do {
            let (lo, hi) = try Observer.minMax(Array(values))
            let old = extremes[site.name] ?? (lo, hi)
            extremes[site.name] = (min(old.0, lo), max(old.1, hi))
        } catch { self.error = self.error ?? error }
    }
}

/// A second fake-quant simulation of a plan, as a `LinearExecutor`: y = fl(b + Σ_p x̂·ŵ) with the sum taken in
/// Double (x̂ = `Quantizer.fakeQuant(x)`, ŵ = Float(q)·Δw), i.e. the engine's simulation up to the order and
/// precision of its float accumulation. Used to measure how much whole-model PSNR moves when only the float
/// summation of the simulation changes (docs/integer.md). Slow (scalar).
public final class DoubleSumFakeQuantExecutor: LinearExecutor {
    let plan: IntegerModelPlan
    private var weights: [String: [Double]] = [:]

    public init(plan: IntegerModelPlan) {
        self.plan = plan
        for (name, lin) in plan.linears { weights[name] = lin.weight.dequantized().data.map(Double.init) }
    }

    public func execute(site: Site, x: UnsafePointer<Float>, ldx: Int, rows: Int,
                        out: UnsafeMutablePointer<Float>, ldo: Int) -> Bool {
        guard let lin = plan.linears[site.name], let w = weights[site.name] else { return false }
        let k = lin.weight.inFeatures, n = lin.weight.outFeatures
        let q = lin.activation
        var xr = [Double](repeating: 0, count: k)
        for r in 0..<rows {
            for p in 0..<k { xr[p] = Double(q.fakeQuant(x[r * ldx + p])) }
            for o in 0..<n {
                var s = Double(lin.bias?[o] ?? 0)
                for p in 0..<k { s += xr[p] * w[o * k + p] }
                out[r * ldo + o] = Float(s)
            }
        }
        return true
    }
}
