/// Adaptive Boundary Refinement (ABR, paper Step 3 and the "iterative coordination" rows of the implementation
/// table): projected Adam on the clipping bounds of one layer.
///
/// Per iteration t: evaluate L(θ_t) and ∂L/∂θ (STE or exact), step with Adam at the scheduled lr × a rollback
/// multiplier, project onto α ≤ β − margin. Early stop when |ΔL| < δ for `patience` consecutive accepted steps.
///
/// - `rollbackOnIncrease` (corrected): if L(θ_t) > L(θ_accepted), restore θ and the Adam state, halve the
///   multiplier and retry from the accepted point, so the accepted trace is monotone by construction.
/// - literal: every `rebalancePeriod` iterations recompute s* (scalar, eq. 6) and rescale W_c, x and the bounds by
///   it; when |MSE_x − MSE_w| > ε (ε = balanceTolerance·(MSE_x + MSE_w) at the start) roll back to the previous
///   valid state and halve the lr, then rebalance; when it exceeds srcReapplyFactor·ε also re-apply SRC.
public enum AdaptiveBoundaryRefinement {
    public struct Context {
        public var rawRows: [Float]
        public var loss: CompoundLoss
        public var reapplySRC: ((inout LayerQuantization) throws -> Void)?
        public init(rawRows: [Float], loss: CompoundLoss, reapplySRC: ((inout LayerQuantization) throws -> Void)?) {
            self.rawRows = rawRows; self.loss = loss; self.reapplySRC = reapplySRC
        }
    }

    static func theta(_ q: LayerQuantization) -> [Double] {
        [Double(q.activationLower), Double(q.activationUpper)] + q.weightLower.map(Double.init) + q.weightUpper.map(Double.init)
    }

    static func setTheta(_ q: inout LayerQuantization, _ t: [Double]) {
        let m = q.outputs
        q.activationLower = Float(t[0]); q.activationUpper = Float(t[1])
        for i in 0..<m { q.weightLower[i] = Float(t[2 + i]); q.weightUpper[i] = Float(t[2 + m + i]) }
    }

    /// Feasibility projection on every (α, β) pair, with margins in θ units.
    static func project(_ q: inout LayerQuantization, margins: [Float]) {
        let m = q.outputs
        var p = Quantizer.projectFeasible(lower: q.activationLower, upper: q.activationUpper, margin: margins[0])
        q.activationLower = p.lower; q.activationUpper = p.upper
        for i in 0..<m {
            p = Quantizer.projectFeasible(lower: q.weightLower[i], upper: q.weightUpper[i], margin: margins[1 + i])
            q.weightLower[i] = p.lower; q.weightUpper[i] = p.upper
        }
    }

    /// Rescales by a scalar factor f: W_c → f·W_c, weight bounds → f·bounds, x → x/f, activation bounds → bounds/f.
    static func applyScalarScale(_ q: inout LayerQuantization, _ f: Float) {
        for i in q.weight.indices { q.weight[i] *= f }
        if ShippedMutant.active != .hsoScalarScaleBoundsNotScaled {
            for i in 0..<q.outputs { q.weightLower[i] *= f; q.weightUpper[i] *= f }
            q.activationLower /= f; q.activationUpper /= f
        }
        q.inputScale = (q.inputScale ?? [Float](repeating: 1, count: q.inputs)).map { $0 * f }
    }

    public static func run(_ q: inout LayerQuantization, context ctx: inout Context, config c: HarmoQConfig) throws -> RefinementTrace {
        var trace = RefinementTrace()
        let m = q.outputs
        let literal = c.variant == .paperLiteral
        let mutant = ShippedMutant.active
        ctx.loss.prepare(rawInputs: ctx.rawRows, inputScale: q.inputScale, weight: q.weight)

        // Parameter scaling: p = θ / scale.
        func scales(_ q: LayerQuantization) -> [Double] {
            guard c.boundParameterisation == .relative, mutant != .abrRelativeScaleIgnored else { return [Double](repeating: 1, count: 2 + 2 * m) }
            return theta(q).map { Swift.max(abs($0), 1e-8) }
        }
        var pScale = scales(q)
        func margins() -> [Float] {
            guard c.boundParameterisation == .relative else { return [Float](repeating: c.feasibilityMargin, count: 1 + m) }
            let aw = Swift.max(abs(q.activationLower), abs(q.activationUpper))
            return [c.feasibilityMargin * aw] + (0..<m).map { c.feasibilityMargin * Swift.max(abs(q.weightLower[$0]), abs(q.weightUpper[$0])) }
        }
        let margin = margins()
        var adam = BoundOptimizer(count: 2 + 2 * m, config: c)
        var lrMult = 1.0
        func mses(_ q: LayerQuantization) -> (Double, Double) {
            (HarmonizedScale.activationMSEModel(lower: q.activationLower, upper: q.activationUpper, bits: q.activationBits),
             HarmonizedScale.weightMSEModel(lower: q.weightLower, upper: q.weightUpper, bits: q.weightBits))
        }
        let (mx0, mw0) = mses(q)
        let eps = c.balanceTolerance * (mx0 + mw0)

        var accepted = q, acceptedAdam = adam
        var acceptedLoss = Double.infinity
        var acceptedGrad: [Double] = []
        var smallRun = 0
        var best = q, bestLoss = Double.infinity
        for t in 0..<c.iterations {
            let lr = BoundOptimizer.learningRate(at: t, config: c) * lrMult
            var events: [RefinementStep.Event] = []
            var (loss, grad) = try ctx.loss.evaluate(q, mode: c.gradientMode, gradient: true)
            var isAccepted = true
            if t == 0 { trace.initialLoss = loss }
            let evaluatedLoss = loss
            if c.keepBest && loss < bestLoss { bestLoss = loss; best = q }
            if c.rollbackOnIncrease && loss > acceptedLoss {
                isAccepted = false
                events.append(.rejectedIncrease)
                trace.rollbacks += 1
                q = accepted; adam = acceptedAdam
                lrMult *= 0.5
                (loss, grad) = (acceptedLoss, acceptedGrad)
            }
            let (mx, mw) = mses(q)
            trace.steps.append(RefinementStep(iteration: t, loss: evaluatedLoss, accepted: isAccepted, learningRate: lr,
                                              events: events, mseX: mx, mseW: mw))
            if isAccepted {
                if acceptedLoss.isFinite {
                    let delta = abs(loss - acceptedLoss) / (c.earlyStopRelative ? Swift.max(abs(acceptedLoss), 1e-300) : 1)
                    if delta < c.earlyStopDelta {
                        if trace.firstSmallChange == nil { trace.firstSmallChange = t }
                        smallRun += 1
                    } else { smallRun = 0 }
                }
                accepted = q; acceptedAdam = adam; acceptedLoss = loss; acceptedGrad = grad
                if smallRun >= c.earlyStopPatience { trace.earlyStopIteration = t; break }
            }
            if lrMult < 1e-6 { trace.steps[trace.steps.count - 1].events.append(.stalled); break }

            // Adam step in p-space.
            var p = theta(q).enumerated().map { $0.element / pScale[$0.offset] }
            let gp = grad.enumerated().map { $0.element * pScale[$0.offset] }
            adam.update(&p, grad: gp, lr: lr)
            setTheta(&q, p.enumerated().map { $0.element * pScale[$0.offset] })
            project(&q, margins: margin)

            if literal {
                let previous = accepted
                let (nx, nw) = mses(q)
                if abs(nx - nw) > eps {
                    trace.steps[trace.steps.count - 1].events.append(.balanceRollback)
                    trace.rollbacks += 1
                    q = previous
                    lrMult *= 0.5
                    try rebalance(&q, config: c)
                    trace.rebalances += 1
                    trace.steps[trace.steps.count - 1].events.append(.rebalanced)
                    if abs(nx - nw) > c.srcReapplyFactor * eps, let src = ctx.reapplySRC {
                        try src(&q)
                        trace.srcReapplications += 1
                        trace.steps[trace.steps.count - 1].events.append(.srcReapplied)
                    }
                    ctx.loss.prepare(rawInputs: ctx.rawRows, inputScale: q.inputScale, weight: q.weight)
                    pScale = scales(q)
                    acceptedLoss = .infinity  // the problem changed: restart the acceptance reference
                } else if (t + 1) % c.rebalancePeriod == 0 {
                    try rebalance(&q, config: c)
                    trace.rebalances += 1
                    trace.steps[trace.steps.count - 1].events.append(.rebalanced)
                    ctx.loss.prepare(rawInputs: ctx.rawRows, inputScale: q.inputScale, weight: q.weight)
                    pScale = scales(q)
                }
            }
        }
        if c.rollbackOnIncrease && acceptedLoss.isFinite {
            // Leave the layer at the best accepted point.
            let final = try ctx.loss.evaluate(q, mode: c.gradientMode, gradient: false).loss
            if final > acceptedLoss { q = accepted }
        }
        if c.keepBest && bestLoss.isFinite && mutant != .abrKeepBestIgnored {
            let final = try ctx.loss.evaluate(q, mode: c.gradientMode, gradient: false).loss
            if final > bestLoss { q = best }
        }
        trace.finalLoss = try ctx.loss.evaluate(q, mode: c.gradientMode, gradient: false).loss
        return trace
    }

    /// Literal HSO rebalance: rescale by s* computed from the current bounds (factor relative to now).
    static func rebalance(_ q: inout LayerQuantization, config c: HarmoQConfig) throws {
        let s = try HarmonizedScale.literalScale(activationLower: q.activationLower, activationUpper: q.activationUpper,
                                                 weightLower: q.weightLower, weightUpper: q.weightUpper,
                                                 weightBits: q.weightBits, activationBits: q.activationBits,
                                                 minScale: c.scaleMin, maxScale: c.scaleMax)
        let current = q.inputScale?.first ?? 1
        // Keep the cumulative scale within [min, max].
        let f = Swift.min(Swift.max(current * s, c.scaleMin), c.scaleMax) / current
        if f != 1 { applyScalarScale(&q, f) }
    }
}
