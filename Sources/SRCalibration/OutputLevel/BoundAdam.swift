import Foundation
import HarmoQ

/// Adam on a flat vector of Float32 parameters, written as PyTorch's single-tensor CPU path (`torch.optim.Adam`,
/// `foreach=False`, no weight decay, not amsgrad) so that one step reproduces 2DQuant's `optimizer_bound.step()` bit
/// for bit given the same gradients:
///
///     m ← m + (1 − β₁)·(g − m)              (lerp_)
///     v ← v·β₂ + (1 − β₂)·g·g               (mul_, addcmul_)
///     p ← p + (−lr/(1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε)   (addcdiv_; the scalars in Float64, cast to Float32)
///
/// ε matters for DQC: with its tiny losses many |g| are below 1e-8 (2dquant-README), so their step is < lr.
public struct BoundAdam: Sendable {
    public var lr: Double
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public private(set) var step = 0
    public private(set) var m: [Float]
    public private(set) var v: [Float]

    /// 2DQuant's settings: lr 1e-2, betas (0.9, 0.99), eps 1e-8.
    public init(count: Int, lr: Double = 1e-2, beta1: Double = 0.9, beta2: Double = 0.99, eps: Double = 1e-8) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    /// The optimiser's state (a DQC checkpoint holds it so that `--resume` continues bit for bit).
    public struct State: Codable, Sendable, Equatable {
        public var step: Int
        public var m: [Float]
        public var v: [Float]
    }

    public var state: State { State(step: step, m: m, v: v) }

    /// Continues from `s` (same parameter count).
    public mutating func restore(_ s: State) throws {
        guard s.m.count == m.count, s.v.count == v.count, s.step >= 0 else {
            throw QuantError("DQC checkpoint: Adam state for \(s.m.count) parameters, this run has \(m.count)")
        }
        step = s.step; m = s.m; v = s.v
    }

    /// One step: params ← Adam(params, grads).
    public mutating func update(_ params: inout [Float], gradients g: [Float]) {
        precondition(params.count == m.count && g.count == m.count, "BoundAdam: \(m.count) parameters, got \(params.count)/\(g.count)")
        step += 1
        let bc1 = 1 - Foundation.pow(beta1, Double(step)), bc2 = 1 - Foundation.pow(beta2, Double(step))
        let stepSize = Float(-(lr / bc1)), bc2Sqrt = Float(bc2.squareRoot())
        let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2), e = Float(eps)
        for i in params.indices {
            // lerp_(g, w1) for w1 < 0.5: m + w1·(g − m).
            m[i] = m[i] + w1 * (g[i] - m[i])
            v[i] = v[i] * b2 + w2 * g[i] * g[i]
            let denom = v[i].squareRoot() / bc2Sqrt + e
            params[i] = params[i] + stepSize * m[i] / denom
        }
    }

}
