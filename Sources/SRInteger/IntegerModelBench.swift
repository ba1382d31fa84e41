import Foundation
import SREngine
import SRIO

/// Whole-model FP32 vs fake quantization vs integer execution (`harmoq bench --int`, docs/integer.md), all in one
/// process: every configuration on every image, interleaved per repeat after one untimed warm-up round (wall-clock and
/// process CPU seconds of each forward); then one pass over the set per configuration for its peak resident memory
/// (freed heap trimmed and VmHWM reset through /proc/self/clear_refs before the pass).
public enum IntegerModelBench {
    /// How a configuration runs the model.
    public enum Mode: Sendable { case fp32, floatFakeQuant, fakeQuant, integer }

    public struct Configuration {
        public let name: String
        /// The plan (nil for FP32).
        public let setup: IntegerSetup?
        public let mode: Mode

        public static let fp32 = Configuration(name: "FP32", setup: nil, mode: .fp32)

        /// A plan's configurations, named "<kind> <tag>": float-domain fake quantization ("float-fq", with
        /// `floatDomain`), code-domain fake quantization ("fake-quant") and integer execution ("integer").
        public static func of(_ setup: IntegerSetup, tag: String, floatDomain: Bool) -> [Configuration] {
            (floatDomain ? [Configuration(name: "float-fq " + tag, setup: setup, mode: .floatFakeQuant)] : [])
                + [Configuration(name: "fake-quant " + tag, setup: setup, mode: .fakeQuant),
                   Configuration(name: "integer " + tag, setup: setup, mode: .integer)]
        }

        func install(on model: any SRModel) throws {
            switch mode {
            case .fp32: break
            case .floatFakeQuant: try setup!.installFake(on: model, codeDomain: false)
            case .fakeQuant: try setup!.installFake(on: model)
            case .integer: try setup!.installInteger(on: model)
            }
        }
    }

    public struct Result {
        public let configurations: [Configuration]
        /// Seconds per configuration, image and repeat: wall clock, and process CPU time (all threads; less sensitive to
        /// a loaded machine).
        public let seconds: [[[Double]]]
        public let cpuSeconds: [[[Double]]]
        /// Resident bytes before the memory pass and the peak (VmHWM) after it, per configuration; nil where /proc
        /// does not tell.
        public let peaks: [(before: Int, peak: Int)?]

        /// Per configuration and image: the median over repeats.
        public var medians: [[Double]] { seconds.map { $0.map(EngineBenchmark.median) } }
        /// Per configuration: the sum of the per-image medians.
        public var totals: [Double] { medians.map { $0.reduce(0, +) } }
        public var cpuTotals: [Double] { cpuSeconds.map { $0.map(EngineBenchmark.median).reduce(0, +) } }
    }

    /// Runs `configurations` (the first one the FP32 baseline the caller divides by) on `images`, `repeats` timed
    /// rounds after one warm-up round. The model is back to FP32 afterwards.
    public static func run(model: any SRModel, images: [Tensor], configurations: [Configuration], repeats: Int,
                           progress: (String) -> Void) throws -> Result {
        guard repeats >= 1 else { throw IntegerError("repeats must be at least 1, got \(repeats)") }
        var seconds = Array(repeating: Array(repeating: [Double](), count: images.count), count: configurations.count)
        var cpuSeconds = seconds
        for r in 0...repeats {
            for (i, image) in images.enumerated() {
                for (ci, c) in configurations.enumerated() {
                    try c.install(on: model)
                    let t = try EngineBenchmark.timed { _ = try model.forward(image) }
                    reset(model)
                    if r > 0 { seconds[ci][i].append(t.wall); cpuSeconds[ci][i].append(t.cpu) }
                }
            }
            progress(r == 0 ? "warm-up round done" : "repeat \(r)/\(repeats) done")
        }
        var peaks: [(before: Int, peak: Int)?] = []
        for c in configurations {
            try c.install(on: model)
            let before = ProcessMemory.trimAndResetPeak()
            for image in images { _ = try model.forward(image) }
            let peak = ProcessMemory.peakResidentBytes()
            reset(model)
            if let before, let peak { peaks.append((before, peak)) } else { peaks.append(nil) }
        }
        return Result(configurations: configurations, seconds: seconds, cpuSeconds: cpuSeconds, peaks: peaks)
    }

    /// Back to FP32: no executors, no hook, the loaded weights.
    static func reset(_ model: any SRModel) {
        model.linearExecutor = nil
        model.operandExecutor = nil
        model.hook = nil
        model.restoreOriginalWeights()
    }
}
