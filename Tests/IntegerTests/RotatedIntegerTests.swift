import _TestSupport
import Foundation
import Testing
import HarmoQ
import SRIO
import SREngine
import SRCalibration
import SRInteger

/// Integer execution of a plan with online rotations (docs/rotations.md, "In the plan"): the hook rotates the site's
/// input (x·R) before the integer executor quantizes it, so integer execution equals the code-domain fake
/// quantization bit for bit; and the rotation is really applied (the same plan with its rotation records dropped,
/// weights still W·R, gives another output).
@Suite struct RotatedIntegerTests {
    @Test(.enabled(if: TestInputs.canCalibrateDATx2, Comment(rawValue: TestInputs.missingModelOrImages)))
    func rotatedPlanRunsIntegerEqualToFakeQuant() throws {
        let weights = try ModelLoader.readStateDict(path: TestInputs.datX2!)
        let patches = try CalibrationPatches.draw(count: 2, scale: 2, seed: 0, sources: [TestInputs.calibrationSource!])
        var o = ModelCalibrationOptions(method: .minMax, weightBits: 4, activationBits: 4)
        o.siteLimit = 12   // block 0 of DAT-light: its qkv, fc1 and fc2 are rotated
        o.rotation = .hadamard
        let sites = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o)
        var q = QParams(toolVersion: "test", model: "dat-light-x2", architecture: "DAT-light", scale: 2, method: "minmax",
                        weightBits: 4, activationBits: 4, seed: 0, inputs: "quantized-prefix", patchCount: 2, patchSources: [],
                        notes: [], config: nil, sites: sites)
        q.rotation = .hadamard
        let rotated = q.sites.filter { $0.rotation != nil }.map(\.name)
        #expect(rotated.count == 3, "\(rotated)")

        let model = try ModelLoader.build(weights: weights)
        let x = patches.lr[0]
        func outputs(_ plan: QParams) throws -> (integer: [Float], fake: [Float], intSites: Int) {
            let setup = try IntegerSetup.make(model: model, bits: nil, qparams: plan, source: nil, calibration: [])
            try setup.installInteger(on: model)
            let yi = try model.forward(x).data
            setup.remove(from: model)
            try setup.installFake(on: model)
            let yf = try model.forward(x).data
            setup.remove(from: model)
            return (yi, yf, setup.plan.linears.count)
        }
        let r = try outputs(q)
        #expect(r.intSites == 4, "block 0's four Linear sites run in integer")
        #expect(r.integer.map(\.bitPattern) == r.fake.map(\.bitPattern), "integer ≠ fake quantization on a rotated plan")
        let finite = r.integer.allSatisfy { $0.isFinite }
        #expect(finite)

        var dropped = q
        for i in dropped.sites.indices { dropped.sites[i].rotation = nil }
        dropped.rotation = nil
        let d = try outputs(dropped)
        let diff = zip(d.integer, r.integer).map { abs($0 - $1) }.max() ?? 0
        #expect(diff > 1e-2, "dropping the rotations must change the integer output (max |Δ| \(diff))")
    }
}
