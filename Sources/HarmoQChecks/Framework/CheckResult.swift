import Foundation

/// What a result must show to count as "passed".
public enum Expectation: String, Codable, Sendable {
    /// The claim holds here: the scaled ratio stays below the threshold.
    case holds
    /// A documented refutation reproduces: the ratio that would be O(1) if the claim held is ≥ the threshold.
    case refutationReproduces = "refuted"
    /// A measurement reported for the Proofs/ document; not counted as passed or failed.
    case measured
}

/// One scaled ratio of one claim on one case, LAPACK style: O(1) when the claim holds, compared with a stated
/// threshold. Every result carries the sizes, matrix type and seed needed to rerun that case.
public struct CheckResult: Codable, Sendable {
    /// Claim id: T1 … T5, O1, quantizer.
    public let claim: String
    /// Short ratio name, e.g. "normal-equation".
    public let ratio: String
    /// The formula of the ratio, printed in the report legend.
    public let formula: String
    public let value: Double
    public let threshold: Double
    /// Which ε the ratio is scaled by (0 when the ratio is not ε-scaled).
    public let epsilon: Double
    /// Ordered key/value parameters: sizes, type, seed, bits, …
    public let parameters: [Parameter]
    public let expectation: Expectation

    public struct Parameter: Codable, Sendable {
        public let key: String
        public let value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }

    public init(claim: String, ratio: String, formula: String, value: Double, threshold: Double, epsilon: Double,
                parameters: [(String, String)], expectation: Expectation) {
        self.claim = claim; self.ratio = ratio; self.formula = formula; self.value = value
        self.threshold = threshold; self.epsilon = epsilon
        self.parameters = parameters.map { Parameter($0.0, $0.1) }
        self.expectation = expectation
    }

    /// Whether the result behaves as its Proofs/ document says. NaN never passes.
    public var passed: Bool {
        switch expectation {
        case .holds: return value.isFinite && value < threshold
        case .refutationReproduces: return !value.isNaN && value >= threshold
        case .measured: return true
        }
    }
    public var counted: Bool { expectation != .measured }

    /// A copy with `formula` set (the report fills it from the checker's legend).
    public func withFormula(_ f: String) -> CheckResult {
        CheckResult(claim: claim, ratio: ratio, formula: f, value: value, threshold: threshold, epsilon: epsilon,
                    parameters: parameters.map { ($0.key, $0.value) }, expectation: expectation)
    }

    /// "m=16 d=16 type=srLike seed=0x2A"
    public var parameterText: String { parameters.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }

    /// One report line, e.g. `FAIL T1 normal-equation = 41.7 (threshold 30, expect holds) m=16 … seed=0x2A`.
    public var line: String {
        let tag: String
        switch expectation {
        case .measured: tag = "INFO"
        default: tag = passed ? "pass" : "FAIL"
        }
        let expect: String
        switch expectation {
        case .holds: expect = "expect < \(fmt(threshold))"
        case .refutationReproduces: expect = "expect ≥ \(fmt(threshold)), refutation"
        case .measured: expect = "measured"
        }
        return "\(tag) \(claim) \(ratio) = \(fmt(value)) (\(expect)) \(parameterText)"
    }
}

/// Compact number format for report lines (4 significant digits).
func fmt(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v > 0 ? "inf" : "-inf" }
    return String(format: "%.4g", v)
}
