import Foundation
import HarmoQ

/// Runs each checker against each of its mutants. A mutant is caught when at least one counted result fails
/// (or the checker throws); it survives when every result still passes.
///
/// Two kinds: checker-side mutants (`Checker.mutants`, wrong versions of the checker's own reference computations,
/// passed to `run(size:seed:mutant:)`), and shipped mutants (`Checker.shippedMutants`: wrong lines in the core itself,
/// switched on with `ShippedMutant.withActive` while the unchanged checker runs).
public struct MutantReport: Codable, Sendable {
    public enum Kind: String, Codable, Sendable { case checker, shipped }
    public struct Outcome: Codable, Sendable {
        public let claim: String
        public let kind: Kind
        public let mutant: Mutant
        public let caught: Bool
        /// The first failing line (evidence), or "survived".
        public let evidence: String
    }
    public let outcomes: [Outcome]

    public static func run(_ checkers: [any Checker], size: CheckSize, seed: UInt64, kinds: Set<Kind> = [.checker, .shipped]) -> MutantReport {
        var out: [Outcome] = []
        func outcome(_ c: any Checker, _ kind: Kind, _ m: Mutant, _ r: ClaimRun) -> Outcome {
            let firstFail = r.results.first { $0.counted && !$0.passed }
            let evidence = r.error.map { "threw: \($0)" } ?? firstFail?.line ?? "survived"
            return Outcome(claim: c.id, kind: kind, mutant: m, caught: r.failed > 0, evidence: evidence)
        }
        for c in checkers {
            if kinds.contains(.checker) {
                for m in c.mutants { out.append(outcome(c, .checker, m, ClaimRun.run(c, size: size, seed: seed, mutant: m))) }
            }
            if kinds.contains(.shipped) {
                for sm in c.shippedMutants {
                    let r = ShippedMutant.withActive(sm) { ClaimRun.run(c, size: size, seed: seed, mutant: nil) }
                    out.append(outcome(c, .shipped, Mutant("\(sm)", sm.summary), r))
                }
            }
        }
        return MutantReport(outcomes: out)
    }

    /// Caught fraction per claim (and kind, when given).
    public func caughtFraction(_ claim: String, kind: Kind? = nil) -> Double {
        let o = outcomes.filter { $0.claim == claim && (kind == nil || $0.kind == kind) }
        return o.isEmpty ? 1 : Double(o.filter { $0.caught }.count) / Double(o.count)
    }

    /// Whether every (claim, kind) with mutants reaches 90% caught.
    public var meetsTarget: Bool {
        for claim in Set(outcomes.map { $0.claim }) { for k in [Kind.checker, .shipped] where caughtFraction(claim, kind: k) < 0.9 { return false } }
        return true
    }

    /// Each mutant's line, then one line per claim (checker-side and shipped counts), then `N passed, N failed` where a
    /// claim passes when each kind it has reaches ≥ 90% caught.
    public func text() -> String {
        var lines: [String] = []
        for o in outcomes {
            lines.append("\(o.caught ? "caught  " : "SURVIVED") \(o.claim) [\(o.kind.rawValue)] \(o.mutant.id): \(o.mutant.description)")
            if o.caught { lines.append("         ↳ \(o.evidence.prefix(220))") }
        }
        var passed = 0, failed = 0
        for claim in Set(outcomes.map { $0.claim }).sorted() {
            var parts: [String] = []
            var ok = true
            for k in [Kind.checker, .shipped] {
                let o = outcomes.filter { $0.claim == claim && $0.kind == k }
                guard !o.isEmpty else { continue }
                let n = o.filter { $0.caught }.count
                let f = Double(n) / Double(o.count)
                if f < 0.9 { ok = false }
                parts.append("\(k.rawValue)-side \(n)/\(o.count) (\(String(format: "%.0f", 100 * f))%)")
            }
            if ok { passed += 1 } else { failed += 1 }
            lines.append("\(claim): mutants caught: \(parts.joined(separator: ", ")); need ≥ 90% each")
        }
        lines.append("\(passed) passed, \(failed) failed")
        return lines.joined(separator: "\n")
    }
}
