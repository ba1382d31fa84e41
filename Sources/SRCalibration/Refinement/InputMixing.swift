import HarmoQ

/// QDrop-style input mixing for block reconstruction: each element comes from the FP path with probability `p`, else
/// from the quantized path (Wei et al., "QDrop", ICLR 2022, applied at the block input as in NWQ).
enum InputMixing {
    static func mix(quantized q: [Float], fp f: [Float], p: Double, rng: inout SplitMix64) -> [Float] {
        precondition(q.count == f.count, "InputMixing: \(q.count) vs \(f.count) elements")
        var out = q
        for i in out.indices where rng.nextUniform() < p { out[i] = f[i] }
        return out
    }
}
