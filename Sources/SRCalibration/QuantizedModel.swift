import Foundation
import HarmoQ
import SREngine
import SRIO

/// Puts a QPARAMS calibration onto a model (fake quantization, docs/integer.md "Exact fake quantization").
///
/// * Linear sites with a quantized weight *and* input, both on centred grids — symmetric or affine with an integer zero
///   point (and partial sums provably exact in Float, see `CodeDomainLinear`): evaluated in the code domain by a `CodeDomainExecutor` installed as the model's
///   `linearExecutor`: y = fl(fl(Δx·Δw[o])·Σ cx·cw) + b with cx = code(x ⊘ s) — what integer execution computes, bit
///   for bit.
/// * Attention matmuls whose two operand sites (q and k, probs and v) are quantized on centred grids: q·kᵀ and P·V in the
///   code domain by an `OperandProductExecutor` installed as `model.operandExecutor` (C = fl(fl(Δa·Δb)·Σ ca·cb), exact
///   while the partial sums stay ≤ 2²⁴, else the float path for that call, logged) — what integer execution computes.
/// * Every other quantized site (float-zero-point operands, float-zero-point affine or W-only / A-only linear sites): the float path — the
///   fake-quantized weight Ŵ is installed and this hook fake-quantizes the input in place, x ← Q_x(x ⊘ s).
/// * A site with an online rotation (`SiteQuantization.rotation`): the hook first rotates its input in place,
///   x ← x·R (Float32 GEMM), then quantizes as above; the plan's weight is already W·R.
///
/// Ŵ is installed on every weight-quantized site in both cases, so an executor that replaces the code-domain one
/// (e.g. `harmoq infer --int --quant`) still sees the file's weights, and this hook then fake-quantizes those inputs.
public final class QuantizedModel: ActivationHook {
    /// One site's input transform: online rotation (x ← x·R), then fake quantization x ← Q_x(x ⊘ s).
    struct Entry {
        var quantizer: Quantizer?
        var scale: [Float]?
        var rotation: OnlineRotation?
    }
    /// By site name: the fallback when a hook index does not match `byIndex`.
    let byName: [String: Entry]
    /// By site index in `model.sites` (the hook's `index`): no string hashing per call.
    private let byIndex: [(name: String, entry: Entry?)]
    /// The code-domain executor (nil when no site qualifies or `codeDomain` was false).
    public let executor: CodeDomainExecutor?
    /// Linear sites with quantized weight and input that stay in the float path, with the reason.
    public let floatPathSites: [String: String]
    /// The attention matmuls whose two operand sites are quantized on centred grids, in the code domain (nil when none
    /// qualifies or `codeDomain` was false); installed as `model.operandExecutor`.
    public let operandExecutor: OperandProductExecutor?
    private weak var model: (any SRModel)?

    init(_ q: QParams, model: any SRModel, codeDomain: Bool) throws {
        var m: [String: Entry] = [:]
        var linears: [String: CodeDomainLinear] = [:]
        var floatPath: [String: String] = [:]
        for s in q.sites {
            let aq = s.activationQuantized ? try s.activationQuantizer() : nil
            m[s.name] = Entry(quantizer: aq, scale: s.layer?.inputScale, rotation: try s.rotation.map { OnlineRotation(try $0.rotation()) })
            guard codeDomain, let l = s.layer, let aq, s.weightQuantized else { continue }
            do {
                linears[s.name] = try Self.codeDomainLinear(l, activation: aq, model: model, site: try model.site(named: s.name))
            } catch {
                floatPath[s.name] = "\(error)"
            }
        }
        byName = m
        byIndex = model.sites.map { site in (site.name, m[site.name]) }
        executor = linears.isEmpty ? nil : CodeDomainExecutor(linears: linears)
        // Operand sites without an input scale or rotation (QPARAMS gives operands neither; checked all the same).
        var operands: [String: Quantizer] = [:]
        if codeDomain {
            for site in model.sites where site.kind == .matmulOperand {
                if let e = m[site.name], let q = e.quantizer, e.scale == nil, e.rotation == nil { operands[site.name] = q }
            }
        }
        let ox = OperandProductExecutor(quantizers: operands)
        operandExecutor = ox.quantizers.isEmpty ? nil : ox
        floatPathSites = floatPath
        self.model = model
    }

    /// The code-domain form of one site: codes of the corrected weight under its per-row quantizers, Δw per row, the
    /// model's bias, the HSO input scale. Throws for affine weights (or, from `CodeDomainLinear`, affine inputs and
    /// partial sums beyond 2²⁴).
    static func codeDomainLinear(_ l: LayerQuantization, activation: Quantizer, model: any SRModel, site: Site) throws -> CodeDomainLinear {
        let qs = try l.weightQuantizers()
        guard qs.allSatisfy(\.isCentred) else {
            throw QuantError("weight quantizer is \(l.weightScheme) with a float zero point; the code domain needs symmetric or integer-zero-point weights")
        }
        // Centred codes q − z[o] (symmetric: the codes): Ŵ = Float(code)·Δw exactly as `quantizedWeight()`.
        var codes = [Int32](repeating: 0, count: l.outputs * l.inputs)
        for o in 0..<l.outputs { for p in 0..<l.inputs { codes[o * l.inputs + p] = qs[o].centredCode(l.weight[o * l.inputs + p]) } }
        let bias = try model.linearWeight(site).bias?.data
        return try CodeDomainLinear(activation: activation, weightCodes: codes, weightSteps: qs.map(\.step),
                                    outFeatures: l.outputs, inFeatures: l.inputs, bias: bias,
                                    inputScale: l.inputScale?.count == l.inputs ? l.inputScale : nil)
    }

    /// Installs `qparams` on `model` (weights set, hook installed, code-domain executor installed unless `codeDomain`
    /// is false — then every site uses the float fake-quant path) and returns the hook. Throws when a site of the
    /// QPARAMS is missing from the model or has another shape.
    @discardableResult
    public static func apply(_ qparams: QParams, to model: any SRModel, codeDomain: Bool = true) throws -> QuantizedModel {
        let names = Set(model.sites.map(\.name))
        for s in qparams.sites where !names.contains(s.name) {
            throw QuantError("QPARAMS site '\(s.name)' is not a site of this \(model.architecture.rawValue) model (calibrated on '\(qparams.model)')")
        }
        model.restoreOriginalWeights()
        for s in qparams.sites {
            guard let l = s.layer else { continue }
            let site = try model.site(named: s.name)
            let current = try model.linearWeight(site).weight
            guard current.shape == [l.outputs, l.inputs] else {
                throw QuantError("QPARAMS site '\(s.name)' is \(l.outputs)×\(l.inputs), the model's weight is \(current.shape)")
            }
            let w = s.weightQuantized ? try l.quantizedWeight() : l.weight
            try model.setLinearWeight(site, Tensor(shape: [l.outputs, l.inputs], data: w))
            if let b = l.bias { try model.setLinearBias(site, Tensor(shape: [l.outputs], data: b)) }   // folded rotations
        }
        let hook = try QuantizedModel(qparams, model: model, codeDomain: codeDomain)
        model.hook = hook
        if let ex = hook.executor {
            model.linearExecutor = ex
        } else if model.linearExecutor is CodeDomainExecutor {
            model.linearExecutor = nil
        }
        model.operandExecutor = hook.operandExecutor
        return hook
    }

    /// Removes the hook and a code-domain executor, and restores the loaded weights.
    public static func remove(from model: any SRModel) {
        model.hook = nil
        if model.linearExecutor is CodeDomainExecutor { model.linearExecutor = nil }
        model.operandExecutor = nil
        model.restoreOriginalWeights()
    }

    /// Elementwise with fixed parameters: the engine may deliver window-attention probabilities block by block
    /// (and concurrently); the result is bit-identical to whole-matrix delivery (EngineTests).
    public var acceptsRowBlocks: Bool { true }

    public func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        let found: Entry?
        if index >= 0, index < byIndex.count, byIndex[index].name == site.name {
            found = byIndex[index].entry
        } else {
            found = byName[site.name]
        }
        guard let entry = found else { return }
        // Online rotation first (the stored weight is W·R), whether or not the input is quantized.
        if let r = entry.rotation, r.order == cols { r.apply(values, rows: rows) }
        guard let q = entry.quantizer else { return }
        // The code-domain executor quantizes this site's (rotated) input itself; so does an operand executor its operands.
        if site.isLinear, let ex = executor, ex.runs(site, on: model) { return }
        if !site.isLinear, let ox = model?.operandExecutor, ox.runs(site) { return }
        BulkQuantization.fakeQuantInPlace(q, values, divideBy: entry.scale?.count == cols ? entry.scale : nil)
    }
}
