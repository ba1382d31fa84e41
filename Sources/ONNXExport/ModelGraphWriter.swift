import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO

/// What the whole-model graphs (`DATLightGraph`, `SwinIRLightGraph`) share: the layers both models are made of
/// (Conv, LayerNorm, Linear) written op by op as the engine computes them, token ↔ NCHW layout changes, and the
/// standard QDQ of a quantized site — `QuantizedModel`'s hook, x ← Q(x ⊘ s) (after x ← x·R when the site is rotated).
protocol ModelGraphWriter {
    var g: GraphBuilder { get }
    /// The state dict the model was built from.
    var w: [String: Tensor] { get }
    /// The plan's sites by name (empty: FP32).
    var sites: [String: SiteQuantization] { get }
    /// The token grid the layers run on (SwinIR: the reflect-padded grid).
    var H: Int { get }
    var W: Int { get }
}

/// The frame of a whole-model graph, the same for every architecture: the input size and plan checked, the plan's sites
/// by name for the builder, and the model wrapped around the graph the builder wrote (input 1×3×H×W, output ×scale).
enum WholeModelFrame {
    /// The plan's sites by name (empty: FP32); throws for an empty input size or a plan that is not standard QDQ.
    static func sites(height: Int, width: Int, plan: QParams?) throws -> [String: SiteQuantization] {
        guard height > 0, width > 0 else { throw QuantError("whole-model export: input size must be positive, got \(height)x\(width)") }
        if let plan { try WholeModelQDQ.requireExportable(plan, "the QPARAMS") }
        return Dictionary(uniqueKeysWithValues: (plan?.sites ?? []).map { ($0.name, $0) })
    }

    /// The ONNX model named "<architecture>-x<scale>" around `g` (graph input `input`, output `output`); `grid` says how
    /// the LR input is laid out for the layers (empty, or e.g. " (reflect-padded to …)").
    static func model(_ g: GraphBuilder, architecture: String, scale s: Int, input: String, output: String, height: Int, width: Int,
                      grid: String, plan: QParams?, producerVersion: String, metadata: [(String, String)]) -> ONNXModel {
        let doc = "harmoq whole-model \(architecture) x\(s), LR \(height)x\(width)\(grid), "
            + (plan.map { "QDQ of QPARAMS method \($0.method) W\($0.weightBits)A\($0.activationBits)" } ?? "FP32")
        return g.model(name: "\(architecture)-x\(s)", input: input, inputShape: [1, 3, height, width], output: output,
                       outputShape: [1, 3, height * s, width * s], doc: doc, producerVersion: producerVersion, metadata: metadata)
    }
}

/// Whether a plan can be written as standard ONNX QDQ (integer zero points, ≤ 8 bits, half-to-even rounding).
public enum WholeModelQDQ {
    /// Why `plan` cannot be written as standard QDQ (one line per offending site), or [] when it can.
    public static func obstacles(_ plan: QParams) -> [String] {
        var out: [String] = []
        for s in plan.sites {
            if s.activationPlan != nil, let why = activationObstacle(s) { out.append("\(s.name): \(why)") }
            if let w = s.weightPlan,
               let why = SiteGraph.gridObstacle(scheme: w.scheme, bits: w.bits, rounding: w.rounding,
                                                lowers: w.lower, uppers: w.upper, what: "weight") {
                out.append("\(s.name): \(why)")
            }
        }
        return out
    }

    /// Throws naming the offending sites when `plan` cannot be written as standard QDQ.
    static func requireExportable(_ plan: QParams, _ what: String) throws {
        let obs = obstacles(plan)
        if !obs.isEmpty {
            throw QuantError("\(what) cannot be written as standard ONNX QDQ at \(obs.count) site(s):\n  "
                             + obs.prefix(8).joined(separator: "\n  ") + (obs.count > 8 ? "\n  …" : ""))
        }
    }

    static func activationObstacle(_ s: SiteQuantization) -> String? {
        if s.activationScheme == .affine {
            guard let q = try? s.activationQuantizer() else { return "activation quantizer is invalid" }
            if q.zeroPoint != nil {   // integer zero point: standard uint8 QDQ with z
                return SiteGraph.gridObstacle(scheme: .symmetric, bits: s.activationBits, rounding: s.rounding,
                                              lowers: [s.activationLower], uppers: [s.activationUpper], what: "activation")
            }
            return "activation grid is affine with the float zero point −α/Δ = \(-q.lower / q.step), not an integer: "
                + "standard QuantizeLinear/DequantizeLinear (integer zero point) cannot hold it (calibrate with "
                + "--zero-point integer or --activation-scheme symmetric, or use the per-site export, which writes the float shift)"
        }
        return SiteGraph.gridObstacle(scheme: .symmetric, bits: s.activationBits, rounding: s.rounding,
                                      lowers: [s.activationLower], uppers: [s.activationUpper], what: "activation")
    }
}

extension ModelGraphWriter {
    var L: Int { H * W }

    func tensor(_ key: String) throws -> Tensor {
        guard let t = w[key] else { throw QuantError("whole-model export: weight '\(key)' is missing") }
        return t
    }

    // MARK: layout

    /// tokens (L, c) → NCHW (1, c, H, W).
    func toNCHW(_ x: String, _ c: Int, _ hint: String) -> String {
        g.reshape(g.transpose(x, [1, 0], hint + ".t"), [1, c, H, W], hint)
    }

    /// NCHW (1, c, H, W) → tokens (L, c).
    func toTokens(_ x: String, _ c: Int, _ hint: String) -> String {
        g.transpose(g.reshape(x, [c, L], hint + ".flat"), [1, 0], hint)
    }

    // MARK: layers

    /// Conv (PyTorch weight layout, zero padding k/2, stride 1) on NCHW.
    func conv(_ x: String, _ key: String, groups: Int = 1) throws -> String {
        let wt = try tensor(key + ".weight"), bias = try tensor(key + ".bias")
        let k = wt.shape[2], p = Int64(k / 2)
        let wn = g.floats(key + ".weight", dims: wt.shape, wt.data)
        let bn = g.floats(key + ".bias", dims: [bias.count], bias.data)
        var attrs = [ONNXAttribute("kernel_shape", .ints([Int64(k), Int64(k)])), ONNXAttribute("pads", .ints([p, p, p, p]))]
        if groups > 1 { attrs.append(ONNXAttribute("group", .int(Int64(groups)))) }
        return g.op("Conv", [x, wn, bn], key, attrs)
    }

    /// LayerNorm over the last axis, ε 1e-5.
    func layerNorm(_ x: String, _ key: String) throws -> String {
        let s = try tensor(key + ".weight"), b = try tensor(key + ".bias")
        return g.op("LayerNormalization", [x, g.floats(key + ".weight", dims: [s.count], s.data),
                                           g.floats(key + ".bias", dims: [b.count], b.data)], key,
                    [ONNXAttribute("axis", .int(-1)), ONNXAttribute("epsilon", .float(1e-5))])
    }

    /// QDQ of a quantized activation (per tensor) — `QuantizedModel`'s hook: x ← Q(x ⊘ s). Returns `x` unchanged when
    /// the site is not in the plan or its input is not quantized.
    func quantize(_ x: String, site name: String, hso: [Float]?) throws -> String {
        guard let s = sites[name], let a = s.activationPlan else { return x }
        let q = try a.quantizer()
        var v = x
        if let sc = hso { v = g.op("Div", [v, g.floats(name + ".hso_scale", dims: [sc.count], sc)], name + ".hso_divided") }
        let scale = g.floats(name + ".x_scale", dims: [], [q.step])
        // Symmetric: int8, zero point 0. Affine with an integer zero point z: uint8, zero point z
        // (round_half_even(x/Δ) + z saturated, clipped to [0, 2^b − 1], is `Quantizer.code`; (q − z)·Δ is x̂).
        let zp: String, lo: String, hi: String
        if let z = q.zeroPoint {
            guard q.scheme == .affine else { throw QuantError("site \(name): zero point on a symmetric grid") }
            zp = g.uint8Scalar(UInt8(z)); lo = g.uint8Scalar(UInt8(q.codeMin)); hi = g.uint8Scalar(UInt8(q.codeMax))
        } else {
            guard q.scheme == .symmetric else {
                throw QuantError("site \(name): \(WholeModelQDQ.activationObstacle(s) ?? "affine grid")")
            }
            zp = g.int8Scalar(0); lo = g.int8Scalar(Int8(q.codeMin)); hi = g.int8Scalar(Int8(q.codeMax))
        }
        var codes = g.op("QuantizeLinear", [v, scale, zp], name + ".x_q")
        if q.bits < 8 { codes = g.op("Clip", [codes, lo, hi], name + ".x_codes") }
        return g.op("DequantizeLinear", [codes, scale, zp], name + ".x_dq")
    }

    /// A Linear site on tokens (L, d): (QDQ of the input) · (weight: float, or int8 codes + per-channel DQ) + bias.
    /// Weight: the plan's (corrected) weight when the site is in the plan, else the state dict's; bias: the plan's
    /// folded bias when it has one, else the model's. `rows`: one part of a fused qkv weight (split-qkv plan).
    func linear(_ x: String, _ name: String, bias biasKey: String, weightKey: String, rows: Range<Int>? = nil) throws -> String {
        let bias = try tensor(biasKey)
        let wt = try tensor(weightKey)
        var m = wt.shape[0]
        let d = wt.shape[1]
        var biasValues = bias.data
        var weightValues = wt.data
        if let r = rows {
            m = r.count
            weightValues = Array(wt.data[(r.lowerBound * d)..<(r.upperBound * d)])
            biasValues = Array(bias.data[r])
        }
        let s = sites[name]
        if let lb = s?.layer?.bias {     // the plan's folded bias (operand rotations in the qkv rows)
            guard lb.count == m else { throw QuantError("QPARAMS site \(name): bias has \(lb.count) values, the weight has \(m) outputs") }
            biasValues = lb
        }
        // An online rotation (QuantizedModel's hook: x ← x·R first; the plan's weight is already W·R): a float MatMul.
        var x = x
        if let r = s?.rotation {
            guard r.order == d else { throw QuantError("QPARAMS site \(name): rotation of order \(r.order), the weight has \(d) inputs") }
            x = g.op("MatMul", [x, g.floats(name + ".rotation", dims: [d, d], try r.rotation().floatMatrix)], name + ".rotated")
        }
        let input = try quantize(x, site: name, hso: s?.inputScale.flatMap { $0.count == d ? $0 : nil })
        let wName: String
        if let s, let l = s.layer {
            guard l.inputs == d, l.outputs == m else {
                throw QuantError("QPARAMS site \(name) is \(l.outputs)x\(l.inputs), the model's weight is \(m)x\(d)")
            }
            if s.weightPlan != nil {
                let (codes, scales) = try SiteGraph.weightCodes(l)
                let c = g.int8s(name + ".w_codes", dims: [d, m], codes)
                let sc = g.floats(name + ".w_scale", dims: [m], scales)
                let zp = g.int8s(name + ".w_zero_point", dims: [m], [Int8](repeating: 0, count: m))
                wName = g.op("DequantizeLinear", [c, sc, zp], name + ".w_dq", [ONNXAttribute("axis", .int(1))])
            } else {
                wName = g.floats(name + ".weight_t", dims: [d, m], SiteGraph.transpose(l.weight, rows: m, cols: d))
            }
        } else {
            wName = g.floats(name + ".weight_t", dims: [d, m], SiteGraph.transpose(weightValues, rows: m, cols: d))
        }
        let y = g.op("MatMul", [input, wName], name + ".matmul")
        return g.add(y, g.floats(name + ".bias", dims: [m], biasValues), name)
    }

    /// The attention `a`'s q, k, v (L, c each) from the normalised tokens `xn`: three Linear sites `a.qkv.q/.k/.v` over
    /// the rows of the fused weight when the plan splits qkv, else the fused Linear `a.qkv` sliced.
    func qkv(_ xn: String, attention a: String, channels c: Int) throws -> (q: String, k: String, v: String) {
        if sites["\(a).qkv.q"] != nil || sites["\(a).qkv.k"] != nil || sites["\(a).qkv.v"] != nil {
            return (try linear(xn, "\(a).qkv.q", bias: "\(a).qkv.bias", weightKey: "\(a).qkv.weight", rows: 0..<c),
                    try linear(xn, "\(a).qkv.k", bias: "\(a).qkv.bias", weightKey: "\(a).qkv.weight", rows: c..<(2 * c)),
                    try linear(xn, "\(a).qkv.v", bias: "\(a).qkv.bias", weightKey: "\(a).qkv.weight", rows: (2 * c)..<(3 * c)))
        }
        let fused = try linear(xn, "\(a).qkv", bias: "\(a).qkv.bias", weightKey: "\(a).qkv.weight")
        return (g.slice(fused, axis: 1, 0, c, "\(a).q_raw"), g.slice(fused, axis: 1, c, 2 * c, "\(a).k_raw"),
                g.slice(fused, axis: 1, 2 * c, 3 * c, "\(a).v_raw"))
    }

    /// Multi-head attention over windows laid out by `lay` (the engine's `WindowGeometry`, flattened): q, k, v are
    /// (L, c) token matrices, `heads` heads of `headDim` channels; q is scaled by `lay.qScale`, the windows gathered
    /// (a zero row appended for tokens in the padding), the operand sites `prefix.q/.k/.v/.probs` quantized where the
    /// plan has them, the shift mask (−100 between regions) and `bias` (heads × N × N) added to the logits, and the
    /// output scattered back to the token order: (L, heads·headDim). `layoutKey` names the layout for sharing its
    /// index initializers between blocks of the same geometry.
    func windowAttention(q: String, k: String, v: String, lay: SpatialWindowLayout, layoutKey: String, heads: Int,
                         headDim hd: Int, bias: [Float], prefix n: String) throws -> String {
        let N = lay.tokensPerWindow, nW = lay.windowCount, c = heads * hd
        let padded = lay.source.contains { $0 == nil }
        var gather = [Int64](repeating: Int64(L), count: nW * N)
        var inverse = [Int64](repeating: 0, count: L)
        for (i, s) in lay.source.enumerated() { if let s { gather[i] = Int64(s); inverse[s] = Int64(i) } }
        let gIdx = g.cached("gather_" + layoutKey) { g.int64s("window_gather.\(layoutKey)", dims: [nW * N], gather) }
        func windows(_ x: String, _ tag: String, scaled: Bool) -> String {
            var part = x
            if scaled { part = g.mul(part, g.scalar(lay.qScale), "\(n).\(tag)_scaled") }
            if padded {
                let zeroRow = g.cached("zero_row_\(c)") { g.floats("zero_row_\(c)", dims: [1, c], [Float](repeating: 0, count: c)) }
                part = g.concat([part, zeroRow], axis: 0, "\(n).\(tag)_padded")
            }
            let rows = g.op("Gather", [part, gIdx], "\(n).\(tag)_gathered", [ONNXAttribute("axis", .int(0))])
            return g.transpose(g.reshape(rows, [nW, N, heads, hd], "\(n).\(tag)_windows"), [0, 2, 1, 3], "\(n).\(tag)_heads")
        }
        let qw = try quantize(windows(q, "q", scaled: true), site: "\(n).q", hso: nil)
        let kw = try quantize(windows(k, "k", scaled: false), site: "\(n).k", hso: nil)
        let vw = try quantize(windows(v, "v", scaled: false), site: "\(n).v", hso: nil)
        var logits = g.op("MatMul", [qw, g.transpose(kw, [0, 1, 3, 2], "\(n).k_t")], "\(n).logits")
        if let regions = lay.regions {
            let labels = regions.map(Float.init)
            let li = g.cached("rows_" + layoutKey) { g.floats("region_rows.\(layoutKey)", dims: [nW, 1, N, 1], labels) }
            let lj = g.cached("cols_" + layoutKey) { g.floats("region_cols.\(layoutKey)", dims: [nW, 1, 1, N], labels) }
            let same = g.op("Equal", [li, lj], "\(n).same_region")
            let mask = g.op("Where", [same, g.scalar(0), g.scalar(-100)], "\(n).shift_mask")
            logits = g.add(logits, mask, "\(n).logits_masked")
        }
        logits = g.add(logits, g.floats("\(n).position_bias", dims: [heads, N, N], bias), "\(n).logits_biased")
        let probs = try quantize(g.op("Softmax", [logits], "\(n).probs_fp", [ONNXAttribute("axis", .int(-1))]),
                                 site: "\(n).probs", hso: nil)
        let o = g.op("MatMul", [probs, vw], "\(n).out_heads")
        let rows = g.reshape(g.transpose(o, [0, 2, 1, 3], "\(n).out_windows"), [nW * N, c], "\(n).out_rows")
        let scatter = g.cached("scatter_" + layoutKey) { g.int64s("window_scatter.\(layoutKey)", dims: [L], inverse) }
        return g.op("Gather", [rows, scatter], "\(n).out", [ONNXAttribute("axis", .int(0))])
    }
}
