import Testing
import HarmoQChecks

/// `harmoq verify quantizer` at CI size: every conformance result passes, and every mutant is caught.
@Suite("Quantizer conformance checker")
struct QuantizerConformanceTests {
    @Test func conformancePasses() throws {
        let results = try QuantizerConformance().run(size: .ci, seed: 0x2A)
        #expect(results.count > 50)
        for r in results where r.counted && !r.passed { Issue.record("\(r.line)") }
    }

    @Test func everyMutantIsCaught() {
        let report = MutantReport.run([QuantizerConformance()], size: .ci, seed: 0x2A)
        #expect(report.outcomes.count == QuantizerConformance().mutants.count + QuantizerConformance().shippedMutants.count)
        for o in report.outcomes where !o.caught { Issue.record("mutant survived: \(o.mutant.id)") }
    }
}
