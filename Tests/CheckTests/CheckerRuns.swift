import HarmoQChecks
import Testing

/// Runs one registered checker at CI size and records an Issue with the full report line for each failing ratio.
func expectCheckerReproducesItsProof(_ id: String, seed: UInt64 = 0x2A) throws {
    let checker = try #require(CheckRegistry.checker(id), "checker \(id) is not registered")
    let run = ClaimRun.run(checker, size: .ci, seed: seed)
    #expect(run.error == nil, "\(id) threw: \(run.error ?? "")")
    #expect(run.passed > 0, "\(id) produced no counted result")
    for r in run.results where r.counted && !r.passed {
        Issue.record("\(r.line)")
    }
}
