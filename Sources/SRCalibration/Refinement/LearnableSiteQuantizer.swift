import HarmoQ
import SREngine

/// A site quantizer of a QPARAMS plan whose clipping bounds are learned by an output-level objective: the plan's
/// site name and side (weight or activation) around a `FakeQuantSite`, which computes exactly what
/// `QuantizedModel` applies at the site — y = Q(x ⊘ s) for an activation with HSO input scale s, or Q_w(W) per output
/// row for a weight — and accumulates dL/d(lower, upper) per channel in its backward.
final class LearnableSiteQuantizer {
    let site: String
    let isWeight: Bool
    let fake: FakeQuantSite

    init(site: String, isWeight: Bool, quantizer: FakeQuantizer, inputScale: [Float]?) {
        self.site = site
        self.isWeight = isWeight
        fake = FakeQuantSite(quantizer, inputScale: inputScale)
    }

    var lower: [Float] { fake.lower }
    var upper: [Float] { fake.upper }
    var gradient: BoundGradient { fake.gradient }
    func resetGradient() { fake.zeroGradient() }
    func setBounds(lower: [Float], upper: [Float]) throws { try fake.setBounds(lower: lower, upper: upper) }
}
