import Foundation

/// Formats claim runs as the LAPACK/GSL-style text report: per claim a ratio legend, FAIL lines always,
/// pass/INFO lines with `verbose`, a per-claim summary, the verdict table, and last `N passed, N failed`.
public struct CheckReport: Codable, Sendable {
    public let size: CheckSize
    public let seed: UInt64
    public let runs: [ClaimRun]

    public init(size: CheckSize, seed: UInt64, runs: [ClaimRun]) { self.size = size; self.seed = seed; self.runs = runs }

    public var passed: Int { runs.reduce(0) { $0 + $1.passed } }
    public var failed: Int { runs.reduce(0) { $0 + $1.failed } }
    public var summaryLine: String { "\(passed) passed, \(failed) failed" }

    public func text(verbose: Bool) -> String {
        var out: [String] = []
        let seedText = "0x" + String(seed, radix: 16, uppercase: true)
        for run in runs where run.verdict.status != .pending {
            let failures = run.results.filter { $0.counted && !$0.passed }
            let eps = Set(run.results.map { $0.epsilon }.filter { $0 > 0 }).sorted().map { fmt($0) }.joined(separator: ", ")
            if verbose || !failures.isEmpty || run.error != nil {
                out.append("\(run.claim) — \(run.title) (size \(size.rawValue), seed \(seedText), ε ∈ {\(eps)})")
                for (i, l) in run.legend.enumerated() { out.append("  \(i + 1): \(l.key): \(l.value)") }
            }
            for r in run.results where verbose || (r.counted && !r.passed) { out.append(r.line) }
            if let e = run.error { out.append("FAIL \(run.claim) checker threw: \(e)") }
            let worst = failures.max { abs($0.value) < abs($1.value) }
            var s = "\(run.claim): \(run.passed) passed, \(run.failed) failed, \(run.results.filter { !$0.counted }.count) measured"
            s += String(format: " (%.1f s)", run.seconds)
            if let w = worst { s += "; worst \(w.ratio) = \(fmt(w.value)) \(w.parameterText)" }
            out.append(s)
        }
        out.append("")
        out.append("Verdicts")
        out.append(pad("claim", 10) + pad("verdict", 30) + pad("reproduced", 12) + "summary / reproduce")
        for run in runs {
            let rep: String
            switch run.verdict.status {
            case .pending: rep = "pending"
            default: rep = run.reproduced ? "yes" : "NO"
            }
            out.append(pad(run.claim, 10) + pad(run.verdict.status.rawValue, 30) + pad(rep, 12) + run.verdict.summary)
            if run.verdict.status != .pending { out.append(pad("", 52) + "$ " + run.verdict.reproduce) }
        }
        out.append(summaryLine)
        return out.joined(separator: "\n")
    }

    public func json() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try enc.encode(self)
    }
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
