import _TestSupport
import Foundation
import SRIO
import Testing
@testable import SREngine

/// Speed of forward + backward of one 64×64 DAT-light ×2 patch against the engine forward of the same patch,
/// medians of `HARMOQ_BACKWARD_BENCH` runs each (a benchmark, not a timed test: it asserts nothing about time).
/// Run: `HARMOQ_BACKWARD_BENCH=7 swift test -c release --disable-xctest --filter BackwardBenchmark`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["HARMOQ_BACKWARD_BENCH"] != nil && SharedData.exists(datWeights),
                "set HARMOQ_BACKWARD_BENCH=<runs> (and have ../shared) to run the backward benchmark"))
struct BackwardBenchmark {
    @Test func forwardBackwardVersusForward() throws {
        let runs = max(3, Int(ProcessInfo.processInfo.environment["HARMOQ_BACKWARD_BENCH"] ?? "") ?? 5)
        let w = try ModelLoader.readStateDict(path: SharedData.path(datWeights))
        let engine = try DATLight(weights: w, scale: 2)
        let model = try DATLightBackward(weights: w, scale: 2)
        let input = Tensor(shape: [1, 3, 64, 64], data: gaussians(3 * 64 * 64, seed: 701).map { min(1, max(0, 0.5 + 0.25 * $0)) })
        let G = Tensor(shape: [1, 3, 128, 128], data: gaussians(3 * 128 * 128, seed: 702))
        func time(_ body: () throws -> Void) rethrows -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        _ = try engine.forward(input)   // warm-up
        _ = model.backward(try model.forward(input), gradOutput: G)
        var fwd: [Double] = [], all: [Double] = [], rec: [Double] = [], fOnly: [Double] = []
        for _ in 0..<runs {   // interleaved, so load changes hit all variants alike
            fwd.append(try time { _ = try engine.forward(input) })
            fOnly.append(try time { _ = try model.forward(input) })
            all.append(try time { _ = model.backward(try model.forward(input), gradOutput: G) })
            rec.append(try time { _ = model.backward(try model.forward(input, retention: .blockInputs), gradOutput: G) })
        }
        func median(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }
        let f = median(fwd)
        report(String(format: "backward benchmark (64x64 DAT-light x2, %d runs, %d threads, medians): engine forward %.3f s; "
                      + "caching forward %.3f s (%.2fx); forward+backward .all %.3f s (%.2fx); .blockInputs %.3f s (%.2fx)",
                      runs, Parallel.threads, f, median(fOnly), median(fOnly) / f, median(all), median(all) / f, median(rec), median(rec) / f))
    }
}
