import GSLOracle
import HarmoQ
import PropertyBased
import Testing

/// Core `Cholesky.solve` against GSL's Cholesky on DLATB4-style SPD types, as LAPACK scaled ratios (threshold 30).
/// Ratios: (1) residual ‖(A+jI)X − B‖₁/(n‖A+jI‖₁‖X‖₁ε) of the core solution (j = the jitter its certificate reports);
/// (2) forward difference to GSL on the same matrix, ‖X_core − X_gsl‖₁/(‖X_gsl‖₁·κ₁·n·ε), κ₁ from gsl_linalg_cholesky_rcond.
let threshold = 30.0

@Test(arguments: MatrixType.allCases, [1, 2, 7, 24, 60])
func coreCholeskyMatchesGSL(type: MatrixType, n: Int) throws {
    let seed = UInt64(0x5EED + n)
    let (a, _) = try spdMatrix(type, n: n, seed: seed)
    var rng = TestRNG(state: seed ^ 0xB)
    let b = OracleMatrix(rows: n, cols: 3, data: (0..<(3 * n)).map { _ in rng.gaussian() * (type == .nearUnderflow ? 0x1p-1000 : 1) })
    let (xCore, cert) = try Cholesky.solve(a.core, b.core, jitter: 0)
    var aj = a
    for i in 0..<n { aj[i, i] += cert.jitterUsed }
    let line = "type=\(type) n=\(n) nrhs=3 seed=0x\(String(seed, radix: 16)) jitter=\(cert.jitterUsed)"
    let res = residualRatio(aj, OracleMatrix(xCore), b)
    #expect(res < threshold, "residual ratio \(res) ≥ \(threshold): \(line)")
    #expect(abs(cert.scaledResidual - res) <= max(1, res), "certificate scaledResidual \(cert.scaledResidual) vs measured \(res): \(line)")
    // the oracle solves the same (possibly jittered) matrix; GSL may refuse a numerically singular one
    guard let (xG, rcond) = try? GSL.choleskySolve(aj, b) else {
        #expect(type == .kappaInvEps || type == .rankDeficient, "GSL refused a matrix of type \(type): \(line)")
        return
    }
    let kappa = 1 / rcond
    let fwd = (OracleMatrix(xCore) - xG).oneNorm / (xG.oneNorm * kappa * Double(n) * Double.ulpOfOne)
    #expect(fwd < threshold, "forward ratio \(fwd) ≥ \(threshold) (κ₁ = \(kappa)): \(line)")
    if type == .rankDeficient || type == .kappaInvEps { return }
    #expect(cert.jitterUsed == 0, "core added jitter to a numerically SPD matrix: \(line)")
}

/// A rank-deficient matrix is refused by GSL (GSL_EDOM thrown, not abort) and rescued by the core's jitter,
/// which the certificate reports.
@Test func rankDeficientNeedsJitterAndSaysSo() throws {
    var a = OracleMatrix(rows: 4, cols: 4)
    for i in 0..<4 { for j in 0..<4 { a[i, j] = Double((i + 1) * (j + 1)) } }   // rank 1
    #expect(throws: GSLError.self) { _ = try GSL.choleskySolve(a, OracleMatrix(rows: 4, cols: 1, data: [1, 2, 3, 4])) }
    let (_, cert) = try Cholesky.solve(a.core, DMatrix(rows: 4, cols: 1, data: [1, 2, 3, 4]), jitter: 0)
    #expect(cert.jitterUsed > 0 && cert.escalations >= 0)
}

/// Property: for random well-conditioned SPD matrices of any small size, core and GSL agree (κ-scaled).
@Test func coreCholeskyAgreesWithGSLOnRandomWellConditionedSPD() async throws {
    await propertyCheck(count: 40, input: Gen.int(in: 1...20), Gen.int(in: 0...1_000_000)) { n, s in
        var rng = TestRNG(state: UInt64(s))
        var g = OracleMatrix(rows: n, cols: n)
        for i in g.data.indices { g.data[i] = rng.gaussian() }
        var a = mul(g, g.transposed)
        for i in 0..<n { a[i, i] += Double(n) }      // κ ≤ ~ (‖G‖² + n)/n: well-conditioned
        let b = OracleMatrix(rows: n, cols: 1, data: (0..<n).map { _ in rng.gaussian() })
        let (xc, _) = try Cholesky.solve(a.core, b.core, jitter: 0)
        let (xg, rcond) = try GSL.choleskySolve(a, b)
        let fwd = (OracleMatrix(xc) - xg).oneNorm / (xg.oneNorm / rcond * Double(n) * Double.ulpOfOne)
        #expect(fwd < threshold, "n=\(n) seed=\(s) forward ratio \(fwd)")
    }
}

/// Known defect (reported to the core's owner): for the all-zero matrix the core's relative jitter
/// (1e-12·mean diag, floored at leastNormalMagnitude) is ~1e-320, so X overflows to ±inf/NaN and no error is
/// thrown. When the core is fixed (throw, or a finite X), this known issue stops reproducing and the test fails
/// until `withKnownIssue` is removed.
@Test func zeroMatrixGivesFiniteSolutionOrThrows() {
    let a = DMatrix(zeros: 2, 2), b = DMatrix(rows: 2, cols: 1, data: [1, 1])
    if let (x, cert) = try? Cholesky.solve(a, b, jitter: 0) {
        #expect(x.data.allSatisfy { $0.isFinite }, "X = \(x.data)")
        #expect(cert.jitterUsed > 0)
    }
}
