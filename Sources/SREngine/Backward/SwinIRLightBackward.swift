import Foundation
import SRIO

/// SwinIR-light with a backward pass: a forward that reproduces `SwinIRLight.forward` (FP: the same arithmetic) while
/// keeping what the backward needs, optional differentiable quantizers at every site (`quantizers`, e.g. 2DQuant's 384
/// at the split-qkv sites), and a backward giving dL/d input, dL/d every learnable parameter (official state-dict
/// names) and dL/d every Swin block output.
///
/// Forward: reflect pad (bottom/right) to a multiple of 8 → −mean → conv_first → patch_embed LayerNorm → 4 RSTB
/// (6 Swin blocks, conv 3×3, + RSTB input) → norm → conv_after_body + conv_first output → upsample conv →
/// PixelShuffle → + mean → crop. The backward runs the chain in reverse; the reflect pad scatters back into the input.
public final class SwinIRLightBackward {
    public let scale: Int
    public let dim = 60
    public let window = 8
    public var quantizers: SiteQuantizers
    /// blocks[i][j] = RSTB i, Swin block j.
    public let blocks: [[SwinIRBlockBackward]]
    let weights: [String: Tensor]
    let convFirst: Convolution.Dense, convFirstB: DenseConvBackward
    let patchNorm: LayerNorm, norm: LayerNorm
    let layerConvs: [Convolution.Dense], layerConvsB: [DenseConvBackward]
    let convAfterBody: Convolution.Dense, convAfterBodyB: DenseConvBackward
    let upsample: Convolution.Dense, upsampleB: DenseConvBackward

    public enum Retention: Sendable { case all, blockInputs }

    /// From an official SwinIR-light state dict (e.g. `ModelLoader.readStateDict`).
    public init(weights w: [String: Tensor], scale: Int, depths: [Int] = [6, 6, 6, 6], quantizers: SiteQuantizers = .none) throws {
        // The engine's constructor validates every key and shape.
        _ = try SwinIRLight(weights: w, scale: scale, depths: depths)
        self.scale = scale
        self.quantizers = quantizers
        weights = w
        func conv(_ n: String) -> (Convolution.Dense, DenseConvBackward) {
            (Convolution.Dense(weight: w["\(n).weight"]!, bias: w["\(n).bias"]!.data), DenseConvBackward(weight: w["\(n).weight"]!))
        }
        (convFirst, convFirstB) = conv("conv_first")
        patchNorm = LayerNorm(weight: w["patch_embed.norm.weight"]!.data, bias: w["patch_embed.norm.bias"]!.data)
        norm = LayerNorm(weight: w["norm.weight"]!.data, bias: w["norm.bias"]!.data)
        blocks = depths.enumerated().map { i, d in
            (0..<d).map { j in SwinIRBlockBackward(weights: w, prefix: "layers.\(i).residual_group.blocks.\(j)", shifted: j % 2 == 1) }
        }
        let lc = depths.indices.map { conv("layers.\($0).conv") }
        layerConvs = lc.map(\.0); layerConvsB = lc.map(\.1)
        (convAfterBody, convAfterBodyB) = conv("conv_after_body")
        (upsample, upsampleB) = conv("upsample.0")
    }

    /// Official names of every learnable parameter.
    public var parameterNames: [String] {
        var n = ["conv_first", "patch_embed.norm", "norm", "conv_after_body", "upsample.0"] + layerConvs.indices.map { "layers.\($0).conv" }
        n = n.flatMap { ["\($0).weight", "\($0).bias"] }
        return n + blocks.flatMap { $0.flatMap(\.parameterNames) }
    }

    /// A zeroed gradient store with every learnable parameter registered.
    public func makeGradients() -> ParameterGradients {
        let g = ParameterGradients()
        for n in parameterNames { g.register(n, shape: weights[n]!.shape) }
        return g
    }

    /// Block module paths in execution order (`layers.i.residual_group.blocks.j`).
    public var blockNames: [String] { blocks.flatMap { $0.map(\.prefix) } }

    /// Everything the backward needs from one forward.
    public final class Tape {
        /// Input size and padded size.
        public let inputHeight: Int, inputWidth: Int, height: Int, width: Int
        public internal(set) var output: Tensor = Tensor(zeros: [0])
        /// Each Swin block's output, in `blockNames` order (the DQC feature hooks read these).
        public internal(set) var blockOutputs: [[Float]] = []
        var x: [Float] = [], feat0: [Float] = []
        var layerInputs: [[Float]] = [], layerBlockOut: [[Float]] = []
        var blockCaches: [[SwinIRBlockBackward.Cache?]] = []
        var blockInputs: [[[Float]]] = []
        var final: [Float] = [], normed: [Float] = [], body: [Float] = []
        init(inputHeight: Int, inputWidth: Int, height: Int, width: Int) {
            self.inputHeight = inputHeight; self.inputWidth = inputWidth; self.height = height; self.width = width
        }
    }

    /// Reflect pad to a multiple of the window, − mean, conv_first: the padded input x (L × 3), conv_first's output
    /// (L × 60) and the input and padded sizes.
    func embed(_ input: Tensor) throws -> (x: [Float], feat0: [Float], h0: Int, w0: Int, h: Int, w: Int) {
        let (h0, w0) = try DATLight.checkInput(input)
        let ph = (window - h0 % window) % window, pw = (window - w0 % window) % window
        guard ph < h0, pw < w0 else {
            throw EngineError("SwinIR-light: input \(h0)x\(w0) is too small for reflect padding to a multiple of \(window)")
        }
        let h = h0 + ph, w = w0 + pw
        var x = [Float](repeating: 0, count: h * w * 3)
        for c in 0..<3 { for y in 0..<h { for xx in 0..<w {
            let sy = y < h0 ? y : 2 * h0 - 2 - y, sx = xx < w0 ? xx : 2 * w0 - 2 - xx
            x[(y * w + xx) * 3 + c] = input.data[(c * h0 + sy) * w0 + sx] - SwinIRLight.mean[c]
        }}}
        return (x, convFirst.apply(x, height: h, width: w), h0, w0, h, w)
    }

    /// The input of the first Swin block (patch_embed's LayerNorm of conv_first's output; no quantized site) and the
    /// padded size: where block reconstruction starts.
    public func blockInput(_ input: Tensor) throws -> (tokens: [Float], height: Int, width: Int) {
        let e = try embed(input)
        return (patchNorm.apply(e.feat0), e.h, e.w)
    }

    /// The end of RSTB `group`: its conv 3×3 of the last block's output plus the RSTB's input (FP; no quantized site).
    public func groupTail(_ group: Int, blockOutput: [Float], groupInput: [Float], height h: Int, width w: Int) -> [Float] {
        var conv = layerConvs[group].apply(blockOutput, height: h, width: w)
        for k in conv.indices { conv[k] += groupInput[k] }
        return conv
    }

    /// Forward of a (1, 3, H, W) input; `tape.output` equals `SwinIRLight.forward` for FP (no quantizers).
    public func forward(_ input: Tensor, retention: Retention = .all) throws -> Tape {
        let e = try embed(input)
        let h = e.h, w = e.w, L = h * w, C = dim
        let t = Tape(inputHeight: e.h0, inputWidth: e.w0, height: h, width: w)
        t.x = e.x
        t.feat0 = e.feat0
        var tokens = patchNorm.apply(t.feat0)
        for (i, layer) in blocks.enumerated() {
            let res = tokens
            t.layerInputs.append(res)
            var caches: [SwinIRBlockBackward.Cache?] = [], inputs: [[Float]] = []
            for b in layer {
                let cache = b.forward(tokens, height: h, width: w, quantizers: quantizers)
                inputs.append(retention == .all ? [] : tokens)
                caches.append(retention == .all ? cache : nil)
                tokens = cache.output
                t.blockOutputs.append(tokens)
            }
            t.blockCaches.append(caches); t.blockInputs.append(inputs)
            t.layerBlockOut.append(tokens)
            tokens = groupTail(i, blockOutput: tokens, groupInput: res, height: h, width: w)
        }
        t.final = tokens
        t.normed = norm.apply(tokens)
        var body = convAfterBody.apply(t.normed, height: h, width: w)
        for k in 0..<(L * C) { body[k] += t.feat0[k] }
        t.body = body
        let up = upsample.apply(body, height: h, width: w)
        var out = PixelShuffle.toNCHW(up, height: h, width: w, outChannels: 3, scale: scale)
        let H = h * scale, W = w * scale
        for c in 0..<3 { for i in 0..<(H * W) { out[c * H * W + i] += SwinIRLight.mean[c] } }
        let Hc = e.h0 * scale, Wc = e.w0 * scale
        var cropped = [Float](repeating: 0, count: 3 * Hc * Wc)
        for c in 0..<3 { for y in 0..<Hc { for xx in 0..<Wc { cropped[(c * Hc + y) * Wc + xx] = out[(c * H + y) * W + xx] } } }
        t.output = Tensor(shape: [1, 3, Hc, Wc], data: cropped)
        return t
    }

    public struct Gradients {
        /// dL/d input, (1, 3, H, W).
        public let input: Tensor
        /// dL/d every parameter, official names.
        public let parameters: ParameterGradients
        /// dL/d (output of each Swin block), L × 60 tokens of the padded grid, in `blockNames` order.
        public let blockOutputs: [[Float]]
    }

    /// Backward from dL/d output (the shape of `tape.output`), plus optional extra gradients into block outputs
    /// (`gradBlockOutputs[k]`, `blockNames` order, e.g. DQC's feature terms; empty arrays = none). Adds into `into`
    /// when given (gradient accumulation over a batch), else into a fresh store.
    public func backward(_ t: Tape, gradOutput: Tensor, gradBlockOutputs: [Int: [Float]] = [:],
                         into grads: ParameterGradients? = nil) -> Gradients {
        precondition(gradOutput.shape == t.output.shape, "gradOutput shape \(gradOutput.shape) != output \(t.output.shape)")
        let h = t.height, w = t.width, L = h * w, C = dim
        let g = grads ?? makeGradients()
        // Crop backward: zeros outside the crop.
        let H = h * scale, W = w * scale, Hc = t.inputHeight * scale, Wc = t.inputWidth * scale
        var dPadded = [Float](repeating: 0, count: 3 * H * W)
        for c in 0..<3 { for y in 0..<Hc { for xx in 0..<Wc { dPadded[(c * H + y) * W + xx] = gradOutput.data[(c * Hc + y) * Wc + xx] } } }
        let dUp = PixelShuffleBackward.backward(dPadded, height: h, width: w, outChannels: 3, scale: scale)
        let dBody = DenseConvBackward.run(upsampleB, "upsample.0", x: t.body, dy: dUp, height: h, width: w, into: g)
        var dFeat0 = dBody
        let dNormed = DenseConvBackward.run(convAfterBodyB, "conv_after_body", x: t.normed, dy: dBody, height: h, width: w, into: g)
        var d = [Float](repeating: 0, count: L * C)
        layerNorm(norm, "norm", x: t.final, dy: dNormed, into: &d, rows: L, g)
        let perLayer = blocks.map(\.count)
        var blockGrads = [[Float]](repeating: [], count: perLayer.reduce(0, +))
        for i in blocks.indices.reversed() {
            let dRes = d
            var db = DenseConvBackward.run(layerConvsB[i], "layers.\(i).conv", x: t.layerBlockOut[i], dy: d, height: h, width: w, into: g)
            for j in blocks[i].indices.reversed() {
                let k = perLayer[..<i].reduce(0, +) + j
                if let extra = gradBlockOutputs[k] { for e in 0..<(L * C) { db[e] += extra[e] } }
                blockGrads[k] = db
                let b = blocks[i][j]
                let cache = t.blockCaches[i][j] ?? b.forward(t.blockInputs[i][j], height: h, width: w, quantizers: quantizers)
                db = b.backward(cache, gradOutput: db, quantizers: quantizers, grads: g)
            }
            for e in 0..<(L * C) { db[e] += dRes[e] }
            d = db
        }
        layerNorm(patchNorm, "patch_embed.norm", x: t.feat0, dy: d, into: &dFeat0, rows: L, g)
        let dx = DenseConvBackward.run(convFirstB, "conv_first", x: t.x, dy: dFeat0, height: h, width: w, into: g)
        // Reflect-pad backward: each padded position adds into its source pixel.
        let h0 = t.inputHeight, w0 = t.inputWidth
        var dIn = [Float](repeating: 0, count: 3 * h0 * w0)
        for c in 0..<3 { for y in 0..<h { for xx in 0..<w {
            let sy = y < h0 ? y : 2 * h0 - 2 - y, sx = xx < w0 ? xx : 2 * w0 - 2 - xx
            dIn[(c * h0 + sy) * w0 + sx] += dx[(y * w + xx) * 3 + c]
        }}}
        return Gradients(input: Tensor(shape: [1, 3, h0, w0], data: dIn), parameters: g, blockOutputs: blockGrads)
    }

    private func layerNorm(_ n: LayerNorm, _ name: String, x: [Float], dy: [Float], into d: inout [Float], rows: Int,
                           _ g: ParameterGradients) {
        let C = n.features
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in d.withUnsafeMutableBufferPointer { dp in
            g.with("\(name).weight") { dw in g.with("\(name).bias") { db in
                LayerNormBackward.backward(x: xp.baseAddress!, ldx: C, dy: gp.baseAddress!, ldy: C, rows: rows, gamma: n.weight,
                                           dx: dp.baseAddress!, lddx: C, accumulate: true, dGamma: dw, dBeta: db)
            }}
        }}}
    }
}
