import Foundation
import HarmoQ
import SREngine
import SRIO

/// The one applier of a quantization plan: plan (`SitePlan`s, from a QPARAMS file or an integer plan) × model × mode
/// (docs/integer.md "Exact fake quantization"). It installs the plan's weights, this hook and the Linear executor of
/// the mode; `eval`, `infer`, `bench`, `audit`, `export-onnx`, `tables`, the goldens and the checkers all go through it.
///
/// * `.codeDomain`: Linear sites with a quantized weight *and* input, both on centred grids — symmetric or affine with
///   an integer zero point (and partial sums provably exact in Float, see `CodeDomainLinear`) — are evaluated in the
///   code domain by a `CodeDomainExecutor` installed as the model's `linearExecutor`: y = fl(fl(Δx·Δw[o])·Σ cx·cw) + b
///   with cx = code(x ⊘ s) — what integer execution computes, bit for bit.
/// * `.codeDomain` too: attention matmuls whose two operand sites (q and k, probs and v) are quantized on centred grids:
///   q·kᵀ and P·V in the code domain by an `OperandProductExecutor` installed as `model.operandExecutor`
///   (C = fl(fl(Δa·Δb)·Σ ca·cb), exact while the partial sums stay ≤ 2²⁴, else the float path for that call, logged) —
///   what integer execution computes.
/// * Every other quantized site (float-zero-point operands, float-zero-point affine or W-only / A-only linear sites),
///   and every site in `.fakeQuant`: the float path — the fake-quantized weight Ŵ is installed and this hook fake-quantizes the
///   input in place, x ← Q_x(x ⊘ s).
/// * `.integer(IntegerExecution)`: the integer Linear executor (SRInteger's `IntegerModelPlan`) runs the Linear sites
///   it plans. When the plan needs nothing else (no rotation, input scale, or quantized site outside them), only that
///   executor is installed (it quantizes its inputs itself). Otherwise the plan is applied as in `.fakeQuant` with that
///   executor as the model's Linear executor (this hook fake-quantizes the inputs in front of it; re-quantizing x̂
///   gives back the same codes), and the attention matmuls `.codeDomain` would run exactly run through the integer
///   execution's operand products (`IntegerExecution.operands`, SRInteger's `IntegerOperandProducts`).
/// * A site with an online rotation (`SitePlan.rotation`): the hook first rotates its input in place, x ← x·R
///   (Float32 GEMM), then quantizes as above; the plan's weight is already W·R.
///
/// Ŵ is installed on every weight-quantized site in both fake-quant modes, so an executor that replaces the
/// code-domain one still sees the plan's weights, and this hook then fake-quantizes those inputs.
public final class QuantizedModel: ActivationHook {
    /// How the plan's quantized Linear sites are executed.
    public enum Mode {
        /// x̂ and Ŵ in Float, float GEMM, on every site.
        case fakeQuant
        /// The exact code domain where a site qualifies (`CodeDomainExecutor`), the float path elsewhere.
        case codeDomain
        /// Integer execution (SRInteger supplies it: `IntegerModelPlan.integerMode`).
        case integer(IntegerExecution)
    }

    /// What integer execution puts in place of the code domain.
    public struct IntegerExecution {
        /// Runs the Linear sites named in `runs` in integers (it quantizes their inputs itself).
        public var linear: any LinearExecutor
        public var runs: Set<String>
        /// The integer form of the code-domain attention-matmul executor (same operand quantizers, integer S).
        public var operands: (OperandProductExecutor) -> OperandProductExecutor

        public init(linear: any LinearExecutor, runs: Set<String>, operands: @escaping (OperandProductExecutor) -> OperandProductExecutor) {
            self.linear = linear
            self.runs = runs
            self.operands = operands
        }
    }

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
    /// The code-domain executor (nil when no site qualifies or the mode is not `.codeDomain`).
    public let executor: CodeDomainExecutor?
    /// Linear sites with quantized weight and input that stay in the float path, with the reason.
    public let floatPathSites: [String: String]
    /// The attention matmuls whose two operand sites are quantized on centred grids, in the code domain or (`.integer`)
    /// in integers (nil when none qualifies or the mode is `.fakeQuant`); installed as `model.operandExecutor`.
    public let operandExecutor: OperandProductExecutor?
    private weak var model: (any SRModel)?

    /// `codeDomain`: build the Linear code-domain executor; `operands`: the operand-product executor from its
    /// code-domain form (nil: none, every operand in the float path).
    init(_ plan: [SitePlan], model: any SRModel, codeDomain: Bool,
         operands: ((OperandProductExecutor) -> OperandProductExecutor)?) throws {
        var m: [String: Entry] = [:]
        var linears: [String: CodeDomainLinear] = [:]
        var floatPath: [String: String] = [:]
        for p in plan {
            m[p.name] = Entry(quantizer: p.activation, scale: p.inputScale, rotation: p.rotation)
            guard codeDomain, let codes = p.weightCodes, let aq = p.activation else { continue }
            do {
                let site = try model.site(named: p.name)
                let (w, bias) = try model.linearWeight(site)
                let (c, steps) = try codes()
                let (outputs, inputs) = (w.shape[0], w.shape[1])
                linears[p.name] = try CodeDomainLinear(activation: aq, weightCodes: c, weightSteps: steps,
                                                       outFeatures: outputs, inFeatures: inputs, bias: bias?.data,
                                                       inputScale: p.inputScale?.count == inputs ? p.inputScale : nil)
            } catch {
                floatPath[p.name] = "\(error)"
            }
        }
        byName = m
        byIndex = model.sites.map { site in (site.name, m[site.name]) }
        executor = linears.isEmpty ? nil : CodeDomainExecutor(linears: linears)
        // Operand sites without an input scale or rotation (QPARAMS gives operands neither; checked all the same).
        var candidates: [String: Quantizer] = [:]
        if operands != nil {
            for site in model.sites where site.kind == .matmulOperand {
                if let e = m[site.name], let q = e.quantizer, e.scale == nil, e.rotation == nil { candidates[site.name] = q }
            }
        }
        let ox = OperandProductExecutor(quantizers: candidates)
        operandExecutor = ox.quantizers.isEmpty ? nil : operands?(ox)
        floatPathSites = floatPath
        self.model = model
    }

    /// Installs `qparams` on `model` in the code domain, or with `codeDomain: false` in the float fake-quant path
    /// everywhere; returns the hook. Throws when a site of the QPARAMS is missing from the model or has another shape.
    @discardableResult
    public static func apply(_ qparams: QParams, to model: any SRModel, codeDomain: Bool = true) throws -> QuantizedModel {
        try apply(qparams.sitePlans(for: model), to: model, mode: codeDomain ? .codeDomain : .fakeQuant)!
    }

    /// Installs `plan` on `model` in `mode`: loaded weights restored, then the plan's weights, this hook and the
    /// mode's executor. Returns the hook, or nil when `.integer` needs none (then only the executor is installed;
    /// weights and hook are left as they are).
    @discardableResult
    public static func apply(_ plan: [SitePlan], to model: any SRModel, mode: Mode) throws -> QuantizedModel? {
        if case let .integer(i) = mode, !needsHook(plan, beside: i.runs) {
            model.linearExecutor = i.linear
            return nil
        }
        var isCodeDomain = false
        var operands: ((OperandProductExecutor) -> OperandProductExecutor)?
        switch mode {
        case .fakeQuant: break
        case .codeDomain: isCodeDomain = true; operands = { $0 }
        case .integer(let i): operands = i.operands
        }
        model.restoreOriginalWeights()
        for p in plan {
            let site = try model.site(named: p.name)
            if let w = p.weight { try model.setLinearWeight(site, w) }
            if let b = p.bias { try model.setLinearBias(site, b) }
        }
        let hook = try QuantizedModel(plan, model: model, codeDomain: isCodeDomain, operands: operands)
        model.hook = hook
        if case let .integer(i) = mode {
            model.linearExecutor = i.linear
        } else if let ex = hook.executor {
            model.linearExecutor = ex
        } else if model.linearExecutor is CodeDomainExecutor {
            model.linearExecutor = nil
        }
        model.operandExecutor = hook.operandExecutor
        return hook
    }

    /// True when some site needs more than an executor running the Linear sites `runs`: a rotation, an input scale,
    /// or a weight or quantizer on a site it does not run.
    static func needsHook(_ plan: [SitePlan], beside runs: Set<String>) -> Bool {
        plan.contains { (p: SitePlan) -> Bool in
            if p.rotation != nil || p.inputScale != nil { return true }
            if runs.contains(p.name) { return false }
            return p.weight != nil || p.bias != nil || p.activation != nil
        }
    }

    /// Removes the hook, a code-domain executor and the operand executor, and restores the loaded weights.
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
