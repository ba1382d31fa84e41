import HarmoQ
import SREngine
import SRIO

/// Online rotations for 2DQuant (`harmoq calibrate --method 2dquant --rotate hadamard|random`): the sites and per-site
/// seeds of `RotationPolicy` on the split-qkv model (the inputs of q/k/v, fc1, fc2 by default), except that the split
/// q, k and v Linears of a block share the q site's rotation — they read one input, as the fused qkv does — so
/// DOBI's one search of that input stays valid for all three.
///
/// How the run uses them (`DQCTrainer.run`): DOBI searches x·R at every rotated input and W·R for its weight; DQC's
/// student computes with the weights W·R and quantizes x·R (`RotatedSite`), while its FP teacher is the unrotated
/// model (the rotation leaves the FP function unchanged: x·R·(W·R)ᵀ = x·Wᵀ); the plan stores W·R and each site's
/// rotation record, as every rotated plan does, so eval, integer execution and the ONNX export run it.
public struct TwoDQuantRotations {
    /// Per rotated site name: the plan record and the matrix.
    public let sites: [String: (record: SiteRotation, matrix: Rotation)]

    public init(model: any SRModel, kind: RotationKind, seed: UInt64,
                layers: Set<RotationPolicy.Layer> = RotationPolicy.defaultLayers) throws {
        guard kind != .learned else {
            throw QuantError("2dquant: learned rotations are learned by block refinement, which 2dquant does not run; use hadamard or random")
        }
        var named: [String: (record: SiteRotation, matrix: Rotation)] = [:]
        for (i, r) in try RotationPolicy.rotations(for: model, kind: kind, seed: seed, layers: layers) {
            named[model.sites[i].name] = (r.0, r.1)
        }
        for name in Array(named.keys) where name.hasSuffix(".qkv.k") || name.hasSuffix(".qkv.v") {
            let q = String(name.dropLast()) + "q"
            guard let r = named[q] else { throw QuantError("2dquant --rotate: split site '\(name)' has no rotated q site '\(q)'") }
            named[name] = r
        }
        sites = named
    }

    /// The matrices by site name.
    public var matrices: [String: Rotation] { sites.mapValues(\.matrix) }

    /// `weights` with every rotated Linear's weight replaced by W·R (split q/k/v sites: their rows of the fused
    /// `….attn.qkv.weight`); `model` is the split-qkv model the sites come from, holding `weights`' own values.
    public func rotatedWeights(_ weights: [String: Tensor], model: any SRModel) throws -> [String: Tensor] {
        var out = weights
        for s in model.sites {
            guard let r = sites[s.name]?.matrix, case let .linear(inF, outF) = s.kind else { continue }
            let w = try model.linearWeight(s).weight.data
            try PlanQuantizers.place(r.rotateWeight(w, outputs: outF), rows: outF, cols: inF, site: s.name, into: &out)
        }
        return out
    }

    /// The student's quantizers: each rotated site's activation quantizer behind its rotation (x·R, then Q).
    public func wrapping(_ q: SiteQuantizers) -> SiteQuantizers {
        var act = q.activation
        for (name, r) in sites { act[name] = RotatedSite(r.matrix, inner: act[name]) }
        return SiteQuantizers(activation: act, weight: q.weight)
    }
}
