import _TestSupport
import Foundation
import Testing
import HarmoQ
import SRIO
import SREngine
import SRCalibration
import SRInteger

/// `IntegerModelPlan.minMax` streams its calibration inputs (per site only the extremes) into the registry's MinMax
/// method: its quantizers must be those the registry's MinMax gives on every captured input of every site, over
/// several calibration inputs.
@Suite(.serialized) struct MinMaxPlanTests {
    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func streamedPlanEqualsTheRegistryMinMaxOnEveryInput() throws {
        let model = try ModelLoader.load(path: TestInputs.datX2!)
        let inputs = [Tensor(shape: [1, 3, 8, 8], data: (0..<192).map { Float($0 % 17) / 17 }),
                      Tensor(shape: [1, 3, 8, 8], data: (0..<192).map { Float(($0 * 7) % 23) / 11 - 0.5 })]
        let plan = try IntegerModelPlan.minMax(model: model, bits: 4, calibration: inputs)
        var samples: [String: [Float]] = [:]
        for x in inputs { for c in try LinearInputCapture.capture(model, input: x) { samples[c.site.name, default: []] += c.values } }
        let method = try MethodRegistry.method("minmax")
        for site in model.sites where site.isLinear {
            let w = try model.linearWeight(site).weight
            let xs = try #require(samples[site.name])
            let p = try LayerProblem(weight: w.data, outputs: w.shape[0], inputs: w.shape[1], samples: xs, rows: xs.count / w.shape[1])
            let l = try BaselineCalibration.calibrate(p, method: method, weightBits: 4, activationBits: 4)
            let lin = try #require(plan.linears[site.name])
            #expect(lin.activation == (try l.activationQuantizer()), "\(site.name): activation quantizer")
            #expect(lin.weight.scales == (try l.weightQuantizers()).map(\.step), "\(site.name): weight steps")
        }
    }
}
