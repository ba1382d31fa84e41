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

    /// O1's values and T4's real-layer trace were recorded on ../shared (DAT-light ×2 safetensors, Set5, DIV2K-calib, the
    /// official reference crop). Without it (a fresh clone) O1 would run on the fetched .pth and CC0 images, giving other
    /// numbers: those values are skipped, the other claims are compared.
    static let sharedInputs = ["models/dat-light-x2.safetensors", "data/Set5/HR", "data/DIV2K-calib", "reference/dat-light-x2_case1.safetensors"]

    public func unavailable(_ ctx: GoldenContext) -> GoldenSkip? {
        let missing = Self.sharedInputs.filter { !FileManager.default.fileExists(atPath: ctx.sharedDir + "/" + $0) }
        guard !missing.isEmpty else { return nil }
        return GoldenSkip(reason: "O1.* and T4's DAT-x2 layer values need \(missing.map { ctx.sharedDir + "/" + $0 }.joined(separator: ", "))") {
            $0.hasPrefix("O1.") || ($0.hasPrefix("T4.") && $0.contains("layer=DAT-x2:"))
        }
    }

    public func produce(_ ctx: GoldenContext) throws -> [String: GoldenValue] {
        var v: [String: GoldenValue] = [:]
        let claims = unavailable(ctx) == nil ? CheckRegistry.claimIDs : CheckRegistry.claimIDs.filter { $0 != "O1" }
        let runs = CheckRegistry.run(claims, size: .ci, seed: 0x2A)
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
