import ArgumentParser
import Foundation
import SRCalibration
import SREngine
import SRIO

/// `--mode` of `harmoq refine` and `--refine` of `harmoq calibrate`: block reconstruction, whole-model distillation, or
/// block reconstruction followed by model distillation.
enum RefinementMode: String, CaseIterable, ExpressibleByArgument {
    case block, model
    case blockModel = "block+model"
}

/// `--refine` of `harmoq calibrate`: a refinement mode, or none (nil: the method's default).
enum CalibrationRefinement: String, CaseIterable, ExpressibleByArgument {
    case none, block, model
    case blockModel = "block+model"

    var mode: RefinementMode? { self == .none ? nil : RefinementMode(rawValue: rawValue) }
}

/// `harmoq refine --learn`: which clipping bounds Adam learns.
enum LearnedBounds: String, CaseIterable, ExpressibleByArgument { case all, activations, weights }

/// `harmoq refine`: output-level refinement of an existing QPARAMS plan (any method) → a new QPARAMS.
struct Refine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refine",
        abstract: "Refine a QPARAMS plan at the output level (block reconstruction or whole-model distillation of the clipping bounds) and write a new QPARAMS.",
        discussion: """
        --mode block: for each transformer block in order, Adam learns the clipping bounds of the block's quantizers \
        (activations per tensor, weights per output channel) so that the quantized block, fed the output of the \
        already-refined quantized blocks, reproduces the FP block's output (MSE) on calibration patches; gradients come \
        from the hand-written backward pass (docs/refinement.md). A block whose learned bounds do not lower its loss on \
        all patches keeps its start bounds. \
        --mode model: Adam learns every clipping bound at once so that the quantized model's output matches the FP \
        model's output (MSE) on the calibration patches (optionally plus block-output feature terms, \
        --feature-weight); the best bounds seen at the checkpoints on all patches are kept. \
        --mode block+model: block reconstruction, then model distillation from its result. \
        --learn-weights: the weights are learned too, each within one quantization step of its start. \
        The block stage writes a checkpoint <out>.partial (+ .json) after every block; SIGINT/SIGTERM stop after the \
        current block (exit 130/143) with the output untouched, and --resume continues from the checkpoint with the \
        same result, byte for byte, as an uninterrupted run. \
        Progress with loss and ETA goes to stderr; the loss traces go into the QPARAMS sidecar (`refinements`, shown \
        by `harmoq audit`). A non-finite loss or gradient stops the run naming the iteration and site; nothing is \
        written then. Both modes: DAT-light and SwinIR-light (SwinIR-light's blocks are reconstructed across its 4 residual groups, each group's conv and residual in FP between them). Example:
          harmoq calibrate --model ../shared/models/dat-light-x2.safetensors --method harmoq --bits w4a4 --out x2.qparams
          harmoq refine --model ../shared/models/dat-light-x2.safetensors --quant x2.qparams --out x2-block.qparams
        """)

    @OptionGroup var modelOption: ModelOptions
    var model: String { modelOption.model }

    @OptionGroup var planOption: PlanOptions
    var quant: String { planOption.quant }

    @Option(help: "Output QPARAMS path (the sidecar is written to <path>.json).")
    var out: String

    @Option(help: "Refinement: block (block-wise reconstruction of the bounds) | model (whole-model distillation of the bounds) | block+model (block, then model).")
    var mode: RefinementMode = .block

    @Option(help: "Adam iterations per transformer block (--mode block; default \(BlockReconstructionOptions().iterations)) or in all (--mode model; default \(ModelDistillationOptions().iterations)). With block+model: the block stage's; see --model-iterations.")
    var iterations: Int?

    @Option(help: "Patches per Adam iteration.")
    var batch: Int = BlockReconstructionOptions().batch

    @Option(help: "Adam learning rate, in units of each quantizer's initial range (upper − lower); cosine decay to 5% of it. Default \(BlockReconstructionOptions().learningRate) (block), \(ModelDistillationOptions().learningRate) (model). With block+model: the block stage's; see --model-lr.")
    var lr: Double?

    @Option(help: "--mode block+model: iterations of the model stage (default \(ModelDistillationOptions().iterations)).")
    var modelIterations: Int?

    @Option(help: "--mode block+model: learning rate of the model stage (default \(ModelDistillationOptions().learningRate)).")
    var modelLr: Double?

    @Flag(inversion: .prefixedNo, help: "Also learn the weights, each within ±1 quantization step of its start (AdaRound-like, straight-through gradient); the refined plan stores the moved weights. Default: on for the block stage, off for the model stage (it overfits 8 patches: docs/refinement.md).")
    var learnWeights: Bool?

    @Option(help: "Adam learning rate of the weights with --learn-weights, in units of the row's quantization step (default \(BlockReconstructionOptions().weightLearningRate) block, \(ModelDistillationOptions().weightLearningRate) model).")
    var weightLr: Double?

    @Flag(help: "Block stage: also learn one factor per input channel of every quantized Linear (x ⊘ c before its activation quantizer, W ⊙ c before its weight quantizer, so the FP model is unchanged; OmniQuant-style learnable equivalent scaling starting at the plan's HSO scale). The refined plan stores s ⊙ c and W ⊙ c. Off by default (docs/refinement.md).")
    var learnScales = false

    @Option(help: "Adam learning rate of log c with --learn-scales (default \(BlockReconstructionOptions().scaleLearningRate)).")
    var scaleLr: Double?

    @Flag(help: "Block stage: also learn an orthogonal factor S after the plan's rotation at every rotated, quantized Linear ((x·R)·S before its activation quantizer, the weight turned to match, so the FP model is unchanged; SpinQuant-style, Cayley steps on the orthogonal group). Needs a rotated plan (`calibrate --rotate hadamard|random|learned`). The refined plan stores R·S (rotation kind `learned`) and the turned weight. Off by default (docs/rotations.md).")
    var learnRotations = false

    @Option(help: "Angle per Cayley step of --learn-rotations, in radians, with cosine decay (default \(BlockReconstructionOptions().rotationLearningRate)).")
    var rotationLr: Double?

    @Option(help: "--mode model / block+model: weight of the feature term (relative MSE of the block outputs ending each residual group, to FP); 0 = output loss only.")
    var featureWeight: Double = ModelDistillationOptions().featureWeight

    @Option(help: "Bound gradient: ste (2DQuant/LSQ-style) | exact (a.e. derivative of the real quantizer).")
    var gradient: FakeQuantGradient = .ste

    @Option(help: "Which bounds to learn: all | activations | weights.")
    var learn: LearnedBounds = .all

    @Option(help: "Attention-operand bounds (q, k, v, probs): learn | fixed | auto (per block, try both from the same start and keep the lower block loss).")
    var operands: OperandPolicy = .learn

    @Option(help: "Block stage: QDrop-style input mixing, the probability that each element of a block's training input comes from the FP model's path instead of the quantized blocks before it (0 = quantized input only, BRECQ). Checkpoints always use the quantized input.")
    var qdrop: Double = BlockReconstructionOptions().inputDrop

    @Option(help: "Number of 64×64 LR calibration patches.")
    var patches: Int = 8

    @Flag(help: "Continue an interrupted refinement from its checkpoint <out>.partial (+ .json); every setting, the model and the plan file must be the same. Only the block stage is checkpointed (a block+model run resumed after the block stage reruns the model stage).")
    var resume = false

    @Option(help: "Seed of the patch drawing.")
    var seed: UInt64 = 0

    @OptionGroup var data: CalibrationSourceOptions

    @OptionGroup var binding: ModelBindingOptions

    func run() throws {
        guard patches >= 1 else { throw CLIError("--patches must be at least 1, got \(patches)") }
        let r = try RefinementCLI.settings(mode: mode, iterations: iterations, batch: batch, lr: lr, modelIterations: modelIterations,
                                           modelLr: modelLr, gradient: gradient, learn: learn, operands: operands, featureWeight: featureWeight,
                                           learnWeights: learnWeights, weightLr: weightLr, qdrop: qdrop,
                                           learnScales: learnScales, scaleLr: scaleLr, learnRotations: learnRotations,
                                           rotationLr: rotationLr)
        let identity: ModelIdentity
        let weights: [String: Tensor]
        do {
            (_, identity) = try ModelIdentity.load(path: model)
            weights = try ModelLoader.readStateDict(path: model)
        } catch { throw CLIError("harmoq refine: \(error)") }
        let plan = try binding.read(quant, for: identity, command: "refine")
        if plan.operandRotation != nil {
            throw CLIError("refine: this plan folds operand rotations into its qkv weights and biases (--rotate-operands); the refinement's differentiable forward reads the model's own biases, so it is not available for it yet")
        }
        let srcs = try data.resolve(command: "refine")
        let t0 = Date()
        let stop = StopRequest.shared
        stop.install(notice: "stopping after the current block (its checkpoint is kept; the output is not written); rerun with --resume")
        do {
            let p = try CalibrationPatches.draw(count: patches, scale: plan.scale, seed: seed, sources: srcs)
            let cp = RefinementCheckpoint(out: out, settings: try RefinementCheckpoint.settings(
                modelPath: model, planPath: quant, patchCount: patches, patchSeed: seed, sources: srcs, stages: r.summary,
                toolVersion: HarmoqVersion.string), resume: resume)
            CalibrationCLI.stderr("harmoq refine: \(plan.method) W\(plan.weightBits)A\(plan.activationBits) from \(quant); \(mode.rawValue) on \(patches) LR patches 64×64 (seed \(seed))")
            let refined = try r.refine(plan: plan, weights: weights, patches: p.lr, checkpoint: cp,
                                       shouldStop: { stop.received != nil }) { CalibrationCLI.stderr($0) }
            try refined.write(to: out)
            cp.remove()
        } catch let e as RefinementInterrupted {
            CalibrationCLI.stderr("harmoq refine: " + e.description)
            throw ExitCode(128 + (stop.received ?? SIGINT))
        } catch let e as CLIError { throw e } catch { throw CLIError("harmoq refine: \(error)") }
        CalibrationCLI.stderr(String(format: "wrote %@ (+ .json): %.1f s", out, Date().timeIntervalSince(t0)))
    }
}

/// The refinement flags both `refine` and `calibrate --refine` parse into the library's `RefinementStages`.
enum RefinementCLI {
    typealias Settings = RefinementStages

    static func settings(mode: RefinementMode, iterations: Int? = nil, batch: Int = BlockReconstructionOptions().batch, lr: Double? = nil,
                         modelIterations: Int? = nil, modelLr: Double? = nil, gradient: FakeQuantGradient = .ste,
                         learn: LearnedBounds = .all, operands: OperandPolicy = .learn, featureWeight: Double = 0,
                         learnWeights: Bool? = nil, weightLr: Double? = nil, qdrop: Double = 0,
                         learnScales: Bool = false, scaleLr: Double? = nil, learnRotations: Bool = false,
                         rotationLr: Double? = nil) throws -> Settings {
        if let rotationLr { guard rotationLr > 0, rotationLr.isFinite else { throw CLIError("--rotation-lr must be positive, got \(rotationLr)") } }
        guard !learnRotations || mode != .model else { throw CLIError("--learn-rotations: the block stage learns rotations; --mode model does not (use block or block+model)") }
        guard rotationLr == nil || learnRotations else { throw CLIError("--rotation-lr needs --learn-rotations") }
        if let scaleLr { guard scaleLr > 0, scaleLr.isFinite else { throw CLIError("--scale-lr must be positive, got \(scaleLr)") } }
        guard !learnScales || mode != .model else { throw CLIError("--learn-scales: the block stage learns input scales; --mode model does not (use block or block+model)") }
        guard scaleLr == nil || learnScales else { throw CLIError("--scale-lr needs --learn-scales") }
        guard qdrop >= 0, qdrop <= 1 else { throw CLIError("--qdrop must lie in [0, 1], got \(qdrop)") }
        if let weightLr { guard weightLr > 0, weightLr.isFinite else { throw CLIError("--weight-lr must be positive, got \(weightLr)") } }
        guard featureWeight >= 0, featureWeight.isFinite else { throw CLIError("--feature-weight must be ≥ 0, got \(featureWeight)") }
        guard batch >= 1 else { throw CLIError("--batch must be ≥ 1, got \(batch)") }
        let acts = learn != .weights, ws = learn != .activations
        func model(_ it: Int?, _ l: Double?) -> ModelDistillationOptions {
            var m = ModelDistillationOptions()
            if let it { m.iterations = it }
            if let l { m.learningRate = l }
            m.batch = batch; m.gradient = gradient; m.learnActivationBounds = acts; m.learnWeightBounds = ws
            m.featureWeight = featureWeight
            if let learnWeights { m.learnWeights = learnWeights }
            if let weightLr { m.weightLearningRate = weightLr }
            return m
        }
        var s = Settings()
        switch mode {
        case .block, .blockModel:
            var o = BlockReconstructionOptions()
            if let iterations { o.iterations = iterations }
            o.batch = batch
            if let lr { o.learningRate = lr }
            o.gradient = gradient; o.learnActivationBounds = acts; o.learnWeightBounds = ws; o.operands = operands
            if let learnWeights { o.learnWeights = learnWeights }
            if let weightLr { o.weightLearningRate = weightLr }
            o.inputDrop = qdrop
            o.learnScales = learnScales
            if let scaleLr { o.scaleLearningRate = scaleLr }
            o.learnRotations = learnRotations
            if let rotationLr { o.rotationLearningRate = rotationLr }
            s.block = o
            if mode == .blockModel { s.model = model(modelIterations, modelLr) }
        case .model:
            s.model = model(iterations, lr)
        }
        for (name, it, l) in [("block", s.block?.iterations, s.block?.learningRate), ("model", s.model?.iterations, s.model?.learningRate)] {
            if let it, it < 1 { throw CLIError("\(name) refinement: iterations must be ≥ 1, got \(it)") }
            if let l, !(l > 0 && l.isFinite) { throw CLIError("\(name) refinement: the learning rate must be positive, got \(l)") }
        }
        return s
    }
}
