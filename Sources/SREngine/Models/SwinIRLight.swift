import Foundation
import SRIO

/// SwinIR-light (JingyunLiang/SwinIR network_swinir.py): embed_dim 60, depths [6,6,6,6], 6 heads,
/// window 8, mlp_ratio 2, upsampler 'pixelshuffledirect', resi_connection '1conv'.
/// The input is reflect-padded at the bottom/right to a multiple of 8 and the output cropped back.
public final class SwinIRLight: SRModel {
    public let architecture = Architecture.swinIRLight
    public let scale: Int
    public var hook: ActivationHook?
    /// nil: every Linear site runs the float GEMM (see `LinearExecutor`).
    public var linearExecutor: LinearExecutor? { didSet { table.setExecutor(linearExecutor) } }
    /// nil: attention matmuls in float (see `OperandProductExecutor`).
    public var operandExecutor: OperandProductExecutor? { didSet { table.operandExecutor = operandExecutor } }
    public var sites: [Site] { table.sites }

    let dim = 60, heads = 6, headDim = 10, window = 8
    static let mean: [Float] = [0.4488, 0.4371, 0.4040]
    let table = SiteTable()
    let convFirst: Convolution.Dense
    let patchNorm: LayerNorm
    let layers: [[SwinBlock]]
    let layerConvs: [Convolution.Dense]
    let norm: LayerNorm
    let convAfterBody: Convolution.Dense
    let upsample: Convolution.Dense

    /// `splitQKV`: expose each block's qkv Linear as three 60→60 sites `….attn.qkv.q/.k/.v`
    /// (2DQuant's `qkv_separation`); the FP forward is identical either way.
    public init(weights: [String: Tensor], scale: Int, splitQKV: Bool = false, depths: [Int] = [6, 6, 6, 6]) throws {
        guard [2, 3, 4].contains(scale) else { throw EngineError("SwinIR-light: unsupported scale \(scale) (2, 3 or 4)") }
        self.scale = scale
        let s = WeightStore(weights)
        convFirst = Convolution.Dense(weight: s.take("conv_first.weight", [dim, 3, 3, 3]), bias: s.vector("conv_first.bias", dim))
        patchNorm = LayerNorm(weight: s.vector("patch_embed.norm.weight", dim), bias: s.vector("patch_embed.norm.bias", dim))
        var ls: [[SwinBlock]] = [], convs: [Convolution.Dense] = []
        for (i, d) in depths.enumerated() {
            var blocks: [SwinBlock] = []
            for j in 0..<d {
                blocks.append(SwinBlock(s, prefix: "layers.\(i).residual_group.blocks.\(j)", shifted: j % 2 == 1,
                                        splitQKV: splitQKV, sites: table))
            }
            ls.append(blocks)
            convs.append(Convolution.Dense(weight: s.take("layers.\(i).conv.weight", [dim, dim, 3, 3]),
                                           bias: s.vector("layers.\(i).conv.bias", dim)))
        }
        layers = ls
        layerConvs = convs
        norm = LayerNorm(weight: s.vector("norm.weight", dim), bias: s.vector("norm.bias", dim))
        convAfterBody = Convolution.Dense(weight: s.take("conv_after_body.weight", [dim, dim, 3, 3]),
                                          bias: s.vector("conv_after_body.bias", dim))
        upsample = Convolution.Dense(weight: s.take("upsample.0.weight", [3 * scale * scale, dim, 3, 3]),
                                     bias: s.vector("upsample.0.bias", 3 * scale * scale))
        try s.finish(model: "SwinIR-light x\(scale)") { k in
            k.hasSuffix("relative_position_index") || k.hasSuffix("attn_mask")
        }
    }

    public func forward(_ input: Tensor, stages: StageSink? = nil) throws -> Tensor {
        let (h0, w0) = try DATLight.checkInput(input)
        let (h, w) = try paddedSize(height: h0, width: w0)
        let L = h * w, C = dim
        // F.pad(x, (0, pw, 0, ph), 'reflect'): padded index r ≥ n maps to 2n − 2 − r.
        var padded = [Float](repeating: 0, count: 3 * L)
        for c in 0..<3 { for y in 0..<h { for x in 0..<w {
            let sy = y < h0 ? y : 2 * h0 - 2 - y, sx = x < w0 ? x : 2 * w0 - 2 - x
            padded[(c * h + y) * w + x] = input.data[(c * h0 + sy) * w0 + sx]
        }}}
        stages?("input_padded", Tensor(shape: [1, 3, h, w], data: padded))
        var x = [Float](repeating: 0, count: L * 3)
        for c in 0..<3 { for l in 0..<L { x[l * 3 + c] = padded[c * L + l] - Self.mean[c] } }
        let feat0 = convFirst.apply(x, height: h, width: w)
        stages?("conv_first", Layout.nchw(feat0, channels: C, height: h, width: w))
        var tokens = patchNorm.apply(feat0)
        stages?("patch_embed", Layout.tokens(tokens, channels: C))
        for (i, blocks) in layers.enumerated() {
            let res = tokens
            for (j, blk) in blocks.enumerated() {
                blk.forward(&tokens, height: h, width: w, hook: hook, sites: table)
                stages?("layer\(i)_block\(j)", Layout.tokens(tokens, channels: C))
            }
            var conv = layerConvs[i].apply(tokens, height: h, width: w)
            for k in 0..<(L * C) { conv[k] += res[k] }
            tokens = conv
            stages?("layer\(i)", Layout.tokens(tokens, channels: C))
        }
        let normed = norm.apply(tokens)
        stages?("norm", Layout.tokens(normed, channels: C))
        var body = convAfterBody.apply(normed, height: h, width: w)
        for k in 0..<(L * C) { body[k] += feat0[k] }
        stages?("conv_after_body", Layout.nchw(body, channels: C, height: h, width: w))
        let up = upsample.apply(body, height: h, width: w)
        stages?("upsample_conv", Layout.nchw(up, channels: 3 * scale * scale, height: h, width: w))
        var out = PixelShuffle.toNCHW(up, height: h, width: w, outChannels: 3, scale: scale)
        let H = h * scale, W = w * scale
        for c in 0..<3 { for i in 0..<(H * W) { out[c * H * W + i] += Self.mean[c] } }
        stages?("output_padded", Tensor(shape: [1, 3, H, W], data: out))
        let Hc = h0 * scale, Wc = w0 * scale
        var cropped = [Float](repeating: 0, count: 3 * Hc * Wc)
        for c in 0..<3 { for y in 0..<Hc { for x in 0..<Wc { cropped[(c * Hc + y) * Wc + x] = out[(c * H + y) * W + x] } } }
        let result = Tensor(shape: [1, 3, Hc, Wc], data: cropped)
        stages?("output", result)
        return result
    }

    /// The grid an h0 × w0 input is reflect-padded to (bottom/right, to a multiple of the window); throws when the
    /// padding would need more rows or columns than reflect padding has (pad ≥ size).
    public func paddedSize(height h0: Int, width w0: Int) throws -> (height: Int, width: Int) {
        let ph = (window - h0 % window) % window, pw = (window - w0 % window) % window
        guard h0 > 0, w0 > 0, ph < h0, pw < w0 else {
            throw EngineError("SwinIR-light: input \(h0)x\(w0) is too small for reflect padding to a multiple of \(window)")
        }
        return (h0 + ph, w0 + pw)
    }

    public func linearWeight(_ site: Site) throws -> (weight: Tensor, bias: Tensor?) { try table.weight(site) }
    public func setLinearWeight(_ site: Site, _ weight: Tensor) throws { try table.setWeight(site, weight) }
    public func setLinearBias(_ site: Site, _ bias: Tensor) throws { try table.setBias(site, bias) }
    public func restoreOriginalWeights() { table.restoreAll() }
}

/// One Swin Transformer block: x += proj(W-MSA/SW-MSA(norm1(x))); x += fc2(GELU(fc1(norm2(x)))).
final class SwinBlock {
    let dim = 60, heads = 6, headDim = 10, window = 8
    let shifted: Bool
    let norm1: LayerNorm, norm2: LayerNorm
    let qkv: QKVProjection, proj: Linear, fc1: Linear, fc2: Linear
    let bias: [Float]
    let qSite: Int, kSite: Int, vSite: Int, probsSite: Int, projSite: Int, fc1Site: Int, fc2Site: Int

    init(_ s: WeightStore, prefix p: String, shifted: Bool, splitQKV: Bool, sites: SiteTable) {
        self.shifted = shifted
        let a = "\(p).attn"
        norm1 = LayerNorm(weight: s.vector("\(p).norm1.weight", dim), bias: s.vector("\(p).norm1.bias", dim))
        norm2 = LayerNorm(weight: s.vector("\(p).norm2.weight", dim), bias: s.vector("\(p).norm2.bias", dim))
        qkv = QKVProjection(weight: s.take("\(a).qkv.weight", [3 * dim, dim]), bias: s.take("\(a).qkv.bias", [3 * dim]),
                            split: splitQKV)
        proj = Linear(weight: s.take("\(a).proj.weight", [dim, dim]), bias: s.take("\(a).proj.bias", [dim]))
        fc1 = Linear(weight: s.take("\(p).mlp.fc1.weight", [2 * dim, dim]), bias: s.take("\(p).mlp.fc1.bias", [2 * dim]))
        fc2 = Linear(weight: s.take("\(p).mlp.fc2.weight", [dim, 2 * dim]), bias: s.take("\(p).mlp.fc2.bias", [dim]))
        let t = s.take("\(a).relative_position_bias_table", [(2 * window - 1) * (2 * window - 1), heads]).data
        bias = DynamicPosBias.expand(table: t, heads: heads, windowH: window, windowW: window)
        qkv.register(sites, name: "\(a).qkv")
        qSite = sites.addOperand("\(a).q")
        kSite = sites.addOperand("\(a).k")
        vSite = sites.addOperand("\(a).v")
        probsSite = sites.addOperand("\(a).probs")
        projSite = sites.addLinear("\(a).proj", proj)
        fc1Site = sites.addLinear("\(p).mlp.fc1", fc1)
        fc2Site = sites.addLinear("\(p).mlp.fc2", fc2)
    }

    /// head_dim^−0.5, multiplied into q before q·kᵀ.
    var attentionScale: Float { Float(pow(Double(headDim), -0.5)) }

    /// The windows on the (already reflect-padded, h × w) grid: 8×8, rolled by (−4, −4) in shifted blocks.
    func windowGeometry(height h: Int, width w: Int) -> WindowGeometry {
        let shift = shifted ? window / 2 : 0
        return WindowGeometry(height: h, width: w, paddedHeight: h, paddedWidth: w, windowH: window, windowW: window,
                              shiftH: shift, shiftW: shift)
    }

    func forward(_ x: inout [Float], height h: Int, width w: Int, hook: ActivationHook?, sites: SiteTable) {
        let L = h * w, C = dim
        var xn = norm1.apply(x)
        let qkvOut = qkv.apply(&xn, rows: L, hook: hook, table: sites)
        let att = WindowAttention(geometry: windowGeometry(height: h, width: w), heads: heads, headDim: headDim, scale: attentionScale,
                                  bias: bias, qSite: qSite, kSite: kSite, vSite: vSite, probsSite: probsSite)
        var mixed = [Float](repeating: 0, count: L * C)
        qkvOut.withUnsafeBufferPointer { q in mixed.withUnsafeMutableBufferPointer { o in
            att.run(qkv: q.baseAddress!, ld: 3 * C, qOff: 0, kOff: C, vOff: 2 * C, out: o.baseAddress!, ldo: C, outOff: 0,
                    hook: hook, table: sites)
        }}
        var a = [Float](repeating: 0, count: L * C)
        mixed.withUnsafeMutableBufferPointer { sites.call(hook, projSite, $0.baseAddress!, rows: L, cols: C) }
        mixed.withUnsafeBufferPointer { i in a.withUnsafeMutableBufferPointer { o in
            proj.apply(i.baseAddress!, rows: L, into: o.baseAddress!) } }
        DATBlock.addInPlace(&x, a)
        var xn2 = norm2.apply(x)
        var hidden = Buffer.uninitialized(L * 2 * C)
        xn2.withUnsafeMutableBufferPointer { sites.call(hook, fc1Site, $0.baseAddress!, rows: L, cols: C) }
        xn2.withUnsafeBufferPointer { i in hidden.withUnsafeMutableBufferPointer { o in
            fc1.apply(i.baseAddress!, rows: L, into: o.baseAddress!)
            Activations.gelu(o.baseAddress!, count: o.count)
        }}
        hidden.withUnsafeMutableBufferPointer { sites.call(hook, fc2Site, $0.baseAddress!, rows: L, cols: 2 * C) }
        var f = [Float](repeating: 0, count: L * C)
        hidden.withUnsafeBufferPointer { i in f.withUnsafeMutableBufferPointer { o in
            fc2.apply(i.baseAddress!, rows: L, into: o.baseAddress!) } }
        DATBlock.addInPlace(&x, f)
    }
}
