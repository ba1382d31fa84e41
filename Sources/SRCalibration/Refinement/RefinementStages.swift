import SRIO

/// The output-level refinement of a plan as stages: block reconstruction, then whole-model distillation, each optional
/// (`harmoq refine --mode block|model|block+model` and `harmoq calibrate --refine …` both run this).
public struct RefinementStages: Sendable {
    public var block: BlockReconstructionOptions?
    public var model: ModelDistillationOptions?

    public init(block: BlockReconstructionOptions? = nil, model: ModelDistillationOptions? = nil) {
        self.block = block; self.model = model
    }

    /// Runs the stages in order on `plan` (each from the previous one's result); `log` gets their progress lines.
    public func refine(plan: QParams, weights: [String: Tensor], patches: [Tensor],
                       log: ((String) -> Void)? = nil) throws -> QParams {
        var q = plan
        if let b = block { q = try BlockReconstruction.refine(plan: q, weights: weights, patches: patches, options: b, log: log).qparams }
        if let m = model { q = try ModelDistillation.refine(plan: q, weights: weights, patches: patches, options: m, log: log).qparams }
        return q
    }
}
