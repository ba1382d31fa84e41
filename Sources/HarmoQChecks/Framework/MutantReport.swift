import Foundation

/// Runs each checker against each of its mutants. A mutant is caught when at least one counted result fails
/// (or the checker throws); it survives when every result still passes.
public struct MutantReport: Codable, Sendable {
    public struct Outcome: Codable, Sendable {
        public let claim: String
        public let mutant: Mutant
        public let caught: Bool
        /// The first failing line (evidence), or "survived".
        public let evidence: String
    }
    public let outcomes: [Outcome]

    public static func run(_ checkers: [any Checker], size: CheckSize, seed: UInt64) -> MutantReport {
        var out: [Outcome] = []
        for c in checkers {
            for m in c.mutants {
                let r = ClaimRun.run(c, size: size, seed: seed, mutant: m)
                let firstFail = r.results.first { $0.counted && !$0.passed }
                let caught = r.failed > 0
                let evidence = r.error.map { "threw: \($0)" } ?? firstFail?.line ?? "survived"
                out.append(Outcome(claim: c.id, mutant: m, caught: caught, evidence: evidence))
            }
        }
        return MutantReport(outcomes: out)
    }

    /// Caught fraction per claim.
    public func caughtFraction(_ claim: String) -> Double {
        let o = outcomes.filter { $0.claim == claim }
        return o.isEmpty ? 1 : Double(o.filter { $0.caught }.count) / Double(o.count)
    }

    /// Each mutant's line, then one line per claim, then `N passed, N failed` where a claim passes at ≥ 90% caught.
    public func text() -> String {
        var lines: [String] = []
        for o in outcomes {
            lines.append("\(o.caught ? "caught  " : "SURVIVED") \(o.claim) \(o.mutant.id): \(o.mutant.description)")
            if o.caught { lines.append("         ↳ \(o.evidence.prefix(220))") }
        }
        var passed = 0, failed = 0
        for claim in Set(outcomes.map { $0.claim }).sorted() {
            let f = caughtFraction(claim)
            let n = outcomes.filter { $0.claim == claim }.count
            let ok = f >= 0.9
            if ok { passed += 1 } else { failed += 1 }
            lines.append("\(claim): \(Int((f * Double(n)).rounded()))/\(n) mutants caught (\(String(format: "%.0f", 100 * f))%, need ≥ 90%)")
        }
        lines.append("\(passed) passed, \(failed) failed")
        return lines.joined(separator: "\n")
    }
}
