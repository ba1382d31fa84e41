import _TestSupport
import Foundation
import Testing
import HarmoQ
import SRIO
import SREngine
import SRCalibration
import SRInteger

/// The applier's `.integer` mode (`QuantizedModel.apply(_:to:mode:)`): a plan the executor covers alone gets the
/// executor alone; a plan with more (here a quantized matmul operand) gets the hook in front of the executor, and that
/// integer forward equals the code-domain simulation of the same plan bit for bit.
@Suite(.serialized) struct IntegerModeTests {
    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func integerModeInstallsTheHookOnlyWhenThePlanNeedsIt() throws {
        let model = try ModelLoader.load(path: TestInputs.datX2!)
        let x = Tensor(shape: [1, 3, 8, 8], data: (0..<192).map { Float($0 % 17) / 17 })
        let plan = try IntegerModelPlan.minMax(model: model, bits: 8, calibration: [x])

        #expect(try QuantizedModel.apply(plan.sitePlans, to: model, mode: plan.integerMode) == nil)
        #expect(model.linearExecutor === plan && model.hook == nil)
        let alone = try model.forward(x)
        plan.remove(from: model)

        let operand = try #require(model.sites.first { !$0.isLinear })
        let sites = plan.sitePlans + [SitePlan(name: operand.name, activation: try Quantizer(bits: 4, lower: -1, upper: 1, scheme: .symmetric))]
        let hook = try #require(try QuantizedModel.apply(sites, to: model, mode: plan.integerMode))
        #expect(model.linearExecutor === plan && model.hook === hook && hook.executor == nil)
        let hooked = try model.forward(x)
        plan.remove(from: model)
        QuantizedModel.remove(from: model)

        try QuantizedModel.apply(sites, to: model, mode: .codeDomain)
        let fake = try model.forward(x)
        QuantizedModel.remove(from: model)
        #expect(hooked.data.map(\.bitPattern) == fake.data.map(\.bitPattern), "integer mode must equal the code-domain simulation")
        #expect(hooked.data != alone.data, "the operand quantizer must act")
    }
}
