import SRIO

/// The backward-capable qkv Linear (engine form: `QKVProjection`) of a window- or channel-attention block (DAT-light and SwinIR-light alike): one fused C → 3C
/// Linear (site `<attn>.qkv`), or — as soon as any of the split sites `<attn>.qkv.q/.k/.v` has a quantizer in
/// `SiteQuantizers` — three C → C row slices of the same weight and bias, each its own site.
struct QKVBackward {
    let fused: QuantLinear
    let parts: [QuantLinear]
    let dim: Int

    /// From the state dict: `<attn>.qkv.weight` (3C × C) and `<attn>.qkv.bias` (3C).
    init(weights w: [String: Tensor], attention a: String, dim C: Int) {
        dim = C
        let qw = w["\(a).qkv.weight"]!.data, qb = w["\(a).qkv.bias"]!.data
        fused = QuantLinear(name: "\(a).qkv", weightName: "\(a).qkv.weight", biasName: "\(a).qkv.bias", weight: qw, bias: qb, inFeatures: C)
        parts = ["q", "k", "v"].enumerated().map { t, s in
            QuantLinear(name: "\(a).qkv.\(s)", weightName: "\(a).qkv.weight", biasName: "\(a).qkv.bias", rowOffset: t * C,
                        weight: Array(qw[(t * C * C)..<((t + 1) * C * C)]), bias: Array(qb[(t * C)..<((t + 1) * C)]), inFeatures: C)
        }
    }

    /// True when the split form runs (a quantizer on any of q, k, v).
    func isSplit(_ q: SiteQuantizers) -> Bool {
        parts.contains { q.activation[$0.name] != nil || q.weight[$0.name] != nil }
    }

    /// qkv (L × 3C, dense) of the normalised tokens `xn` (L × C); returns the caches the backward needs.
    func forward(_ xn: [Float], rows L: Int, out: UnsafeMutablePointer<Float>, quantizers q: SiteQuantizers) -> [QuantLinear.Cache] {
        let C = dim
        if isSplit(q) {
            return parts.enumerated().map { t, part in part.forward(xn, rows: L, out: out + t * C, ldo: 3 * C, quantizers: q) }
        }
        return [fused.forward(xn, rows: L, out: out, ldo: 3 * C, quantizers: q)]
    }

    /// dL/d xn (L × C) from dL/d qkv (L × 3C); parameter gradients into `grads` (the split parts add into the rows of
    /// the fused qkv weight and bias they slice).
    func backward(_ caches: [QuantLinear.Cache], x xn: [Float], dQKV: [Float], rows L: Int, quantizers q: SiteQuantizers,
                  grads: ParameterGradients) -> [Float] {
        let C = dim
        var dXn = [Float](repeating: 0, count: L * C)
        dQKV.withUnsafeBufferPointer { g in dXn.withUnsafeMutableBufferPointer { d in
            if isSplit(q) {
                for (t, part) in parts.enumerated() {
                    part.backward(caches[t], x: xn, dy: g.baseAddress! + t * C, ldy: 3 * C, rows: L, dx: d.baseAddress!,
                                  accumulate: t > 0, quantizers: q, grads: grads)
                }
            } else {
                fused.backward(caches[0], x: xn, dy: g.baseAddress!, ldy: 3 * C, rows: L, dx: d.baseAddress!,
                               accumulate: false, quantizers: q, grads: grads)
            }
        }}
        return dXn
    }
}

extension QuantLinear {
    /// The Linear `<n>.weight` / `<n>.bias` of the state dict as one site named `n`.
    static func named(_ n: String, weights w: [String: Tensor]) -> QuantLinear {
        QuantLinear(name: n, weightName: "\(n).weight", biasName: "\(n).bias", weight: w["\(n).weight"]!.data,
                    bias: w["\(n).bias"]!.data, inFeatures: w["\(n).weight"]!.shape[1])
    }
}

extension LayerNormBackward {
    /// d += dL/dx of the token-wise LayerNorm `n` (x, dy: rows × C, dense); dL/d γ, β into `grads` as `<name>.weight` / `.bias`.
    static func accumulate(_ n: LayerNorm, _ name: String, x: [Float], dy: [Float], into d: inout [Float], rows: Int,
                           grads: ParameterGradients) {
        let C = n.features
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { g in d.withUnsafeMutableBufferPointer { dp in
            grads.with("\(name).weight") { dw in grads.with("\(name).bias") { db in
                LayerNormBackward.backward(x: xp.baseAddress!, ldx: C, dy: g.baseAddress!, ldy: C, rows: rows, gamma: n.weight,
                                           dx: dp.baseAddress!, lddx: C, accumulate: true, dGamma: dw, dBeta: db)
            }}
        }}}
    }
}
