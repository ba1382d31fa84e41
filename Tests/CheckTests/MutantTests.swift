import HarmoQChecks
import Testing

/// Each checker catches ≥ 90% of its deliberately wrong implementations (issue #3 target).
@Test(arguments: ["T1", "T2", "T3", "T5"])
func checkerCatchesItsMutants(id: String) throws {
    let checker = try #require(CheckRegistry.checker(id))
    let report = MutantReport.run([checker], size: .ci, seed: 0x2A)
    let survivors = report.outcomes.filter { !$0.caught }.map { $0.mutant.id }
    #expect(report.caughtFraction(id) >= 0.9, "\(id) survivors: \(survivors)")
}
