import Foundation
import SRIO

/// DAT-light with a backward pass: a forward that reproduces `DATLight.forward` (FP: the same arithmetic) while
/// keeping what the backward needs, optional differentiable quantizers at every site (`quantizers`), and a backward
/// giving dL/d input, dL/d every parameter (official state-dict names) and dL/d every block output.
///
/// Memory: `.all` keeps every block's cache (≈ 20 token tensors per block plus the spatial attention
/// probabilities); `.blockInputs` keeps only each block's input and recomputes one block at a time in the backward.
public final class DATLightBackward {
    public let scale: Int
    public let dim = 60
    public var quantizers: SiteQuantizers
    public let blocks: [DATBlockBackward]
    let weights: [String: Tensor]
    let convFirst: Convolution.Dense, convFirstB: DenseConvBackward
    let beforeRG: LayerNorm, norm: LayerNorm
    let groupConv: ThreeConvBackward, convAfterBody: ThreeConvBackward
    let upsample: Convolution.Dense, upsampleB: DenseConvBackward

    public enum Retention: Sendable { case all, blockInputs }

    /// From an official DAT-light state dict (e.g. `ModelLoader`'s weights).
    public init(weights w: [String: Tensor], scale: Int, depth: Int = 18, quantizers: SiteQuantizers = .none) throws {
        guard [2, 3, 4].contains(scale) else { throw EngineError("DAT-light: unsupported scale \(scale) (2, 3 or 4)") }
        // The engine's constructor validates every key and shape; build it once for that.
        _ = try DATLight(weights: w, scale: scale, depth: depth)
        self.scale = scale
        self.quantizers = quantizers
        weights = w
        convFirst = Convolution.Dense(weight: w["conv_first.weight"]!, bias: w["conv_first.bias"]!.data)
        convFirstB = DenseConvBackward(weight: w["conv_first.weight"]!)
        beforeRG = LayerNorm(weight: w["before_RG.1.weight"]!.data, bias: w["before_RG.1.bias"]!.data)
        norm = LayerNorm(weight: w["norm.weight"]!.data, bias: w["norm.bias"]!.data)
        blocks = (0..<depth).map { DATBlockBackward(weights: w, index: $0) }
        groupConv = ThreeConvBackward(w, "layers.0.conv")
        convAfterBody = ThreeConvBackward(w, "conv_after_body")
        upsample = Convolution.Dense(weight: w["upsample.0.weight"]!, bias: w["upsample.0.bias"]!.data)
        upsampleB = DenseConvBackward(weight: w["upsample.0.weight"]!)
    }

    /// A zeroed gradient store with every learnable parameter of the model registered.
    public func makeGradients() -> ParameterGradients {
        let g = ParameterGradients()
        var names = ["conv_first", "before_RG.1", "norm", "upsample.0"].flatMap { ["\($0).weight", "\($0).bias"] }
        names += groupConv.parameterNames + convAfterBody.parameterNames
        for n in names { g.register(n, shape: weights[n]!.shape) }
        for b in blocks { b.registerParameters(g, weights: weights) }
        return g
    }

    /// Everything the backward needs from one forward.
    public final class Tape {
        public let height: Int, width: Int
        public internal(set) var output: Tensor = Tensor(zeros: [0])
        var x: [Float] = [], feat0: [Float] = [], tokens0: [Float] = []
        var blockCaches: [DATBlockBackward.Cache?] = []
        var blockInputs: [[Float]] = []
        /// The output of every block (L × 60 tokens), b = 0 ..< depth (shares storage with the caches and inputs).
        public internal(set) var blockOutputs: [[Float]] = []
        var group = ThreeConvBackward.Cache(), g: [Float] = [], after = ThreeConvBackward.Cache(), body: [Float] = []
        init(height: Int, width: Int) { self.height = height; self.width = width }
    }

    /// The input of block 0 (L × 60 tokens) for a (1, 3, H, W) input: (x − mean) → conv_first → before_RG. No site
    /// is quantized there, so it is the same for the FP and any quantized model.
    public func blockInput(_ input: Tensor) throws -> (tokens: [Float], height: Int, width: Int) {
        let (h, w) = try DATLight.checkInput(input)
        return (embed(input.data, height: h, width: w).tokens, h, w)
    }

    /// (x − mean) channels-last, conv_first's output and before_RG's tokens.
    private func embed(_ data: [Float], height h: Int, width w: Int) -> (x: [Float], feat0: [Float], tokens: [Float]) {
        let L = h * w
        var x = [Float](repeating: 0, count: L * 3)
        for c in 0..<3 { for l in 0..<L { x[l * 3 + c] = data[c * L + l] - DATLight.mean[c] } }
        let feat0 = convFirst.apply(x, height: h, width: w)
        return (x, feat0, beforeRG.apply(feat0))
    }

    /// Forward of a (1, 3, H, W) input; `tape.output` equals `DATLight.forward` for FP (no quantizers).
    public func forward(_ input: Tensor, retention: Retention = .all) throws -> Tape {
        let (h, w) = try DATLight.checkInput(input)
        let L = h * w, C = dim
        let t = Tape(height: h, width: w)
        let e = embed(input.data, height: h, width: w)
        t.x = e.x; t.feat0 = e.feat0; t.tokens0 = e.tokens
        var tokens = e.tokens
        for b in blocks {
            let cache = b.forward(tokens, height: h, width: w, quantizers: quantizers)
            t.blockInputs.append(retention == .all ? [] : tokens)
            t.blockCaches.append(retention == .all ? cache : nil)
            tokens = cache.output
            t.blockOutputs.append(tokens)
        }
        let (gc, gCache) = groupConv.forward(tokens, height: h, width: w)
        var g = gc
        for i in 0..<(L * C) { g[i] += t.tokens0[i] }
        t.group = gCache; t.g = g
        let normed = norm.apply(g)
        let after = convAfterBody.forward(normed, height: h, width: w)
        var body = after.out
        for i in 0..<(L * C) { body[i] += t.feat0[i] }
        t.after = after.cache; t.body = body
        let up = upsample.apply(body, height: h, width: w)
        var out = PixelShuffle.toNCHW(up, height: h, width: w, outChannels: 3, scale: scale)
        let plane = h * scale * w * scale
        for c in 0..<3 { for i in 0..<plane { out[c * plane + i] += DATLight.mean[c] } }
        t.output = Tensor(shape: [1, 3, h * scale, w * scale], data: out)
        return t
    }

    public struct Gradients {
        /// dL/d input, (1, 3, H, W).
        public let input: Tensor
        /// dL/d every parameter, official names.
        public let parameters: ParameterGradients
        /// dL/d (output of block b), L × 60 tokens, b = 0 ..< depth.
        public let blockOutputs: [[Float]]
    }

    /// Backward from dL/d output (the shape of `tape.output`) plus, optionally, extra gradients at block outputs
    /// (`gradBlockOutputs[b]`, L × 60, e.g. feature-distillation terms; added to what flows back from the layers
    /// after block b). Adds into `into` when given (gradient accumulation over a batch), else into a fresh store.
    /// `Gradients.blockOutputs[b]` is the total dL/d(output of block b), extra terms included.
    public func backward(_ t: Tape, gradOutput: Tensor, gradBlockOutputs: [Int: [Float]] = [:],
                         into grads: ParameterGradients? = nil) -> Gradients {
        precondition(gradOutput.shape == t.output.shape, "gradOutput shape \(gradOutput.shape) != output \(t.output.shape)")
        let h = t.height, w = t.width, L = h * w, C = dim
        let g = grads ?? makeGradients()
        let dUp = PixelShuffleBackward.backward(gradOutput.data, height: h, width: w, outChannels: 3, scale: scale)
        let dBody = DenseConvBackward.run(upsampleB, "upsample.0", x: t.body, dy: dUp, height: h, width: w, into: g)
        var dFeat0 = dBody
        let dNormed = convAfterBody.backward(t.after, dy: dBody, height: h, width: w, into: g)
        let dG = layerNorm(norm, "norm", x: t.g, dy: dNormed, rows: L, g)
        var d = groupConv.backward(t.group, dy: dG, height: h, width: w, into: g)
        var blockGrads = [[Float]](repeating: [], count: blocks.count)
        for b in blocks.reversed() {
            if let extra = gradBlockOutputs[b.index] {
                precondition(extra.count == L * C, "gradBlockOutputs[\(b.index)] has \(extra.count) elements, need \(L * C)")
                for i in 0..<(L * C) { d[i] += extra[i] }
            }
            blockGrads[b.index] = d
            let cache = t.blockCaches[b.index] ?? b.forward(t.blockInputs[b.index], height: h, width: w, quantizers: quantizers)
            d = b.backward(cache, gradOutput: d, quantizers: quantizers, grads: g)
        }
        for i in 0..<(L * C) { d[i] += dG[i] }
        let dF = layerNorm(beforeRG, "before_RG.1", x: t.feat0, dy: d, rows: L, g)
        for i in 0..<(L * C) { dFeat0[i] += dF[i] }
        let dx = DenseConvBackward.run(convFirstB, "conv_first", x: t.x, dy: dFeat0, height: h, width: w, into: g)
        var dIn = [Float](repeating: 0, count: 3 * L)
        for c in 0..<3 { for l in 0..<L { dIn[c * L + l] = dx[l * 3 + c] } }
        return Gradients(input: Tensor(shape: [1, 3, h, w], data: dIn), parameters: g, blockOutputs: blockGrads)
    }

    private func layerNorm(_ n: LayerNorm, _ name: String, x: [Float], dy: [Float], rows: Int, _ g: ParameterGradients) -> [Float] {
        let C = n.features
        var dx = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            g.with("\(name).weight") { dw in g.with("\(name).bias") { db in
                LayerNormBackward.backward(x: xp.baseAddress!, ldx: C, dy: gp.baseAddress!, ldy: C, rows: rows, gamma: n.weight,
                                           dx: d.baseAddress!, lddx: C, dGamma: dw, dBeta: db)
            }}
        }}}
        return dx
    }
}
