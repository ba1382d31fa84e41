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

    /// The graph for LR inputs of `height`×`width`. `weights` is the state dict `model` was built from; `plan` (nil: FP32)
    /// must have been calibrated for this model (the caller checks the binding).
    public static func build(model: DATLight, weights: [String: Tensor], plan: QParams?, height: Int, width: Int,
                             producerVersion: String, metadata: [(String, String)] = []) throws -> ONNXModel {
        let sites = try WholeModelFrame.sites(height: height, width: width, plan: plan)
        var b = Builder(g: GraphBuilder(), w: weights, model: model, H: height, W: width, sites: sites)
        let out = try b.forward()
        return WholeModelFrame.model(b.g, architecture: "DAT-light", scale: model.scale, input: inputName, output: out, height: height,
                                     width: width, grid: "", plan: plan, producerVersion: producerVersion, metadata: metadata)
    }

    /// Engine stage name (`DATLight.forward`'s stage sink, tokens L × 60) → the graph value holding the same tensor:
    /// every block's attention output (after proj) and output.
    public static func stageValues(_ model: DATLight) -> [(stage: String, value: String)] {
        (0..<model.blockCount).flatMap { b in
            [("block\(b)_attn", "layers.0.blocks.\(b).attn.proj"), ("block\(b)", "layers.0.blocks.\(b).ffn_residual")]
        }
    }

    struct Builder: ModelGraphWriter {
        let g: GraphBuilder
        let w: [String: Tensor]
        let model: DATLight
        let H: Int, W: Int
        let sites: [String: SiteQuantization]
        let C = 60, heads = 6, headDim = 10

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
            let (q, k, v) = try qkv(xn, attention: a, channels: C)
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
            var outs: [String] = []
            for br in 0..<2 {
                guard let lay = model.spatialWindowLayout(block: b, branch: br, height: H, width: W) else {
                    throw QuantError("whole-model export: block \(b) is not a spatial block")
                }
                guard let bias = model.spatialPositionBias(block: b, branch: br) else {
                    throw QuantError("whole-model export: block \(b) has no position bias")
                }
                let n = "\(a).attns.\(br)"
                func channels(_ x: String, _ tag: String) -> String {
                    g.slice(x, axis: 1, br * half, (br + 1) * half, "\(n).\(tag)_channels")
                }
                outs.append(try windowAttention(q: channels(q, "q"), k: channels(k, "k"), v: channels(v, "v"), lay: lay,
                                                layoutKey: "branch\(br)_" + (lay.regions == nil ? "unshifted" : "shifted"),
                                                heads: hh, headDim: hd, bias: bias, prefix: n))
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
