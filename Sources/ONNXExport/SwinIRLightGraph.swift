import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO

/// The whole SwinIR-light forward as one ONNX graph (opset 17), op by op as `SwinIRLight.forward` / `SwinBlock.forward`
/// compute it, for one fixed LR size H0×W0: reflect padding (bottom/right) to a multiple of the 8×8 window → Sub mean →
/// conv_first → patch_embed LayerNorm → 4 residual groups of 6 Swin blocks (LayerNorm, qkv, window attention — shifted
/// by (−4, −4) with the −100 region mask in odd blocks —, proj, residual; LayerNorm, fc1, GELU, fc2, residual) and the
/// group's 3×3 conv + residual → LayerNorm → conv_after_body + conv_first's output → upsample conv → DepthToSpace (CRD)
/// → Add mean → crop back to s·H0 × s·W0.
/// FP32, or with a QPARAMS plan: the same standard QDQ as `DATLightGraph` (`ModelGraphWriter.quantize` / `.linear`)
/// on every quantized Linear site (qkv or its q/k/v parts, proj, fc1, fc2) and matmul operand (q after ×head_dim^−0.5,
/// k, v, probs).
public enum SwinIRLightGraph {
    public static let inputName = "lr"
    public static let outputName = "sr"

    /// The graph for LR inputs of `height`×`width`. `weights` is the state dict `model` was built from; `plan` (nil: FP32)
    /// must have been calibrated for this model (the caller checks the binding).
    public static func build(model: SwinIRLight, weights: [String: Tensor], plan: QParams?, height: Int, width: Int,
                             producerVersion: String, metadata: [(String, String)] = []) throws -> ONNXModel {
        let sites = try WholeModelFrame.sites(height: height, width: width, plan: plan)
        let (ph, pw) = try model.paddedSize(height: height, width: width)
        var b = Builder(g: GraphBuilder(), w: weights, model: model, H: ph, W: pw, H0: height, W0: width, sites: sites)
        let out = try b.forward()
        return WholeModelFrame.model(b.g, architecture: "SwinIR-light", scale: model.scale, input: inputName, output: out, height: height,
                                     width: width, grid: " (reflect-padded to \(ph)x\(pw))", plan: plan, producerVersion: producerVersion,
                                     metadata: metadata)
    }

    /// Engine stage name (`SwinIRLight.forward`'s stage sink, tokens on the padded grid) → the graph value holding the
    /// same tensor: every block's output and every residual group's output.
    public static func stageValues(_ model: SwinIRLight) -> [(stage: String, value: String)] {
        var out: [(String, String)] = []
        for (i, d) in model.layerDepths.enumerated() {
            for j in 0..<d { out.append(("layer\(i)_block\(j)", "layers.\(i).residual_group.blocks.\(j).mlp_residual")) }
            out.append(("layer\(i)", "layers.\(i).residual"))
        }
        return out
    }

    struct Builder: ModelGraphWriter {
        let g: GraphBuilder
        let w: [String: Tensor]
        let model: SwinIRLight
        /// The reflect-padded grid the layers run on, and the input size.
        let H: Int, W: Int
        let H0: Int, W0: Int
        let sites: [String: SiteQuantization]
        let C = 60, heads = 6, headDim = 10

        mutating func forward() throws -> String {
            _ = g.fresh(SwinIRLightGraph.inputName)
            var x = SwinIRLightGraph.inputName
            if H != H0 || W != W0 {      // F.pad(x, (0, pw, 0, ph), 'reflect')
                x = g.op("Pad", [x, g.shape([0, 0, 0, 0, 0, 0, H - H0, W - W0])], "input_padded",
                         [ONNXAttribute("mode", .string("reflect"))])
            }
            let meanC = g.floats("rgb_mean", dims: [1, 3, 1, 1], [0.4488, 0.4371, 0.4040])
            let x0 = g.op("Sub", [x, meanC], "input_minus_mean")
            let feat0 = try conv(x0, "conv_first")                                        // NCHW
            var tokens = try layerNorm(toTokens(feat0, C, "conv_first.tokens"), "patch_embed.norm")
            for (i, depth) in model.layerDepths.enumerated() {
                let res = tokens
                for j in 0..<depth { tokens = try block(i, j, tokens) }
                let c = toTokens(try conv(toNCHW(tokens, C, "layers.\(i).conv.in"), "layers.\(i).conv"), C, "layers.\(i).conv.tokens")
                tokens = g.add(c, res, "layers.\(i).residual")
            }
            let normed = try layerNorm(tokens, "norm")
            var body = try conv(toNCHW(normed, C, "conv_after_body.in"), "conv_after_body")
            body = g.add(body, feat0, "conv_after_body.residual")
            let up = try conv(body, "upsample.0")
            let s = model.scale
            let shuffled = g.op("DepthToSpace", [up], "pixel_shuffle",
                                [ONNXAttribute("blocksize", .int(Int64(s))), ONNXAttribute("mode", .string("CRD"))])
            guard H != H0 || W != W0 else { return g.op("Add", [shuffled, meanC], SwinIRLightGraph.outputName) }
            let padded = g.op("Add", [shuffled, meanC], "output_padded")
            return g.op("Slice", [padded, g.shape([0, 0]), g.shape([H0 * s, W0 * s]), g.shape([2, 3])], SwinIRLightGraph.outputName)
        }

        mutating func block(_ i: Int, _ j: Int, _ x: String) throws -> String {
            let p = "layers.\(i).residual_group.blocks.\(j)", a = "\(p).attn"
            let xn = try layerNorm(x, "\(p).norm1")
            let (q, k, v) = try qkv(xn, attention: a, channels: C)
            guard let lay = model.windowLayout(layer: i, block: j, height: H, width: W),
                  let bias = model.positionBias(layer: i, block: j) else {
                throw QuantError("whole-model export: SwinIR-light has no block \(i).\(j) for a \(H)x\(W) grid")
            }
            let mixed = try windowAttention(q: q, k: k, v: v, lay: lay, layoutKey: lay.regions == nil ? "unshifted" : "shifted",
                                            heads: heads, headDim: headDim, bias: bias, prefix: a)
            let attn = try linear(mixed, "\(a).proj", bias: "\(a).proj.bias", weightKey: "\(a).proj.weight")
            let x1 = g.add(x, attn, "\(p).attn_residual")
            let xn2 = try layerNorm(x1, "\(p).norm2")
            let hidden = g.gelu(try linear(xn2, "\(p).mlp.fc1", bias: "\(p).mlp.fc1.bias", weightKey: "\(p).mlp.fc1.weight"),
                                "\(p).mlp.act")
            let f = try linear(hidden, "\(p).mlp.fc2", bias: "\(p).mlp.fc2.bias", weightKey: "\(p).mlp.fc2.weight")
            return g.add(x1, f, "\(p).mlp_residual")
        }
    }
}
