import HarmoQ

/// Problem sizes: `ci` (all checkers together ≈ 1 minute on 2 cores) or `full`.
public enum CheckSize: String, Codable, Sendable, CaseIterable { case ci, full }

/// A deliberately wrong implementation a checker must catch (`harmoq verify --mutants`).
public struct Mutant: Sendable, Codable, Hashable {
    public let id: String
    public let description: String
    public init(_ id: String, _ description: String) { self.id = id; self.description = description }
}

/// One checker per claim: runs the claim's ratios at a size and seed. A checker file conforms to this protocol
/// and is registered once in `CheckRegistry.checkers`.
public protocol Checker: Sendable {
    /// Claim id (T1 … T5, O1, quantizer): the same string in Proofs/, checkers, tests and CLI.
    var id: String { get }
    /// One line naming the claim.
    var title: String { get }
    /// The verdict its Proofs/ document states; the results must reproduce it.
    var verdict: ClaimVerdict { get }
    /// Ratio legend: name → formula (printed once before the lines, LAPACK's ALAHD).
    var legend: [(ratio: String, formula: String)] { get }
    /// Checker-side mutants: wrong versions of the checker's own reference computations (its oracle wiring).
    var mutants: [Mutant] { get }
    /// Mutants of the shipped core code this checker owns (`ShippedMutant`, injected into the core itself): the checker
    /// is rerun unchanged with each one active and must fail.
    var shippedMutants: [ShippedMutant] { get }
    /// Runs every ratio. `mutant` = nil is the real implementation; otherwise the named wrong one is substituted.
    func run(size: CheckSize, seed: UInt64, mutant: Mutant?) throws -> [CheckResult]
}

extension Checker {
    public var mutants: [Mutant] { [] }
    public var shippedMutants: [ShippedMutant] { [] }
    public var legend: [(ratio: String, formula: String)] { [] }
    public func run(size: CheckSize, seed: UInt64) throws -> [CheckResult] { try run(size: size, seed: seed, mutant: nil) }
}
