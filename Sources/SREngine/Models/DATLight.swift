import Foundation
import SRIO

/// DAT-light (zhengchen1999/DAT): embed_dim 60, one residual group of 18 DATB blocks, 6 heads,
/// expansion 2, split_size [8, 32], resi_connection '3conv', upsampler 'pixelshuffledirect'.
/// No image padding: the spatial blocks pad q, k, v internally.
public final class DATLight: SRModel {
    public let architecture = Architecture.datLight
    public let scale: Int
    public var hook: ActivationHook?
    /// nil: every Linear site runs the float GEMM (see `LinearExecutor`).
    public var linearExecutor: LinearExecutor? { didSet { table.setExecutor(linearExecutor) } }
    /// nil: attention matmuls in float (see `OperandProductExecutor`).
    public var operandExecutor: OperandProductExecutor? { didSet { table.operandExecutor = operandExecutor } }
    public var sites: [Site] { table.sites }

    let dim = 60
    static let mean: [Float] = [0.4488, 0.4371, 0.4040]
    let table = SiteTable()
    let convFirst: Convolution.Dense
    let beforeRG: LayerNorm
    let blocks: [DATBlock]
    let groupConv: ThreeConv
    let norm: LayerNorm
    let convAfterBody: ThreeConv
    let upsample: Convolution.Dense

    /// Builds the model from a state dict; throws naming every missing, mis-shaped or unexpected key.
    /// `splitQKV`: expose each block's qkv Linear as three 60→60 sites `….attn.qkv.q/.k/.v`;
    /// the FP forward is identical either way.
    public init(weights: [String: Tensor], scale: Int, splitQKV: Bool = false, depth: Int = 18) throws {
        guard [2, 3, 4].contains(scale) else { throw EngineError("DAT-light: unsupported scale \(scale) (2, 3 or 4)") }
        self.scale = scale
        let s = WeightStore(weights)
        convFirst = Convolution.Dense(weight: s.take("conv_first.weight", [dim, 3, 3, 3]), bias: s.vector("conv_first.bias", dim))
        beforeRG = LayerNorm(weight: s.vector("before_RG.1.weight", dim), bias: s.vector("before_RG.1.bias", dim))
        var bs: [DATBlock] = []
        for b in 0..<depth { bs.append(DATBlock(s, prefix: "layers.0.blocks.\(b)", index: b, splitQKV: splitQKV, sites: table)) }
        blocks = bs
        groupConv = ThreeConv(s, "layers.0.conv", dim: dim)
        norm = LayerNorm(weight: s.vector("norm.weight", dim), bias: s.vector("norm.bias", dim))
        convAfterBody = ThreeConv(s, "conv_after_body", dim: dim)
        upsample = Convolution.Dense(weight: s.take("upsample.0.weight", [3 * scale * scale, dim, 3, 3]),
                                     bias: s.vector("upsample.0.bias", 3 * scale * scale))
        try s.finish(model: "DAT-light x\(scale)") { k in
            k.hasSuffix("num_batches_tracked") || k.hasSuffix("relative_position_index")
                || k.hasSuffix("attn_mask_0") || k.hasSuffix("attn_mask_1")
        }
    }

    public func forward(_ input: Tensor, stages: StageSink? = nil) throws -> Tensor {
        let (h, w) = try Self.checkInput(input)
        let L = h * w, C = dim
        // (x − mean) · img_range, channels-last.
        var x = [Float](repeating: 0, count: L * 3)
        for c in 0..<3 { for l in 0..<L { x[l * 3 + c] = input.data[c * L + l] - Self.mean[c] } }
        let feat0 = convFirst.apply(x, height: h, width: w)
        stages?("conv_first", Layout.nchw(feat0, channels: C, height: h, width: w))
        var tokens = beforeRG.apply(feat0)
        stages?("before_RG", Layout.tokens(tokens, channels: C))
        let res = tokens
        for blk in blocks {
            let name = "block\(blk.index)"
            blk.forward(&tokens, height: h, width: w, hook: hook, sites: table,
                        attnOut: stages.map { sink in { a in sink(name + "_attn", Layout.tokens(a, channels: C)) } })
            stages?(name, Layout.tokens(tokens, channels: C))
        }
        var g = groupConv.apply(tokens, height: h, width: w)
        for i in 0..<(L * C) { g[i] += res[i] }
        stages?("layer0", Layout.tokens(g, channels: C))
        let normed = norm.apply(g)
        stages?("norm", Layout.tokens(normed, channels: C))
        var body = convAfterBody.apply(normed, height: h, width: w)
        for i in 0..<(L * C) { body[i] += feat0[i] }
        stages?("conv_after_body", Layout.nchw(body, channels: C, height: h, width: w))
        let up = upsample.apply(body, height: h, width: w)
        stages?("upsample_conv", Layout.nchw(up, channels: 3 * scale * scale, height: h, width: w))
        var out = PixelShuffle.toNCHW(up, height: h, width: w, outChannels: 3, scale: scale)
        let plane = h * scale * w * scale
        for c in 0..<3 { for i in 0..<plane { out[c * plane + i] += Self.mean[c] } }
        let result = Tensor(shape: [1, 3, h * scale, w * scale], data: out)
        stages?("output", result)
        return result
    }

    public func linearWeight(_ site: Site) throws -> (weight: Tensor, bias: Tensor?) { try table.weight(site) }
    public func setLinearWeight(_ site: Site, _ weight: Tensor) throws { try table.setWeight(site, weight) }
    public func setLinearBias(_ site: Site, _ bias: Tensor) throws { try table.setBias(site, bias) }
    public func restoreOriginalWeights() { table.restoreAll() }

    /// (1, 3, H, W) with finite values; returns (H, W).
    static func checkInput(_ t: Tensor) throws -> (Int, Int) {
        guard t.rank == 4, t.shape[0] == 1, t.shape[1] == 3, t.shape[2] > 0, t.shape[3] > 0 else {
            throw EngineError("model input must have shape (1, 3, H, W), got \(t.shape)")
        }
        guard t.data.allSatisfy({ $0.isFinite }) else { throw EngineError("model input contains NaN or infinity") }
        return (t.shape[2], t.shape[3])
    }
}

/// Conversions from channels-last buffers to the reference layouts.
enum Layout {
    static func nchw(_ x: [Float], channels c: Int, height h: Int, width w: Int) -> Tensor {
        var out = [Float](repeating: 0, count: x.count)
        let L = h * w
        for l in 0..<L { for ch in 0..<c { out[ch * L + l] = x[l * c + ch] } }
        return Tensor(shape: [1, c, h, w], data: out)
    }

    static func tokens(_ x: [Float], channels c: Int) -> Tensor {
        Tensor(shape: [1, x.count / c, c], data: x)
    }
}
