import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing
import _TestSupport

/// Folded operand rotations (`OperandRotationFold`, docs/rotations.md): q and k of every DAT-light spatial-window head
/// rotated through the qkv weight rows and bias. The whole FP model is unchanged (folded state dict, and a plan carrying
/// the folded bias applied to the unfolded model); the q operand really is rotated; folding q without k is not exact;
/// the calibrator records the folded bias and the plan round-trips it.
@Suite("Operand rotation fold")
struct OperandRotationFoldTests {
    static func input(_ h: Int = 20, _ w: Int = 24) -> Tensor {
        Tensor(shape: [1, 3, h, w], data: (0..<(3 * h * w)).map { Float(($0 * 37) % 101) / 100 })
    }
    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    final class Capture: ActivationHook {
        let target: String
        var values: [Float] = []
        init(_ t: String) { target = t }
        func process(site: Site, index: Int, values v: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
            if site.name == target { values += Array(v) }
        }
    }

    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func foldedModelEqualsFPAndRotatesTheOperands() throws {
        let weights = try ModelLoader.readStateDict(path: datX2)
        let fp = try ModelLoader.build(weights: weights)
        let rec = OperandRotationFold.Record(kind: .random, seed: 5)
        let foldedWeights = try OperandRotationFold.foldStateDict(weights, model: fp, record: rec)
        let folded = try ModelLoader.build(weights: foldedWeights)
        let spatial = try OperandRotationFold.spatialQKVSites(of: fp)
        #expect(spatial.count == 9 && spatial.first?.name == "layers.0.blocks.0.attn.qkv")
        let x = Self.input()
        let q0 = Capture("layers.0.blocks.0.attn.attns.0.q"), q1 = Capture("layers.0.blocks.0.attn.attns.0.q")
        fp.hook = q0; folded.hook = q1
        let y = try fp.forward(x).data, yFolded = try folded.forward(x).data
        // whole model, float noise (the threshold of the online-rotation test); measured below 1e-5
        #expect(Self.maxDiff(y, yFolded) < rotationFPThreshold, "max |Δ| \(Self.maxDiff(y, yFolded))")
        #expect(q0.values.count == q1.values.count && Self.maxDiff(q0.values, q1.values) > 1e-2)   // q is rotated
        // the channel-attention blocks and v rows are untouched
        #expect(foldedWeights["layers.0.blocks.1.attn.qkv.weight"]!.data == weights["layers.0.blocks.1.attn.qkv.weight"]!.data)
        let v0 = 120 * 60
        #expect(Array(foldedWeights["layers.0.blocks.0.attn.qkv.weight"]!.data[v0...]) == Array(weights["layers.0.blocks.0.attn.qkv.weight"]!.data[v0...]))

        // Mutant: q rotated, k not — the scores change, so the output must move well beyond float noise.
        var qOnly = foldedWeights
        for s in spatial {
            var w = foldedWeights[s.name + ".weight"]!.data, b = foldedWeights[s.name + ".bias"]!.data
            let w0 = weights[s.name + ".weight"]!.data, b0 = weights[s.name + ".bias"]!.data
            for i in (60 * 60)..<(120 * 60) { w[i] = w0[i] }
            for i in 60..<120 { b[i] = b0[i] }
            qOnly[s.name + ".weight"] = Tensor(shape: [180, 60], data: w); qOnly[s.name + ".bias"] = Tensor(shape: [180], data: b)
        }
        #expect(Self.maxDiff(y, try ModelLoader.build(weights: qOnly).forward(x).data) > 1e-2)
    }

    /// A plan (online Hadamard rotations, nothing quantized) built on the folded model, carrying the folded qkv biases,
    /// applied by `QuantizedModel.apply` to the *unfolded* model: FP output to float noise; without the biases it is not;
    /// written and read back it keeps them (bit-identical output); a bias without `operandRotation` is refused.
    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func planCarriesTheFoldedBias() throws {
        let weights = try ModelLoader.readStateDict(path: datX2)
        let fp = try ModelLoader.build(weights: weights)
        let rec = OperandRotationFold.Record(kind: .random, seed: 5)
        let foldedWeights = try OperandRotationFold.foldStateDict(weights, model: fp, record: rec)
        var plan = try RotationPolicy.floatPlan(model: try ModelLoader.build(weights: foldedWeights), kind: .hadamard, seed: 3)
        plan.operandRotation = rec
        let spatial = Set(try OperandRotationFold.spatialQKVSites(of: fp).map(\.name))
        for i in plan.sites.indices {
            let name = plan.sites[i].name
            if spatial.contains(name) { plan.sites[i].layer?.bias = foldedWeights[name + ".bias"]!.data }
        }
        #expect(plan.sites.filter { $0.layer?.bias != nil }.count == 9)
        let x = Self.input()
        let y = try fp.forward(x).data
        let m = try ModelLoader.build(weights: weights)
        try QuantizedModel.apply(plan, to: m)
        let yPlan = try m.forward(x).data
        #expect(Self.maxDiff(y, yPlan) < rotationFPThreshold, "max |Δ| \(Self.maxDiff(y, yPlan))")
        QuantizedModel.remove(from: m)
        #expect(try m.forward(x).data == y)                         // remove restores the loaded biases too

        var noBias = plan
        for i in noBias.sites.indices { noBias.sites[i].layer?.bias = nil }
        try QuantizedModel.apply(noBias, to: m)
        #expect(Self.maxDiff(y, try m.forward(x).data) > 1e-2)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fold-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try plan.write(to: dir + "/p.qparams")
        let back = try QParams.read(path: dir + "/p.qparams")
        #expect(back.operandRotation == rec)
        #expect(back.sites.map { $0.layer?.bias } == plan.sites.map { $0.layer?.bias })
        try QuantizedModel.apply(back, to: m)
        #expect(try m.forward(x).data == yPlan)
        var stray = plan
        stray.operandRotation = nil
        #expect(throws: QuantError.self) { try stray.write(to: dir + "/s.qparams") }
    }

    /// The calibrator folds the rotations in: MinMax W4A4, block 0 (spatial) only: the qkv site carries the folded bias,
    /// its weight is the folded rows, and the q operand's bounds are those of the rotated q.
    @Test(.enabled(if: TestInputs.canCalibrateDATx2, Comment(rawValue: TestInputs.missingModelOrImages)))
    func calibratorSeesTheFoldedModel() throws {
        let weights = try ModelLoader.readStateDict(path: datX2)
        let patches = try CalibrationPatches.draw(count: 1, scale: 2, seed: 0, sources: [calibrationSource])
        var o = ModelCalibrationOptions(method: .minMax, weightBits: 4, activationBits: 4)
        o.siteLimit = 2
        o.fpInputs = true      // q then comes from the FP (folded) qkv, so its MinMax bound is max |q| of the FP forward
        let plain = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o)
        o.operandRotation = .init(kind: .random, seed: 0)
        let sites = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o)
        let folded = try OperandRotationFold.foldStateDict(weights, model: try ModelLoader.build(weights: weights), record: o.operandRotation!)
        #expect(sites[0].name == "layers.0.blocks.0.attn.qkv" && sites[1].name == "layers.0.blocks.0.attn.attns.0.q")
        #expect(sites[0].layer?.bias == folded["layers.0.blocks.0.attn.qkv.bias"]!.data && plain[0].layer?.bias == nil)
        #expect(sites[0].layer?.weight == folded["layers.0.blocks.0.attn.qkv.weight"]!.data)
        // MinMax bound of q = max |q| of the rotated operand: not the unrotated one's
        #expect(sites[1].activationUpper != plain[1].activationUpper)
        let m = try ModelLoader.build(weights: folded)
        let c = Capture("layers.0.blocks.0.attn.attns.0.q")
        m.hook = c
        _ = try m.forward(patches.lr[0])
        // MinMax operand bounds are symmetric: ±max |q| over the (rotated) operand
        #expect(sites[1].activationUpper == c.values.map(abs).max()!)
    }
}
