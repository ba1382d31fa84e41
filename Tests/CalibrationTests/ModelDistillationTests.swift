import Foundation
import HarmoQ
@testable import SRCalibration
import SREngine
import SRIO
import Testing

/// Whole-model distillation (`harmoq refine --mode model`) and learned weight offsets on the CI-sized plan (block 0's
/// 12 sites of DAT-light ×2, 2 patches 64×64).
@Suite(.serialized, needsModelAndImages)
struct ModelDistillationTests {
    /// One CI-sized HarmoQ corrected plan for the suite (calibrated once: it is the expensive part).
    nonisolated(unsafe) static var cached: (QParams, [String: Tensor], CalibrationPatches)?
    static func plan() throws -> (QParams, [String: Tensor], CalibrationPatches) {
        if let c = cached { return c }
        let c = try ciCalibration(ciHarmoQ(.corrected))
        cached = c
        return c
    }

    /// Output MSE against FP of a plan applied by `QuantizedModel` (the shipped path, not the refinement's own forward).
    static func outputMSE(_ plan: QParams, _ weights: [String: Tensor], _ patches: [Tensor]) throws -> Double {
        let m = try ModelLoader.build(weights: weights), f = try ModelLoader.build(weights: weights)
        try QuantizedModel.apply(plan, to: m)
        var s = 0.0, n = 0
        for p in patches {
            let a = try m.forward(p), b = try f.forward(p)
            for (x, y) in zip(a.data, b.data) { s += Double(x - y) * Double(x - y) }
            n += a.count
        }
        return s / Double(n)
    }

    /// A short distillation of the bounds lowers the model's output MSE to FP (measured through `QuantizedModel`), keeps a
    /// checkpoint after the start, records its trace in the plan, and the record survives a write/read round trip.
    @Test func shortDistillationLowersTheOutputLoss() throws {
        let (qp, weights, patches) = try Self.plan()
        var o = ModelDistillationOptions()
        o.iterations = 4; o.batch = 1; o.learningRate = 1e-2; o.checkEvery = 2
        let out = try ModelDistillation.refine(plan: qp, weights: weights, patches: patches.lr, options: o)
        #expect(out.trace.count == 4 && out.trace.allSatisfy(\.isFinite))
        #expect(out.bestIteration > 0 && out.lossAfter < out.lossBefore, "objective \(out.lossBefore) → \(out.lossAfter), checkpoints \(out.checkpoints)")
        let before = try Self.outputMSE(qp, weights, patches.lr), after = try Self.outputMSE(out.qparams, weights, patches.lr)
        // The objective is this MSE computed by the backward-capable forward: the two agree to float noise.
        #expect(abs(before - out.lossBefore) <= 1e-3 * before, "start: QuantizedModel \(before) vs refinement \(out.lossBefore)")
        #expect(after < before, "model output MSE vs FP: \(before) → \(after)")
        let rec = try #require(out.qparams.refinements?.last)
        #expect(rec.mode == "model" && rec.stages.count == 1 && rec.stages[0].trace == out.trace)
        let path = tempPath("distilled.qparams")
        defer { removeQParams(path) }
        try out.qparams.write(to: path)
        #expect(try QParams.read(path: path) == out.qparams)
    }

    /// Learned weight offsets (block reconstruction): weights move by at most one quantization step, the refined plan's
    /// weights differ from the start, and block 0's loss falls further than with the bounds alone at the same budget.
    @Test func weightOffsetsStayWithinOneStepAndHelp() throws {
        let (qp, weights, patches) = try Self.plan()
        var o = BlockReconstructionOptions()
        o.iterations = 6; o.batch = 1; o.learningRate = 1e-2; o.checkEvery = 2; o.learnWeights = false
        let bounds = try BlockReconstruction.refine(plan: qp, weights: weights, patches: patches.lr, options: o)
        o.learnWeights = true; o.weightLearningRate = 5e-2
        let both = try BlockReconstruction.refine(plan: qp, weights: weights, patches: patches.lr, options: o)
        #expect(both.steps[0].lossAfter < bounds.steps[0].lossAfter,
                "block 0 MSE: bounds only \(bounds.steps[0].lossAfter), with weight offsets \(both.steps[0].lossAfter)")
        var moved = 0
        for (a, b) in zip(qp.sites, both.qparams.sites) {
            guard let la = a.layer, let lb = b.layer else { continue }
            let steps = try la.weightQuantizers().map { Double($0.step) }
            for i in la.weight.indices {
                let d = abs(Double(lb.weight[i] - la.weight[i]))
                #expect(d <= steps[i / la.inputs] * (1 + 1e-5), "\(a.name)[\(i)] moved \(d) > one step \(steps[i / la.inputs])")
                if d > 0 { moved += 1 }
            }
        }
        #expect(moved > 100, "only \(moved) weights moved")
    }

    /// Refinement results do not depend on the thread count (bit-identical plans for 1 and 3 threads).
    @Test func distillationIsThreadCountIndependent() throws {
        let (qp, weights, patches) = try Self.plan()
        var o = ModelDistillationOptions()
        o.iterations = 2; o.batch = 1; o.checkEvery = 2; o.learnWeights = true
        let one = try Parallel.withThreads(1) { try ModelDistillation.refine(plan: qp, weights: weights, patches: patches.lr, options: o) }
        let three = try Parallel.withThreads(3) { try ModelDistillation.refine(plan: qp, weights: weights, patches: patches.lr, options: o) }
        #expect(one.qparams == three.qparams)
        #expect(one.trace.map(\.bitPattern) == three.trace.map(\.bitPattern))
    }

    /// A non-finite bound gradient stops the optimiser step with an error naming the context, site, side and bound; a
    /// non-finite input stops a distillation before any training (the API returns no plan, so nothing is written).
    @Test func nonFiniteStopsNamingTheSite() throws {
        let q = LearnableSiteQuantizer(site: "layers.0.blocks.3.ffn.fc1", isWeight: false,
                                       quantizer: FakeQuantizer(try Quantizer(bits: 4, lower: -1, upper: 1, scheme: .affine)), inputScale: nil)
        var p = BoundParameters([q], iterations: 2, learningRate: 1e-2, finalFraction: 0.05)
        let x: [Float] = [0.5, 2], g: [Float] = [.nan, 1]
        var dx = [Float](repeating: 0, count: 2)
        x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            q.fake.backward(input: xp.baseAddress!, gradOutput: gp.baseAddress!, gradInput: d.baseAddress!, rows: 1, cols: 2) } } }
        do {
            try p.step(iteration: 0, context: "--refine model: iteration 0")
            Issue.record("a NaN bound gradient did not stop the step")
        } catch let e as QuantError {
            #expect(e.description.contains("iteration 0") && e.description.contains("layers.0.blocks.3.ffn.fc1") && e.description.contains("activation"),
                    "\(e.description)")
        }
        #expect(q.lower == [-1] && q.upper == [1], "bounds changed by a failed step")
        let (qp, weights, patches) = try Self.plan()
        var bad = patches.lr[0]
        bad.data[17] = .nan
        var o = ModelDistillationOptions()
        o.iterations = 1; o.batch = 1
        // The engine refuses the input before any training (EngineError "model input contains NaN or infinity").
        #expect(throws: EngineError.self) { try ModelDistillation.refine(plan: qp, weights: weights, patches: [bad], options: o) }
    }

    /// Bad settings are refused before any work.
    @Test func refusesBadSettings() throws {
        let (qp, weights, patches) = try ciCalibration(.minMax)
        var o = ModelDistillationOptions()
        o.iterations = 0
        #expect(throws: QuantError.self) { try ModelDistillation.refine(plan: qp, weights: weights, patches: patches.lr, options: o) }
        o = .init(); o.featureWeight = 1; o.featureBlocks = [18]
        #expect(throws: QuantError.self) { try ModelDistillation.refine(plan: qp, weights: weights, patches: patches.lr, options: o) }
        #expect(throws: QuantError.self) { try ModelDistillation.refine(plan: qp, weights: weights, patches: [], options: .init()) }
    }
}
