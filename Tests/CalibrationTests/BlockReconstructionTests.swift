import Foundation
import HarmoQ
@testable import SRCalibration
import SREngine
import SRIO
import Testing

/// Block reconstruction (`harmoq refine --mode block`) on the CI-sized plan: block 0's 12 sites of DAT-light ×2.
@Suite(needsModelAndImages)
struct BlockReconstructionTests {
    /// The differentiable form of a plan computes what `QuantizedModel` applies (float fake-quant path): the same
    /// corrected weights, HSO scales, weight and activation quantizers at every site.
    @Test func planQuantizersReproduceQuantizedModel() throws {
        let (qp, weights, patches) = try ciCalibration(ciHarmoQ(.corrected))
        let pq = try PlanQuantizers(plan: qp, weights: weights, gradient: .ste)
        #expect(pq.activation.count == 12 && pq.weight.count == 4)
        let tape = try DATLightBackward(weights: pq.weights, scale: 2, quantizers: pq.siteQuantizers).forward(patches.lr[0])
        let engine = try ModelLoader.build(weights: weights)
        try QuantizedModel.apply(qp, to: engine, codeDomain: false)
        let y = try engine.forward(patches.lr[0])
        let fp = try ModelLoader.build(weights: weights).forward(patches.lr[0])
        let maxAbs = zip(tape.output.data, y.data).map { abs($0 - $1) }.max()!
        let quantEffect = zip(fp.data, y.data).map { abs($0 - $1) }.max()!
        // Same fake quantization, same kernels: float noise at most (threshold 1e-5 absolute on outputs of order 1;
        // the quantization itself moves them by > 1e-3). 64×64 patch, seed 0.
        #expect(maxAbs <= 1e-5, "max |Δ| \(maxAbs) vs quantization effect \(quantEffect)")
        #expect(quantEffect > 1e-3)
    }

    /// A short refinement lowers block 0's reconstruction loss, writes new bounds into the plan, and the refined plan,
    /// applied by `QuantizedModel`, brings the whole model's output closer to FP on the calibration patches.
    @Test func shortRefinementLowersTheOutputLoss() throws {
        // The float zero point (the corrected grid before issue #14). With the integer zero point, now the default, this
        // 6-iteration CI refinement still lowers block 0's loss but not the whole-model output MSE (5.41e-5 → 5.73e-5,
        // measured 2026-12-02; docs/integer.md).
        var c = HarmoQConfig.corrected()
        c.iterations = 100; c.warmupIterations = 10; c.refinementRows = 512
        c.zeroPoint = .float
        let (qp, weights, patches) = try ciCalibration(.harmoq(c))
        var o = BlockReconstructionOptions()
        o.iterations = 6; o.batch = 1; o.learningRate = 1e-2; o.checkEvery = 2
        let out = try BlockReconstruction.refine(plan: qp, weights: weights, patches: patches.lr, options: o)
        #expect(out.steps.count == 18)
        let b0 = out.steps[0]
        #expect(b0.kept && b0.lossAfter < b0.lossBefore, "block 0: \(b0.lossBefore) → \(b0.lossAfter), trace \(b0.trace)")
        #expect(b0.trace.count == 6 && b0.trace.allSatisfy(\.isFinite))
        // Blocks without quantizers have nothing to learn and keep their loss.
        #expect(out.steps[1...].allSatisfy { $0.trace.isEmpty && $0.lossAfter == $0.lossBefore })
        let changed = zip(qp.sites, out.qparams.sites).filter { $0.activationLower != $1.activationLower || $0.activationUpper != $1.activationUpper }
        #expect(changed.count >= 6, "bounds changed at \(changed.count) of 12 sites")
        func outputMSE(_ plan: QParams) throws -> Double {
            let m = try ModelLoader.build(weights: weights), f = try ModelLoader.build(weights: weights)
            try QuantizedModel.apply(plan, to: m)
            var s = 0.0, n = 0
            for p in patches.lr {
                let a = try m.forward(p), b = try f.forward(p)
                for (x, y) in zip(a.data, b.data) { s += Double(x - y) * Double(x - y) }
                n += a.count
            }
            return s / Double(n)
        }
        let before = try outputMSE(qp), after = try outputMSE(out.qparams)
        #expect(after < before, "model output MSE vs FP: \(before) → \(after)")
    }

    /// A plan with online Hadamard rotations (`calibrate --rotate hadamard`): the differentiable form rotates the same
    /// inputs (x·R, weights already W·R) and computes what `QuantizedModel` applies (≤ 1e-5), and a short block
    /// reconstruction of it still lowers block 0's loss.
    @Test func rotatedPlanIsReproducedAndRefined() throws {
        let weights = try ModelLoader.readStateDict(path: datX2)
        let patches = try CalibrationPatches.draw(count: 2, scale: 2, seed: 0, sources: [calibrationSource])
        var o = ModelCalibrationOptions(method: ciHarmoQ(.corrected), weightBits: 4, activationBits: 4)
        o.siteLimit = 12
        o.rotation = .hadamard
        let sites = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o)
        let qp = QParams(toolVersion: "test", model: "dat-light-x2.safetensors", architecture: "DAT-light", scale: 2, method: "harmoq",
                         weightBits: 4, activationBits: 4, seed: 0, inputs: "quantized-prefix", patchCount: 2, patchSources: [],
                         notes: [], config: nil, sites: sites)
        #expect(qp.sites.contains { $0.rotation != nil })
        let pq = try PlanQuantizers(plan: qp, weights: weights, gradient: .ste)
        #expect(!pq.rotated.isEmpty)
        let tape = try DATLightBackward(weights: pq.weights, scale: 2, quantizers: pq.siteQuantizers).forward(patches.lr[0])
        let engine = try ModelLoader.build(weights: weights)
        try QuantizedModel.apply(qp, to: engine, codeDomain: false)
        let y = try engine.forward(patches.lr[0])
        let maxAbs = zip(tape.output.data, y.data).map { abs($0 - $1) }.max()!
        #expect(maxAbs <= 1e-5, "rotated plan: max |Δ| \(maxAbs)")
        var r = BlockReconstructionOptions()
        r.iterations = 4; r.batch = 1; r.checkEvery = 2
        let out = try BlockReconstruction.refine(plan: qp, weights: weights, patches: patches.lr, options: r)
        #expect(out.steps[0].lossAfter < out.steps[0].lossBefore, "block 0: \(out.steps[0].lossBefore) → \(out.steps[0].lossAfter)")
        #expect(out.qparams.sites.map(\.rotation) == qp.sites.map(\.rotation))
    }

    /// A per-tensor weight grid (the 2DQuant scheme's affine per-tensor weights; DOBI's likewise) stays per-tensor under
    /// refinement: its rows share one learned pair of bounds, in block reconstruction and in whole-model distillation, and
    /// the refined plan passes the checks a written QPARAMS gets. (Before 2026-12-03 each row learned its own pair: the
    /// plan silently became per-channel, and writing it failed.)
    @Test func perTensorWeightGridsStayPerTensor() throws {
        let (qp, weights, patches) = try ciCalibration(.twoDQuantScheme(zeroPoint: .float))
        let perTensor = qp.sites.filter { $0.layer?.weightGranularity == .perTensor }
        #expect(perTensor.count == 4)
        var b = BlockReconstructionOptions()
        b.iterations = 4; b.batch = 1; b.checkEvery = 2
        var m = ModelDistillationOptions()
        m.iterations = 4; m.batch = 1; m.checkEvery = 2; m.learningRate = 1e-2
        for stages in [RefinementStages(block: b), RefinementStages(model: m)] {
            let out = try stages.refine(plan: qp, weights: weights, patches: patches.lr)
            var moved = 0
            for (s0, s1) in zip(qp.sites, out.sites) {
                guard let l0 = s0.layer, let l1 = s1.layer, l0.weightGranularity == .perTensor else { continue }
                #expect(Set(l1.weightLower).count == 1 && Set(l1.weightUpper).count == 1,
                        "\(s1.name) (\(stages.summary)): \(Set(l1.weightLower).count) lower / \(Set(l1.weightUpper).count) upper values")
                if l1.weightLower[0] != l0.weightLower[0] || l1.weightUpper[0] != l0.weightUpper[0] { moved += 1 }
            }
            #expect(moved >= 1, "no per-tensor weight bound moved (\(stages.summary))")
            let path = tempPath("per-tensor-refined.qparams")
            try out.write(to: path)
            #expect(try QParams.read(path: path).sites.count == qp.sites.count)
        }
    }

    /// Bad settings are refused before any work.
    @Test func refusesBadSettings() throws {
        let (qp, weights, patches) = try ciCalibration(.minMax)
        var o = BlockReconstructionOptions()
        o.iterations = 0
        #expect(throws: QuantError.self) { try BlockReconstruction.refine(plan: qp, weights: weights, patches: patches.lr, options: o) }
        #expect(throws: QuantError.self) { try BlockReconstruction.refine(plan: qp, weights: weights, patches: [], options: .init()) }
        var other = qp
        other.architecture = "HAT-S"
        #expect(throws: QuantError.self) { try BlockReconstruction.refine(plan: other, weights: weights, patches: patches.lr, options: .init()) }
        // A SwinIR-light plan (block reconstruction runs on both) with DAT-light weights: the weights are refused by name.
        var swin = qp
        swin.architecture = "SwinIR-light"
        #expect(throws: EngineError.self) { try BlockReconstruction.refine(plan: swin, weights: weights, patches: patches.lr, options: .init()) }
    }
}
