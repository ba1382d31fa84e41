import Foundation
import HarmoQ
import SREngine

/// A learned per-input-channel factor c of a quantized Linear (OmniQuant's learnable equivalent transformation, scale
/// only): the activation quantizer sees x ⊘ c (on top of the plan's HSO input scale s, so the input scale becomes s ⊙ c)
/// and the weight quantizer sees W ⊙ c (column j times c_j), so the FP product (x ⊘ c)(W ⊙ c)ᵀ = x Wᵀ is unchanged and
/// only the two quantization errors move. c = exp(t), t learned by Adam (`ScaleParameters`), starting at c = 1, i.e.
/// at the plan's closed-form HSO scale s*.
///
/// `gradient` accumulates dL/dc from both sides: the activation side −Σ_i (dL/du_ij) u_ij / c_j with u = x ⊘ c, the
/// weight side Σ_r (dL/dv_rj) W_rj with v = W ⊙ c.
final class ChannelScale {
    let site: String
    /// c, one factor per input channel.
    var factor: [Float]
    var gradient: [Double]

    init(site: String, channels: Int) {
        self.site = site
        factor = [Float](repeating: 1, count: channels)
        gradient = [Double](repeating: 0, count: channels)
    }

    var channels: Int { factor.count }
    func zeroGradient() { for j in gradient.indices { gradient[j] = 0 } }

    /// s ⊙ c: the input scale the refined plan stores (s = nil means all ones).
    func inputScale(from s: [Float]?) -> [Float] { factor.indices.map { (s?[$0] ?? 1) * factor[$0] } }

    /// W ⊙ c for a row-major rows × channels matrix.
    func scaledWeight(_ w: UnsafePointer<Float>, rows: Int) -> [Float] {
        let d = channels
        var v = [Float](repeating: 0, count: rows * d)
        for r in 0..<rows { for j in 0..<d { v[r * d + j] = w[r * d + j] * factor[j] } }
        return v
    }
}

/// One side of a `ChannelScale` around a site quantizer:
/// * `.input`: y = inner(u), u = x ⊘ c; dL/dx = dL/du ⊘ c, dL/dc_j −= Σ_i (dL/du_ij) u_ij / c_j;
/// * `.weight`: Q = inner(v), v = W ⊙ c; dL/dW = dL/dv ⊙ c, dL/dc_j += Σ_r (dL/dv_rj) W_rj.
final class ScaledSite: TransformingSite {
    typealias Side = WrappedSide
    let scale: ChannelScale
    let side: Side
    let inner: DifferentiableSiteQuantizer

    init(_ scale: ChannelScale, _ side: Side, inner: DifferentiableSiteQuantizer) {
        self.scale = scale
        self.side = side
        self.inner = inner
    }

    /// x ⊘ c (input) or W ⊙ c (weight), rows × cols.
    func transformed(_ x: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float] {
        precondition(cols == scale.channels, "ScaledSite \(scale.site) (\(side)): \(cols) columns, \(scale.channels) scales")
        if side == .weight { return scale.scaledWeight(x, rows: rows) }
        var u = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { for j in 0..<cols { u[r * cols + j] = x[r * cols + j] / scale.factor[j] } }
        return u
    }

    func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, gradInput dx: UnsafeMutablePointer<Float>,
                  rows: Int, cols: Int) {
        let (u, du) = innerBackward(x, dy, rows: rows, cols: cols)
        switch side {
        case .input:
            var g = [Double](repeating: 0, count: cols)
            for r in 0..<rows { for j in 0..<cols { g[j] += Double(du[r * cols + j]) * Double(u[r * cols + j]) } }
            for j in 0..<cols { scale.gradient[j] -= g[j] / Double(scale.factor[j]) }
            for r in 0..<rows { for j in 0..<cols { dx[r * cols + j] = du[r * cols + j] / scale.factor[j] } }
        case .weight:
            for r in 0..<rows { for j in 0..<cols { scale.gradient[j] += Double(du[r * cols + j]) * Double(x[r * cols + j]) } }
            for r in 0..<rows { for j in 0..<cols { dx[r * cols + j] = du[r * cols + j] * scale.factor[j] } }
        }
    }
}

/// The learned channel factors of a set of Linear sites as one Adam parameter vector over t = log c (β 0.9/0.999,
/// ε 1e-8, cosine decay to `finalFraction`); dL/dt = c · dL/dc.
struct ScaleParameters {
    let scales: [ChannelScale]
    private var adam: BoundOptimizer
    private let config: HarmoQConfig
    private var values: [Double]

    init(_ scales: [ChannelScale], iterations: Int, learningRate: Double, finalFraction: Double) {
        self.scales = scales
        values = scales.flatMap { $0.factor.map { Foundation.log(Double($0)) } }
        let cfg = HarmoQConfig.refinementAdam(iterations: iterations, learningRate: learningRate, finalFraction: finalFraction)
        config = cfg
        adam = BoundOptimizer(count: values.count, config: cfg)
    }

    func zeroGradients() { for s in scales { s.zeroGradient() } }
    var snapshot: [[Float]] { scales.map(\.factor) }

    mutating func restore(_ s: [[Float]]) {
        var k = 0
        for (scale, f) in zip(scales, s) {
            scale.factor = f
            for j in f.indices { values[k + j] = Foundation.log(Double(f[j])) }
            k += f.count
        }
    }

    mutating func step(iteration it: Int, context: String) throws {
        var g: [Double] = []
        g.reserveCapacity(values.count)
        for s in scales {
            for j in 0..<s.channels {
                guard s.gradient[j].isFinite else {
                    throw QuantError("non-finite gradient of the learned input scale at \(context), site \(s.site), channel \(j); nothing written")
                }
                g.append(s.gradient[j] * Double(s.factor[j]))
            }
        }
        adam.update(&values, grad: g, lr: BoundOptimizer.learningRate(at: it, config: config))
        var k = 0
        for s in scales {
            for j in 0..<s.channels { s.factor[j] = Float(Foundation.exp(values[k + j])) }
            k += s.channels
        }
    }
}
