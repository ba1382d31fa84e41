/// What one output-level refinement did to a plan, stored in the QPARAMS sidecar (`QParams.refinements`) and shown by
/// the audit's convergence section: the mode and its settings, and per stage (a transformer block for `block`, the
/// whole model for `model`) the loss before and after, the kept iteration and the per-iteration training loss.
public struct RefinementRecord: Codable, Sendable, Equatable {
    /// "block" (block reconstruction) or "model" (whole-model distillation).
    public var mode: String
    /// The settings in words (iterations, batch, learning rate, what was learned, loss).
    public var settings: String
    /// Calibration patches the refinement ran on.
    public var patches: Int
    public var stages: [Stage]
    // No wall time: the same inputs and seed must give the same bytes.

    public struct Stage: Codable, Sendable, Equatable {
        /// "block 3" or "model".
        public var name: String
        /// The stage's objective on all patches before and after (block: block-output MSE; model: the distillation loss).
        public var lossBefore: Double
        public var lossAfter: Double
        /// The iteration whose parameters were kept (0 = the start values: nothing improved the objective).
        public var bestIteration: Int
        /// The training loss of every iteration (the batch's mean, before its optimiser step).
        public var trace: [Double]
        /// The objective on all patches at every checkpoint, as (iteration, loss).
        public var checkpoints: [Checkpoint]

        public init(name: String, lossBefore: Double, lossAfter: Double, bestIteration: Int, trace: [Double], checkpoints: [Checkpoint]) {
            self.name = name; self.lossBefore = lossBefore; self.lossAfter = lossAfter; self.bestIteration = bestIteration
            self.trace = trace; self.checkpoints = checkpoints
        }
    }

    public struct Checkpoint: Codable, Sendable, Equatable {
        public var iteration: Int
        public var loss: Double
        public init(iteration: Int, loss: Double) { self.iteration = iteration; self.loss = loss }
    }

    public init(mode: String, settings: String, patches: Int, stages: [Stage]) {
        self.mode = mode; self.settings = settings; self.patches = patches; self.stages = stages
    }
}
