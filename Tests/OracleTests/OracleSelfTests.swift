import GSLOracle
import Testing

/// Each GSL wrapper against a hand-checkable case, and errors thrown (never abort) on bad input.

@Test func matmulMatchesHandResult() throws {
    let a = OracleMatrix(rows: 2, cols: 3, data: [1, 2, 3, 4, 5, 6])
    let b = OracleMatrix(rows: 3, cols: 2, data: [7, 8, 9, 10, 11, 12])
    #expect(try GSL.matmul(a, b).data == [58, 64, 139, 154])
}

@Test func choleskyOnNonSPDThrowsInsteadOfAborting() {
    let a = OracleMatrix(rows: 2, cols: 2, data: [1, 2, 2, 1])
    #expect(throws: GSLError.self) { _ = try GSL.choleskySolve(a, OracleMatrix(rows: 2, cols: 1, data: [1, 1])) }
}

@Test func symmetricEigenReconstructs() throws {
    let a = OracleMatrix(rows: 3, cols: 3, data: [4, 1, 0, 1, 3, 1, 0, 1, 2])
    let (vals, v) = try GSL.symmetricEigen(a)
    #expect(vals == vals.sorted())
    var recon = OracleMatrix(rows: 3, cols: 3)
    for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { recon[i, j] += v[i, k] * vals[k] * v[j, k] } } }
    let err = (recon - a).frobeniusNorm / (a.frobeniusNorm * 3 * Double.ulpOfOne)
    #expect(err < 30, "eigen reconstruction ratio \(err)")
}

@Test func svdOfWideMatrixReconstructs() throws {
    let a = OracleMatrix(rows: 2, cols: 3, data: [3, 1, 1, -1, 3, 1])
    let (u, s, v) = try GSL.svd(a)
    #expect(abs(s[0] - 12.0.squareRoot()) < 1e-14 && abs(s[1] - 10.0.squareRoot()) < 1e-14)
    var recon = OracleMatrix(rows: 2, cols: 3)
    for i in 0..<2 { for j in 0..<3 { for k in 0..<s.count { recon[i, j] += u[i, k] * s[k] * v[j, k] } } }
    #expect((recon - a).frobeniusNorm / (a.frobeniusNorm * 3 * Double.ulpOfOne) < 30)
}

@Test func qrLeastSquaresSolvesOverdeterminedLine() throws {
    // y = 1 + 2t exactly at t = 0…3
    let a = OracleMatrix(rows: 4, cols: 2, data: [1, 0, 1, 1, 1, 2, 1, 3])
    let b = OracleMatrix(rows: 4, cols: 1, data: [1, 3, 5, 7])
    let x = try GSL.qrLeastSquares(a, b)
    #expect(abs(x.data[0] - 1) < 1e-14 && abs(x.data[1] - 2) < 1e-14)
}

@Test func brentFindsParabolaMinimum() throws {
    let m = try GSL.minimizeBrent({ ($0 - 0.3) * ($0 - 0.3) + 1 }, lower: -2, upper: 2, guess: 0, epsAbs: 1e-7, epsRel: 0)
    #expect(abs(m.x - 0.3) < 1e-7)
    #expect(m.upper - m.lower <= 1e-7 + 1e-15)
}

@Test func centralDerivativeOfSineHasHonestErrorEstimate() throws {
    let (v, err) = try GSL.centralDerivative({ sin($0) }, at: 0.7, step: 1e-3)
    #expect(abs(v - cos(0.7)) <= max(2 * err, 1e-12))
}

@Test func linearFitSlopeIntervalContainsTruth() throws {
    let x = (0..<20).map { Double($0) }
    let y = x.map { 0.5 + 2 * $0 + 0.01 * sin(7 * $0) }
    let f = try GSL.linearFit(x: x, y: y)
    #expect(f.slopeInterval.contains(2))
    #expect(f.slopeHalfWidth < 0.01)
}

@Test func thrownErrorInCallbackPropagates() {
    struct Boom: Error {}
    #expect(throws: Boom.self) { _ = try GSL.centralDerivative({ _ in throw Boom() }, at: 0, step: 1e-3) }
}

import Foundation
