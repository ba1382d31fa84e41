import _TestSupport
import Foundation
import Testing
import PropertyBased
import HarmoQ
import SRIO
import SREngine
import SRCalibration
import SRInteger

/// Code-domain fake quantization (`CodeDomainLinear`, docs/integer.md "Exact fake quantization") per Linear site:
/// bit-identical to integer execution, and within `ParityBound` of the float-domain simulation (x̂, Ŵ, float GEMM).
@Suite struct CodeDomainParityTests {
    /// The code-domain simulation of an integer site, built from the same codes, steps and bias.
    static func codeDomain(_ lin: IntegerLinear) throws -> CodeDomainLinear {
        try CodeDomainLinear(activation: lin.activation, weightCodes: lin.weight.codes(), weightSteps: lin.weight.scales,
                             outFeatures: lin.weight.outFeatures, inFeatures: lin.weight.inFeatures, bias: lin.bias)
    }

    /// y_code == y_int bit for bit; |y_code − y_float| within the bound (y_code is y_int, so `ParityBound` applies).
    static func check(x: [Float], rows: Int, weight: Tensor, bias: [Float]?, bits: Int, parallel: Bool)
        throws -> (identicalToInteger: Bool, float: ParityBound.Report) {
        let (packed, _) = try PackedLinearWeight.minMax(weight, bits: bits)
        let (lo, hi) = try Observer.absMax(x)
        let qx = try Quantizer(bits: bits, lower: lo, upper: hi, scheme: .symmetric)
        let lin = try IntegerLinear(weight: packed, bias: bias, activation: qx)
        let yInt = lin.apply(x, rows: rows)
        let yCode = try codeDomain(lin).apply(x, rows: rows, parallel: parallel)
        let yFloat = FakeQuantLinear.apply(x, rows: rows, weight: packed, bias: bias, activation: qx)
        let report = ParityBound.compare(yInt: yCode, yFake: yFloat, xCodes: ActivationCodes.reference(x, qx), weight: packed,
                                         bias: bias, stepX: qx.step)
        return (yCode.map(\.bitPattern) == yInt.map(\.bitPattern), report)
    }

    @Test func syntheticSitesAreBitIdenticalToIntegerExecution() async throws {
        await propertyCheck(count: 60, input: Gen.int(in: 1...40), Gen.int(in: 1...70), Gen.int(in: 1...190),
                            Gen.int(in: 0...3), Gen.int(in: 0...1_000_000)) { rows, n, k, bi, seed in
            var src = CodeSource(seed: seed)
            let (same, r) = try Self.check(x: src.floats(rows * k, scale: 3), rows: rows,
                                           weight: Tensor(shape: [n, k], data: src.floats(n * k, scale: 0.2)),
                                           bias: seed % 2 == 0 ? src.floats(n, scale: 0.5) : nil,
                                           bits: BitPacking.supportedBits[bi], parallel: seed % 3 == 0)
            #expect(same, "code domain differs from integer execution")
            #expect(r.violations == 0, "code domain vs float domain: \(r)")
        }
    }

    /// Every Linear site of DAT-light ×2 on its real input (32×32 crop of Set5 baby), W8A8 and W4A4 MinMax.
    @Test(.enabled(if: RealSiteInputs.available, Comment(rawValue: TestInputs.missingModel)), arguments: [8, 4])
    func datLightSitesOnRealActivations(bits: Int) throws {
        let (model, caps) = try RealSiteInputs.datX2BabyCrop()
        #expect(caps.count == model.sites.filter(\.isLinear).count)
        var worst = 0.0, identical = 0, outputs = 0
        for cap in caps {
            let (w, b) = try model.linearWeight(cap.site)
            let (same, r) = try Self.check(x: cap.values, rows: cap.rows, weight: w, bias: b?.data, bits: bits, parallel: true)
            #expect(same, "\(cap.site.name) W\(bits)A\(bits): code domain differs from integer execution")
            #expect(r.violations == 0, "\(cap.site.name) W\(bits)A\(bits): code vs float domain: \(r)")
            worst = max(worst, r.maxBoundRatio)
            identical += r.identical
            outputs += r.outputs
        }
        FileHandle.standardError.write(("code vs float domain, DAT-light x2 W\(bits)A\(bits): \(caps.count) sites, \(outputs) outputs, "
            + "\(identical) bit-identical, max |Δ|/bound = \(worst)\n").data(using: .utf8)!)
    }

    /// The plan's code-domain executor covers every planned site (no site left in the float path at 8 or 4 bits, k = 60).
    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func minMaxPlanRunsEverySiteInTheCodeDomain() throws {
        let model = try ModelLoader.load(path: TestInputs.datX2!)
        let x = Tensor(shape: [1, 3, 8, 8], data: (0..<192).map { Float($0 % 17) / 17 })
        let plan = try IntegerModelPlan.minMax(model: model, bits: 8, calibration: [x])
        let sim = try #require(try QuantizedModel.apply(plan.sitePlans, to: model, mode: .codeDomain))
        #expect(sim.executor?.linears.count == plan.linears.count)
        #expect(sim.floatPathSites.isEmpty)
        #expect(model.linearExecutor === sim.executor)
        QuantizedModel.remove(from: model)
        #expect(model.linearExecutor == nil && model.hook == nil)
    }
}
