import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRInteger
import SRIO
import Testing

/// Integer zero points end to end on DAT-light ×2 (the first block's 12 sites, 2 CI patches, W4A4): calibration writes
/// integer-zero-point grids, the QPARAMS file keeps them, every Linear site runs in the code domain, and integer
/// execution of the plan (affine activations with the zero point folded into the epilogue) equals the fake
/// quantization bit for bit.
@Suite(.serialized, needsModelAndImages) struct IntegerZeroPointModelTests {
    /// The first block's 12 sites (`ciCalibration`).
    static func calibrate(_ method: CalibrationMethod) throws -> (QParams, [String: Tensor], CalibrationPatches) {
        try ciCalibration(method)
    }

    static func corrected() -> CalibrationMethod {
        var c = HarmoQConfig.corrected()
        c.iterations = 20; c.warmupIterations = 2; c.refinementRows = 256
        return .harmoq(c)
    }

    /// HarmoQ corrected (integer zero point by default) and DOBI with `zeroPoint: .integer` (affine weights too).
    @Test(arguments: ["harmoq", "dobi"])
    func integerExecutionEqualsFakeQuantization(method: String) throws {
        let (qp, weights, patches) = method == "harmoq" ? try Self.calibrate(Self.corrected())
                                                        : try Self.calibrate(.dobi(oneDirection: false, zeroPoint: .integer))
        let affine = qp.sites.filter { $0.activationScheme == .affine }
        #expect(!affine.isEmpty)
        for s in affine {
            #expect(s.activationIntegerZeroPoint == true, "\(s.name)")
            let q = try s.activationQuantizer()
            #expect(q.zeroPoint != nil && q.fakeQuant(0) == 0, "\(s.name)")
        }
        // The file keeps the zero points: write, read, same plan.
        let path = tempPath("izp-\(method).qparams")
        defer { removeQParams(path) }
        try qp.write(to: path)
        let back = try QParams.read(path: path)
        #expect(back == qp)
        let sidecar = try String(contentsOfFile: path + ".json", encoding: .utf8)
        #expect(sidecar.contains("\"activationZeroPoint\""))

        let x = patches.lr[0]
        let model = try ModelLoader.build(weights: weights)
        let hook = try QuantizedModel.apply(back, to: model)
        let linear = back.sites.filter { $0.kind == .linear && $0.weightQuantized && $0.activationQuantized }
        #expect(hook.floatPathSites.isEmpty, "\(hook.floatPathSites)")
        #expect(hook.executor?.linears.count == linear.count)
        let fake = try model.forward(x)

        var layers: [String: LayerQuantization] = [:]
        for s in linear { layers[s.name] = s.layer }
        let plan = try IntegerModelPlan.fromLayers(model: model, layers: layers)
        plan.install(on: model)   // replaces the code-domain executor; the hook keeps HSO scales and operand sites
        let integer = try model.forward(x)
        QuantizedModel.remove(from: model)
        #expect(integer.data.map(\.bitPattern) == fake.data.map(\.bitPattern), "integer vs fake quantization (\(method))")

        // The float-domain simulation differs by rounding only (a sanity bound, not the parity claim).
        try QuantizedModel.apply(back, to: model, codeDomain: false)
        let float = try model.forward(x)
        QuantizedModel.remove(from: model)
        var maxDiff: Float = 0
        for (a, b) in zip(fake.data, float.data) { maxDiff = max(maxDiff, abs(a - b)) }
        #expect(maxDiff < 0.1, "code vs float domain max |Δ| = \(maxDiff)")
    }

    /// A plan whose affine sites carry no zero-point flag (every file written before it) keeps the float zero point.
    @Test func filesWithoutTheFieldKeepTheFloatZeroPoint() throws {
        var (qp, _, _) = try Self.calibrate(.dobi(oneDirection: false, zeroPoint: .float))
        #expect(qp.sites.allSatisfy { $0.activationIntegerZeroPoint == nil && $0.layer?.weightIntegerZeroPoint == nil })
        let path = tempPath("fzp.qparams")
        defer { removeQParams(path) }
        try qp.write(to: path)
        #expect(!(try String(contentsOfFile: path + ".json", encoding: .utf8)).contains("ZeroPoint"))
        qp = try QParams.read(path: path)
        #expect(qp.sites.allSatisfy { (try? $0.activationQuantizer())?.zeroPoint == nil })
    }
}
