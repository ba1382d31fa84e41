import HarmoQ
import SREngine

/// A site quantizer of a QPARAMS plan whose clipping bounds are learned by an output-level objective: the plan's
/// site name and side (weight or activation) around a `FakeQuantSite`, which computes exactly what
/// `QuantizedModel` applies at the site — y = Q(x ⊘ s) for an activation with HSO input scale s, or Q_w(W) per output
/// row for a weight — and accumulates dL/d(lower, upper) per channel in its backward.
///
/// `tied`: a per-tensor weight grid (DOBI, the 2DQuant scheme) held as one quantizer per row with equal bounds; its
/// rows share one learned (lower, upper) pair (`BoundParameters` sums their gradients and writes one value to every row),
/// so a refined plan stays per-tensor.
final class LearnableSiteQuantizer {
    let site: String
    let isWeight: Bool
    let tied: Bool
    let fake: FakeQuantSite

    init(site: String, isWeight: Bool, quantizer: FakeQuantizer, inputScale: [Float]?, tied: Bool = false) {
        self.site = site
        self.isWeight = isWeight
        self.tied = tied
        fake = FakeQuantSite(quantizer, inputScale: inputScale)
    }

    var lower: [Float] { fake.lower }
    var upper: [Float] { fake.upper }
    var gradient: BoundGradient { fake.gradient }
    func resetGradient() { fake.zeroGradient() }
    func setBounds(lower: [Float], upper: [Float]) throws { try fake.setBounds(lower: lower, upper: upper) }
}
