import SRIO

/// The qkv Linear (C → 3C) of an attention block, either as one site (`….attn.qkv`) or split
/// into three C → C sites `….attn.qkv.q`, `.k`, `.v` (2DQuant's `qkv_separation`), each with its
/// own input activation (a copy of the same normalised tokens) and its own weight rows.
final class QKVProjection {
    private let fused: Linear?
    private let parts: [Linear]
    private var siteIndices: [Int] = []
    let dim: Int

    init(weight: Tensor, bias: Tensor, split: Bool) {
        dim = weight.shape[1]
        if split {
            let c = dim
            parts = (0..<3).map { t in
                Linear(weight: Tensor(shape: [c, c], data: Array(weight.data[(t * c * c)..<((t + 1) * c * c)])),
                       bias: Tensor(shape: [c], data: Array(bias.data[(t * c)..<((t + 1) * c)])))
            }
            fused = nil
        } else {
            fused = Linear(weight: weight, bias: bias)
            parts = []
        }
    }

    func register(_ table: SiteTable, name: String) {
        if let f = fused {
            siteIndices = [table.addLinear(name, f)]
        } else {
            siteIndices = ["q", "k", "v"].enumerated().map { t, s in table.addLinear("\(name).\(s)", parts[t]) }
        }
    }

    /// Returns the L × 3C matrix [q | k | v]; calls the hook on the input (once, or once per part).
    func apply(_ xn: inout [Float], rows L: Int, hook: ActivationHook?, table: SiteTable) -> [Float] {
        let C = dim
        var out = Buffer.uninitialized(L * 3 * C)
        if let f = fused {
            xn.withUnsafeMutableBufferPointer { table.call(hook, siteIndices[0], $0.baseAddress!, rows: L, cols: C) }
            xn.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in
                f.apply(i.baseAddress!, rows: L, into: o.baseAddress!) } }
            return out
        }
        for t in 0..<3 {
            var input = xn   // shares storage; a hook's write triggers a private copy (copy-on-write)
            if hook != nil {
                input.withUnsafeMutableBufferPointer { table.call(hook, siteIndices[t], $0.baseAddress!, rows: L, cols: C) }
            }
            input.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in
                parts[t].apply(i.baseAddress!, rows: L, into: o.baseAddress! + t * C, ldo: 3 * C) } }
        }
        return out
    }
}
