import _TestSupport
import Foundation
import HarmoQ
@testable import SRCalibration
import SREngine
import SRIO
import Testing

/// Whole-model distillation on SwinIR-light ×2 (stress weights): a CI-sized HarmoQ plan (the first 12 sites, 2 patches).
@Suite(.enabled(if: SharedData.exists(SwinIRGradRef.model) && SharedData.exists("data/DIV2K-calib"),
                "../shared SwinIR-light stress weights or DIV2K-calib not present"))
struct SwinIRRefinementTests {
    static func plan() throws -> (QParams, [String: Tensor], [Tensor]) {
        let path = SharedData.path(SwinIRGradRef.model)
        let weights = try ModelLoader.readStateDict(path: path)
        let patches = try CalibrationPatches.draw(count: 2, scale: 2, seed: 0, sources: CalibrationPatches.defaultSources(sharedRoot: SharedData.root.path))
        var c = HarmoQConfig.corrected()
        c.iterations = 30; c.warmupIterations = 3; c.refinementRows = 256
        var o = ModelCalibrationOptions(method: .harmoq(c), weightBits: 4, activationBits: 4)
        o.siteLimit = 12
        let sites = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o)
        let qp = QParams(toolVersion: "test", model: "swinir-light-x2-stress.safetensors", architecture: "SwinIR-light", scale: 2,
                         method: "harmoq", weightBits: 4, activationBits: 4, seed: 0, inputs: "quantized-prefix", patchCount: 2,
                         patchSources: [], notes: [], config: c, sites: sites)
        return (qp, weights, patches.lr)
    }

    static func outputMSE(_ plan: QParams?, _ weights: [String: Tensor], _ patches: [Tensor]) throws -> Double {
        let m = try ModelLoader.build(weights: weights), f = try ModelLoader.build(weights: weights)
        if let plan { try QuantizedModel.apply(plan, to: m) }
        var s = 0.0, n = 0
        for p in patches {
            let a = try m.forward(p), b = try f.forward(p)
            for (x, y) in zip(a.data, b.data) { s += Double(x - y) * Double(x - y) }
            n += a.count
        }
        return s / Double(n)
    }

    /// The refinement's differentiable model of a SwinIR plan computes what `QuantizedModel` applies (≤ 1e-5 absolute on
    /// a 64×64 patch), and a short distillation lowers the output MSE to FP measured through `QuantizedModel`.
    @Test func planForwardMatchesAndDistillationLowersTheOutputLoss() throws {
        let (qp, weights, patches) = try Self.plan()
        let pq = try PlanQuantizers(plan: qp, weights: weights, gradient: .ste)
        #expect(pq.activation.count >= 8)
        let student = try BackwardModel.make(architecture: qp.architecture, weights: pq.weights, scale: 2, quantizers: pq.siteQuantizers)
        let mine = try student.run(patches[0], false).output
        let engine = try ModelLoader.build(weights: weights)
        try QuantizedModel.apply(qp, to: engine, codeDomain: false)
        let y = try engine.forward(patches[0])
        let maxAbs = zip(mine.data, y.data).map { abs($0 - $1) }.max()!
        #expect(mine.shape == y.shape && maxAbs <= 1e-5, "max |Δ| \(maxAbs)")
        var o = ModelDistillationOptions()
        o.iterations = 4; o.batch = 1; o.learningRate = 1e-2; o.checkEvery = 2
        let out = try ModelDistillation.refine(plan: qp, weights: weights, patches: patches, options: o)
        let before = try Self.outputMSE(qp, weights, patches), after = try Self.outputMSE(out.qparams, weights, patches)
        #expect(after < before, "SwinIR-light output MSE vs FP: \(before) → \(after) (objective \(out.lossBefore) → \(out.lossAfter))")
    }

    /// Block reconstruction's chain of SwinIR-light (blocks, then each RSTB's conv and residual between groups) computes
    /// the block outputs of the whole-model forward with the same quantizers, block by block and bit for bit.
    @Test func blockChainReproducesTheModelsBlockOutputs() throws {
        let (qp, weights, patches) = try Self.plan()
        let pq = try PlanQuantizers(plan: qp, weights: weights, gradient: .ste)
        let chain = try BlockChain.make(architecture: qp.architecture, weights: pq.weights, scale: 2, quantizers: pq.siteQuantizers)
        let model = try SwinIRLightBackward(weights: pq.weights, scale: 2, quantizers: pq.siteQuantizers)
        let tape = try model.forward(patches[0], retention: .blockInputs)
        #expect(chain.count == 24 && tape.blockOutputs.count == 24)
        var (x, h, w) = try chain.input(patches[0])
        var g = x
        for i in 0..<chain.count {
            if chain.startsGroup(i) { g = x }
            let y = chain.forward(i, x, h, w).output
            #expect(y == tape.blockOutputs[i], "block \(i) (\(chain.prefixes[i])) differs from the model's forward")
            x = chain.next(i, y, g, h, w)
        }
        #expect((0..<24).filter(chain.startsGroup) == [0, 6, 12, 18])
        _ = (h, w)
    }

    /// `harmoq refine --mode block` on SwinIR-light: a short block reconstruction improves some block's loss and lowers
    /// the output MSE to FP measured through `QuantizedModel`.
    @Test func blockReconstructionLowersTheOutputLoss() throws {
        let (qp, weights, patches) = try Self.plan()
        var o = BlockReconstructionOptions()
        o.iterations = 6; o.batch = 1; o.checkEvery = 3
        let out = try BlockReconstruction.refine(plan: qp, weights: weights, patches: patches, options: o)
        #expect(out.steps.count == 24)
        #expect(out.steps.contains { $0.kept && $0.lossAfter < $0.lossBefore }, "no block improved: \(out.steps.map(\.lossAfter))")
        let before = try Self.outputMSE(qp, weights, patches), after = try Self.outputMSE(out.qparams, weights, patches)
        #expect(after < before, "SwinIR-light output MSE vs FP: \(before) → \(after)")
    }
}
