import HarmoQ
import SRIO

/// The output-level refinement of a plan as stages: block reconstruction, then whole-model distillation, each optional
/// (`harmoq refine --mode block|model|block+model` and `harmoq calibrate --refine …` both run this).
public struct RefinementStages: Sendable {
    public var block: BlockReconstructionOptions?
    public var model: ModelDistillationOptions?

    public init(block: BlockReconstructionOptions? = nil, model: ModelDistillationOptions? = nil) {
        self.block = block; self.model = model
    }

    /// Runs the stages in order on `plan` (each from the previous one's result); `log` gets their progress lines. The
    /// result passes `QParams.checkConsistent` (e.g. a per-tensor weight grid keeps one pair of bounds) or this throws.
    /// With a `checkpoint`, the block stage writes it after every block and resumes from it; the caller removes it after
    /// writing the output. Both stages stop (throwing `RefinementInterrupted`) once `shouldStop` is true: the block stage
    /// after a block, the model stage before an iteration.
    public func refine(plan: QParams, weights: [String: Tensor], patches: [Tensor], checkpoint: RefinementCheckpoint? = nil,
                       shouldStop: (() -> Bool)? = nil, log: ((String) -> Void)? = nil) throws -> QParams {
        if let cp = checkpoint, cp.resume, block == nil {
            throw QuantError("--resume: only the block stage is checkpointed; --mode model has nothing to resume from")
        }
        var q = plan
        if let b = block {
            q = try BlockReconstruction.refine(plan: q, weights: weights, patches: patches, options: b, checkpoint: checkpoint,
                                               shouldStop: shouldStop, log: log).qparams
        }
        if let m = model {
            q = try ModelDistillation.refine(plan: q, weights: weights, patches: patches, options: m, shouldStop: shouldStop,
                                             stopCheckpoint: block == nil ? nil : checkpoint?.path, log: log).qparams
        }
        // The checks a QPARAMS file gets when written, here too: `harmoq tables` evaluates refined plans without writing them.
        try q.checkConsistent("refined plan")
        return q
    }

    /// The stages of a refinement mode with every default: "block" (block reconstruction), "model" (whole-model
    /// distillation) or "block+model" (both, in that order), as `harmoq refine --mode` without other flags.
    public static func defaults(mode: String) throws -> RefinementStages {
        switch mode {
        case "block": return RefinementStages(block: BlockReconstructionOptions())
        case "model": return RefinementStages(model: ModelDistillationOptions())
        case "block+model": return RefinementStages(block: BlockReconstructionOptions(), model: ModelDistillationOptions())
        default: throw QuantError("unknown refinement mode '\(mode)' (use block, model, block+model)")
        }
    }

    /// The stages' settings in words (a checkpoint's "stages" setting).
    public var summary: String {
        [block.map { "block: " + $0.summary }, model.map { "model: " + $0.summary }].compactMap { $0 }.joined(separator: " | ")
    }
}
