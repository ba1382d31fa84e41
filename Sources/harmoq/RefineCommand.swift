import ArgumentParser
import Foundation
import SRCalibration
import SREngine
import SRIO

/// `--mode` of `harmoq refine` and `--refine` of `harmoq calibrate` (whole-model distillation is not built yet).
enum RefinementMode: String, CaseIterable, ExpressibleByArgument { case block }

/// `harmoq refine --learn`: which clipping bounds Adam learns.
enum LearnedBounds: String, CaseIterable, ExpressibleByArgument { case all, activations, weights }

/// `harmoq refine`: output-level refinement of an existing QPARAMS plan (any method) → a new QPARAMS.
struct Refine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refine",
        abstract: "Refine a QPARAMS plan at the output level (block reconstruction of the clipping bounds) and write a new QPARAMS.",
        discussion: """
        --mode block: for each transformer block in order, Adam learns the clipping bounds of the block's quantizers \
        (activations per tensor, weights per output channel) so that the quantized block, fed the output of the \
        already-refined quantized blocks, reproduces the FP block's output (MSE) on calibration patches; gradients come \
        from the hand-written backward pass (docs/refinement.md). A block whose learned bounds do not lower its loss on \
        all patches keeps its start bounds. Progress with loss and ETA goes to stderr. DAT-light only so far. Example:
          harmoq calibrate --model ../shared/models/dat-light-x2.safetensors --method harmoq --bits w4a4 --out x2.qparams
          harmoq refine --model ../shared/models/dat-light-x2.safetensors --quant x2.qparams --out x2-block.qparams
        """)

    @Option(help: "Model weights (.safetensors or .pth) the plan was calibrated on.")
    var model: String

    @Option(help: "The QPARAMS plan to refine (written by `harmoq calibrate`).")
    var quant: String

    @Option(help: "Output QPARAMS path (the sidecar is written to <path>.json).")
    var out: String

    @Option(help: "Refinement: block (block-wise reconstruction of the bounds).")
    var mode: RefinementMode = .block

    @Option(help: "Adam iterations per transformer block.")
    var iterations: Int = BlockReconstructionOptions().iterations

    @Option(help: "Patches per Adam iteration.")
    var batch: Int = BlockReconstructionOptions().batch

    @Option(help: "Adam learning rate, in units of each quantizer's initial range (upper − lower); cosine decay to 5% of it.")
    var lr: Double = BlockReconstructionOptions().learningRate

    @Option(help: "Bound gradient: ste (2DQuant/LSQ-style) | exact (a.e. derivative of the real quantizer).")
    var gradient: FakeQuantGradient = .ste

    @Option(help: "Which bounds to learn: all | activations | weights.")
    var learn: LearnedBounds = .all

    @Option(help: "Attention-operand bounds (q, k, v, probs): learn | fixed | auto (per block, try both from the same start and keep the lower block loss).")
    var operands: OperandPolicy = .learn

    @Option(help: "Number of 64×64 LR calibration patches.")
    var patches: Int = 8

    @Option(help: "Seed of the patch drawing.")
    var seed: UInt64 = 0

    @OptionGroup var data: CalibrationSourceOptions

    @OptionGroup var binding: ModelBindingOptions

    func run() throws {
        guard patches >= 1 else { throw CLIError("--patches must be at least 1, got \(patches)") }
        var o = BlockReconstructionOptions()
        o.iterations = iterations; o.batch = batch; o.learningRate = lr
        o.gradient = gradient
        switch learn {
        case .all: break
        case .activations: o.learnWeightBounds = false
        case .weights: o.learnActivationBounds = false
        }
        o.operands = operands
        let identity: ModelIdentity
        let weights: [String: Tensor]
        do {
            (_, identity) = try ModelIdentity.load(path: model)
            weights = try ModelLoader.readStateDict(path: model)
        } catch { throw CLIError("harmoq refine: \(error)") }
        let plan = try binding.read(quant, for: identity, command: "refine")
        let srcs = try data.resolve(command: "refine")
        let outcome: BlockReconstruction.Outcome
        do {
            let p = try CalibrationPatches.draw(count: patches, scale: plan.scale, seed: seed, sources: srcs)
            CalibrationCLI.stderr("harmoq refine: \(plan.method) W\(plan.weightBits)A\(plan.activationBits) from \(quant); block reconstruction, "
                                  + "\(iterations) iterations × batch \(batch) per block on \(patches) LR patches 64×64 (seed \(seed))")
            outcome = try BlockReconstruction.refine(plan: plan, weights: weights, patches: p.lr, options: o) { CalibrationCLI.stderr($0) }
            try outcome.qparams.write(to: out)
        } catch let e as CLIError { throw e } catch { throw CLIError("harmoq refine: \(error)") }
        CalibrationCLI.stderr(String(format: "wrote %@ (+ .json): %.1f s", out, outcome.seconds))
    }
}
