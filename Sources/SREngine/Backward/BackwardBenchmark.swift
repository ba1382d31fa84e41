import Dispatch
import Foundation
import HarmoQ
import SRIO

/// Wall-clock benchmark of the DAT-light backward: forward + backward of one patch against the engine forward of the
/// same patch, all variants interleaved run by run (so load changes hit them alike), medians reported.
public enum BackwardBenchmark {
    public struct Result: Sendable {
        public let height: Int, width: Int, runs: Int, threads: Int
        /// Seconds per run.
        public let engineForward: [Double], tapeForward: [Double], forwardBackward: [Double], forwardBackwardRecompute: [Double]

        public static func median(_ x: [Double]) -> Double { let s = x.sorted(); return s.isEmpty ? .nan : s[s.count / 2] }

        public var summary: String {
            let f = Self.median(engineForward)
            func r(_ x: [Double]) -> String { String(format: "%.3f s (%.2fx)", Self.median(x), Self.median(x) / f) }
            return String(format: "DAT-light x2 %dx%d, %d runs, %d threads, medians: engine forward %.3f s; ", height, width, runs, threads, f)
                + "tape forward \(r(tapeForward)); forward+backward (.all) \(r(forwardBackward)); "
                + "forward+backward (.blockInputs, recompute) \(r(forwardBackwardRecompute))"
        }
    }

    /// `input` (1, 3, H, W); dL/d output is a seeded N(0, 1) tensor. One warm-up of each variant first.
    public static func run(weights: [String: Tensor], scale: Int, input: Tensor, runs: Int) throws -> Result {
        guard runs >= 1 else { throw EngineError("runs must be at least 1") }
        let engine = try DATLight(weights: weights, scale: scale)
        let model = try DATLightBackward(weights: weights, scale: scale)
        let h = input.shape[2], w = input.shape[3]
        var rng = SplitMix64(seed: 702)
        let G = Tensor(shape: [1, 3, h * scale, w * scale], data: (0..<(3 * h * w * scale * scale)).map { _ in Float(rng.nextGaussian()) })
        func time(_ body: () throws -> Void) rethrows -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        _ = try engine.forward(input)
        _ = model.backward(try model.forward(input), gradOutput: G)
        var a: [Double] = [], b: [Double] = [], c: [Double] = [], d: [Double] = []
        for _ in 0..<runs {
            a.append(try time { _ = try engine.forward(input) })
            b.append(try time { _ = try model.forward(input) })
            c.append(try time { _ = model.backward(try model.forward(input), gradOutput: G) })
            d.append(try time { _ = model.backward(try model.forward(input, retention: .blockInputs), gradOutput: G) })
        }
        return Result(height: h, width: w, runs: runs, threads: Parallel.threads, engineForward: a, tapeForward: b,
                      forwardBackward: c, forwardBackwardRecompute: d)
    }
}
