import Foundation
import HarmoQChecks

/// Every counted ratio and verdict of `harmoq verify all --size ci --seed 0x2A` (self-regression).
/// Ratios are compared with a relative tolerance of 1e-6 plus an absolute 1e-9 (Float64 results of a fixed
/// seed; only a change of algorithm or summation order should move them); verdict statuses exactly. Wall-clock
/// measurements (ratios named `time-*`) are left out: they are benchmarks, not regressions.
public struct CheckerResultsGolden: GoldenProducer {
    public init() {}
    public let id = "checker-results"
    public let what = "theorem-checker ratios (every counted and measured result) and verdict statuses of `harmoq verify all --size ci --seed 0x2A`"
    public var producer: String { "harmoq \(GoldenInfo.toolVersion) (HarmoQChecks, GSL oracle)" }
    public let kind = GoldenKind.selfRegression
    public let tolerance = GoldenTolerance(absolute: 1e-9, relative: 1e-6)

    public func produce(_ ctx: GoldenContext) throws -> [String: GoldenValue] {
        var v: [String: GoldenValue] = [:]
        let runs = CheckRegistry.run(CheckRegistry.claimIDs, size: .ci, seed: 0x2A)
        for run in runs {
            v["\(run.claim).verdict"] = .text(run.verdict.status.rawValue)
            v["\(run.claim).reproduced"] = .text(run.reproduced ? "yes" : (run.verdict.status == .pending ? "pending" : "NO"))
            var seen: [String: Int] = [:]
            // Wall-clock measurements (T5 `time-*`) vary run to run and are benchmarks, not regressions.
            for r in run.results where !r.ratio.hasPrefix("time-") {
                var key = "\(run.claim).\(r.ratio).\(r.parameterText)"
                let n = seen[key, default: 0]
                seen[key] = n + 1
                if n > 0 { key += "#\(n)" }
                v[key] = .number(r.value)
            }
        }
        return v
    }
}
