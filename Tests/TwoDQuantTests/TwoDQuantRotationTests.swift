import _TestSupport
import Foundation
import HarmoQ
@testable import SRCalibration
@testable import SREngine
import SRIO
import Testing

/// `harmoq calibrate --method 2dquant --rotate hadamard|random` (`TwoDQuantRotations`, `DQCTrainer.run`) on DAT-light ×2.
@Suite(.serialized, .enabled(if: SharedData.exists("models/dat-light-x2.safetensors") && SharedData.exists("data/DIV2K-calib"),
                             "../shared DAT-light weights or DIV2K-calib not present"))
struct TwoDQuantRotationTests {
    static func crop(_ patch: Tensor, _ n: Int) -> Tensor {
        var c = [Float](repeating: 0, count: 3 * n * n)
        for ch in 0..<3 { for y in 0..<n { for x in 0..<n { c[(ch * n + y) * n + x] = patch.data[(ch * 64 + y) * 64 + x] } } }
        return Tensor(shape: [1, 3, n, n], data: c)
    }

    static func maxAbs(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max()! }

    /// The student DQC trains, with its weights W·R and every rotated input x·R but nothing quantized, is the FP model
    /// (float noise, ≤ 1e-4 on outputs of order 1); with the weights rotated and the inputs not, it is not (> 1e-2) —
    /// so both halves of the rotation are in place. The split q, k, v sites of a block share one rotation.
    @Test(arguments: [RotationKind.hadamard, .random]) func rotatedStudentIsTheFPModel(kind: RotationKind) throws {
        let weights = try ModelLoader.readStateDict(path: SharedData.path("models/dat-light-x2.safetensors"))
        let engine = try ModelLoader.build(weights: weights, options: .init(splitQKV: true))
        let r = try TwoDQuantRotations(model: engine, kind: kind, seed: 5)
        #expect(r.sites.count == 18 * 5, "q, k, v, fc1, fc2 of 18 blocks")
        for (name, s) in r.sites where name.hasSuffix(".qkv.k") || name.hasSuffix(".qkv.v") {
            #expect(s.record == r.sites[String(name.dropLast()) + "q"]!.record, "\(name) shares its q site's rotation")
        }
        let patch = try CalibrationPatches.draw(count: 1, scale: 2, seed: 3, sources: CalibrationPatches.defaultSources(sharedRoot: SharedData.root.path)).lr[0]
        let x = Self.crop(patch, 24)
        let fp = try engine.forward(x).data
        let rotated = try r.rotatedWeights(weights, model: engine)
        let student = try DATLightBackward(weights: rotated, scale: 2, quantizers: r.wrapping(SiteQuantizers())).forward(x).output.data
        let d = Self.maxAbs(student, fp)
        #expect(d <= 1e-4, "\(kind.rawValue): rotated student vs FP max |Δ| \(d), 24×24 crop, seed 5")
        let half = try DATLightBackward(weights: rotated, scale: 2, quantizers: SiteQuantizers()).forward(x).output.data
        #expect(Self.maxAbs(half, fp) > 1e-2, "weights rotated, inputs not: max |Δ| \(Self.maxAbs(half, fp))")
    }

    /// `DQCTrainer.run` with `--rotate hadamard` (W8A8, DOBI on 1 patch, 1 DQC iteration): the plan records the rotation
    /// of every rotated site, survives a write/read round trip, and applied by `QuantizedModel` to the split model it is
    /// close to FP (W8A8); the same plan with its rotation records dropped (weights still W·R) is far from it.
    @Test func rotatedPlanRunsAndCarriesItsRotations() throws {
        let path = SharedData.path("models/dat-light-x2.safetensors")
        var o = DQCTrainer.Options()
        o.bits = 8; o.dobiPatches = 1; o.iterations = 1; o.batch = 1; o.rotation = .hadamard
        let out = try DQCTrainer.run(modelPath: path, sources: CalibrationPatches.defaultSources(sharedRoot: SharedData.root.path),
                                     options: o, toolVersion: "test")
        let plan = out.qparams
        #expect(plan.rotation == .hadamard)
        #expect(plan.sites.filter { $0.rotation != nil }.count == 18 * 5)
        #expect(out.losses.count == 1 && out.losses[0].isFinite)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("harmoq-2dq-rot-\(ProcessInfo.processInfo.processIdentifier).qparams").path
        try plan.write(to: file)
        let back = try QParams.read(path: file)
        #expect(back.sites.map(\.rotation) == plan.sites.map(\.rotation))

        let weights = try ModelLoader.readStateDict(path: path)
        let fpModel = try ModelLoader.build(weights: weights, options: .init(splitQKV: true))
        let q = try ModelLoader.build(weights: weights, options: .init(splitQKV: true))
        let patch = try CalibrationPatches.draw(count: 1, scale: 2, seed: 9, sources: CalibrationPatches.defaultSources(sharedRoot: SharedData.root.path)).lr[0]
        let x = Self.crop(patch, 24)
        let fp = try fpModel.forward(x).data
        try QuantizedModel.apply(back, to: q)
        let withRotations = Self.maxAbs(try q.forward(x).data, fp)
        QuantizedModel.remove(from: q)
        var stripped = back
        for i in stripped.sites.indices { stripped.sites[i].rotation = nil }
        stripped.rotation = nil
        try QuantizedModel.apply(stripped, to: q)
        let without = Self.maxAbs(try q.forward(x).data, fp)
        QuantizedModel.remove(from: q)
        #expect(withRotations < 0.05, "W8A8 rotated 2dquant plan vs FP: max |Δ| \(withRotations)")
        #expect(without > 10 * withRotations, "rotation records dropped: max |Δ| \(without) vs \(withRotations)")
    }
}
