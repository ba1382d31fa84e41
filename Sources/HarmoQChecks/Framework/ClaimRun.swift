import Foundation

/// The outcome of running one checker (or of finding it unregistered).
public struct ClaimRun: Codable, Sendable {
    public let claim: String
    public let title: String
    public let verdict: ClaimVerdict
    public let legend: [CheckResult.Parameter]
    public let results: [CheckResult]
    /// Set when the checker threw instead of returning results (counted as one failure).
    public let error: String?
    public let seconds: Double

    public init(claim: String, title: String, verdict: ClaimVerdict, legend: [CheckResult.Parameter], results: [CheckResult],
                error: String?, seconds: Double) {
        self.claim = claim; self.title = title; self.verdict = verdict; self.legend = legend; self.results = results
        self.error = error; self.seconds = seconds
    }

    public var passed: Int { results.filter { $0.counted && $0.passed }.count }
    public var failed: Int { results.filter { $0.counted && !$0.passed }.count + (error == nil ? 0 : 1) }
    /// Whether the checker's output reproduces the verdict its Proofs/ document states.
    public var reproduced: Bool { verdict.status != .pending && failed == 0 && passed > 0 }

    public static func run(_ checker: any Checker, size: CheckSize, seed: UInt64, mutant: Mutant? = nil) -> ClaimRun {
        let start = Date()
        var results: [CheckResult] = []
        var error: String? = nil
        do { results = try checker.run(size: size, seed: seed, mutant: mutant) } catch let e { error = "\(e)" }
        // a result without its own formula gets the legend's (exact name, or a "prefix-*" entry)
        let legend = checker.legend
        results = results.map { r in
            guard r.formula.isEmpty else { return r }
            let f = legend.first { $0.ratio == r.ratio }?.formula
                ?? legend.first { $0.ratio.hasSuffix("*") && r.ratio.hasPrefix(String($0.ratio.dropLast())) }?.formula
                ?? legend.first { $0.ratio.split(separator: "/").contains { $0.trimmingCharacters(in: .whitespaces) == r.ratio } }?.formula
                ?? ""
            return r.withFormula(f)
        }
        return ClaimRun(claim: checker.id, title: checker.title, verdict: checker.verdict,
                        legend: checker.legend.map { CheckResult.Parameter($0.ratio, $0.formula) },
                        results: results, error: error, seconds: Date().timeIntervalSince(start))
    }

    public static func pending(_ claim: String, title: String, reason: String) -> ClaimRun {
        ClaimRun(claim: claim, title: title,
                 verdict: ClaimVerdict(claim: claim, status: .pending, summary: reason, reproduce: "—"),
                 legend: [], results: [], error: nil, seconds: 0)
    }
}
