import _TestSupport
import Foundation
import Testing
import HarmoQ
import SRIO
import SREngine
import SRInteger

/// `IntegerModelBench.run` (`harmoq bench --int`): one timing per configuration, image and repeat, a memory pass per
/// configuration, and the model back to FP32 afterwards (no executor, no hook, loaded weights: the FP forward bit for bit).
@Suite(.serialized) struct IntegerModelBenchTests {
    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func timesEveryConfigurationAndLeavesTheModelInFP32() throws {
        let model = try ModelLoader.load(path: TestInputs.datX2!)
        let x = Tensor(shape: [1, 3, 8, 8], data: (0..<192).map { Float($0 % 17) / 17 })
        let fp = try model.forward(x)
        let setup = try IntegerSetup.make(model: model, bits: "w4a4", qparams: nil, source: nil, calibration: [x])
        let configs = [IntegerModelBench.Configuration.fp32] + IntegerModelBench.Configuration.of(setup, tag: "W4A4", floatDomain: true)
        #expect(configs.map(\.name) == ["FP32", "float-fq W4A4", "fake-quant W4A4", "integer W4A4"])
        var lines: [String] = []
        let r = try IntegerModelBench.run(model: model, images: [x, x], configurations: configs, repeats: 3) { lines.append($0) }
        #expect(r.seconds.count == 4 && r.seconds.allSatisfy { $0.count == 2 && $0.allSatisfy { $0.count == 3 } })
        #expect(r.cpuSeconds.map { $0.map(\.count) } == r.seconds.map { $0.map(\.count) })
        #expect(r.peaks.count == 4)
        #expect(r.totals.count == 4 && r.totals.allSatisfy { $0 > 0 })
        #expect(lines == ["warm-up round done", "repeat 1/3 done", "repeat 2/3 done", "repeat 3/3 done"])
        #expect(model.linearExecutor == nil && model.operandExecutor == nil && model.hook == nil)
        #expect(try model.forward(x).data == fp.data, "the model must be back to FP32")
        #expect(EngineBenchmark.median([3, 1, 2]) == 2 && EngineBenchmark.median([4, 1, 3, 2]) == 2.5)
    }
}
