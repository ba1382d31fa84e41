import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing

/// `QuantizedModel` installs a code-domain executor for the symmetric weight- and activation-quantized Linear sites
/// (docs/integer.md "Exact fake quantization") and keeps the float fake-quant path for every other site.
@Suite(.serialized, needsModelAndImages) struct QuantizedModelCodeDomainTests {
    @Test func symmetricLinearSitesRunInTheCodeDomainAndFallBackWhenTheExecutorIsReplaced() throws {
        let (qp, weights, patches) = try ciCalibration(.minMax)
        let x = patches.lr[0]
        let model = try ModelLoader.build(weights: weights)
        let fp = try model.forward(x)

        let hook = try QuantizedModel.apply(qp, to: model)
        let linearSites = qp.sites.filter { $0.kind == .linear && $0.weightQuantized && $0.activationQuantized }
        #expect(!linearSites.isEmpty)
        #expect(hook.executor?.linears.count == linearSites.count)
        #expect(hook.floatPathSites.isEmpty)
        #expect(model.linearExecutor === hook.executor)
        let code = try model.forward(x)

        // The executor replaced (here: removed): the hook quantizes those inputs itself, exactly the float path.
        model.linearExecutor = nil
        let fallback = try model.forward(x)
        QuantizedModel.remove(from: model)
        #expect(model.linearExecutor == nil && model.hook == nil)
        #expect(try model.forward(x).data.map(\.bitPattern) == fp.data.map(\.bitPattern), "remove must restore FP32")

        try QuantizedModel.apply(qp, to: model, codeDomain: false)
        #expect(model.linearExecutor == nil)
        let float = try model.forward(x)
        QuantizedModel.remove(from: model)
        #expect(fallback.data.map(\.bitPattern) == float.data.map(\.bitPattern))
        #expect(code.data != fp.data)
        // Code and float domain differ only by rounding-sized flips: close, not equal.
        var maxDiff: Float = 0
        for (a, b) in zip(code.data, float.data) { maxDiff = max(maxDiff, abs(a - b)) }
        #expect(maxDiff < 0.1, "code vs float domain max |Δ| = \(maxDiff)")
        print("QuantizedModel code vs float domain (DAT-light x2, 12 sites W4A4 MinMax, one patch): max |Δ| = \(maxDiff)")
    }

    /// Affine activation quantizers have a non-integer zero point: those sites stay in the float path, with a reason.
    @Test func affineSitesStayInTheFloatPath() throws {
        var (qp, weights, patches) = try ciCalibration(.minMax)
        for i in qp.sites.indices where qp.sites[i].kind == .linear {
            qp.sites[i].activationScheme = .affine
            qp.sites[i].layer?.activationScheme = .affine
        }
        let model = try ModelLoader.build(weights: weights)
        let hook = try QuantizedModel.apply(qp, to: model)
        #expect(hook.executor == nil)
        #expect(model.linearExecutor == nil)
        #expect(hook.floatPathSites.count == qp.sites.filter { $0.kind == .linear }.count)
        #expect(hook.floatPathSites.values.allSatisfy { $0.contains("symmetric") })
        _ = try model.forward(patches.lr[0])
        QuantizedModel.remove(from: model)
    }
}
