import GSLOracle
import HarmoQ
import Testing

/// The core's rotations (docs/rotations.md) against GSL, as ε-scaled ratios (threshold 30, LAPACK's):
/// (1) singular values from GSL's SVD, max_i |σ_i − 1| / (n·ε); (2) RᵀR by GSL's dgemm, max |RᵀR − I| / (n·ε).
/// Hadamard entries are also checked exactly: H·Hᵀ = n·I with GSL's dgemm on the ±1 matrix.


private func ratios(_ m: [Double], n: Int) throws -> (svd: Double, gram: Double) {
    let r = OracleMatrix(rows: n, cols: n, data: m)
    let s = try GSL.svd(r).s
    let svd = s.map { abs($0 - 1) }.max()! / (Double(n) * Double.ulpOfOne)
    let g = try GSL.matmul(r.transposed, r)
    var worst = 0.0
    for i in 0..<n { for j in 0..<n { worst = max(worst, abs(g[i, j] - (i == j ? 1 : 0))) } }
    return (svd, worst / (Double(n) * Double.ulpOfOne))
}

@Test(arguments: [(1, "sylvester"), (2, "sylvester"), (4, "sylvester"), (12, "paley"), (20, "paley"), (60, "paley"),
                  (64, "sylvester"), (120, "kronecker"), (24, "paley"), (40, "kronecker")])
func hadamardIsOrthogonalAgainstGSL(order n: Int, construction: String) throws {
    #expect(HadamardMatrix.construction(order: n)?.rawValue == construction)
    let h = try HadamardMatrix.entries(order: n)
    #expect(h.allSatisfy { $0 == 1 || $0 == -1 }, "n=\(n): entries not ±1")
    let hm = OracleMatrix(rows: n, cols: n, data: h.map(Double.init))
    let hh = try GSL.matmul(hm, hm.transposed)
    var exact = true
    for i in 0..<n { for j in 0..<n where hh[i, j] != (i == j ? Double(n) : 0) { exact = false } }
    #expect(exact, "n=\(n) \(construction): H·Hᵀ ≠ n·I")
    for seed: UInt64 in [0, 0x2A] {
        let r = try Rotation.make(kind: .hadamard, order: n, seed: seed)
        let (svd, gram) = try ratios(r.matrix, n: n)
        let line = "kind=hadamard(\(construction)) n=\(n) seed=0x\(String(seed, radix: 16))"
        #expect(svd < threshold, "svd ratio \(svd): \(line)")
        #expect(gram < threshold, "gram ratio \(gram): \(line)")
    }
}

@Test(arguments: [1, 2, 10, 30, 60, 120])
func randomOrthogonalIsOrthogonalAgainstGSL(order n: Int) throws {
    for seed: UInt64 in [0, 7, 0x2A] {
        let r = try Rotation.make(kind: .random, order: n, seed: seed)
        let (svd, gram) = try ratios(r.matrix, n: n)
        let line = "kind=random n=\(n) seed=0x\(String(seed, radix: 16))"
        #expect(svd < threshold, "svd ratio \(svd): \(line)")
        #expect(gram < threshold, "gram ratio \(gram): \(line)")
        #expect(abs(r.orthogonalityDefect) < 30 * Double(n) * Double.ulpOfOne, "core's own defect: \(line)")
    }
    // Seeded: the same seed gives the same matrix, another seed another.
    #expect(try Rotation.make(kind: .random, order: n, seed: 5) == Rotation.make(kind: .random, order: n, seed: 5))
    if n > 1 { #expect(try Rotation.make(kind: .random, order: n, seed: 5).matrix != Rotation.make(kind: .random, order: n, seed: 6).matrix) }
}

/// The ratios can fail: a Paley matrix without its identity term, and a Hadamard scaled by 1/n instead of 1/√n, are
/// far beyond the threshold; orders without a construction (10 and 30 have no Hadamard matrix) are refused.
@Test func ratiosCatchNonOrthogonalMatrices() throws {
    let n = 60
    let h = try HadamardMatrix.entries(order: n).map(Double.init)
    var noIdentity = h
    for i in 0..<n { noIdentity[i * n + i] -= 1 }
    let a = try ratios(noIdentity.map { $0 / Double(n).squareRoot() }, n: n)
    #expect(a.svd >= threshold && a.gram >= threshold)
    let b = try ratios(h.map { $0 / Double(n) }, n: n)
    #expect(b.svd >= threshold && b.gram >= threshold)
    var flipped = try Rotation.make(kind: .random, order: 10, seed: 1).matrix
    flipped[3] += 1e-12                                   // one entry off by ~5e3 ε
    #expect(try ratios(flipped, n: 10).gram >= threshold)
    for bad in [10, 30, 28, 0] {
        #expect(HadamardMatrix.construction(order: bad) == nil)
        #expect(throws: QuantError.self) { _ = try Rotation.make(kind: .hadamard, order: bad, seed: 0) }
    }
}

/// Randomised signs: two seeds give different matrices, both orthogonal; the row signs are the only difference.
@Test func hadamardSignsAreSeeded() throws {
    let a = try Rotation.make(kind: .hadamard, order: 60, seed: 1), b = try Rotation.make(kind: .hadamard, order: 60, seed: 2)
    #expect(a.matrix != b.matrix)
    for i in 0..<60 {
        let ratio = a.matrix[i * 60] / b.matrix[i * 60]
        for j in 0..<60 { #expect(a.matrix[i * 60 + j] == ratio * b.matrix[i * 60 + j]) }
    }
}
