import Foundation
import HarmoQ
@testable import SRCalibration
import SREngine
import SRIO
import Testing

/// `harmoq refine --resume`: block reconstruction interrupted after block 0 and resumed from its checkpoint writes the
/// same QPARAMS bytes (tensors and sidecar) as an uninterrupted run; a checkpoint made with other settings is refused
/// naming the difference. Plan: blocks 0 and 1 of DAT-light ×2 (20 sites), 2 patches, 3 iterations per block with
/// learned weights and QDrop input mixing (the state a resume must reproduce).
@Suite(needsModelAndImages)
struct RefinementResumeTests {
    @Test func resumedRefinementIsByteIdentical() throws {
        var c = HarmoQConfig.corrected()
        c.iterations = 20; c.warmupIterations = 5; c.refinementRows = 512
        let (plan, weights, patches) = try ciCalibration(.harmoq(c), siteLimit: 20)
        let sites = plan.sites
        #expect(Set(sites.map { $0.name.split(separator: ".").prefix(4).joined(separator: ".") }).count == 2, "sites of two blocks")
        var o = BlockReconstructionOptions()
        o.iterations = 3; o.batch = 1; o.checkEvery = 1; o.inputDrop = 0.5; o.seed = 3
        let settings = ["stages": o.summary, "patches": "2"]
        let a = tempPath("resume-a.qparams"), b = tempPath("resume-b.qparams")
        defer { for p in [a, b, a + ".partial", b + ".partial"] { removeQParams(p) } }

        let whole = try BlockReconstruction.refine(plan: plan, weights: weights, patches: patches.lr, options: o,
                                                   checkpoint: RefinementCheckpoint(out: a, settings: settings, resume: false))
        try whole.qparams.write(to: a)
        #expect(whole.steps.prefix(2).allSatisfy { !$0.trace.isEmpty }, "blocks 0 and 1 trained")

        // Stop after the first block: the checkpoint holds block 0, nothing else is written.
        let stopping = RefinementCheckpoint(out: b, settings: settings, resume: false)
        #expect(throws: RefinementInterrupted.self) {
            try BlockReconstruction.refine(plan: plan, weights: weights, patches: patches.lr, options: o, checkpoint: stopping,
                                           shouldStop: { true })
        }
        #expect(FileManager.default.fileExists(atPath: b + ".partial") && !FileManager.default.fileExists(atPath: b))
        #expect(try QParams.read(path: b + ".partial").refinements?.last?.stages.count == 1)

        // Other settings: refused, naming the setting.
        var other = settings; other["patches"] = "3"
        do {
            _ = try BlockReconstruction.refine(plan: plan, weights: weights, patches: patches.lr, options: o,
                                               checkpoint: RefinementCheckpoint(out: b, settings: other, resume: true))
            Issue.record("a checkpoint with other settings was accepted")
        } catch let e as QuantError {
            #expect(e.description.contains("patches: checkpoint '2', this run '3'"), "\(e)")
        }

        let resumed = try BlockReconstruction.refine(plan: plan, weights: weights, patches: patches.lr, options: o,
                                                     checkpoint: RefinementCheckpoint(out: b, settings: settings, resume: true))
        try resumed.qparams.write(to: b)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)), "QPARAMS tensors differ")
        #expect(try Data(contentsOf: URL(fileURLWithPath: a + ".json")) == Data(contentsOf: URL(fileURLWithPath: b + ".json")), "sidecars differ")
        #expect(resumed.qparams.sites != plan.sites, "the refinement changed the plan")
    }
}
