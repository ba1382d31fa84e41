import Foundation

/// Adam (β₁, β₂, ε), L2 weight decay added to the gradient (PyTorch `Adam(weight_decay=)`), global-norm gradient
/// clipping, and the paper's schedule: linear warm-up to lr over `warmup` steps, then cosine decay to `finalLR`
/// at step `total`.
public struct BoundOptimizer: Sendable, Equatable {
    public var firstMoment: [Double]
    public var secondMoment: [Double]
    public var step: Int = 0
    public let config: HarmoQConfig

    public init(count: Int, config: HarmoQConfig) {
        firstMoment = [Double](repeating: 0, count: count)
        secondMoment = [Double](repeating: 0, count: count)
        self.config = config
    }

    public static func == (a: BoundOptimizer, b: BoundOptimizer) -> Bool {
        a.firstMoment == b.firstMoment && a.secondMoment == b.secondMoment && a.step == b.step
    }

    /// The scheduled learning rate at iteration t (0-based).
    public static func learningRate(at t: Int, config c: HarmoQConfig) -> Double {
        let mutant = ShippedMutant.active
        if c.warmupIterations > 0 && t < c.warmupIterations {
            return c.learningRate * Double(mutant == .scheduleWarmupOffByOne ? t : t + 1) / Double(c.warmupIterations)
        }
        let span = Swift.max(1, c.iterations - c.warmupIterations)
        let f = Swift.min(1, Double(t - c.warmupIterations) / Double(span))
        let phase = mutant == .scheduleCosineHalfPeriod ? Double.pi * f / 2 : Double.pi * f
        return c.finalLearningRate + 0.5 * (c.learningRate - c.finalLearningRate) * (1 + cos(phase))
    }

    /// One Adam update of `params` with gradient `grad` at learning rate `lr`; returns the pre-clip gradient norm.
    @discardableResult
    public mutating func update(_ params: inout [Double], grad: [Double], lr: Double) -> Double {
        let mutant = ShippedMutant.active
        var g = grad
        let wd = mutant == .adamWeightDecaySignFlipped ? -config.weightDecay : config.weightDecay
        for i in g.indices { g[i] += wd * params[i] }
        var norm = 0.0
        for v in g { norm += v * v }
        norm = norm.squareRoot()
        if config.gradientClipNorm > 0, norm > config.gradientClipNorm, mutant != .adamClipNormIgnored {
            let f = config.gradientClipNorm / norm
            for i in g.indices { g[i] *= f }
        }
        step += 1
        let b1 = config.adamBeta1, b2 = mutant == .adamBeta2IsBeta1 ? config.adamBeta1 : config.adamBeta2
        var c1 = 1 - pow(b1, Double(step)), c2 = 1 - pow(b2, Double(step))
        if mutant == .adamBiasCorrectionDropped { c1 = 1; c2 = 1 }
        let epsInside = mutant == .adamEpsilonInsideSquareRoot
        for i in params.indices {
            firstMoment[i] = b1 * firstMoment[i] + (1 - b1) * g[i]
            secondMoment[i] = b2 * secondMoment[i] + (1 - b2) * g[i] * g[i]
            let mh = firstMoment[i] / c1, vh = secondMoment[i] / c2
            let denom = epsInside ? (vh + config.adamEpsilon).squareRoot() : vh.squareRoot() + config.adamEpsilon
            params[i] -= lr * mh / denom
        }
        return norm
    }
}
