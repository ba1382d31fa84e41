import Foundation
import HarmoQ
import SREngine
import SRIO

/// Settings of block-wise reconstruction (`--refine block`).
public struct BlockReconstructionOptions: Sendable, Codable, Equatable {
    /// Adam iterations per transformer block. 60 since 2026-12-02: HarmoQ W4A4 ×2 Set5 37.720 dB at 30, 37.776 at 60
    /// (8 patches; docs/refinement.md); every block still improved at its last iteration at 30.
    public var iterations: Int = 60
    /// Patches per iteration (the iteration's loss is their mean).
    public var batch: Int = 2
    /// Adam learning rate on bounds measured in units of each quantizer's initial range (upper − lower).
    public var learningRate: Double = 1e-2
    /// Cosine decay to this fraction of `learningRate` at the last iteration.
    public var finalLearningRateFraction: Double = 0.05
    public var learnActivationBounds = true
    public var learnWeightBounds = true
    /// Also learn the weights within ±1 quantization step (`OffsetWeightSite`: AdaRound-like, STE), with Adam at
    /// `weightLearningRate` (units of the step). On by default: HarmoQ W4A4 ×2 Set5 37.361 → 37.570 dB with, 37.368
    /// without (docs/refinement.md).
    public var learnWeights = true
    public var weightLearningRate: Double = 5e-2
    /// Also learn a factor c per input channel of every quantized Linear (`ChannelScale`: x ⊘ c before the activation
    /// quantizer, W ⊙ c before the weight quantizer; the FP product is unchanged), starting at the plan's HSO scale
    /// (c = 1), with Adam on log c at `scaleLearningRate`. Off by default.
    public var learnScales = false
    public var scaleLearningRate: Double = 5e-3
    /// Also learn an orthogonal factor S after the plan's rotation at every rotated, quantized Linear (`RotationFactor`:
    /// (x·R₀)·S before the activation quantizer, the weight turned to match; SpinQuant-style learned rotation), by Cayley
    /// steps of about `rotationLearningRate` radians (cosine decay). Needs a rotated plan (`calibrate --rotate …`); off
    /// by default.
    public var learnRotations = false
    public var rotationLearningRate: Double = 2e-2
    /// The attention matmul operands' bounds (q, k, v, probs): learned with the rest (default: the best Set5 PSNR
    /// measured), kept fixed, or `auto`: per block both are tried from the same start and the lower block loss wins
    /// (lower block MSE, but not higher PSNR, in docs/refinement.md).
    public var operands: OperandPolicy = .learn
    /// Evaluate the loss on all patches every this many iterations (and after the last) and keep the best bounds seen;
    /// 0 = a third of `iterations`.
    public var checkEvery: Int = 0
    /// The quantizers' backward: 2DQuant/LSQ-style STE (default) or the exact a.e. derivative.
    public var gradient: FakeQuantGradient = .ste
    /// QDrop-style input mixing (Wei et al. 2022; NWQ): during training, each element of the block's input is taken from
    /// the FP model's path (the FP block input) with this probability instead of from the quantized blocks before it,
    /// drawn anew per iteration and patch from `seed`. 0 = BRECQ's quantized input only. The checkpoints that choose the
    /// kept parameters always use the quantized input.
    public var inputDrop: Double = 0
    /// Seed of the input-mixing draws.
    public var seed: UInt64 = 0
    public init() {}

    /// The settings in words (the QPARAMS refinement record).
    public var summary: String {
        let learned = learnActivationBounds && learnWeightBounds ? "all bounds" : learnActivationBounds ? "activation bounds" : "weight bounds"
        return "\(iterations) Adam iterations per block × batch \(batch), lr \(learningRate) of each range (cosine to \(finalLearningRateFraction)×), "
            + "\(learned)\(learnWeights ? " + weights within ±1 step (lr \(weightLearningRate))" : "")"
            + "\(learnScales ? " + input-channel scales (lr \(scaleLearningRate) on log c)" : "")"
            + "\(learnRotations ? " + rotations (Cayley, \(rotationLearningRate) rad per step)" : ""), operands \(operands.rawValue), "
            + "\(gradient.rawValue) gradient\(inputDrop > 0 ? ", QDrop input mixing p = \(inputDrop) (seed \(seed))" : ""); loss: block-output MSE"
    }
}

/// How block reconstruction treats the attention matmul-operand quantizers.
public enum OperandPolicy: String, Sendable, Codable, CaseIterable {
    case learn, fixed, auto
}

/// Per-block outcome of a reconstruction.
public struct BlockReconstructionStep: Sendable, Codable, Equatable {
    /// The block's record in the QPARAMS sidecar.
    var stage: RefinementRecord.Stage {
        .init(name: "block \(block)", lossBefore: lossBefore, lossAfter: lossAfter, bestIteration: bestIteration, trace: trace,
              checkpoints: checkpoints)
    }

    public var block: Int
    /// Mean squared error of the block output against the FP block output on all patches, before and after.
    public var lossBefore: Double
    public var lossAfter: Double
    /// False when no checkpoint lowered the loss on all patches and the block kept its start bounds.
    public var kept: Bool
    /// The iteration whose bounds were kept (0 = the start bounds).
    public var bestIteration: Int = 0
    /// Whether the kept bounds came from the run that learned the operand bounds too ("learn") or not ("fixed").
    public var operands: String = ""
    /// The per-iteration batch losses.
    public var trace: [Double]
    /// The block loss on all patches at the start (iteration 0) and at every checkpoint of every run.
    public var checkpoints: [RefinementRecord.Checkpoint] = []
    public var seconds: Double
}

/// Block-wise reconstruction of a quantized DAT-light or SwinIR-light (BRECQ-style): for each transformer block in
/// order, learn the clipping bounds of its quantizers so that the quantized block, fed the output of the already
/// refined quantized blocks before it, reproduces the FP block's output on the FP model's input (MSE), with Adam on the
/// bounds and gradients from the hand-written backward (`BlockChain`: `DATLightBackward`'s 18 blocks, or
/// `SwinIRLightBackward`'s 4 × 6 with each RSTB's FP conv and residual between groups).
///
/// The result is the same QPARAMS plan with new bounds: everything that reads a plan (eval, integer execution,
/// export, audit) runs the refined model unchanged.
public enum BlockReconstruction {
    public struct Outcome: Sendable {
        public var qparams: QParams
        public var steps: [BlockReconstructionStep]
        public var seconds: Double
    }

    public static func refine(plan: QParams, weights: [String: Tensor], patches: [Tensor],
                              options o: BlockReconstructionOptions = .init(), checkpoint: RefinementCheckpoint? = nil,
                              shouldStop: (() -> Bool)? = nil, log: ((String) -> Void)? = nil) throws -> Outcome {
        let t0 = Date()
        guard !patches.isEmpty else { throw QuantError("--refine block: no calibration patches") }
        guard o.iterations >= 1, o.batch >= 1, o.learningRate > 0, o.learningRate.isFinite else {
            throw QuantError("--refine block: iterations and batch must be ≥ 1 and the learning rate positive")
        }
        guard o.inputDrop >= 0, o.inputDrop <= 1 else {
            throw QuantError("--refine block: the QDrop input-mixing probability must lie in [0, 1], got \(o.inputDrop)")
        }
        let teacher = try BlockChain.make(architecture: plan.architecture, weights: weights, scale: plan.scale)
        guard !o.learnWeights || (o.weightLearningRate > 0 && o.weightLearningRate.isFinite) else {
            throw QuantError("--refine block: the weight learning rate must be positive")
        }
        // A resumed run starts from the checkpoint's sites (the finished blocks refined, the rest as in `plan`).
        var startPlan = plan
        var resumed: [RefinementRecord.Stage] = []
        if let cp = checkpoint {
            if cp.resume {
                let r = try cp.load()
                guard r.sites.map(\.name) == plan.sites.map(\.name) else {
                    throw QuantError("--resume: checkpoint '\(cp.path)' holds other sites than the plan; run without --resume")
                }
                startPlan.sites = r.sites
                resumed = r.stages
                log?("resuming from '\(cp.path)': \(resumed.count) block(s) already refined")
            } else if cp.exists {
                log?("removing the old checkpoint '\(cp.path)' (pass --resume to continue it instead)")
                cp.remove()
            }
        }
        guard !o.learnRotations || (o.rotationLearningRate > 0 && o.rotationLearningRate.isFinite) else {
            throw QuantError("--refine block: the rotation learning rate must be positive")
        }
        guard !o.learnRotations || plan.sites.contains(where: { $0.rotation != nil }) else {
            throw QuantError("--learn-rotations: the plan has no rotated site; calibrate with --rotate hadamard|random|learned first")
        }
        guard !o.learnScales || (o.scaleLearningRate > 0 && o.scaleLearningRate.isFinite) else {
            throw QuantError("--refine block: the input-scale learning rate must be positive")
        }
        let pq = try PlanQuantizers(plan: startPlan, weights: weights, gradient: o.gradient, learnWeights: o.learnWeights,
                                    learnScales: o.learnScales, learnRotations: o.learnRotations)
        let student = try BlockChain.make(architecture: plan.architecture, weights: pq.weights, scale: plan.scale,
                                          quantizers: pq.siteQuantizers)
        let grads = student.makeGradients()

        // Input of block 0 (no quantized site before it: the same for teacher and student).
        var xf: [[Float]] = [], dims: [(Int, Int)] = []
        for p in patches {
            let e = try teacher.input(p)
            xf.append(e.tokens)
            dims.append((e.height, e.width))
        }
        var xq = xf
        // Inputs of the current residual group (SwinIR-light's RSTB adds its input after its last block).
        var gq = xq, gf = xf

        var steps: [BlockReconstructionStep] = []
        let blockCount = student.count
        guard resumed.count <= blockCount else { throw QuantError("--resume: the checkpoint has \(resumed.count) blocks, the model \(blockCount)") }
        // Finished blocks: their records from the checkpoint, their outputs recomputed (the forwards that produced them).
        for (bi, st) in resumed.enumerated() {
            if student.startsGroup(bi) { gq = xq; gf = xf }
            xq = xq.indices.map { student.next(bi, student.forward(bi, xq[$0], dims[$0].0, dims[$0].1).output, gq[$0], dims[$0].0, dims[$0].1) }
            xf = xf.indices.map { teacher.next(bi, teacher.forward(bi, xf[$0], dims[$0].0, dims[$0].1).output, gf[$0], dims[$0].0, dims[$0].1) }
            steps.append(BlockReconstructionStep(block: bi, lossBefore: st.lossBefore, lossAfter: st.lossAfter, kept: st.bestIteration > 0,
                                                 bestIteration: st.bestIteration, trace: st.trace, checkpoints: st.checkpoints, seconds: 0))
        }
        for bi in 0..<blockCount where bi >= resumed.count {
            let tb = Date()
            if student.startsGroup(bi) { gq = xq; gf = xf }
            let prefix = student.prefixes[bi] + "."
            let union = pq.all.filter {
                $0.site.hasPrefix(prefix) && ($0.isWeight ? o.learnWeightBounds : o.learnActivationBounds)
            }
            let linearOnly = union.filter { !pq.operandSites.contains($0.site) }
            let hasOperands = linearOnly.count < union.count
            let offsetSites = pq.offsetSites.filter { $0.name.hasPrefix(prefix) }
            let startOffsets = offsetSites.map(\.site.offset)
            let scaleSites = pq.scaleSites.filter { $0.site.hasPrefix(prefix) }
            let startScales = scaleSites.map(\.factor)
            let rotationSites = pq.rotationSites.filter { $0.site.hasPrefix(prefix) }
            let rotations = RotationParameters(rotationSites, iterations: o.iterations, learningRate: o.rotationLearningRate,
                                               finalFraction: o.finalLearningRateFraction)
            let startRotations = rotations.snapshot
            let runs: [(String, [LearnableSiteQuantizer])]
            switch o.operands {
            case .learn: runs = [("learn", union)]
            case .fixed: runs = [("fixed", linearOnly)]
            case .auto: runs = hasOperands ? [("learn", union), ("fixed", linearOnly)] : [("learn", union)]
            }
            // FP targets.
            let yf = xf.indices.map { teacher.forward(bi, xf[$0], dims[$0].0, dims[$0].1).output }
            func loss(_ p: Int, input: [Float]? = nil) -> (Double, (output: [Float], cache: AnyObject)) {
                let c = student.forward(bi, input ?? xq[p], dims[p].0, dims[p].1)
                var s = 0.0
                for (a, b) in zip(c.output, yf[p]) { let d = Double(a - b); s += d * d }
                return (s / Double(yf[p].count), c)
            }
            /// Loss on all patches and the block outputs (the next block's quantized inputs), from the same forwards.
            func evaluate() -> (Double, [[Float]]) {
                var l = 0.0, outs: [[Float]] = []
                for p in xq.indices { let (lp, c) = loss(p); l += lp / Double(xq.count); outs.append(c.output) }
                return (l, outs)
            }
            let (before, startOutputs) = evaluate()
            let start = union.map { ($0.lower, $0.upper) }
            var best = (loss: before, bounds: start, offsets: startOffsets, scales: startScales, rotations: startRotations,
                        outputs: startOutputs, iteration: 0, variant: "")
            let checkEvery = o.checkEvery > 0 ? o.checkEvery : max(1, o.iterations / 3)
            var traces: [Double] = []
            var checkpoints: [RefinementRecord.Checkpoint] = [.init(iteration: 0, loss: before)]
            for (variant, learn) in runs where !learn.isEmpty || !offsetSites.isEmpty || !scaleSites.isEmpty || !rotationSites.isEmpty {
                for (q, b) in zip(union, start) { try q.setBounds(lower: b.0, upper: b.1) }
                var trace: [Double] = []
                var params = BoundParameters(learn, iterations: o.iterations, learningRate: o.learningRate,
                                             finalFraction: o.finalLearningRateFraction)
                var offsets = OffsetParameters(offsetSites, iterations: o.iterations, learningRate: o.weightLearningRate,
                                               finalFraction: o.finalLearningRateFraction)
                offsets.restore(startOffsets)
                var scaleParams = ScaleParameters(scaleSites, iterations: o.iterations, learningRate: o.scaleLearningRate,
                                                  finalFraction: o.finalLearningRateFraction)
                scaleParams.restore(startScales)
                rotations.restore(startRotations)
                var rng = SplitMix64(seed: o.seed &+ UInt64(bi) &* 0x9E37_79B9)
                for it in 0..<o.iterations {
                    params.zeroGradients()
                    offsets.zeroGradients()
                    scaleParams.zeroGradients()
                    rotations.zeroGradients()
                    grads.zero()
                    var batchLoss = 0.0
                    for j in 0..<o.batch {
                        let p = (it * o.batch + j) % xq.count
                        let (l, c) = o.inputDrop > 0 ? loss(p, input: InputMixing.mix(quantized: xq[p], fp: xf[p], p: o.inputDrop, rng: &rng)) : loss(p)
                        guard l.isFinite else {
                            throw QuantError("--refine block: non-finite loss at block \(bi), iteration \(it), patch \(p); nothing written")
                        }
                        batchLoss += l / Double(o.batch)
                        let scale = Float(2 / (Double(yf[p].count) * Double(o.batch)))
                        var d = c.output
                        for i in d.indices { d[i] = (d[i] - yf[p][i]) * scale }
                        student.backward(bi, c.cache, d, grads)
                    }
                    trace.append(batchLoss)
                    try params.step(iteration: it, context: "--refine block: block \(bi), iteration \(it)")
                    try offsets.step(iteration: it, context: "--refine block: block \(bi), iteration \(it)")
                    try scaleParams.step(iteration: it, context: "--refine block: block \(bi), iteration \(it)")
                    try rotations.step(iteration: it, context: "--refine block: block \(bi), iteration \(it)")
                    if (it + 1) % checkEvery == 0 || it + 1 == o.iterations {
                        let (l, outs) = evaluate()
                        guard l.isFinite else { throw QuantError("--refine block: non-finite loss at block \(bi), iteration \(it + 1); nothing written") }
                        checkpoints.append(.init(iteration: it + 1, loss: l))
                        if l < best.loss {
                            best = (l, union.map { ($0.lower, $0.upper) }, offsets.snapshot, scaleParams.snapshot, rotations.snapshot, outs,
                                    it + 1, variant)
                        }
                    }
                }
                if traces.isEmpty || best.variant == variant { traces = trace }
            }
            for (q, b) in zip(union, best.bounds) { try q.setBounds(lower: b.0, upper: b.1) }
            for (site, v) in zip(offsetSites, best.offsets) { site.site.offset = v }
            for (site, f) in zip(scaleSites, best.scales) { site.factor = f }
            rotations.restore(best.rotations)
            let after = best.loss, kept = best.iteration > 0
            let trace = traces
            xq = xq.indices.map { student.next(bi, best.outputs[$0], gq[$0], dims[$0].0, dims[$0].1) }
            xf = xf.indices.map { teacher.next(bi, yf[$0], gf[$0], dims[$0].0, dims[$0].1) }
            let secs = Date().timeIntervalSince(tb)
            steps.append(BlockReconstructionStep(block: bi, lossBefore: before, lossAfter: after, kept: kept, bestIteration: best.iteration,
                                                operands: best.variant,
                                                trace: trace, checkpoints: checkpoints, seconds: secs))
            let elapsed = Date().timeIntervalSince(t0)
            let eta = elapsed / Double(bi + 1) * Double(blockCount - bi - 1)
            log?(String(format: "refine block %2d/%d: MSE %.4e → %.4e (%.1f%%, %@), %d quantizers, %.1f s, ETA %.0f s",
                        bi + 1, blockCount, before, after, before > 0 ? 100 * (after - before) / before : 0,
                        kept ? "bounds of iteration \(best.iteration), operands \(best.variant)" : "start bounds kept", union.count, secs, eta))
            if let cp = checkpoint { try cp.write(plan: pq.applied(to: startPlan), stages: steps.map(\.stage)) }
            if bi + 1 < blockCount, shouldStop?() == true {
                throw RefinementInterrupted(detail: "in block reconstruction after block \(bi + 1) of \(blockCount)", checkpoint: checkpoint?.path)
            }
        }

        var out = pq.applied(to: startPlan)
        let improved = steps.filter(\.kept).count
        out.notes.append("refined: block reconstruction (bounds; \(o.iterations) Adam iterations per block, batch \(o.batch), " +
                         "lr \(o.learningRate) of each range, \(o.gradient.rawValue) gradient) on \(patches.count) patches; " +
                         "\(improved)/\(blockCount) blocks improved")
        out.refinements = (plan.refinements ?? []) + [RefinementRecord(
            mode: "block", settings: o.summary, patches: patches.count,
            stages: steps.map(\.stage))]
        return Outcome(qparams: out, steps: steps, seconds: Date().timeIntervalSince(t0))
    }
}
