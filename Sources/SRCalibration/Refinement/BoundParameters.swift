import HarmoQ

/// The clipping bounds of a set of learnable site quantizers as one Adam parameter vector, shared by block
/// reconstruction and whole-model distillation.
///
/// θ = bound / r0 per channel (r0 = the channel's initial range, upper − lower), so one learning rate fits every
/// quantizer; order: per quantizer, its lower bounds then its upper bounds. A `tied` quantizer (a per-tensor weight grid)
/// has one θ pair: its gradient is the sum of its rows' (the bounds are shared) and a step writes one value to every row. Adam β 0.9/0.999, ε 1e-8, no decay,
/// cosine decay of the learning rate to `finalFraction` of it over `iterations`. After a step a pair closer than
/// 1e-3·r0 (or non-finite) is reset around its midpoint so every quantizer stays valid.
struct BoundParameters {
    let learn: [LearnableSiteQuantizer]
    private let ranges: [[Double]]
    private var theta: [Double] = []
    private var adam: BoundOptimizer
    private let config: HarmoQConfig

    init(_ learn: [LearnableSiteQuantizer], iterations: Int, learningRate: Double, finalFraction: Double) {
        self.learn = learn
        ranges = learn.map { q in zip(q.lower, q.upper).prefix(q.tied ? 1 : q.lower.count).map { Double($1 - $0) } }
        for (q, r) in zip(learn, ranges) {
            for c in r.indices { theta.append(Double(q.lower[c]) / r[c]) }
            for c in r.indices { theta.append(Double(q.upper[c]) / r[c]) }
        }
        let cfg = HarmoQConfig.refinementAdam(iterations: iterations, learningRate: learningRate, finalFraction: finalFraction)
        config = cfg
        adam = BoundOptimizer(count: theta.count, config: cfg)
    }

    var count: Int { theta.count }

    func zeroGradients() { for q in learn { q.resetGradient() } }

    /// The current bounds of every learned quantizer (to restore a checkpoint with `restore`).
    var snapshot: [([Float], [Float])] { learn.map { ($0.lower, $0.upper) } }

    /// Sets the quantizers' bounds and θ back to a snapshot (Adam's moments are kept).
    mutating func restore(_ s: [([Float], [Float])]) throws {
        var k = 0
        for ((q, r), b) in zip(zip(learn, ranges), s) {
            try q.setBounds(lower: b.0, upper: b.1)
            for c in r.indices { theta[k + c] = Double(b.0[c]) / r[c]; theta[k + r.count + c] = Double(b.1[c]) / r[c] }   // tied: row 0
            k += 2 * r.count
        }
    }

    /// The accumulated dL/dθ; a non-finite entry throws naming the site, side, channel and bound (`context` says where:
    /// "block 3, iteration 7").
    func gradient(context: String) throws -> [Double] {
        var g: [Double] = []
        g.reserveCapacity(theta.count)
        for (q, r) in zip(learn, ranges) {
            var gl = q.gradient.lower, gu = q.gradient.upper
            if q.tied { gl = [gl.reduce(0, +)]; gu = [gu.reduce(0, +)] }   // one shared pair: dL/dl = Σ_rows dL/dl_row
            for c in r.indices {
                guard gl[c].isFinite else { throw Self.nonFinite(q, c, "lower", gl[c], context) }
                g.append(gl[c] * r[c])
            }
            for c in r.indices {
                guard gu[c].isFinite else { throw Self.nonFinite(q, c, "upper", gu[c], context) }
                g.append(gu[c] * r[c])
            }
        }
        return g
    }

    static func nonFinite(_ q: LearnableSiteQuantizer, _ c: Int, _ bound: String, _ v: Double, _ context: String) -> QuantError {
        let channel = q.lower.count > 1 ? ", channel \(c)" : ""
        return QuantError("non-finite gradient (\(v)) of the \(bound) bound at \(context), site \(q.site) (\(q.isWeight ? "weight" : "activation")\(q.tied ? "" : channel)); nothing written")
    }

    /// One Adam step at iteration `it` (0-based) from the accumulated gradients, then the new bounds into the quantizers.
    mutating func step(iteration it: Int, context: String) throws {
        let g = try gradient(context: context)
        adam.update(&theta, grad: g, lr: BoundOptimizer.learningRate(at: it, config: config))
        var k = 0
        for (q, r) in zip(learn, ranges) {
            let n = r.count
            var lo = [Float](repeating: 0, count: n), up = lo
            for c in 0..<n {
                lo[c] = Float(theta[k + c] * r[c])
                up[c] = Float(theta[k + n + c] * r[c])
                let gap = Float(1e-3 * r[c])
                if !(up[c] - lo[c] >= gap) {   // keep a valid quantizer (also catches NaN)
                    let mid = (lo[c] + up[c]) / 2
                    lo[c] = mid - gap / 2; up[c] = mid + gap / 2
                    theta[k + c] = Double(lo[c]) / r[c]; theta[k + n + c] = Double(up[c]) / r[c]
                }
            }
            if q.tied { lo = [Float](repeating: lo[0], count: q.lower.count); up = [Float](repeating: up[0], count: q.upper.count) }
            try q.setBounds(lower: lo, upper: up)
            k += 2 * n
        }
    }
}

extension HarmoQConfig {
    /// The optimiser settings of output-level refinement (bounds and weight offsets alike): Adam (β 0.9 / 0.999,
    /// ε 1e-8), no warm-up, cosine decay from `learningRate` to `learningRate · finalFraction` over `iterations`, no
    /// weight decay, no gradient clipping — `BoundOptimizer` reads it.
    static func refinementAdam(iterations: Int, learningRate: Double, finalFraction: Double) -> HarmoQConfig {
        var cfg = HarmoQConfig()
        cfg.iterations = iterations; cfg.warmupIterations = 0
        cfg.learningRate = learningRate; cfg.finalLearningRate = learningRate * finalFraction
        cfg.adamBeta1 = 0.9; cfg.adamBeta2 = 0.999; cfg.adamEpsilon = 1e-8
        cfg.weightDecay = 0; cfg.gradientClipNorm = 0
        return cfg
    }
}
