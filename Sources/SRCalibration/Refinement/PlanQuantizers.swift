import HarmoQ
import SREngine
import SRIO

/// The differentiable form of a QPARAMS plan: the weights the plan runs (each quantized Linear's corrected weight
/// written into the state dict) and one `LearnableSiteQuantizer` per quantized activation and weight, initialised at
/// the plan's bounds. `QuantizedModel.apply` of the plan and the backward-capable forward with these quantizers
/// compute the same fake quantization.
struct PlanQuantizers {
    /// The state dict with every plan weight in place (qkv split sites write their 60-row slice of `qkv.weight`).
    let weights: [String: Tensor]
    let activation: [String: LearnableSiteQuantizer]
    let weight: [String: LearnableSiteQuantizer]
    /// The plan's attention matmul-operand sites (q, k, v, probs).
    let operandSites: Set<String>
    /// With learned weights: every quantized weight's offset site (wrapping `weight[name].fake`).
    let offsets: [String: OffsetWeightSite]
    /// The plan's weight per site (what the offsets are added to).
    private let siteWeights: [String: [Float]]

    var siteQuantizers: SiteQuantizers {
        SiteQuantizers(activation: activation.mapValues { $0.fake as DifferentiableSiteQuantizer },
                       weight: weight.mapValues { offsets[$0.site] ?? $0.fake as DifferentiableSiteQuantizer })
    }

    /// The offset sites sorted by name (the optimiser's parameter order).
    var offsetSites: [(name: String, site: OffsetWeightSite)] { offsets.keys.sorted().map { ($0, offsets[$0]!) } }

    /// Every learnable quantizer, sorted by (site, weight last) so the optimiser's parameter order is fixed.
    var all: [LearnableSiteQuantizer] {
        (Array(activation.values) + Array(weight.values)).sorted { ($0.site, $0.isWeight ? 1 : 0) < ($1.site, $1.isWeight ? 1 : 0) }
    }

    init(plan: QParams, weights original: [String: Tensor], gradient: FakeQuantGradient, learnWeights: Bool = false) throws {
        let rotated = plan.sites.filter { $0.rotation != nil }.map(\.name)
        guard rotated.isEmpty else {
            throw QuantError("refinement does not apply online rotations yet: the plan rotates the inputs of \(rotated.count) site(s) "
                             + "(\(rotated.prefix(3).joined(separator: ", "))\(rotated.count > 3 ? ", …" : "")); refine a plan calibrated without --rotate")
        }
        var w = original
        var act: [String: LearnableSiteQuantizer] = [:], wq: [String: LearnableSiteQuantizer] = [:]
        var offs: [String: OffsetWeightSite] = [:], sw: [String: [Float]] = [:]
        for s in plan.sites {
            if s.activationQuantized {
                act[s.name] = LearnableSiteQuantizer(site: s.name, isWeight: false,
                                                     quantizer: FakeQuantizer(try s.activationQuantizer(), gradient: gradient),
                                                     inputScale: s.layer?.inputScale)
            }
            guard let l = s.layer else { continue }
            try Self.place(l.weight, rows: l.outputs, cols: l.inputs, site: s.name, into: &w)
            if s.weightQuantized {
                wq[s.name] = LearnableSiteQuantizer(site: s.name, isWeight: true,
                                                    quantizer: try FakeQuantizer(perChannel: l.weightQuantizers(), inner: l.inputs,
                                                                                 gradient: gradient),
                                                    inputScale: nil)
                if learnWeights { offs[s.name] = OffsetWeightSite(wq[s.name]!.fake, rows: l.outputs, cols: l.inputs); sw[s.name] = l.weight }
            }
        }
        weights = w
        offsets = offs
        siteWeights = sw
        operandSites = Set(plan.sites.filter { $0.kind == .matmulOperand }.map(\.name))
        activation = act
        weight = wq
    }

    /// The plan with the quantizers' current bounds written back (everything else unchanged).
    func applied(to plan: QParams) -> QParams {
        var out = plan
        for i in out.sites.indices {
            let name = out.sites[i].name
            if let q = activation[name] {
                out.sites[i].activationLower = q.lower[0]; out.sites[i].activationUpper = q.upper[0]
                out.sites[i].layer?.activationLower = q.lower[0]; out.sites[i].layer?.activationUpper = q.upper[0]
            }
            if let q = weight[name] {
                out.sites[i].layer?.weightLower = q.lower; out.sites[i].layer?.weightUpper = q.upper
            }
            if let o = offsets[name], let w = siteWeights[name] {
                out.sites[i].layer?.weight = w.withUnsafeBufferPointer { o.shifted($0.baseAddress!) }
            }
        }
        return out
    }

    /// Writes a site's m×d weight into the state dict: `<site>.weight`, or rows t·m ..< (t+1)·m of
    /// `….attn.qkv.weight` for the split sites `….attn.qkv.{q,k,v}`.
    static func place(_ data: [Float], rows m: Int, cols d: Int, site: String, into w: inout [String: Tensor]) throws {
        if let key = w["\(site).weight"].map({ _ in "\(site).weight" }) {
            guard w[key]!.shape == [m, d] else { throw QuantError("plan site '\(site)' is \(m)×\(d), the model's weight is \(w[key]!.shape)") }
            w[key] = Tensor(shape: [m, d], data: data)
            return
        }
        let parts = ["q", "k", "v"]
        guard let dot = site.lastIndex(of: "."), let t = parts.firstIndex(of: String(site[site.index(after: dot)...])) else {
            throw QuantError("plan site '\(site)' has no weight in the model")
        }
        let key = "\(site[..<dot]).weight"
        guard var full = w[key], full.shape == [3 * m, d] else {
            throw QuantError("plan site '\(site)': no \(3 * m)×\(d) weight '\(key)' in the model")
        }
        for i in 0..<(m * d) { full.data[t * m * d + i] = data[i] }
        w[key] = full
    }
}
