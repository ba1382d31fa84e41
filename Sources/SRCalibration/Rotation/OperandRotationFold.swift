import HarmoQ
import SREngine
import SRIO

/// Free rotations of the attention operands q and k, folded into the qkv weight (no online cost): in a DAT-light
/// spatial-window block every head h computes softmax(q_h·k_hᵀ·scale + position bias)·v_h, so q_h → q_h·R_h and
/// k_h → k_h·R_h with one orthogonal R_h leave every score unchanged (q_h R_h R_hᵀ k_hᵀ = q_h k_hᵀ; the zero padding of
/// the windows stays zero, the bias is added to the scores). q_h·R_h is computed for free by the qkv Linear with its
/// q_h rows replaced by R_hᵀ·W_{q_h} and its bias entries by R_hᵀ·b_{q_h} (the same for k). The quantizers of the q and
/// k operand sites then see rotated operands. Not folded: v (it also feeds the depthwise-conv branch, a per-channel
/// operation) and the channel-attention blocks (q, k are L2-normalised per channel; docs/rotations.md).
///
/// The head dimension is 10, which has no Hadamard matrix, so the rotations are seeded Haar-random (`RandomOrthogonal`),
/// one per block, branch and head (`seed(run:block:head:)`), built in Float64; the folded weight and bias are rounded
/// once to Float32. A plan records the fold (`QParams.operandRotation`: kind and seed) and carries the folded bias as
/// `layer.bias`; its stored qkv weight already holds the folded rows.
public enum OperandRotationFold {
    /// What a plan records: the rotations are regenerated from it (`install`).
    public struct Record: Codable, Sendable, Equatable {
        public var kind: RotationKind
        public var seed: UInt64
        public init(kind: RotationKind, seed: UInt64) { self.kind = kind; self.seed = seed }
    }

    /// DAT-light: dim 60, two branches of 3 heads of 10 channels in the spatial blocks.
    static let dim = 60, headsPerBranch = 3, headDim = 10

    /// The fused qkv sites of the spatial-window blocks of `model` (those with operand sites `<attn>.attns.0.q`).
    public static func spatialQKVSites(of model: any SRModel) throws -> [Site] {
        guard model.architecture == .datLight else {
            throw QuantError("--rotate-operands: only DAT-light's spatial-window blocks are folded (this model is \(model.architecture.rawValue))")
        }
        let names = Set(model.sites.map(\.name))
        if model.sites.contains(where: { $0.name.hasSuffix(".qkv.q") }) {
            throw QuantError("--rotate-operands: a split-qkv model is not supported (the fold rewrites the fused qkv rows)")
        }
        return model.sites.filter { s in
            guard s.name.hasSuffix(".attn.qkv") else { return false }
            return names.contains(String(s.name.dropLast(".qkv".count)) + ".attns.0.q")
        }
    }

    /// The seed of head `head` (0..<6: branch·3 + head in branch) of the block whose qkv is site `index`.
    public static func seed(run: UInt64, siteIndex index: Int, head: Int) -> UInt64 {
        RotationPolicy.siteSeed(run: run ^ 0x5150_4B5F_464F_4C44, index: index &* 8 &+ head)
    }

    /// The 6 rotations (order 10) of one block.
    public static func rotations(kind: RotationKind, run: UInt64, siteIndex index: Int) throws -> [Rotation] {
        guard kind == .random else {
            throw QuantError("--rotate-operands \(kind.rawValue): the head dimension is \(headDim), which has no Hadamard matrix; use random")
        }
        return try (0..<(2 * headsPerBranch)).map { try Rotation.make(kind: kind, order: headDim, seed: seed(run: run, siteIndex: index, head: $0)) }
    }

    /// W (3C × C) and b (3C) of a qkv Linear with the q and k rows of every head h rotated: rows r ← Σ_i R_h[i][j]·row_i
    /// (R_hᵀ·W_h) and the same for b, in Float64, rounded once. v's rows are unchanged.
    public static func fold(weight w: [Float], bias b: [Float], rotations: [Rotation]) throws -> (weight: [Float], bias: [Float]) {
        let c = dim, hd = headDim
        guard w.count == 3 * c * c, b.count == 3 * c, rotations.count == c / hd, rotations.allSatisfy({ $0.order == hd }) else {
            throw QuantError("OperandRotationFold: expected a \(3 * c)×\(c) qkv weight, \(3 * c) biases and \(c / hd) rotations of order \(hd)")
        }
        var w2 = w, b2 = b
        for part in 0..<2 {                       // q, then k
            for (h, r) in rotations.enumerated() {
                let r0 = part * c + h * hd        // the head's first row (branch·30 + head·10 = h·10)
                for j in 0..<hd {
                    var bias = 0.0
                    for i in 0..<hd { bias += r.matrix[i * hd + j] * Double(b[r0 + i]) }
                    b2[r0 + j] = Float(bias)
                    for col in 0..<c {
                        var s = 0.0
                        for i in 0..<hd { s += r.matrix[i * hd + j] * Double(w[(r0 + i) * c + col]) }
                        w2[(r0 + j) * c + col] = Float(s)
                    }
                }
            }
        }
        return (w2, b2)
    }

    /// The state dict with the fold applied to every spatial block's qkv (`<site>.weight`, `<site>.bias`).
    public static func foldStateDict(_ weights: [String: Tensor], model: any SRModel, record: Record) throws -> [String: Tensor] {
        var out = weights
        for site in try spatialQKVSites(of: model) {
            let index = model.sites.firstIndex(of: site)!
            guard let w = weights[site.name + ".weight"], let b = weights[site.name + ".bias"] else {
                throw QuantError("--rotate-operands: \(site.name) has no weight or bias in the state dict")
            }
            let f = try fold(weight: w.data, bias: b.data, rotations: try rotations(kind: record.kind, run: record.seed, siteIndex: index))
            out[site.name + ".weight"] = Tensor(shape: w.shape, data: f.weight)
            out[site.name + ".bias"] = Tensor(shape: b.shape, data: f.bias)
        }
        return out
    }

    /// Puts the folded FP weights and biases on `model`'s spatial qkv sites (from its current weights, which must be the
    /// loaded ones): the FP model with the operands rotated, for probes that run the plan's FP forward (the audit).
    public static func install(_ record: Record, on model: any SRModel) throws {
        for site in try spatialQKVSites(of: model) {
            let index = model.sites.firstIndex(of: site)!
            let (w, b) = try model.linearWeight(site)
            guard let b else { throw QuantError("--rotate-operands: \(site.name) has no bias") }
            let f = try fold(weight: w.data, bias: b.data, rotations: try rotations(kind: record.kind, run: record.seed, siteIndex: index))
            try model.setLinearWeight(site, Tensor(shape: w.shape, data: f.weight))
            try model.setLinearBias(site, Tensor(shape: b.shape, data: f.bias))
        }
    }
}
