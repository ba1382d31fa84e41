import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRInteger
import SRIO
import Testing

/// Integer attention matmuls end to end on DAT-light ×2 (docs/integer.md "Integer attention matmuls"): the first two
/// blocks' 20 sites (block 0 spatial: two window branches; block 1 channel attention) calibrated at W4A4 on 2 CI patches.
/// The simulation (`IntegerSetup.installFake`: q·kᵀ and P·V in the code domain) and integer execution
/// (`installInteger`: the same products as int8 GEMMs) give the same output bit for bit, and every product of both ran
/// on the exact path.
@Suite(.serialized, needsModelAndImages) struct IntegerAttentionModelTests {
    /// The first two blocks' 20 sites (`ciCalibration`).
    static func calibrate(_ method: CalibrationMethod) throws -> (QParams, [String: Tensor], CalibrationPatches) {
        try ciCalibration(method, siteLimit: 20)
    }

    /// MinMax (symmetric operands) and HarmoQ corrected (integer-zero-point affine operands, its default).
    @Test(arguments: ["minmax", "harmoq"])
    func integerAttentionEqualsFakeQuantization(method: String) throws {
        let (qp, weights, patches) = try Self.calibrate(method == "minmax" ? .minMax : IntegerZeroPointModelTests.corrected())
        let operands = qp.sites.filter { $0.kind == .matmulOperand && $0.activationQuantized }
        #expect(operands.count == 12)   // 2 branches × (q, k, v, probs) + channel (q, k, v, probs)
        let x = patches.lr[0]
        let fakeModel = try ModelLoader.build(weights: weights), intModel = try ModelLoader.build(weights: weights)
        let setup = try IntegerSetup.make(model: fakeModel, bits: nil, qparams: qp, source: nil, calibration: [])
        try setup.installFake(on: fakeModel)
        try setup.installInteger(on: intModel)
        let sim = try #require(fakeModel.operandExecutor), int = try #require(intModel.operandExecutor)
        #expect(Set(sim.quantizers.keys) == Set(operands.map(\.name)) && sim.declined.isEmpty, "\(sim.declined)")
        #expect(sim.kernel == nil && int.kernel != nil && int.path.hasPrefix("integer"))

        // The attention output reaches the residual stream only through proj, whose 4-bit input quantizer absorbs
        // ulp-level differences; so the proj inputs (attention + conv branch, before quantization) are compared too.
        let fakeTap = ProjInputTap(fakeModel), intTap = ProjInputTap(intModel)
        let fake = try fakeModel.forward(x)
        let integer = try intModel.forward(x)
        #expect(integer.data.map(\.bitPattern) == fake.data.map(\.bitPattern), "integer vs fake quantization (\(method))")
        #expect(fakeTap.inputs.count == 2 && fakeTap.inputs.keys == intTap.inputs.keys)
        for (site, a) in fakeTap.inputs {
            #expect(a.map(\.bitPattern) == intTap.inputs[site]?.map(\.bitPattern), "proj input of \(site): integer vs fake")
        }
        for (name, ex) in [("simulation", sim), ("integer", int)] {
            let r = ex.report()
            #expect(r.count == 6, "\(name): \(r.keys.sorted())")   // q·k and probs·v of the 3 attentions
            #expect(r.values.allSatisfy { $0.exact == 1 && $0.float == 0 }, "\(name): \(r)")
        }
        let keys = sim.report().keys
        #expect(keys.filter { $0.contains(".attns.") }.count == 4 && keys.filter { !$0.contains(".attns.") }.count == 2,
                "spatial and channel products: \(keys.sorted())")

        // Without the operand executor the hook quantizes the operands in float (x̂ = Q(x), float matmuls): the proj
        // inputs then differ by float rounding — so the products above did run through the executor.
        fakeModel.operandExecutor = nil
        _ = try fakeModel.forward(x)
        #expect(sim.report().values.allSatisfy { $0.exact == 1 }, "the executor ran without being installed")
        var differ = 0, maxRel: Float = 0
        for (site, a) in intTap.inputs {
            let b = fakeTap.inputs[site] ?? []
            let scale = a.map { abs($0) }.max() ?? 1
            for (u, v) in zip(a, b) where u.bitPattern != v.bitPattern { differ += 1; maxRel = max(maxRel, abs(u - v) / scale) }
        }
        #expect(differ > 0, "the code-domain attention changed nothing")
        #expect(maxRel < 1e-3, "code vs float operand products: max |Δ| / max |x| = \(maxRel)")
        setup.remove(from: fakeModel)
        setup.remove(from: intModel)
    }

    /// A plan with folded operand rotations (`--rotate-operands random`: q and k rotated through the qkv weight rows
    /// *and* bias) runs under integer execution with the plan's folded bias, not the model's loaded one: the integer
    /// qkv executor carries the plan's bias and the whole output equals the simulation bit for bit. (Before the fix,
    /// `IntegerModelPlan.fromLayers` took the model's bias: folded weight, unfolded bias.)
    @Test func integerExecutionRunsTheFoldedBias() throws {
        let rec = OperandRotationFold.Record(kind: .random, seed: 0)
        let (qp, weights, patches) = try ciCalibration(.minMax, operandRotation: rec)
        let qkv = "layers.0.blocks.0.attn.qkv"
        let folded = try #require(qp.sites.first { $0.name == qkv }?.layer?.bias)
        let fakeModel = try ModelLoader.build(weights: weights), intModel = try ModelLoader.build(weights: weights)
        let loaded = try #require(try fakeModel.linearWeight(try fakeModel.site(named: qkv)).bias?.data)
        #expect(folded != loaded)   // the fold changed the q and k rows of the bias
        let setup = try IntegerSetup.make(model: fakeModel, bits: nil, qparams: qp, source: nil, calibration: [])
        let bias = setup.plan.linears[qkv]?.bias, runsFolded = bias == folded
        #expect(runsFolded, "integer qkv bias is \(bias == loaded ? "the model's loaded bias" : "neither the plan's nor the model's"), not the plan's folded bias")
        try setup.installFake(on: fakeModel)
        try setup.installInteger(on: intModel)
        let x = patches.lr[0]
        let fake = try fakeModel.forward(x).data, integer = try intModel.forward(x).data
        let differ = zip(integer, fake).filter { $0.bitPattern != $1.bitPattern }.count
        let maxDiff = zip(integer, fake).map { abs($0 - $1) }.max() ?? 0
        #expect(differ == 0, "integer vs fake quantization, folded operand rotations: \(differ) of \(fake.count) outputs differ, max |Δ| \(maxDiff)")
        setup.remove(from: fakeModel)
        setup.remove(from: intModel)
    }
}

/// Records the input of the `….attn.proj` sites of blocks 0 and 1 (before the installed hook runs), then hands over to that hook.
final class ProjInputTap: ActivationHook {
    let inner: ActivationHook?
    var inputs: [String: [Float]] = [:]
    init(_ model: any SRModel) { inner = model.hook; model.hook = self }
    var acceptsRowBlocks: Bool { inner?.acceptsRowBlocks ?? true }
    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        if site.name.hasSuffix("blocks.0.attn.proj") || site.name.hasSuffix("blocks.1.attn.proj") { inputs[site.name] = Array(values) }
        inner?.process(site: site, index: index, values: values, rows: rows, cols: cols)
    }
}
