import Foundation
import HarmoQ
import SREngine
import SRIO

/// Settings of whole-model distillation (`--refine model`).
public struct ModelDistillationOptions: Sendable, Codable, Equatable {
    /// Adam iterations (each: forward + backward of `batch` patches through the whole quantized model).
    public var iterations: Int = 60
    /// Patches per iteration.
    public var batch: Int = 2
    /// Adam learning rate on bounds in units of each quantizer's initial range; cosine decay to `finalLearningRateFraction`.
    public var learningRate: Double = 2e-3
    public var finalLearningRateFraction: Double = 0.05
    public var learnActivationBounds = true
    public var learnWeightBounds = true
    /// Also learn the weights within ±1 quantization step (`OffsetWeightSite`: AdaRound-like, STE), with Adam at
    /// `weightLearningRate` (units of the step).
    public var learnWeights = false
    public var weightLearningRate: Double = 2e-2
    /// Weight of the feature term: Σ over `featureBlocks` of the block output's MSE to the FP block output divided by
    /// the FP output's mean square (relative MSE). 0 = pixel loss only.
    public var featureWeight: Double = 0
    /// Blocks whose outputs the feature term compares; nil = the end of each residual group (SwinIR-light: the last
    /// block of each RSTB, 2DQuant's hooks; DAT-light: blocks 4, 9, 13, 17, as `TwoDQuantLayout`).
    public var featureBlocks: [Int]? = nil
    /// Evaluate the objective on all patches every this many iterations (and after the last) and keep the best
    /// bounds seen; 0 = a fifth of `iterations`.
    public var checkEvery: Int = 0
    /// The quantizers' backward: 2DQuant/LSQ-style STE (default) or the exact a.e. derivative.
    public var gradient: FakeQuantGradient = .ste
    public init() {}

    /// The settings in words (the QPARAMS refinement record).
    public var summary: String {
        let learned = learnActivationBounds && learnWeightBounds ? "all bounds" : learnActivationBounds ? "activation bounds" : "weight bounds"
        let feat = featureWeight > 0 ? " + \(featureWeight)·Σ relative block-output MSE at blocks \(featureBlocks.map { $0.map(String.init).joined(separator: ",") } ?? "ending each group")" : ""
        return "\(iterations) Adam iterations × batch \(batch), lr \(learningRate) of each range (cosine to \(finalLearningRateFraction)×), "
            + "\(learned)\(learnWeights ? " + weights within ±1 step (lr \(weightLearningRate))" : ""), \(gradient.rawValue) gradient; "
            + "loss: output MSE to the FP model\(feat)"
    }
}

/// Whole-model distillation of a quantized DAT-light or SwinIR-light: Adam learns the clipping bounds of every quantizer so that the
/// quantized model's output matches the FP model's output on calibration patches (MSE, the quantity PSNR measures),
/// optionally plus feature terms at block outputs; gradients come from the whole model's hand-written backward
/// (`DATLightBackward`, `SwinIRLightBackward`; every block's cache kept for the backward of one patch at a time). Every `checkEvery` iterations
/// the objective on all patches is evaluated and the best bounds seen are kept (the start bounds if none is better).
///
/// The result is the same QPARAMS plan with new bounds, like block reconstruction's.
public enum ModelDistillation {
    public struct Outcome: Sendable {
        public var qparams: QParams
        public var lossBefore: Double
        public var lossAfter: Double
        public var bestIteration: Int
        public var trace: [Double]
        public var checkpoints: [RefinementRecord.Checkpoint]
        public var seconds: Double
    }

    public static func refine(plan: QParams, weights: [String: Tensor], patches: [Tensor],
                              options o: ModelDistillationOptions = .init(), shouldStop: (() -> Bool)? = nil,
                              stopCheckpoint: String? = nil,
                              log: ((String) -> Void)? = nil) throws -> Outcome {
        let t0 = Date()
        guard !patches.isEmpty else { throw QuantError("--refine model: no calibration patches") }
        guard o.iterations >= 1, o.batch >= 1, o.learningRate > 0, o.learningRate.isFinite else {
            throw QuantError("--refine model: iterations and batch must be ≥ 1 and the learning rate positive")
        }
        guard o.featureWeight >= 0, o.featureWeight.isFinite else { throw QuantError("--refine model: the feature weight must be ≥ 0") }
        let teacher = try BackwardModel.make(architecture: plan.architecture, weights: weights, scale: plan.scale)
        let chosen = o.featureBlocks ?? teacher.defaultFeatureBlocks
        guard o.featureWeight == 0 || chosen.allSatisfy({ (0..<teacher.blockCount).contains($0) }) else {
            throw QuantError("--refine model: feature blocks must lie in 0..<\(teacher.blockCount), got \(chosen)")
        }
        guard !o.learnWeights || (o.weightLearningRate > 0 && o.weightLearningRate.isFinite) else {
            throw QuantError("--refine model: the weight learning rate must be positive")
        }
        let pq = try PlanQuantizers(plan: plan, weights: weights, gradient: o.gradient, learnWeights: o.learnWeights)
        let student = try BackwardModel.make(architecture: plan.architecture, weights: pq.weights, scale: plan.scale,
                                             quantizers: pq.siteQuantizers)
        let featureBlocks = o.featureWeight > 0 ? chosen : []

        // FP targets: outputs and (with a feature term) the chosen block outputs with their mean squares.
        var targets: [[Float]] = [], features: [[[Float]]] = [], energies: [[Double]] = []
        for p in patches {
            let t = try teacher.run(p, false)
            targets.append(t.output.data)
            let f = featureBlocks.map { t.blockOutputs[$0] }
            features.append(f)
            energies.append(f.map { v in max(v.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(v.count), 1e-30) })
        }

        /// Objective of patch p and, when `withGradients`, its backward (scaled by 1/`batch`) into the quantizers.
        func objective(_ p: Int, gradientScale: Double?) throws -> Double {
            let t = try student.run(patches[p], gradientScale != nil)
            let y = t.output.data, yf = targets[p]
            var l = 0.0
            for (a, b) in zip(y, yf) { let d = Double(a - b); l += d * d }
            l /= Double(y.count)
            var extra: [Int: [Float]] = [:]
            for (k, b) in featureBlocks.enumerated() {
                let fq = t.blockOutputs[b], ff = features[p][k]
                let norm = o.featureWeight / (Double(ff.count) * energies[p][k])
                var s = 0.0
                for (a, c) in zip(fq, ff) { let d = Double(a - c); s += d * d }
                l += norm * s
                if let gs = gradientScale {
                    let f = Float(2 * norm * gs)
                    extra[b] = zip(fq, ff).map { ($0 - $1) * f }
                }
            }
            if let gs = gradientScale, l.isFinite {
                let f = Float(2 / Double(y.count) * gs)
                let d = zip(y, yf).map { ($0 - $1) * f }
                t.backward?(Tensor(shape: t.output.shape, data: d), extra)
            }
            return l
        }
        func evaluate() throws -> Double {
            var l = 0.0
            for p in patches.indices { l += try objective(p, gradientScale: nil) / Double(patches.count) }
            return l
        }

        let learn = pq.all.filter { $0.isWeight ? o.learnWeightBounds : o.learnActivationBounds }
        var params = BoundParameters(learn, iterations: o.iterations, learningRate: o.learningRate, finalFraction: o.finalLearningRateFraction)
        var offsets = OffsetParameters(pq.offsetSites, iterations: o.iterations, learningRate: o.weightLearningRate,
                                       finalFraction: o.finalLearningRateFraction)
        let before = try evaluate()
        guard before.isFinite else { throw QuantError("--refine model: non-finite loss of the start plan; nothing written") }
        log?(String(format: "refine model: %d quantizers (%d bounds, %d weight offsets), %d patches, start loss %.4e (output MSE to FP%@)",
                    learn.count, params.count, offsets.count, patches.count, before, featureBlocks.isEmpty ? "" : " + features"))
        var best = (loss: before, bounds: params.snapshot, offsets: offsets.snapshot, iteration: 0)
        var trace: [Double] = [], checkpoints: [RefinementRecord.Checkpoint] = [.init(iteration: 0, loss: before)]
        let checkEvery = o.checkEvery > 0 ? o.checkEvery : max(1, o.iterations / 5)
        let tTrain = Date()
        for it in 0..<o.iterations {
            if let shouldStop, shouldStop() {
                throw RefinementInterrupted(detail: "in the model-distillation stage before iteration \(it + 1) of \(o.iterations) (this stage is "
                                            + "not checkpointed\(stopCheckpoint == nil ? "" : "; --resume reruns it from the refined blocks"))",
                                            checkpoint: stopCheckpoint)
            }
            params.zeroGradients()
            offsets.zeroGradients()
            var batchLoss = 0.0
            for j in 0..<o.batch {
                let p = (it * o.batch + j) % patches.count
                let l = try objective(p, gradientScale: 1 / Double(o.batch))
                guard l.isFinite else { throw QuantError("--refine model: non-finite loss at iteration \(it), patch \(p); nothing written") }
                batchLoss += l / Double(o.batch)
            }
            trace.append(batchLoss)
            try params.step(iteration: it, context: "--refine model: iteration \(it)")
            try offsets.step(iteration: it, context: "--refine model: iteration \(it)")
            var line = String(format: "refine model iteration %d/%d: batch loss %.4e", it + 1, o.iterations, batchLoss)
            if (it + 1) % checkEvery == 0 || it + 1 == o.iterations {
                let l = try evaluate()
                guard l.isFinite else { throw QuantError("--refine model: non-finite loss on all patches after iteration \(it + 1); nothing written") }
                checkpoints.append(.init(iteration: it + 1, loss: l))
                if l < best.loss { best = (l, params.snapshot, offsets.snapshot, it + 1) }
                line += String(format: "; all patches %.4e (%+.1f%% vs start; best: iteration %d)", l, 100 * (l - before) / before, best.iteration)
            }
            let elapsed = Date().timeIntervalSince(tTrain)
            log?(line + String(format: ", %.0f s, ETA %.0f s", elapsed, elapsed / Double(it + 1) * Double(o.iterations - it - 1)))
        }
        try params.restore(best.bounds)
        offsets.restore(best.offsets)
        var out = pq.applied(to: plan)
        out.notes.append("refined: whole-model distillation (\(o.summary)) on \(patches.count) patches; objective \(String(format: "%.4e", before)) → "
                         + "\(String(format: "%.4e", best.loss)) (bounds of iteration \(best.iteration))")
        out.refinements = (plan.refinements ?? []) + [RefinementRecord(
            mode: "model", settings: o.summary, patches: patches.count,
            stages: [.init(name: "model", lossBefore: before, lossAfter: best.loss, bestIteration: best.iteration, trace: trace,
                           checkpoints: checkpoints)])]
        return Outcome(qparams: out, lossBefore: before, lossAfter: best.loss, bestIteration: best.iteration, trace: trace,
                       checkpoints: checkpoints, seconds: Date().timeIntervalSince(t0))
    }
}
