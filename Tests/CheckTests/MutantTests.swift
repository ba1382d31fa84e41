import HarmoQ
import HarmoQChecks
import Testing

/// Each checker catches ≥ 90% of its deliberately wrong implementations of its own references (issue #3 target).
@Test(arguments: ["T1", "T2", "T3", "T5"])
func checkerCatchesItsMutants(id: String) throws {
    let checker = try #require(CheckRegistry.checker(id))
    let report = MutantReport.run([checker], size: .ci, seed: 0x2A, kinds: [.checker])
    let survivors = report.outcomes.filter { !$0.caught }.map { $0.mutant.id }
    #expect(report.caughtFraction(id, kind: .checker) >= 0.9, "\(id) survivors: \(survivors)")
}

/// Each checker catches ≥ 90% of the mutants injected into the shipped core code it owns (issue #12 item 4). The
/// mutant is active only on this test's thread (`ShippedMutant.withActive`), so parallel tests are unaffected.
@Test(arguments: ["T1", "T2", "T3", "T4", "quantizer"])
func checkerCatchesShippedMutants(id: String) throws {
    let checker = try #require(CheckRegistry.checker(id))
    #expect(!checker.shippedMutants.isEmpty, "\(id) owns no shipped mutants")
    let report = MutantReport.run([checker], size: .ci, seed: 0x2A, kinds: [.shipped])
    let survivors = report.outcomes.filter { !$0.caught }.map { $0.mutant.id }
    #expect(report.caughtFraction(id, kind: .shipped) >= 0.9, "\(id) survivors: \(survivors)")
}

/// Every shipped mutant has exactly one owning checker.
@Test func everyShippedMutantHasOneOwner() {
    let owned = CheckRegistry.checkers.flatMap { $0.shippedMutants }
    let all = ShippedMutant.allCases.filter { $0 != .none }
    #expect(Set(owned) == Set(all), "unowned: \(Set(all).subtracting(owned))")
    #expect(owned.count == Set(owned).count, "owned twice: \(owned.filter { m in owned.filter { $0 == m }.count > 1 })")
}
