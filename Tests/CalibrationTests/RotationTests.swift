import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing
import _TestSupport

/// Online rotations (docs/rotations.md): the rotated FP model equals the FP model; the calibrator sees rotated inputs
/// and weights; plans with rotations round-trip; consumers that cannot apply rotations refuse them.

/// Float noise of the whole model (outputs in [0, 1]; one 8-bit level is 3.9e-3).
let rotationFPThreshold: Float = 1e-4

private func smallInput(_ h: Int = 20, _ w: Int = 24) -> Tensor {
    Tensor(shape: [1, 3, h, w], data: (0..<(3 * h * w)).map { Float(($0 * 37) % 101) / 100 })
}

private func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.data, b.data).map { abs($0 - $1) }.max() ?? .infinity
}

/// The rotated FP model (every online site: weight W·R, input x·R, nothing quantized, applied by `QuantizedModel.apply`)
/// reproduces the FP output; the same plan without its online transform (weights W·R, inputs unrotated) does not.
private func checkFloatEquivalence(modelPath: String) throws {
    let weights = try ModelLoader.readStateDict(path: modelPath)
    let fp = try ModelLoader.build(weights: weights)
    let x = smallInput()
    let yFP = try fp.forward(x)
    for kind in RotationKind.allCases {
        let m = try ModelLoader.build(weights: weights)
        // Every Linear that can be rotated online (qkv, proj, fc1, fc2).
        let all = Set(RotationPolicy.Layer.allCases)
        let plan = try RotationPolicy.floatPlan(model: m, kind: kind, seed: 3, layers: all)
        let online = m.sites.filter { RotationPolicy.isOnlineSite($0, layers: all) }
        #expect(plan.sites.count == online.count && online.count == 4 * m.sites.filter { $0.name.hasSuffix(".proj") }.count)
        try QuantizedModel.apply(plan, to: m)
        let d = maxAbsDiff(try m.forward(x), yFP)
        let line = "\(m.architecture.rawValue) ×\(m.scale) kind=\(kind.rawValue) seed=3 input 20×24: max |Δ| = \(d) (threshold \(rotationFPThreshold))"
        #expect(d < rotationFPThreshold, "\(line)")
        // Mutant: the weights rotated, the inputs not.
        var broken = plan
        for i in broken.sites.indices { broken.sites[i].rotation = nil }
        try QuantizedModel.apply(broken, to: m)
        let e = maxAbsDiff(try m.forward(x), yFP)
        #expect(e > 100 * rotationFPThreshold, "dropping the online transform must change the output: \(e); \(line)")
        QuantizedModel.remove(from: m)
    }
}

@Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
func datLightRotatedFloatModelEqualsFP() throws { try checkFloatEquivalence(modelPath: datX2) }

@Test(.enabled(if: SharedData.exists("models/swinir-light-x2-stress.safetensors"), "../shared/models/swinir-light-x2-stress.safetensors not present"))
func swinIRLightRotatedFloatModelEqualsFP() throws {
    try checkFloatEquivalence(modelPath: SharedData.path("models/swinir-light-x2-stress.safetensors"))
}

/// CI-sized rotated calibration: block 0 of DAT-light ×2, 2 patches.
func rotatedCalibration(_ method: CalibrationMethod, kind: RotationKind) throws -> (QParams, [String: Tensor], CalibrationPatches) {
    let weights = try ModelLoader.readStateDict(path: datX2)
    let patches = try CalibrationPatches.draw(count: 2, scale: 2, seed: 0, sources: [calibrationSource])
    var o = ModelCalibrationOptions(method: method, weightBits: 4, activationBits: 4)
    o.siteLimit = 12
    o.rotation = kind
    let sites = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o)
    var qp = QParams(toolVersion: "test", model: "dat-light-x2.safetensors", architecture: "DAT-light", scale: 2, method: method.name,
                     weightBits: 4, activationBits: 4, seed: 0, inputs: "quantized-prefix", patchCount: 2, patchSources: [],
                     notes: [], config: nil, sites: sites)
    qp.rotation = kind
    return (qp, weights, patches)
}

/// Captures one site's input on an FP forward.
private final class CaptureHook: ActivationHook {
    let target: String
    var rows: [[Float]] = []
    init(_ t: String) { target = t }
    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        if site.name == target { self.rows.append(Array(values)) }
    }
}

/// MinMax on the rotated first site: its activation bound is max |x·R| over the patches (x captured on an FP forward,
/// rotated by the Float64 reference), its stored weight is exactly W·R, and only qkv, fc1 and fc2 are rotated.
@Test(needsModelAndImages) func calibratorSeesRotatedInputsAndWeights() throws {
    let (q, weights, patches) = try rotatedCalibration(.minMax, kind: .hadamard)
    #expect(q.sites.filter { $0.rotation != nil }.map(\.name) == ["layers.0.blocks.0.attn.qkv", "layers.0.blocks.0.ffn.fc1", "layers.0.blocks.0.ffn.fc2"])
    let s0 = q.sites[0]
    let r = try #require(s0.rotation).rotation()
    let fp = try ModelLoader.build(weights: weights)
    let cap = CaptureHook(s0.name)
    fp.hook = cap
    var absMax: Float = 0, absMaxUnrotated: Float = 0
    for p in patches.lr { _ = try fp.forward(p) }
    for x in cap.rows {
        let rows = x.count / 60
        absMax = max(absMax, r.rotateRows(x, rows: rows).map(abs).max()!)
        absMaxUnrotated = max(absMaxUnrotated, x.map(abs).max()!)
    }
    #expect(abs(s0.activationUpper - absMax) <= 1e-5 * absMax, "bound \(s0.activationUpper) vs max|x·R| \(absMax)")
    #expect(abs(absMax - absMaxUnrotated) > 1e-3 * absMaxUnrotated, "rotation must change the range (\(absMax) vs \(absMaxUnrotated))")
    let w = try fp.linearWeight(try fp.site(named: s0.name)).weight
    #expect(try #require(s0.layer).weight == r.rotateWeight(w.data, outputs: w.shape[0]))
}

/// Plans with rotations write and read back equal and give bit-identical outputs; a random or learned rotation's matrix
/// is a tensor (a Hadamard's is regenerated); a tampered matrix is refused; plans without rotations carry no trace of them.
@Test(needsModelAndImages) func rotatedPlansRoundTrip() throws {
    for kind in RotationKind.allCases {
        let (q, weights, patches) = try rotatedCalibration(ciHarmoQ(.corrected), kind: kind)
        let path = tempPath("rot-\(kind.rawValue).qparams")
        defer { removeQParams(path) }
        try q.write(to: path)
        let back = try QParams.read(path: path)
        #expect(back == q)
        let file = try SafeTensors.read(path: path)
        let rotTensors = file.entries.keys.filter { $0.hasSuffix(".rotation") }
        #expect(rotTensors.count == (kind == .hadamard ? 0 : 3), "\(kind): random and learned rotations store their matrix")
        let a = try ModelLoader.build(weights: weights), b = try ModelLoader.build(weights: weights)
        try QuantizedModel.apply(q, to: a); try QuantizedModel.apply(back, to: b)
        let ya = try a.forward(patches.lr[0]), yb = try b.forward(patches.lr[0])
        #expect(ya.data.map(\.bitPattern) == yb.data.map(\.bitPattern))
        let finite = ya.data.allSatisfy { $0.isFinite }
        #expect(finite)
        #expect(try String(contentsOfFile: path + ".json", encoding: .utf8).contains("\"rotation\""))
        // Refinement runs rotated plans (x·R in its differentiable forward): BlockReconstructionTests.rotatedPlanIsReproducedAndRefined.
        if kind == .random {
            var t = try file.tensors()
            let key = rotTensors.sorted()[0]
            t[key] = Tensor(shape: t[key]!.shape, data: t[key]!.data.map { $0 * 1.01 })
            try SafeTensors.write(t, metadata: ["format": QParams.format], to: path)
            let e = #expect(throws: QuantError.self) { _ = try QParams.read(path: path) }
            #expect(e.map { "\($0)".contains("not orthogonal") } == true, "\(String(describing: e))")
        }
    }
    let (plain, _, _) = try ciCalibration(.minMax)
    let path = tempPath("plain.qparams")
    defer { removeQParams(path) }
    try plain.write(to: path)
    #expect(try !String(contentsOfFile: path + ".json", encoding: .utf8).contains("rotation"))
    let noRotationTensor = try SafeTensors.read(path: path).entries.keys.allSatisfy { !$0.hasSuffix(".rotation") }
    #expect(noRotationTensor)
}
