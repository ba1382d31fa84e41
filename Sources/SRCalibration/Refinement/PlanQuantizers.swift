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

    /// Sites with an online rotation: x·R, then the site's activation quantizer (if any).
    let rotated: [String: RotatedSite]
    /// With learned input scales: every quantized Linear (activation and weight quantized, no rotation) gets a channel
    /// factor c, x ⊘ c before its activation quantizer and W ⊙ c before its weight quantizer (`ChannelScale`).
    let scales: [String: ChannelScale]
    /// The plan's HSO input scale per scaled site (nil = ones).
    private let planInputScales: [String: [Float]?]
    /// With learned rotations: every rotated, quantized Linear gets an orthogonal factor S after its plan rotation R₀
    /// (`RotationFactor`), and its plan rotation (R₀, record) for folding R₀·S back.
    let rotationFactors: [String: RotationFactor]
    private let planRotations: [String: (SiteRotation, Rotation)]

    var siteQuantizers: SiteQuantizers {
        var act = activation.mapValues { $0.fake as DifferentiableSiteQuantizer }
        for (name, r) in rotated { act[name] = r }
        var wts = weight.mapValues { offsets[$0.site] ?? $0.fake as DifferentiableSiteQuantizer }
        for (name, c) in scales {
            act[name] = ScaledSite(c, .input, inner: act[name]!)
            wts[name] = ScaledSite(c, .weight, inner: wts[name]!)
        }
        for (name, f) in rotationFactors { wts[name] = RotatingSite(f, .weight, inner: wts[name]!) }
        return SiteQuantizers(activation: act, weight: wts)
    }

    /// The channel-factor sites sorted by name (the optimiser's parameter order).
    var scaleSites: [ChannelScale] { scales.keys.sorted().map { scales[$0]! } }

    /// The learned rotation factors sorted by site name (the optimiser's order).
    var rotationSites: [RotationFactor] { rotationFactors.keys.sorted().map { rotationFactors[$0]! } }

    /// The offset sites sorted by name (the optimiser's parameter order).
    var offsetSites: [(name: String, site: OffsetWeightSite)] { offsets.keys.sorted().map { ($0, offsets[$0]!) } }

    /// Every learnable quantizer, sorted by (site, weight last) so the optimiser's parameter order is fixed.
    var all: [LearnableSiteQuantizer] {
        (Array(activation.values) + Array(weight.values)).sorted { ($0.site, $0.isWeight ? 1 : 0) < ($1.site, $1.isWeight ? 1 : 0) }
    }

    init(plan: QParams, weights original: [String: Tensor], gradient: FakeQuantGradient, learnWeights: Bool = false,
         learnScales: Bool = false, learnRotations: Bool = false) throws {
        var w = original
        var act: [String: LearnableSiteQuantizer] = [:], wq: [String: LearnableSiteQuantizer] = [:]
        var offs: [String: OffsetWeightSite] = [:], sw: [String: [Float]] = [:]
        var rot: [String: RotatedSite] = [:]
        var sc: [String: ChannelScale] = [:], ps: [String: [Float]?] = [:]
        var rf: [String: RotationFactor] = [:], pr: [String: (SiteRotation, Rotation)] = [:]
        for s in plan.sites {
            if let a = s.activationPlan {
                act[s.name] = LearnableSiteQuantizer(site: s.name, isWeight: false,
                                                     quantizer: FakeQuantizer(try a.quantizer(), gradient: gradient),
                                                     inputScale: s.inputScale)
            }
            if let r = s.rotation {
                let r0 = try r.rotation()
                if learnRotations, let a = act[s.name], s.weightPlan != nil, let l = s.layer {
                    let f = RotationFactor(site: s.name, order: l.inputs, inputScale: s.inputScale)
                    rf[s.name] = f
                    pr[s.name] = (r, r0)
                    rot[s.name] = RotatedSite(r0, inner: RotatingSite(f, .input, inner: a.fake))
                } else {
                    rot[s.name] = RotatedSite(r0, inner: act[s.name]?.fake)
                }
            }
            guard let l = s.layer else { continue }
            try Self.place(l.weight, rows: l.outputs, cols: l.inputs, site: s.name, into: &w)
            if let p = s.weightPlan {
                wq[s.name] = LearnableSiteQuantizer(site: s.name, isWeight: true,
                                                    quantizer: try FakeQuantizer(perChannel: p.quantizers(), inner: l.inputs,
                                                                                 gradient: gradient),
                                                    inputScale: nil, tied: p.granularity == .perTensor)
                if learnWeights { offs[s.name] = OffsetWeightSite(wq[s.name]!.fake, rows: l.outputs, cols: l.inputs); sw[s.name] = l.weight }
                if rf[s.name] != nil { sw[s.name] = l.weight }
                if learnScales, s.activationPlan != nil, s.rotation == nil {
                    sc[s.name] = ChannelScale(site: s.name, channels: l.inputs)
                    ps[s.name] = s.inputScale
                    sw[s.name] = l.weight
                }
            }
        }
        scales = sc
        rotationFactors = rf
        planRotations = pr
        planInputScales = ps
        weights = w
        offsets = offs
        siteWeights = sw
        rotated = rot
        operandSites = Set(plan.sites.filter { $0.kind == .matmulOperand }.map(\.name))
        activation = act
        weight = wq
    }

    /// The plan with the quantizers' current bounds written back (everything else unchanged).
    func applied(to plan: QParams) -> QParams {
        var out = plan
        for i in out.sites.indices {
            let name = out.sites[i].name
            if let q = activation[name] { out.sites[i].setActivationBounds(lower: q.lower[0], upper: q.upper[0]) }
            if let q = weight[name] { out.sites[i].setWeightBounds(lower: q.lower, upper: q.upper) }
            if let c = scales[name], let w = siteWeights[name] {
                // The learned factor folded into the plan: input scale s ⊙ c, weight W ⊙ c (then the learned offset).
                let v = w.withUnsafeBufferPointer { c.scaledWeight($0.baseAddress!, rows: w.count / c.channels) }
                out.sites[i].layer?.weight = offsets[name].map { o in v.withUnsafeBufferPointer { o.shifted($0.baseAddress!) } } ?? v
                out.sites[i].layer?.inputScale = c.inputScale(from: planInputScales[name] ?? nil)
            } else if let f = rotationFactors[name], !f.isIdentity, let w = siteWeights[name], let (record, r0) = planRotations[name] {
                // The learned factor folded into the plan: rotation R₀·S (stored, kind learned), weight ((W′ ⊘ s)·S) ⊙ s.
                let v = w.withUnsafeBufferPointer { f.rotatedWeight($0.baseAddress!, rows: w.count / f.order) }
                out.sites[i].layer?.weight = offsets[name].map { o in v.withUnsafeBufferPointer { o.shifted($0.baseAddress!) } } ?? v
                let m = f.composed(with: r0.matrix).map { Float($0) }
                out.sites[i].rotation = SiteRotation(kind: .learned, seed: record.seed, order: f.order, matrix: m)
            } else if let o = offsets[name], let w = siteWeights[name] {
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
