import _TestSupport
import Foundation
import Testing
import HarmoQ
import SRIO
import SREngine
import SRCalibration
import SRInteger

/// Whole-model integer execution through the engine's `LinearExecutor` (docs/integer.md).
@Suite(.serialized) struct WholeModelIntegerTests {
    static let lrFile = TestInputs.set5 + "/LR_bicubic/X2/butterflyx2.png"
    static let hrFile = TestInputs.set5 + "/HR/butterfly.png"
    /// The model: ../shared, else the fetched .pth (Set5 is in the repository).
    static var available: Bool { TestInputs.datX2 != nil }

    /// A 48×48 LR crop of Set5 butterfly ×2 at (40, 40) and the matching 96×96 HR crop.
    static func images() throws -> (lr: RGBImage, hr: RGBImage) {
        let lr = try RGBImage.read(path: lrFile).cropped(x: 40, y: 40, width: 48, height: 48)
        let hr = try RGBImage.read(path: hrFile).cropped(x: 80, y: 80, width: 96, height: 96)
        return (lr, hr)
    }

    @Test func sharedDataPresenceIsReported() {
        if !Self.available {
            print("WholeModelIntegerTests: SKIPPED the DAT-light tests: \(TestInputs.missingModel)")
        }
    }

    /// Integer execution of every Linear site vs the fake-quant simulation (W8A8 and W4A4, MinMax plan): the simulation
    /// evaluates each site in the code domain (`QuantizedModel` in `.codeDomain` → `CodeDomainExecutor`), so the two whole-model
    /// outputs are bit-identical and the PSNRs equal (issue #8's 0.001 dB target, met with margin 0.001 dB).
    /// Also: the executor is called once per Linear site and forward; a fake-quant hook in front of the executor
    /// changes nothing (same codes); removing the executor restores the float forward bit for bit.
    @Test(.enabled(if: WholeModelIntegerTests.available, Comment(rawValue: TestInputs.missingModel)), arguments: [8, 4])
    func integerPSNREqualsFakeQuantPSNR(bits: Int) throws {
        let model = try ModelLoader.load(path: TestInputs.datX2!)
        let (lr, hr) = try Self.images()
        let x = lr.toTensor()
        let fpOut = try model.forward(x)
        let fpPSNR = try PSNR.y(try RGBImage(tensor: fpOut), hr, border: 2)

        let plan = try IntegerModelPlan.minMax(model: model, bits: bits, calibration: [x])

        // Fake quantization (simulation): Ŵ installed, every Linear site in the code domain.
        try QuantizedModel.apply(plan.sitePlans, to: model, mode: .codeDomain)
        let fakeOut = try model.forward(x)
        // Hook then executor: the executor re-quantizes the hook's x̂ (same codes).
        let counter = CountingExecutor(plan)
        model.linearExecutor = counter
        let intHookedOut = try model.forward(x)
        QuantizedModel.remove(from: model)
        #expect(counter.calls == model.sites.filter(\.isLinear).count)
        #expect(counter.declined == 0)

        // Integer execution alone (FP weights in the model; the plan quantizes x itself).
        plan.install(on: model)
        #expect(model.linearExecutor === plan)
        let intOut = try model.forward(x)
        plan.remove(from: model)
        #expect(model.linearExecutor == nil)
        #expect(intOut.data == intHookedOut.data, "hook + executor must equal executor alone")
        #expect(try model.forward(x).data == fpOut.data, "removing the executor must restore the float forward")

        // The float-domain simulation (x̂ in the hook, Ŵ, float GEMM): what fake quantization computed before.
        try QuantizedModel.apply(plan.sitePlans, to: model, mode: .fakeQuant)
        #expect(model.linearExecutor == nil)
        let floatDomainOut = try model.forward(x)
        QuantizedModel.remove(from: model)
        let floatDomainPSNR = try PSNR.y(try RGBImage(tensor: floatDomainOut), hr, border: 2)

        // The simulation with its float sums replaced by correctly rounded (Double) sums.
        try QuantizedModel.apply(plan.sitePlans, to: model, mode: .codeDomain)
        model.linearExecutor = DoubleSumFakeQuantExecutor(plan: plan)
        let fakeDoubleOut = try model.forward(x)
        model.linearExecutor = nil
        QuantizedModel.remove(from: model)
        let fakeDoublePSNR = try PSNR.y(try RGBImage(tensor: fakeDoubleOut), hr, border: 2)

        let fakePSNR = try PSNR.y(try RGBImage(tensor: fakeOut), hr, border: 2)
        let intPSNR = try PSNR.y(try RGBImage(tensor: intOut), hr, border: 2)
        var maxDiff: Float = 0
        for (a, b) in zip(intOut.data, fakeOut.data) { maxDiff = max(maxDiff, abs(a - b)) }
        print(String(format: "DAT-light x2 butterfly 48x48 crop W%dA%d: PSNR-Y FP32 %.4f, fake-quant (code domain) %.4f, "
                     + "integer %.4f dB (|Δ| %.6f dB); max |y_int − y_fake| %.3g over %d outputs; float-domain fake-quant "
                     + "%.4f dB; float-domain with Double sums %.4f dB",
                     bits, bits, fpPSNR, fakePSNR, intPSNR, abs(intPSNR - fakePSNR), maxDiff, intOut.count,
                     floatDomainPSNR, fakeDoublePSNR))
        // Issue #8's target: whole-model PSNR of integer execution equal to the simulation's to 0.001 dB. Both compute
        // every Linear site as fl(fl(Δx·Δw)·S) + b with the exact integer S, so the outputs are bit-identical.
        #expect(abs(intPSNR - fakePSNR) <= 0.001)
        #expect(intOut.data.map(\.bitPattern) == fakeOut.data.map(\.bitPattern), "integer execution must reproduce the simulation bit for bit")
        // The float-domain simulation differs from the code-domain one (rounding flips, the cause of the old gap).
        #expect(floatDomainOut.data != fakeOut.data)
        #expect(intOut.data != fpOut.data, "integer execution must not be the float forward")
    }

    /// An executor that declines (returns false) leaves the float forward bit-identical, and it sees the input
    /// after the activation hook.
    @Test(.enabled(if: WholeModelIntegerTests.available, Comment(rawValue: TestInputs.missingModel)))
    func decliningExecutorSeesHookedInputAndKeepsTheFloatPath() throws {
        let model = try ModelLoader.load(path: TestInputs.datX2!)
        let x = try Self.images().lr.cropped(width: 16, height: 16).toTensor()
        let fpOut = try model.forward(x)
        let spy = SpyExecutor()
        model.hook = MarkFirstValue()
        model.linearExecutor = spy
        let hookedOut = try model.forward(x)
        model.linearExecutor = nil
        let hookedOnly = try model.forward(x)
        model.hook = nil
        #expect(hookedOut.data == hookedOnly.data)
        #expect(spy.calls == model.sites.filter(\.isLinear).count)
        #expect(spy.sawMark == spy.calls, "every Linear input reached the executor after the hook")
        #expect(try model.forward(x).data == fpOut.data)
    }
}

/// Delegates to a plan and counts calls.
final class CountingExecutor: LinearExecutor {
    let inner: LinearExecutor
    var calls = 0, declined = 0
    init(_ inner: LinearExecutor) { self.inner = inner }
    func execute(site: Site, x: UnsafePointer<Float>, ldx: Int, rows: Int, out: UnsafeMutablePointer<Float>, ldo: Int) -> Bool {
        calls += 1
        let ok = inner.execute(site: site, x: x, ldx: ldx, rows: rows, out: out, ldo: ldo)
        if !ok { declined += 1 }
        return ok
    }
}

/// Sets the first input value of every Linear site to a marker.
final class MarkFirstValue: ActivationHook {
    static let mark: Float = 0.123456789
    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        if site.isLinear { values[0] = Self.mark }
    }
}

/// Declines every call; records whether the marker is there.
final class SpyExecutor: LinearExecutor {
    var calls = 0, sawMark = 0
    func execute(site: Site, x: UnsafePointer<Float>, ldx: Int, rows: Int, out: UnsafeMutablePointer<Float>, ldo: Int) -> Bool {
        calls += 1
        if x[0] == MarkFirstValue.mark { sawMark += 1 }
        return false
    }
}
