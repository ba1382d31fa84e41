import _TestSupport
import Foundation
import Testing
import PropertyBased
import HarmoQ
import SRIO
import SREngine
import SRCalibration
import SRInteger

@Suite struct IntegerModelPlanTests {
    /// Re-quantizing a fake-quantized value gives back its code, so a fake-quant hook and an integer
    /// executor on the same site compose (docs/integer.md).
    @Test func codeOfFakeQuantIsTheCode() async throws {
        await propertyCheck(count: 200, input: Gen.int(in: 2...8), Gen.float(in: 0.001...50), Gen.int(in: 0...1_000_000)) { bits, amax, seed in
            let q = try Quantizer(bits: bits, lower: -amax, upper: amax, scheme: .symmetric)
            var src = CodeSource(seed: seed)
            for x in src.floats(200, scale: 1.3 * amax) { #expect(q.code(q.fakeQuant(x)) == q.code(x), "x=\(x)") }
        }
    }

    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func planCoversEveryLinearSiteAndExecutesThemInBound() throws {
        let model = try ModelLoader.load(path: TestInputs.datX2!)
        let img = try RGBImage.read(path: TestInputs.set5 + "/LR_bicubic/X2/babyx2.png")
        let calib = [try img.cropped(x: 0, y: 0, width: 24, height: 24).toTensor()]
        let plan = try IntegerModelPlan.minMax(model: model, bits: 8, calibration: calib)
        let linearSites = model.sites.filter(\.isLinear)
        #expect(Set(plan.linears.keys) == Set(linearSites.map(\.name)))
        var out = [Float](repeating: 3, count: 60)
        let unknown = out.withUnsafeMutableBufferPointer { po in
            plan.execute(site: Site(name: "nope", kind: .linear(inFeatures: 60, outFeatures: 60)), x: [Float](repeating: 0, count: 60),
                         ldx: 60, rows: 1, out: po.baseAddress!, ldo: 60)
        }
        #expect(unknown == false && out.allSatisfy { $0 == 3 })

        // Under the plan's fake-quant simulation, each Linear site's (fake-quantized) input, run by the plan in
        // integers, matches the simulated site output within the parity bound.
        let sim = try #require(try QuantizedModel.apply(plan.sitePlans, to: model, mode: .codeDomain))
        let capture = LinearInputCapture()
        let chained = Chain(first: sim, then: capture)
        model.hook = chained
        _ = try model.forward(calib[0])
        QuantizedModel.remove(from: model)
        #expect(capture.captured.count == linearSites.count)
        for cap in capture.captured {
            let lin = plan.linears[cap.site.name]!
            var yInt = [Float](repeating: 0, count: cap.rows * lin.weight.outFeatures)
            let ok = cap.values.withUnsafeBufferPointer { px in yInt.withUnsafeMutableBufferPointer { py in
                plan.execute(site: cap.site, x: px.baseAddress!, ldx: cap.cols, rows: cap.rows, out: py.baseAddress!, ldo: lin.weight.outFeatures)
            } }
            #expect(ok)
            let yFake = FakeQuantLinear.apply(cap.values, rows: cap.rows, weight: lin.weight, bias: lin.bias, activation: lin.activation)
            let r = ParityBound.compare(yInt: yInt, yFake: yFake, xCodes: ActivationCodes.reference(cap.values, lin.activation),
                                        weight: lin.weight, bias: lin.bias, stepX: lin.activation.step)
            #expect(r.violations == 0, "\(cap.site.name): \(r)")
        }
    }
}

/// Runs two hooks in order (the fake-quant hook, then a capture of what it left).
final class Chain: ActivationHook {
    let first: ActivationHook, then: ActivationHook
    init(first: ActivationHook, then: ActivationHook) { self.first = first; self.then = then }
    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        first.process(site: site, index: index, values: values, rows: rows, cols: cols)
        then.process(site: site, index: index, values: values, rows: rows, cols: cols)
    }
}
