import HarmoQChecks
import Testing

@Test func holdsPassesOnlyBelowThreshold() {
    let below = CheckResult(claim: "T1", ratio: "r", formula: "", value: 29.9, threshold: 30, epsilon: 1e-16,
                            parameters: [("seed", "0x1")], expectation: .holds)
    let above = CheckResult(claim: "T1", ratio: "r", formula: "", value: 30, threshold: 30, epsilon: 1e-16,
                            parameters: [], expectation: .holds)
    let nan = CheckResult(claim: "T1", ratio: "r", formula: "", value: .nan, threshold: 30, epsilon: 1e-16,
                          parameters: [], expectation: .holds)
    #expect(below.passed)
    #expect(!above.passed)
    #expect(!nan.passed)
}

@Test func refutationPassesOnlyAtOrAboveThreshold() {
    let reproduced = CheckResult(claim: "T1", ratio: "r", formula: "", value: 1e13, threshold: 30, epsilon: 1e-16,
                                 parameters: [], expectation: .refutationReproduces)
    let notReproduced = CheckResult(claim: "T1", ratio: "r", formula: "", value: 0.5, threshold: 30, epsilon: 1e-16,
                                    parameters: [], expectation: .refutationReproduces)
    #expect(reproduced.passed)
    #expect(!notReproduced.passed)
}

@Test func reportEndsWithPassedFailedLineAndListsPendingClaims() {
    // a claim without a registered checker (every claim has one now, so build the pending run directly)
    let runs = [ClaimRun.pending("O9", title: "an unregistered claim", reason: "no checker registered yet")]
    let report = CheckReport(size: .ci, seed: 1, runs: runs)
    let text = report.text(verbose: false)
    #expect(text.split(separator: "\n").last == "0 passed, 0 failed")
    #expect(text.contains("pending"))
    #expect(report.passed == 0)   // a pending claim is never counted as passed
}

@Test func failingLinesCarrySizesTypeAndSeed() {
    let r = CheckResult(claim: "T1", ratio: "normal-equation", formula: "", value: 41.7, threshold: 30, epsilon: 2.2e-16,
                        parameters: [("m", "16"), ("d", "16"), ("type", "srLike"), ("seed", "0x2A")], expectation: .holds)
    let run = ClaimRun(claim: "T1", title: "t", verdict: ClaimVerdict(claim: "T1", status: .refuted, summary: "s", reproduce: "r"),
                       legend: [], results: [r], error: nil, seconds: 0)
    let text = CheckReport(size: .ci, seed: 0x2A, runs: [run]).text(verbose: false)
    #expect(text.contains("FAIL T1 normal-equation = 41.7"))
    #expect(text.contains("m=16 d=16 type=srLike seed=0x2A"))
    #expect(text.hasSuffix("0 passed, 1 failed"))
}
