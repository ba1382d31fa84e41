import HarmoQ
import SREngine

/// 2DQuant's learnable quantizers as differentiable site quantizers for a backward-capable forward
/// (`SwinIRLightBackward`, `DATLightBackward`): one `FakeQuantSite` (per-tensor affine, STE = 2DQuant's autograd) per
/// official quantizer, keyed into `SiteQuantizers` by engine site name (activation: Linear inputs and attention
/// operands; weight: Linear weights). The bounds are a flat vector [lb₀, ub₀, lb₁, ub₁, …] in `layout` order, the
/// parameters DQC's Adam updates.
public final class TwoDQuantSiteSet {
    public let layout: [TwoDQuantQuantizer]
    public let sites: [FakeQuantSite]
    public let bits: Int
    public let siteQuantizers: SiteQuantizers

    public init(layout: [TwoDQuantQuantizer], bounds: [String: (lower: Float, upper: Float)], bits: Int,
                gradient: FakeQuantGradient = .ste) throws {
        self.layout = layout
        self.bits = bits
        var act: [String: DifferentiableSiteQuantizer] = [:], wt: [String: DifferentiableSiteQuantizer] = [:]
        var s: [FakeQuantSite] = []
        for q in layout {
            guard let b = bounds[q.name] else { throw QuantError("2DQuant: no bounds for quantizer '\(q.name)'") }
            let site = FakeQuantSite(FakeQuantizer(try Quantizer(bits: bits, lower: b.lower, upper: b.upper, scheme: .affine),
                                                   gradient: gradient))
            s.append(site)
            switch q.role {
            case .activation: act[q.site] = site
            case .weight: wt[q.site] = site
            }
        }
        sites = s
        siteQuantizers = SiteQuantizers(activation: act, weight: wt)
    }

    /// Bounds by official name.
    public var bounds: [String: (lower: Float, upper: Float)] {
        var out: [String: (lower: Float, upper: Float)] = [:]
        for (q, s) in zip(layout, sites) { out[q.name] = (s.lower[0], s.upper[0]) }
        return out
    }

    /// [lb₀, ub₀, lb₁, ub₁, …].
    public var flatBounds: [Float] { sites.flatMap { [$0.lower[0], $0.upper[0]] } }

    /// dL/d bounds accumulated since the last `zeroGradients`, same order, rounded to Float32.
    public var flatGradients: [Float] { sites.flatMap { [Float($0.gradient.lower[0]), Float($0.gradient.upper[0])] } }

    /// The same in Float64.
    public var flatGradients64: [Double] { sites.flatMap { [$0.gradient.lower[0], $0.gradient.upper[0]] } }

    /// Installs new bounds; throws when a pair is no longer a valid quantizer (lower < upper).
    public func setFlatBounds(_ p: [Float]) throws {
        guard p.count == 2 * sites.count else { throw QuantError("2DQuant: \(2 * sites.count) bounds expected, got \(p.count)") }
        for (i, s) in sites.enumerated() {
            do { try s.setBounds(lower: [p[2 * i]], upper: [p[2 * i + 1]]) } catch {
                throw QuantError("2DQuant: quantizer '\(layout[i].name)' bounds [\(p[2 * i]), \(p[2 * i + 1])]: \(error)")
            }
        }
    }

    public func zeroGradients() { for s in sites { s.zeroGradient() } }
}
