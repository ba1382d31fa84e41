import Foundation
import HarmoQ
import SREngine
import SRIO

/// 2DQuant end to end (`harmoq calibrate --method 2dquant`): DOBI bounds for every quantizer of `TwoDQuantLayout`
/// (stage 1, `TwoDQuantDOBI`), then DQC (stage 2): Adam on all bounds against the FP teacher with the official loss
/// (`DQCLoss`), gradients through the whole model's backward (`SwinIRLightBackward` / `DATLightBackward`) with
/// 2DQuant's STE (`FakeQuantSite`). Weights, biases and everything else stay frozen.
///
/// Official settings (2dquant_model.py, train_2DQuant_x*.yml) vs our defaults (a small budget for 2 CPU cores):
/// DOBI batch 32 LR patches 64×64 (default here 4); DQC 4000 iterations of batch 16 over all of DF2K with flips and
/// transposes (default here 50 iterations of batch 2 from DIV2K-calib + T91, same augmentations); Adam lr 1e-2,
/// betas (0.9, 0.99), eps 1e-8 (the same). Feature terms: SwinIR-light at each RSTB's BasicLayer output; DAT-light at
/// blocks 4, 9, 13, 17 (`TwoDQuantLayout.featureStages`, through `DATLightBackward.backward(gradBlockOutputs:)`).
public enum DQCTrainer {
    public struct Options: Sendable {
        public var bits = 4
        public var dobiPatches = 4
        public var iterations = 50
        public var batch = 2
        public var lr = 1e-2
        public var beta1 = 0.9
        public var beta2 = 0.99
        public var eps = 1e-8
        public var pixelWeight = 1.0
        public var featureWeight = 5.0
        public var augment = true
        public var seed: UInt64 = 0
        /// `--rotate hadamard|random`: online rotations (`TwoDQuantRotations`) at the inputs of `rotationLayers`; nil = none.
        public var rotation: RotationKind? = nil
        public var rotationLayers: Set<RotationPolicy.Layer> = RotationPolicy.defaultLayers
        public init() {}

        /// The named budgets (`harmoq calibrate --method 2dquant --budget`): `default` (the fields' defaults: DOBI on 4
        /// patches, DQC 50 iterations × batch 2, minutes on 2 cores) and `official` (the 2DQuant paper's and code's: DOBI
        /// on 32 patches, DQC 4000 iterations × batch 16; lr 1e-2 in both).
        public enum Budget: String, CaseIterable, Sendable { case `default`, official }

        public init(budget: Budget) {
            self.init()
            if budget == .official { dobiPatches = 32; iterations = 4000; batch = 16 }
        }
    }

    public struct Outcome: Sendable {
        public var qparams: QParams
        /// l_total of every iteration (before its Adam step).
        public var losses: [Double]
        public var seconds: Double
    }

    /// hflip, vflip and transpose, each with probability ½ (BasicSR's `augment`), on a (1, 3, n, n) patch.
    static func augment(_ t: Tensor, _ rng: inout SplitMix64) -> Tensor {
        let n = t.shape[3]
        let hf = rng.next() & 1 == 1, vf = rng.next() & 1 == 1, tr = rng.next() & 1 == 1
        var out = t.data
        for c in 0..<3 { for y in 0..<n { for x in 0..<n {
            var sy = vf ? n - 1 - y : y, sx = hf ? n - 1 - x : x
            if tr { swap(&sy, &sx) }
            out[(c * n + y) * n + x] = t.data[(c * n + sy) * n + sx]
        }}}
        return Tensor(shape: t.shape, data: out)
    }

    /// Throws when DQC's loss at iteration `it` (0-based) is not finite (nothing is written).
    static func finite(_ loss: Double, _ it: Int) throws {
        guard loss.isFinite else { throw QuantError("2dquant DQC: non-finite loss (\(loss)) at iteration \(it + 1); nothing written") }
    }

    /// The student: a backward-capable model with the site set's quantizers.
    enum Student {
        case swinIR(SwinIRLightBackward, featureBlocks: [Int])
        case dat(DATLightBackward, featureBlocks: [Int])
    }

    /// `weights`: the state dict of `modelPath` when the caller holds it already (nil = read from the file).
    /// `checkpointing`: write the training state after every DQC iteration, resume from it (DOBI is then skipped), and
    /// stop on request after an iteration (`DQCInterrupted`); the caller removes the file after writing the output.
    public static func run(modelPath: String, weights loaded: [String: Tensor]? = nil, sources: [String], options o: Options,
                           toolVersion: String, checkpointing: DQCCheckpointing? = nil,
                           log: ((String) -> Void)? = nil) throws -> Outcome {
        let t0 = Date()
        guard o.iterations >= 0, o.batch >= 1, o.dobiPatches >= 1 else {
            throw QuantError("2dquant: iterations ≥ 0, batch ≥ 1 and DOBI patches ≥ 1 are required")
        }
        let weights = try loaded ?? ModelLoader.readStateDict(path: modelPath)
        let engine = try ModelLoader.build(weights: weights, source: modelPath, options: .init(splitQKV: true))
        let layout = try TwoDQuantLayout.quantizers(of: engine)
        let rotations = try o.rotation.map { try TwoDQuantRotations(model: engine, kind: $0, seed: o.seed, layers: o.rotationLayers) }
        // Stage 1: DOBI on the FP activations of the calibration batch.
        let calib = try CalibrationPatches.draw(count: o.dobiPatches, scale: engine.scale, seed: o.seed, sources: sources)
        let fingerprint = ModelFingerprint.of(weights)
        let settings = o.summary(model: fingerprint, sources: sources)
        var resumed: DQCCheckpoint?
        if let c = checkpointing, c.resume {
            let cp = try DQCCheckpoint.read(path: c.path)
            guard cp.settings == settings else {
                throw QuantError("--resume: '\(c.path)' was written with other settings:\n  checkpoint: \(cp.settings)\n  this run:   \(settings)")
            }
            guard cp.bounds.count == 2 * layout.count, cp.iteration <= o.iterations, cp.losses.count == cp.iteration else {
                throw QuantError("--resume: '\(c.path)' does not fit this model (\(cp.bounds.count) bounds, \(2 * layout.count) expected)")
            }
            resumed = cp
            log?("2dquant: resuming after DQC iteration \(cp.iteration)/\(o.iterations) from \(c.path) (DOBI not rerun)")
        }
        let set: TwoDQuantSiteSet
        if let cp = resumed {
            var b: [String: (lower: Float, upper: Float)] = [:]
            for (i, q) in layout.enumerated() { b[q.name] = (cp.bounds[2 * i], cp.bounds[2 * i + 1]) }
            set = try TwoDQuantSiteSet(layout: layout, bounds: b, bits: o.bits)
        } else {
            log?("2dquant: \(engine.architecture.rawValue) ×\(engine.scale), \(layout.count) quantizers, W\(o.bits)A\(o.bits); "
                 + "DOBI on \(o.dobiPatches) LR patches 64×64 (official: 32)")
            let dobi = try TwoDQuantDOBI.calibrate(model: engine, inputs: calib.lr, bits: o.bits, rotations: rotations?.matrices ?? [:]) { log?($0) }
            set = try TwoDQuantSiteSet(layout: layout, bounds: dobi.mapValues { ($0.lower, $0.upper) }, bits: o.bits)
        }
        var notes = ["2DQuant (DOBI + DQC): DOBI on \(o.dobiPatches) LR patches (seed \(o.seed)); DQC \(o.iterations) iterations × batch "
                     + "\(o.batch), Adam lr \(o.lr) betas (\(o.beta1), \(o.beta2)) eps \(o.eps); loss l_pix + \(o.featureWeight)·Σ l_feat "
                     + "with the official normalisation quirks; official: 32 DOBI patches, 4000 × 16 on DF2K"]
        if let r = rotations, let k = o.rotation {
            notes.append("online \(k.rawValue) rotations (seed \(o.seed)) at \(r.sites.count) Linear inputs (split q/k/v of a block share one): "
                         + "DOBI and DQC on x·R and W·R; the FP teacher unrotated")
        }
        let studentWeights = try rotations.map { try $0.rotatedWeights(weights, model: engine) } ?? weights
        // Stage 2: DQC on augmented patches drawn once.
        let pool = o.iterations == 0 ? nil
            : try CalibrationPatches.draw(count: o.iterations * o.batch, scale: engine.scale, seed: o.seed &+ 0x2d0, sources: sources)
        var rng = SplitMix64(seed: o.seed &+ 0xa06)
        let progress: DQCProgress? = checkpointing.map { c in
            DQCProgress(resume: resumed) { done, adam, losses, notes in
                try DQCCheckpoint(settings: settings, iteration: done, bounds: set.flatBounds, adam: adam, losses: losses, notes: notes)
                    .write(to: c.path)
                if done < o.iterations, let stop = c.shouldStop, stop() { throw DQCInterrupted(iteration: done, path: c.path) }
            }
        }
        let (losses, trainNotes) = try train(engine: engine, weights: studentWeights, set: set, options: o, rotations: rotations,
                                             progress: progress, log: log) { it in
            (0..<o.batch).map { b -> Tensor in
                let t = pool!.lr[it * o.batch + b]
                return o.augment ? augment(t, &rng) : t
            }
        }
        notes += trainNotes
        // The plan stores what the student ran: W·R and each site's rotation record.
        let planModel = rotations == nil ? engine : try ModelLoader.build(weights: studentWeights, source: modelPath, options: .init(splitQKV: true))
        var qp = try TwoDQuantLayout.qparams(bounds: set.bounds, model: planModel, modelName: (modelPath as NSString).lastPathComponent,
                                             bits: o.bits, method: "2dquant", patchCount: o.dobiPatches,
                                             patchSources: calib.origins.map { "\(($0.source as NSString).lastPathComponent)@\($0.x),\($0.y)" },
                                             notes: notes)
        if let r = rotations {
            qp.rotation = o.rotation
            for i in qp.sites.indices { qp.sites[i].rotation = r.sites[qp.sites[i].name]?.record }
        }
        qp.modelFingerprint = fingerprint
        qp.toolVersion = toolVersion
        return Outcome(qparams: qp, losses: losses, seconds: Date().timeIntervalSince(t0))
    }

    /// DQC proper: `options.iterations` Adam steps on the bounds of `set` (installed in place), batch `nextBatch(i)` for
    /// iteration i, teacher = `engine` in FP (no hook). Returns l_total per iteration (before its step) and notes.
    /// With `rotations` the student (built from `weights`, which then hold W·R at the rotated sites) quantizes x·R there.
    /// `progress`: continue from a checkpoint (its iterations' batches are drawn and dropped, so `nextBatch`'s random
    /// augmentation stays in step) and report the state after every iteration.
    public static func train(engine: any SRModel, weights: [String: Tensor], set: TwoDQuantSiteSet, options o: Options,
                             rotations: TwoDQuantRotations? = nil, progress: DQCProgress? = nil, log: ((String) -> Void)? = nil,
                             nextBatch: (Int) throws -> [Tensor]) throws -> (losses: [Double], notes: [String]) {
        let quantizers = rotations.map { $0.wrapping(set.siteQuantizers) } ?? set.siteQuantizers
        let stages = TwoDQuantLayout.featureStages(of: engine)
        let student: Student
        let featureWeight = o.featureWeight
        var notes: [String] = []
        switch engine.architecture {
        case .swinIRLight:
            let m = try SwinIRLightBackward(weights: weights, scale: engine.scale, quantizers: quantizers)
            let names = m.blockNames
            let idx = stages.map { s -> Int in
                // "layer{i}_block{j}" → "layers.i.residual_group.blocks.j"
                let p = s.dropFirst("layer".count).split(separator: "_")
                return names.firstIndex(of: "layers.\(p[0]).residual_group.blocks.\(p[1].dropFirst("block".count))")!
            }
            student = .swinIR(m, featureBlocks: idx)
        case .datLight:
            // "block4" → block index 4 (`TwoDQuantLayout.featureStages`).
            let idx = try stages.map { s -> Int in
                guard let i = Int(s.dropFirst("block".count)) else { throw QuantError("DQC: unexpected DAT-light feature stage '\(s)'") }
                return i
            }
            student = .dat(try DATLightBackward(weights: weights, scale: engine.scale, quantizers: quantizers), featureBlocks: idx)
        }
        let loss = DQCLoss(pixelWeight: o.pixelWeight, featureWeight: featureWeight)
        var adam = BoundAdam(count: 2 * set.layout.count, lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps)
        var losses: [Double] = []
        var start = 0
        if let cp = progress?.resume {
            try adam.restore(cp.adam)
            losses = cp.losses; notes = cp.notes; start = cp.iteration
            for it in 0..<start { _ = try nextBatch(it) }
        }
        engine.hook = nil
        for it in start..<o.iterations {
            let batch = try nextBatch(it)
            let teacher = try TwoDQuantLayout.forward(model: engine, inputs: batch, featureStages: featureWeight > 0 ? stages : [])
            set.zeroGradients()
            switch student {
            case let .swinIR(m, featureBlocks):
                let tapes = try batch.map { try m.forward($0, retention: .blockInputs) }
                let r = loss.evaluate(outQ: tapes.map(\.output.data), outF: teacher.outputs,
                                      featQ: featureWeight > 0 ? featureBlocks.map { k in tapes.map { $0.blockOutputs[k] } } : [],
                                      featF: teacher.features)
                try finite(r.terms.total, it)
                losses.append(r.terms.total)
                for (b, t) in tapes.enumerated() {
                    var extra: [Int: [Float]] = [:]
                    if featureWeight > 0 { for (k, i) in featureBlocks.enumerated() { extra[i] = r.gradFeatures[k][b].map(Float.init) } }
                    _ = m.backward(t, gradOutput: Tensor(shape: t.output.shape, data: r.gradOutput[b].map(Float.init)),
                                   gradBlockOutputs: extra)
                }
            case let .dat(m, featureBlocks):
                let tapes = try batch.map { try m.forward($0, retention: .blockInputs) }
                let r = loss.evaluate(outQ: tapes.map(\.output.data), outF: teacher.outputs,
                                      featQ: featureWeight > 0 ? featureBlocks.map { k in tapes.map { $0.blockOutputs[k] } } : [],
                                      featF: teacher.features)
                try finite(r.terms.total, it)
                losses.append(r.terms.total)
                for (b, t) in tapes.enumerated() {
                    var extra: [Int: [Float]] = [:]
                    if featureWeight > 0 { for (k, i) in featureBlocks.enumerated() { extra[i] = r.gradFeatures[k][b].map(Float.init) } }
                    _ = m.backward(t, gradOutput: Tensor(shape: t.output.shape, data: r.gradOutput[b].map(Float.init)), gradBlockOutputs: extra)
                }
            }
            let g = set.flatGradients64
            if let i = g.firstIndex(where: { !$0.isFinite }) {
                throw QuantError("2dquant DQC: non-finite gradient (\(g[i])) of the \(i % 2 == 0 ? "lower" : "upper") bound of "
                                 + "quantizer \(set.layout[i / 2].name) at iteration \(it + 1); nothing written")
            }
            var p = set.flatBounds
            let before = p
            adam.update(&p, gradients: set.flatGradients)
            // The official code has no constraint; a pair that crosses (lower ≥ upper) would break its forward. Keep the
            // previous pair then (counted in the notes).
            var kept = 0
            for i in stride(from: 0, to: p.count, by: 2) where !(p[i] < p[i + 1]) || !p[i].isFinite || !p[i + 1].isFinite {
                p[i] = before[i]; p[i + 1] = before[i + 1]; kept += 1
            }
            if kept > 0 { notes.append("iteration \(it + 1): \(kept) crossed bound pairs kept at their previous values") }
            try set.setFlatBounds(p)
            log?(String(format: "2dquant DQC iteration %d/%d: l_total %.6e", it + 1, o.iterations, losses.last!))
            try progress?.after(it + 1, adam.state, losses, notes)
        }
        return (losses, notes)
    }
}

/// A DQC run's checkpoint hooks (`DQCTrainer.train`): the state to continue from, and a callback after every iteration
/// with (iterations done, Adam state, losses, notes) — it writes the checkpoint and may throw to stop.
public struct DQCProgress {
    public var resume: DQCCheckpoint?
    public var after: (Int, BoundAdam.State, [Double], [String]) throws -> Void
    public init(resume: DQCCheckpoint?, after: @escaping (Int, BoundAdam.State, [Double], [String]) throws -> Void) {
        self.resume = resume; self.after = after
    }
}
