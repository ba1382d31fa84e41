import Foundation
import SRIO

/// One Swin Transformer block of SwinIR-light with a tape: the forward arithmetic of the engine's `SwinBlock`
/// (same kernels, same order, so the FP output is identical), optional differentiable quantizers at every site, and
/// a backward giving dL/d block input and dL/d every block parameter (official names: norm1/2, attn.qkv, attn.proj,
/// mlp.fc1/fc2 weights and biases, attn.relative_position_bias_table).
///
/// x += proj(W-MSA / SW-MSA(norm1(x)));  x += fc2(GELU(fc1(norm2(x)))). The attention runs on the image grid (SwinIR
/// pads the image, not q/k/v), shift 4 on odd blocks with the −100 region mask, bias from the 225 × 6 table.
/// With split qkv quantizers (`….attn.qkv.q/.k/.v` in `SiteQuantizers`) the qkv Linear runs as three 60 → 60 parts.
public final class SwinIRBlockBackward {
    public let prefix: String
    public let shifted: Bool
    let dim = 60, heads = 6, headDim = 10, window = 8
    let norm1: LayerNorm, norm2: LayerNorm
    let qkv: QKVBackward
    let proj: QuantLinear, fc1: QuantLinear, fc2: QuantLinear
    let bias: [Float]

    init(weights w: [String: Tensor], prefix p: String, shifted: Bool) {
        prefix = p
        self.shifted = shifted
        let a = "\(p).attn", C = dim
        func v(_ n: String) -> [Float] { w[n]!.data }
        norm1 = LayerNorm(weight: v("\(p).norm1.weight"), bias: v("\(p).norm1.bias"))
        norm2 = LayerNorm(weight: v("\(p).norm2.weight"), bias: v("\(p).norm2.bias"))
        qkv = QKVBackward(weights: w, attention: a, dim: C)
        func lin(_ n: String) -> QuantLinear { .named(n, weights: w) }
        proj = lin("\(a).proj"); fc1 = lin("\(p).mlp.fc1"); fc2 = lin("\(p).mlp.fc2")
        bias = DynamicPosBias.expand(table: v("\(a).relative_position_bias_table"), heads: heads, windowH: window, windowW: window)
    }

    /// Official names of this block's learnable parameters.
    var parameterNames: [String] {
        let a = "\(prefix).attn"
        return ["\(prefix).norm1", "\(prefix).norm2", "\(a).qkv", "\(a).proj", "\(prefix).mlp.fc1", "\(prefix).mlp.fc2"]
            .flatMap { ["\($0).weight", "\($0).bias"] } + ["\(a).relative_position_bias_table"]
    }

    public final class Cache {
        public let height: Int, width: Int
        var x: [Float] = [], xn1: [Float] = [], qkv: [Float] = []
        var qkvCaches: [QuantLinear.Cache] = []
        var attention: WindowAttentionBackward.Cache? = nil
        var mixed: [Float] = [], projCache = QuantLinear.Cache()
        var x1: [Float] = [], xn2: [Float] = [], fc1Cache = QuantLinear.Cache()
        var preAct: [Float] = [], hidden: [Float] = [], fc2Cache = QuantLinear.Cache()
        /// The block output.
        public internal(set) var output: [Float] = []
        init(height: Int, width: Int) { self.height = height; self.width = width }
    }

    func attention(height h: Int, width w: Int, quantizers q: SiteQuantizers) -> WindowAttentionBackward {
        let s = shifted ? window / 2 : 0
        let geo = WindowGeometry(height: h, width: w, paddedHeight: h, paddedWidth: w, windowH: window, windowW: window,
                                 shiftH: s, shiftW: s)
        let a = "\(prefix).attn"
        var op = WindowAttentionBackward(geometry: geo, heads: heads, headDim: headDim, scale: Float(pow(Double(headDim), -0.5)),
                                         bias: bias)
        op.qQuantizer = q.activation["\(a).q"]
        op.kQuantizer = q.activation["\(a).k"]
        op.vQuantizer = q.activation["\(a).v"]
        op.probsQuantizer = q.activation["\(a).probs"]
        return op
    }

    /// Forward of x (L × 60 tokens of an h × w grid, h and w multiples of 8).
    public func forward(_ x: [Float], height h: Int, width w: Int, quantizers q: SiteQuantizers = .none) -> Cache {
        let L = h * w, C = dim
        let c = Cache(height: h, width: w)
        c.x = x
        c.xn1 = norm1.apply(x)
        c.qkv = Buffer.uninitialized(L * 3 * C)
        c.qkv.withUnsafeMutableBufferPointer { o in c.qkvCaches = qkv.forward(c.xn1, rows: L, out: o.baseAddress!, quantizers: q) }
        c.mixed = [Float](repeating: 0, count: L * C)
        let op = attention(height: h, width: w, quantizers: q)
        c.qkv.withUnsafeBufferPointer { qp in c.mixed.withUnsafeMutableBufferPointer { o in
            c.attention = op.forward(qkv: qp.baseAddress!, ld: 3 * C, qOff: 0, kOff: C, vOff: 2 * C, out: o.baseAddress!, ldo: C, outOff: 0)
        }}
        var a = Buffer.uninitialized(L * C)
        a.withUnsafeMutableBufferPointer { o in c.projCache = proj.forward(c.mixed, rows: L, out: o.baseAddress!, ldo: C, quantizers: q) }
        var x1 = x
        DATBlock.addInPlace(&x1, a)
        c.x1 = x1
        c.xn2 = norm2.apply(x1)
        c.preAct = Buffer.uninitialized(L * 2 * C)
        c.preAct.withUnsafeMutableBufferPointer { o in c.fc1Cache = fc1.forward(c.xn2, rows: L, out: o.baseAddress!, ldo: 2 * C, quantizers: q) }
        c.hidden = c.preAct
        c.hidden.withUnsafeMutableBufferPointer { Activations.gelu($0.baseAddress!, count: $0.count) }
        var f = Buffer.uninitialized(L * C)
        f.withUnsafeMutableBufferPointer { o in c.fc2Cache = fc2.forward(c.hidden, rows: L, out: o.baseAddress!, ldo: C, quantizers: q) }
        var out = x1
        DATBlock.addInPlace(&out, f)
        c.output = out
        return c
    }

    /// dL/d block input from dL/d block output; adds dL/d parameters (and the quantizers' bound gradients) into
    /// `grads` / the quantizers.
    public func backward(_ c: Cache, gradOutput dOut: [Float], quantizers q: SiteQuantizers = .none, grads: ParameterGradients) -> [Float] {
        let h = c.height, w = c.width, L = h * w, C = dim
        // MLP: out = x1 + fc2(GELU(fc1(norm2(x1)))).
        var dHidden = [Float](repeating: 0, count: L * 2 * C)
        dOut.withUnsafeBufferPointer { g in dHidden.withUnsafeMutableBufferPointer { d in
            fc2.backward(c.fc2Cache, x: c.hidden, dy: g.baseAddress!, ldy: C, rows: L, dx: d.baseAddress!, accumulate: false,
                         quantizers: q, grads: grads)
        }}
        c.preAct.withUnsafeBufferPointer { hp in dHidden.withUnsafeMutableBufferPointer { d in
            ActivationBackward.gelu(x: hp.baseAddress!, dy: d.baseAddress!, dx: d.baseAddress!, count: d.count)
        }}
        var dXn2 = [Float](repeating: 0, count: L * C)
        dHidden.withUnsafeBufferPointer { g in dXn2.withUnsafeMutableBufferPointer { d in
            fc1.backward(c.fc1Cache, x: c.xn2, dy: g.baseAddress!, ldy: 2 * C, rows: L, dx: d.baseAddress!, accumulate: false,
                         quantizers: q, grads: grads)
        }}
        var dX1 = dOut
        LayerNormBackward.accumulate(norm2, "\(prefix).norm2", x: c.x1, dy: dXn2, into: &dX1, rows: L, grads: grads)
        // Attention: x1 = x + proj(attn(norm1(x))).
        var dMixed = [Float](repeating: 0, count: L * C)
        dX1.withUnsafeBufferPointer { g in dMixed.withUnsafeMutableBufferPointer { d in
            proj.backward(c.projCache, x: c.mixed, dy: g.baseAddress!, ldy: C, rows: L, dx: d.baseAddress!, accumulate: false,
                          quantizers: q, grads: grads)
        }}
        var dQKV = [Float](repeating: 0, count: L * 3 * C)
        let op = attention(height: h, width: w, quantizers: q)
        var dBias = [Float](repeating: 0, count: heads * 64 * 64)
        dMixed.withUnsafeBufferPointer { g in dQKV.withUnsafeMutableBufferPointer { d in dBias.withUnsafeMutableBufferPointer { b in
            op.backward(c.attention!, dOut: g.baseAddress!, ldo: C, outOff: 0, dqkv: d.baseAddress!, ld: 3 * C, qOff: 0, kOff: C,
                        vOff: 2 * C, dBias: b.baseAddress!)
        }}}
        grads.add("\(prefix).attn.relative_position_bias_table",
                  WindowAttentionBackward.foldBiasGradient(dBias, heads: heads, windowH: window, windowW: window))
        let dXn1 = qkv.backward(c.qkvCaches, x: c.xn1, dQKV: dQKV, rows: L, quantizers: q, grads: grads)
        var dX = dX1
        LayerNormBackward.accumulate(norm1, "\(prefix).norm1", x: c.x, dy: dXn1, into: &dX, rows: L, grads: grads)
        return dX
    }
}
