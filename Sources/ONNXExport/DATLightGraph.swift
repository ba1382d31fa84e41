import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO

/// The whole DAT-light forward as one ONNX graph (opset 17), op by op as `DATLight.forward` / `DATBlock.forward` compute
/// it, for one fixed LR size H×W (the window padding, the shift masks and the window gathers are sized at export).
/// FP32, or with a QPARAMS plan: QuantizeLinear/DequantizeLinear (standard QDQ: int8 with zero point 0 for symmetric
/// grids, uint8 with the integer zero point z for affine ones) on the input of
/// every quantized Linear site (HSO input scale as a Div before the QuantizeLinear; a plan's online rotation as a float
/// MatMul by R before that), int8 weight codes with one
/// DequantizeLinear scale per output channel, and QDQ on every quantized matmul operand (q, k, v, probs).
///
/// Op mapping (docs/onnx.md): conv → Conv (PyTorch layout, pads 1); LayerNorm → LayerNormalization(ε 1e-5);
/// BatchNorm (eval) → Mul/Add with the engine's own folded scale and shift (`BatchNormEval`); GELU → Div/Erf/Add/Mul/Mul;
/// LeakyReLU(0.2) → LeakyRelu; window padding + roll + partition → Gather of token rows (a zero row appended for the
/// padding) with indices from the engine's `WindowGeometry`, then Reshape/Transpose; shift masks → Equal/Where of
/// region labels (−100); position bias → the engine's precomputed table (constant); softmax → Softmax(axis −1);
/// window reverse + crop → Gather with the inverse indices; channel attention's L2 normalisation → ReduceSumSquare,
/// Sqrt, Max(1e-12), Reciprocal, Mul; AIM gates → ReduceMean / MatMul / Sigmoid; pixel shuffle → DepthToSpace (CRD).
public enum DATLightGraph {
    public static let inputName = "lr"
    public static let outputName = "sr"

    /// Why `plan` cannot be written as standard QDQ (one line per offending site), or [] when it can.
    public static func obstacles(_ plan: QParams) -> [String] {
        var out: [String] = []
        for s in plan.sites {
            if s.activationQuantized, let why = activationObstacle(s) { out.append("\(s.name): \(why)") }
            if s.weightQuantized, let l = s.layer,
               let why = SiteGraph.gridObstacle(scheme: l.weightScheme, bits: l.weightBits, rounding: l.rounding,
                                                lowers: l.weightLower, uppers: l.weightUpper, what: "weight") {
                out.append("\(s.name): \(why)")
            }
        }
        return out
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

    /// The graph for LR inputs of `height`×`width`. `weights` is the state dict `model` was built from; `plan` (nil: FP32)
    /// must have been calibrated for this model (the caller checks the binding).
    public static func build(model: DATLight, weights: [String: Tensor], plan: QParams?, height: Int, width: Int,
                             producerVersion: String, metadata: [(String, String)] = []) throws -> ONNXModel {
        guard height > 0, width > 0 else { throw QuantError("whole-model export: input size must be positive, got \(height)x\(width)") }
        if let plan {
            let obs = obstacles(plan)
            if !obs.isEmpty {
                throw QuantError("the QPARAMS cannot be written as standard ONNX QDQ at \(obs.count) site(s):\n  "
                                 + obs.prefix(8).joined(separator: "\n  ") + (obs.count > 8 ? "\n  …" : ""))
            }
        }
        var b = Builder(g: GraphBuilder(), w: weights, model: model, H: height, W: width,
                        sites: Dictionary(uniqueKeysWithValues: (plan?.sites ?? []).map { ($0.name, $0) }))
        let out = try b.forward()
        let s = model.scale
        let doc = "harmoq whole-model DAT-light x\(s), LR \(height)x\(width), "
            + (plan.map { "QDQ of QPARAMS method \($0.method) W\($0.weightBits)A\($0.activationBits)" } ?? "FP32")
        return b.g.model(name: "DAT-light-x\(s)", input: inputName, inputShape: [1, 3, height, width], output: out,
                         outputShape: [1, 3, height * s, width * s], doc: doc, producerVersion: producerVersion,
                         metadata: metadata)
    }

    struct Builder {
        let g: GraphBuilder
        let w: [String: Tensor]
        let model: DATLight
        let H: Int, W: Int
        let sites: [String: SiteQuantization]
        let C = 60, heads = 6, headDim = 10
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

        func conv(_ x: String, _ key: String, groups: Int = 1) throws -> String {
            let wt = try tensor(key + ".weight"), bias = try tensor(key + ".bias")
            let k = wt.shape[2], p = Int64(k / 2)
            let wn = g.floats(key + ".weight", dims: wt.shape, wt.data)
            let bn = g.floats(key + ".bias", dims: [bias.count], bias.data)
            var attrs = [ONNXAttribute("kernel_shape", .ints([Int64(k), Int64(k)])), ONNXAttribute("pads", .ints([p, p, p, p]))]
            if groups > 1 { attrs.append(ONNXAttribute("group", .int(Int64(groups)))) }
            return g.op("Conv", [x, wn, bn], key, attrs)
        }

        func layerNorm(_ x: String, _ key: String) throws -> String {
            let s = try tensor(key + ".weight"), b = try tensor(key + ".bias")
            return g.op("LayerNormalization", [x, g.floats(key + ".weight", dims: [s.count], s.data),
                                               g.floats(key + ".bias", dims: [b.count], b.data)], key,
                        [ONNXAttribute("axis", .int(-1)), ONNXAttribute("epsilon", .float(1e-5))])
        }

        /// BatchNorm (eval) as the engine applies it: x·scale + shift with `BatchNormEval`'s folded constants.
        /// `channelAxis1`: NCHW data (constants shaped (1, c, 1, 1)); otherwise tokens (constants (c)).
        func batchNorm(_ x: String, _ key: String, channelAxis1: Bool) throws -> String {
            let bn = BatchNormEval(weight: try tensor(key + ".weight").data, bias: try tensor(key + ".bias").data,
                                   runningMean: try tensor(key + ".running_mean").data,
                                   runningVar: try tensor(key + ".running_var").data)
            let c = bn.scale.count
            let dims = channelAxis1 ? [1, c, 1, 1] : [c]
            let scaled = g.mul(x, g.floats(key + ".folded_scale", dims: dims, bn.scale), key + ".scaled")
            return g.add(scaled, g.floats(key + ".folded_shift", dims: dims, bn.shift), key)
        }

        /// A 1×1 convolution applied to tokens (L, cin) as MatMul with the (cin, cout) weight + bias.
        func pointwise(_ x: String, _ key: String) throws -> String {
            let wt = try tensor(key + ".weight"), bias = try tensor(key + ".bias")
            let cout = wt.shape[0], cin = wt.shape[1]
            let m = g.op("MatMul", [x, g.floats(key + ".weight_t", dims: [cin, cout], SiteGraph.transpose(wt.data, rows: cout, cols: cin))],
                         key + ".matmul")
            return g.add(m, g.floats(key + ".bias", dims: [cout], bias.data), key)
        }

        /// QDQ of a quantized activation (per tensor, symmetric, zero point 0) — `QuantizedModel`'s hook: x ← Q(x ⊘ s).
        func quantize(_ x: String, site name: String, hso: [Float]?) throws -> String {
            guard let s = sites[name], s.activationQuantized else { return x }
            let q = try s.activationQuantizer()
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
                guard q.scheme == .symmetric else { throw QuantError("site \(name): \(activationObstacle(s) ?? "affine grid")") }
                zp = g.int8Scalar(0); lo = g.int8Scalar(Int8(q.codeMin)); hi = g.int8Scalar(Int8(q.codeMax))
            }
            var codes = g.op("QuantizeLinear", [v, scale, zp], name + ".x_q")
            if q.bits < 8 { codes = g.op("Clip", [codes, lo, hi], name + ".x_codes") }
            return g.op("DequantizeLinear", [codes, scale, zp], name + ".x_dq")
        }

        /// A Linear site on tokens (L, d): (QDQ of the input) · (weight: float, or int8 codes + per-channel DQ) + bias.
        /// Weight: the plan's (corrected) weight when the site is in the plan, else the state dict's; bias: the model's.
        func linear(_ x: String, _ name: String, bias biasKey: String, weightKey: String, rows: Range<Int>? = nil) throws -> String {
            let bias = try tensor(biasKey)
            let wt = try tensor(weightKey)
            var m = wt.shape[0]
            let d = wt.shape[1]
            var biasValues = bias.data
            var weightValues = wt.data
            if let r = rows {     // one part of a fused qkv weight (split-qkv plan)
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
            let input = try quantize(x, site: name, hso: s?.layer?.inputScale.flatMap { $0.count == d ? $0 : nil })
            let wName: String
            if let s, let l = s.layer {
                guard l.inputs == d, l.outputs == m else {
                    throw QuantError("QPARAMS site \(name) is \(l.outputs)x\(l.inputs), the model's weight is \(m)x\(d)")
                }
                if s.weightQuantized {
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

        /// ThreeConv on NCHW: Conv3×3 · LeakyReLU(0.2) · Conv1×1 · LeakyReLU(0.2) · Conv3×3.
        func threeConv(_ x: String, _ key: String) throws -> String {
            let lrelu = [ONNXAttribute("alpha", .float(0.2))]
            var a = try conv(x, key + ".0")
            a = g.op("LeakyRelu", [a], key + ".1", lrelu)
            a = try conv(a, key + ".2")
            a = g.op("LeakyRelu", [a], key + ".3", lrelu)
            return try conv(a, key + ".4")
        }

        // MARK: forward

        mutating func forward() throws -> String {
            _ = g.fresh(DATLightGraph.inputName)
            let mean: [Float] = [0.4488, 0.4371, 0.4040]
            let meanC = g.floats("rgb_mean", dims: [1, 3, 1, 1], mean)
            let x0 = g.op("Sub", [DATLightGraph.inputName, meanC], "input_minus_mean")
            let feat0 = try conv(x0, "conv_first")                                   // NCHW
            var tokens = try layerNorm(toTokens(feat0, C, "conv_first.tokens"), "before_RG.1")
            let res = tokens
            for blk in 0..<model.blockCount { tokens = try block(blk, tokens) }
            var grp = toTokens(try threeConv(toNCHW(tokens, C, "layers.0.conv.in"), "layers.0.conv"), C, "layers.0.conv.tokens")
            grp = g.add(grp, res, "layer0")
            let normed = try layerNorm(grp, "norm")
            var body = try threeConv(toNCHW(normed, C, "conv_after_body.in"), "conv_after_body")
            body = g.add(body, feat0, "conv_after_body.residual")
            let up = try conv(body, "upsample.0")
            let shuffled = g.op("DepthToSpace", [up], "pixel_shuffle",
                                [ONNXAttribute("blocksize", .int(Int64(model.scale))), ONNXAttribute("mode", .string("CRD"))])
            return g.op("Add", [shuffled, meanC], DATLightGraph.outputName)
        }

        mutating func block(_ b: Int, _ x: String) throws -> String {
            let p = "layers.0.blocks.\(b)", a = "\(p).attn"
            let xn = try layerNorm(x, "\(p).norm1")
            let q, k, v: String
            if sites["\(a).qkv.q"] != nil || sites["\(a).qkv.k"] != nil || sites["\(a).qkv.v"] != nil {
                q = try linear(xn, "\(a).qkv.q", bias: "\(a).qkv.bias", weightKey: "\(a).qkv.weight", rows: 0..<C)
                k = try linear(xn, "\(a).qkv.k", bias: "\(a).qkv.bias", weightKey: "\(a).qkv.weight", rows: C..<(2 * C))
                v = try linear(xn, "\(a).qkv.v", bias: "\(a).qkv.bias", weightKey: "\(a).qkv.weight", rows: (2 * C)..<(3 * C))
            } else {
                let qkv = try linear(xn, "\(a).qkv", bias: "\(a).qkv.bias", weightKey: "\(a).qkv.weight")
                q = g.slice(qkv, axis: 1, 0, C, "\(a).q_raw")
                k = g.slice(qkv, axis: 1, C, 2 * C, "\(a).k_raw")
                v = g.slice(qkv, axis: 1, 2 * C, 3 * C, "\(a).v_raw")
            }
            let mixed = b % 2 == 0 ? try spatialAttention(b, q, k, v) : try channelAttention(b, q, k, v)
            let attn = try linear(mixed, "\(a).proj", bias: "\(a).proj.bias", weightKey: "\(a).proj.weight")
            let x1 = g.add(x, attn, "\(p).attn_residual")
            // SGFN
            let xn2 = try layerNorm(x1, "\(p).norm2")
            let hidden = g.gelu(try linear(xn2, "\(p).ffn.fc1", bias: "\(p).ffn.fc1.bias", weightKey: "\(p).ffn.fc1.weight"),
                                "\(p).ffn.act")
            let h1 = g.slice(hidden, axis: 1, 0, C, "\(p).ffn.x1")
            let h2 = g.slice(hidden, axis: 1, C, 2 * C, "\(p).ffn.x2")
            let n2 = try layerNorm(h2, "\(p).ffn.sg.norm")
            let c2 = toTokens(try conv(toNCHW(n2, C, "\(p).ffn.sg.in"), "\(p).ffn.sg.conv", groups: C), C, "\(p).ffn.sg.tokens")
            let gated = g.mul(c2, h1, "\(p).ffn.gated")
            let f = try linear(gated, "\(p).ffn.fc2", bias: "\(p).ffn.fc2.bias", weightKey: "\(p).ffn.fc2.weight")
            return g.add(x1, f, "\(p).ffn_residual")
        }

        /// dwconv on raw v (L, C): depthwise 3×3 → BN → GELU, back to tokens.
        func dwconv(_ v: String, _ a: String) throws -> String {
            var y = try conv(toNCHW(v, C, "\(a).dwconv.in"), "\(a).dwconv.0", groups: C)
            y = try batchNorm(y, "\(a).dwconv.1", channelAxis1: true)
            return toTokens(g.gelu(y, "\(a).dwconv.2"), C, "\(a).dwconv.tokens")
        }

        /// sigmoid(channel_interaction(x)) for x (L, C): (1, C).
        func channelGate(_ x: String, _ a: String) throws -> String {
            let pooled = g.op("ReduceMean", [x], "\(a).channel_interaction.0", [ONNXAttribute("axes", .ints([0])),
                                                                                ONNXAttribute("keepdims", .int(1))])
            var y = try pointwise(pooled, "\(a).channel_interaction.1")
            y = g.gelu(try batchNorm(y, "\(a).channel_interaction.2", channelAxis1: false), "\(a).channel_interaction.3")
            return g.op("Sigmoid", [try pointwise(y, "\(a).channel_interaction.4")], "\(a).channel_gate")
        }

        /// sigmoid(spatial_interaction(x)) for x (L, C): (L, 1).
        func spatialGate(_ x: String, _ a: String) throws -> String {
            var y = try pointwise(x, "\(a).spatial_interaction.0")
            y = g.gelu(try batchNorm(y, "\(a).spatial_interaction.1", channelAxis1: false), "\(a).spatial_interaction.2")
            return g.op("Sigmoid", [try pointwise(y, "\(a).spatial_interaction.3")], "\(a).spatial_gate")
        }

        mutating func spatialAttention(_ b: Int, _ q: String, _ k: String, _ v: String) throws -> String {
            let a = "layers.0.blocks.\(b).attn"
            let half = C / 2, hh = heads / 2, hd = headDim
            let zeroRow = g.cached("zero_row") { g.floats("zero_row_\(half)", dims: [1, half], [Float](repeating: 0, count: half)) }
            var outs: [String] = []
            for br in 0..<2 {
                guard let lay = model.spatialWindowLayout(block: b, branch: br, height: H, width: W) else {
                    throw QuantError("whole-model export: block \(b) is not a spatial block")
                }
                let N = lay.tokensPerWindow, nW = lay.windowCount
                let n = "\(a).attns.\(br)"
                // Pad + roll + partition as one row gather: row L of the extended matrix is the zero padding.
                var gather = [Int64](repeating: Int64(L), count: nW * N)
                var inverse = [Int64](repeating: 0, count: L)
                for (i, s) in lay.source.enumerated() { if let s { gather[i] = Int64(s); inverse[s] = Int64(i) } }
                let layoutKey = "branch\(br)_" + (lay.regions == nil ? "unshifted" : "shifted")
                let gIdx = g.cached("gather_" + layoutKey) { g.int64s("window_gather.\(layoutKey)", dims: [nW * N], gather) }
                func windows(_ x: String, _ tag: String, scaled: Bool) -> String {
                    var part = g.slice(x, axis: 1, br * half, (br + 1) * half, "\(n).\(tag)_channels")
                    if scaled { part = g.mul(part, g.scalar(lay.qScale), "\(n).\(tag)_scaled") }
                    let ext = g.concat([part, zeroRow], axis: 0, "\(n).\(tag)_padded")
                    let rows = g.op("Gather", [ext, gIdx], "\(n).\(tag)_gathered", [ONNXAttribute("axis", .int(0))])
                    return g.transpose(g.reshape(rows, [nW, N, hh, hd], "\(n).\(tag)_windows"), [0, 2, 1, 3], "\(n).\(tag)_heads")
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
                guard let bias = model.spatialPositionBias(block: b, branch: br) else {
                    throw QuantError("whole-model export: block \(b) has no position bias")
                }
                logits = g.add(logits, g.floats("\(n).position_bias", dims: [hh, N, N], bias), "\(n).logits_biased")
                let probs = try quantize(g.op("Softmax", [logits], "\(n).probs_fp", [ONNXAttribute("axis", .int(-1))]),
                                         site: "\(n).probs", hso: nil)
                let o = g.op("MatMul", [probs, vw], "\(n).out_heads")
                let rows = g.reshape(g.transpose(o, [0, 2, 1, 3], "\(n).out_windows"), [nW * N, half], "\(n).out_rows")
                let scatter = g.cached("scatter_" + layoutKey) { g.int64s("window_scatter.\(layoutKey)", dims: [L], inverse) }
                outs.append(g.op("Gather", [rows, scatter], "\(n).out",
                                 [ONNXAttribute("axis", .int(0))]))
            }
            let attened = g.concat(outs, axis: 1, "\(a).attened")
            let convX = try dwconv(v, a)
            let cGate = try channelGate(convX, a)
            let sGate = try spatialGate(attened, a)
            // attened·σ(C-map)[c] + σ(S-map)[l]·conv
            return g.add(g.mul(attened, cGate, "\(a).attened_gated"), g.mul(convX, sGate, "\(a).conv_gated"), "\(a).mixed")
        }

        mutating func channelAttention(_ b: Int, _ q: String, _ k: String, _ v: String) throws -> String {
            let a = "layers.0.blocks.\(b).attn"
            let hd = headDim
            func normalized(_ x: String, _ tag: String) -> String {
                let ss = g.op("ReduceSumSquare", [x], "\(a).\(tag)_sumsq", [ONNXAttribute("axes", .ints([0])),
                                                                           ONNXAttribute("keepdims", .int(1))])
                let norm = g.op("Max", [g.op("Sqrt", [ss], "\(a).\(tag)_l2"), g.scalar(1e-12)], "\(a).\(tag)_l2_clamped")
                return g.mul(x, g.op("Reciprocal", [norm], "\(a).\(tag)_inv_l2"), "\(a).\(tag)_normalized")
            }
            let qn = try quantize(normalized(q, "q"), site: "\(a).q", hso: nil)
            let kn = try quantize(normalized(k, "k"), site: "\(a).k", hso: nil)
            let vq = try quantize(v, site: "\(a).v", hso: nil)
            let q3 = g.transpose(g.reshape(qn, [L, heads, hd], "\(a).q_heads"), [1, 2, 0], "\(a).q_t")   // (h, hd, L)
            let k3 = g.transpose(g.reshape(kn, [L, heads, hd], "\(a).k_heads"), [1, 0, 2], "\(a).k_t")   // (h, L, hd)
            var attn = g.op("MatMul", [q3, k3], "\(a).gram")                                              // (h, hd, hd)
            let temp = try tensor("\(a).temperature")
            attn = g.mul(attn, g.floats("\(a).temperature", dims: [heads, 1, 1], temp.data), "\(a).gram_scaled")
            let probs = try quantize(g.op("Softmax", [attn], "\(a).probs_fp", [ONNXAttribute("axis", .int(-1))]),
                                     site: "\(a).probs", hso: nil)
            let v3 = g.transpose(g.reshape(vq, [L, heads, hd], "\(a).v_heads"), [1, 2, 0], "\(a).v_t")  // (h, hd, L)
            let o = g.op("MatMul", [probs, v3], "\(a).out_heads")                                         // (h, hd, L)
            let attened = g.reshape(g.transpose(o, [2, 0, 1], "\(a).out_tokens"), [L, C], "\(a).attened")
            let convX = try dwconv(v, a)
            let sGate = try spatialGate(convX, a)
            let cGate = try channelGate(attened, a)
            // attened·σ(S-map)[l] + conv·σ(C-map)[c]
            return g.add(g.mul(attened, sGate, "\(a).attened_gated"), g.mul(convX, cGate, "\(a).conv_gated"), "\(a).mixed")
        }
    }
}
