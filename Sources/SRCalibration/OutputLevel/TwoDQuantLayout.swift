import HarmoQ
import SREngine
import SRIO

/// One fake quantizer of 2DQuant's quantized network, named by its module path in the official `net_Q`
/// (Kai-Liu001/2DQuant @ 972eb42, `build_quantized_network`), and the engine site it acts on.
public struct TwoDQuantQuantizer: Sendable, Hashable {
    public enum Role: String, Sendable, Codable { case activation, weight }
    /// Official name, e.g. `layers.0.residual_group.blocks.0.attn.qkv.q.act_quantizer`, `….attn.mymodule_a`.
    public let name: String
    /// Engine site name (`harmoq inspect --split-qkv`).
    public let site: String
    public let role: Role
}

/// 2DQuant's quantizer placement on an engine model built with `splitQKV` (docs/2dquant.md):
/// every Linear site (q, k, v of the split qkv, proj, fc1, fc2) has an activation quantizer on its input
/// (`<site>.act_quantizer`) and a weight quantizer (`<site>.weight_quantizer`); the matmul operands q (after the
/// scale), k, v and the softmax probabilities are `mymodule_q/k/v/a` of their attention module. Everything else
/// (convs, LayerNorms, biases, softmax, GELU, position bias, masks) stays in FP32. All per tensor, affine.
public enum TwoDQuantLayout {
    /// The quantizers in the model's site order (activation before weight), 16 per Swin block.
    public static func quantizers(of model: any SRModel) throws -> [TwoDQuantQuantizer] {
        var out: [TwoDQuantQuantizer] = []
        for s in model.sites {
            if s.isLinear {
                if s.name.hasSuffix(".attn.qkv") {
                    throw QuantError("2DQuant splits every qkv Linear into q, k, v (qkv_separation): build the model with "
                                     + "splitQKV (site '\(s.name)' is fused)")
                }
                out.append(.init(name: s.name + ".act_quantizer", site: s.name, role: .activation))
                out.append(.init(name: s.name + ".weight_quantizer", site: s.name, role: .weight))
            } else {
                out.append(.init(name: try operandName(s.name), site: s.name, role: .activation))
            }
        }
        return out
    }

    /// `….q` → `….mymodule_q` (k, v likewise), `….probs` → `….mymodule_a`.
    static func operandName(_ site: String) throws -> String {
        guard let dot = site.lastIndex(of: ".") else { throw QuantError("2DQuant: operand site '\(site)' has no module path") }
        let module = site[..<dot], leaf = site[site.index(after: dot)...]
        switch leaf {
        case "q", "k", "v": return "\(module).mymodule_\(leaf)"
        case "probs": return "\(module).mymodule_a"
        default: throw QuantError("2DQuant: no official quantizer for operand site '\(site)'")
        }
    }

    /// A QPARAMS plan holding 2DQuant bounds (per-tensor affine, the same bits for weights and activations) for every
    /// quantizer: `bounds[name] = (lower, upper)`. Linear sites keep the model's loaded weight (the plan quantizes it).
    public static func qparams(bounds: [String: (lower: Float, upper: Float)], model: any SRModel, modelName: String,
                               bits: Int, method: String, patchCount: Int, patchSources: [String],
                               notes: [String]) throws -> QParams {
        model.restoreOriginalWeights()
        var sites: [SiteQuantization] = []
        let qs = try quantizers(of: model)
        for s in model.sites {
            func b(_ role: TwoDQuantQuantizer.Role) throws -> (lower: Float, upper: Float) {
                guard let q = qs.first(where: { $0.site == s.name && $0.role == role }), let v = bounds[q.name] else {
                    throw QuantError("2DQuant plan: no \(role) bounds for site '\(s.name)'")
                }
                _ = try Quantizer(bits: bits, lower: v.lower, upper: v.upper, scheme: .affine)
                return v
            }
            let a = try b(.activation)
            if case let .linear(inF, outF) = s.kind {
                let w = try b(.weight)
                // The 2DQuant scheme's per-tensor affine LayerQuantization of this weight, then the plan's bounds.
                let weight = try model.linearWeight(s).weight.data
                let problem = try LayerProblem(weight: weight, outputs: outF, inputs: inF,
                                               samples: [Float](repeating: 0, count: inF), rows: 1)
                var l = try BaselineCalibration.calibrate(problem, method: .twoDQuantScheme(), weightBits: bits, activationBits: bits)
                l.weightLower = [Float](repeating: w.lower, count: outF)
                l.weightUpper = [Float](repeating: w.upper, count: outF)
                l.activationLower = a.lower
                l.activationUpper = a.upper
                sites.append(SiteQuantization(linear: s.name, layer: l, activationQuantized: true, weightQuantized: true))
            } else {
                sites.append(SiteQuantization(operand: s.name, activation: ActivationQuantizerPlan(
                    bits: bits, scheme: .affine, rounding: .halfToEven, integerZeroPoint: false, lower: a.lower, upper: a.upper),
                                              activationQuantized: true))
            }
        }
        return QParams(toolVersion: "harmoq", model: modelName, architecture: model.architecture.rawValue, scale: model.scale,
                       method: method, weightBits: bits, activationBits: bits, seed: 0, inputs: "fp", patchCount: patchCount,
                       patchSources: patchSources, notes: notes, config: nil, sites: sites)
    }

    /// The plan's bounds by official quantizer name (inverse of `qparams`; per-tensor weights: row 0's bounds).
    public static func bounds(of plan: QParams, model: any SRModel) throws -> [String: (lower: Float, upper: Float)] {
        var out: [String: (lower: Float, upper: Float)] = [:]
        let bySite = Dictionary(uniqueKeysWithValues: plan.sites.map { ($0.name, $0) })
        for q in try quantizers(of: model) {
            guard let s = bySite[q.site] else { throw QuantError("2DQuant: QPARAMS lacks site '\(q.site)'") }
            switch q.role {
            case .activation: out[q.name] = (s.activationLower, s.activationUpper)
            case .weight:
                guard let l = s.layer, let lo = l.weightLower.first, let hi = l.weightUpper.first,
                      l.weightLower.allSatisfy({ $0 == lo }), l.weightUpper.allSatisfy({ $0 == hi }) else {
                    throw QuantError("2DQuant: site '\(q.site)' has no per-tensor weight bounds")
                }
                out[q.name] = (lo, hi)
            }
        }
        return out
    }
}

extension TwoDQuantLayout {
    /// Where DQC's feature loss reads the model (engine stage names, `SRModel.forward(_:stages:)`).
    ///
    /// SwinIR-light: the output of each RSTB's `residual_group` (BasicLayer) = its last Swin block's output, before
    /// the RSTB conv and residual add (`hook_per_layer: True`): `layer{i}_block{last}`.
    /// DAT-light has one residual group of 18 blocks; the official code has no DAT configuration. We read the
    /// outputs of blocks 4, 9, 13 and 17 — four features as for SwinIR, evenly spaced, the last being the group's
    /// block output before its conv (the analogue of SwinIR's BasicLayer output).
    public static func featureStages(of model: any SRModel) -> [String] {
        switch model.architecture {
        case .swinIRLight:
            var last: [Int: Int] = [:]
            for s in model.sites {
                let parts = s.name.split(separator: ".")
                guard parts.count > 4, parts[0] == "layers", parts[2] == "residual_group", parts[3] == "blocks",
                      let i = Int(parts[1]), let j = Int(parts[4]) else { continue }
                last[i] = Swift.max(last[i] ?? 0, j)
            }
            return last.keys.sorted().map { "layer\($0)_block\(last[$0]!)" }
        case .datLight:
            return ["block4", "block9", "block13", "block17"]
        }
    }

    /// Forward of every input with whatever hook/weights are installed; returns each output's data and the
    /// `featureStages` tensors (`features[k][b]`, token-major L·C).
    public static func forward(model: any SRModel, inputs: [Tensor], featureStages: [String]) throws
        -> (outputs: [[Float]], features: [[[Float]]]) {
        var outs: [[Float]] = []
        var feats = [[[Float]]](repeating: [], count: featureStages.count)
        let want = Dictionary(uniqueKeysWithValues: featureStages.enumerated().map { ($1, $0) })
        for x in inputs {
            var got = [[Float]?](repeating: nil, count: featureStages.count)
            let y = try model.forward(x) { name, t in if let k = want[name] { got[k] = t.data } }
            for k in featureStages.indices {
                guard let f = got[k] else { throw QuantError("DQC: the model emitted no stage '\(featureStages[k])'") }
                feats[k].append(f)
            }
            outs.append(y.data)
        }
        return (outs, feats)
    }
}
