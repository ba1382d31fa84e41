import HarmoQ
import PropertyBased
import Testing

/// Random SPD-ish statistics for SRC: Σxx = E[xxᵀ], Σδx = E[δx xᵀ], Σδδ from n samples of (x, δx).
func randomMoments(m: Int, d: Int, n: Int, seed: UInt64) -> (w: DMatrix, sxx: DMatrix, sdx: DMatrix, sdd: DMatrix) {
    var rng = SplitMix64(seed: seed)
    let w = DMatrix(rows: m, cols: d, data: (0..<(m * d)).map { _ in rng.nextGaussian() })
    var sxx = DMatrix(zeros: d, d), sdx = DMatrix(zeros: d, d), sdd = DMatrix(zeros: d, d)
    for _ in 0..<n {
        let x = (0..<d).map { _ in rng.nextGaussian() * 2 }
        let dx = x.map { 0.1 * $0 + 0.05 * rng.nextGaussian() }  // correlated error
        for a in 0..<d { for b in 0..<d {
            sxx[a, b] += x[a] * x[b] / Double(n); sdx[a, b] += dx[a] * x[b] / Double(n); sdd[a, b] += dx[a] * dx[b] / Double(n)
        } }
    }
    return (w, sxx, sdx, sdd)
}

/// ∂L/∂δW of objective (3) at δW: 2(A W Σδx + A δW Σxx + λ δW).
func srcGradient(_ w: DMatrix, _ dW: DMatrix, _ sxx: DMatrix, _ sdx: DMatrix, _ h: DMatrix?, _ lambda: Double) -> DMatrix {
    let a = h.map { $0.transposed * $0 } ?? DMatrix.identity(w.rows)
    return 2.0 * (a * (w * sdx) + a * (dW * sxx) + lambda * dW)
}

@Test(arguments: [ProjectionKind.identity, .laplacian, .sobel, .dctHighPass, .random])
func exactMinimiserSolvesNormalEquations(kind: ProjectionKind) throws {
    let (w, sxx, sdx, _) = randomMoments(m: 7, d: 5, n: 50, seed: 3)
    let h: DMatrix? = kind == .identity ? nil : try StructuralProjection.channelMatrix(kind, channels: 7, rank: 3, seed: 9)
    let dW = try StructuralResidualCalibration.exactMinimiser(weight: w, sigmaXX: sxx, sigmaDeltaX: sdx, projection: h, lambda: 1e-2)
    let g = srcGradient(w, dW, sxx, sdx, h, 1e-2)
    let scale = srcGradient(w, DMatrix(zeros: 7, 5), sxx, sdx, h, 1e-2).frobeniusNorm
    #expect(g.frobeniusNorm <= 1e-9 * scale, "normal-equation residual \(g.frobeniusNorm) vs gradient at 0: \(scale)")
}

@Test func exactMinimiserBeatsPerturbations() async {
    await propertyCheck(count: 40, input: Gen.int(in: 0...1_000_000)) { s in
        let seed = UInt64(s)
        let (w, sxx, sdx, sdd) = randomMoments(m: 6, d: 6, n: 30, seed: seed)
        let h = try! StructuralProjection.channelMatrix(.laplacian, channels: 6)
        let best = try! StructuralResidualCalibration.exactMinimiser(weight: w, sigmaXX: sxx, sigmaDeltaX: sdx, projection: h, lambda: 1e-2)
        var rng = SplitMix64(seed: seed ^ 0xabc)
        let pert = DMatrix(rows: 6, cols: 6, data: (0..<36).map { _ in rng.nextGaussian() * 1e-2 })
        let f0 = StructuralResidualCalibration.objective(weight: w, deltaW: best, sigmaXX: sxx, sigmaDeltaX: sdx, sigmaDeltaDelta: sdd, projection: h, lambda: 1e-2)
        let f1 = StructuralResidualCalibration.objective(weight: w, deltaW: best + pert, sigmaXX: sxx, sigmaDeltaX: sdx, sigmaDeltaDelta: sdd, projection: h, lambda: 1e-2)
        #expect(f0 <= f1)
    }
}

@Test func paperFormulaEqualsExactForIdentityAndDiffersForLaplacian() throws {
    let (w, sxx, sdx, sdd) = randomMoments(m: 6, d: 6, n: 40, seed: 11)
    let id = DMatrix.identity(6)
    let exact = try StructuralResidualCalibration.exactMinimiser(weight: w, sigmaXX: sxx, sigmaDeltaX: sdx, projection: nil, lambda: 1e-2)
    let printed = try StructuralResidualCalibration.paperFormula(weight: w, sigmaXX: sxx, sigmaDeltaX: sdx, projection: id, lambda: 1e-2)
    #expect((exact - printed).frobeniusNorm <= 1e-10 * exact.frobeniusNorm)
    let lap = try StructuralProjection.channelMatrix(.laplacian, channels: 6)
    let exactL = try StructuralResidualCalibration.exactMinimiser(weight: w, sigmaXX: sxx, sigmaDeltaX: sdx, projection: lap, lambda: 1e-2)
    let printedL = try StructuralResidualCalibration.paperFormula(weight: w, sigmaXX: sxx, sigmaDeltaX: sdx, projection: lap, lambda: 1e-2)
    let fE = StructuralResidualCalibration.objective(weight: w, deltaW: exactL, sigmaXX: sxx, sigmaDeltaX: sdx, sigmaDeltaDelta: sdd, projection: lap, lambda: 1e-2)
    let fP = StructuralResidualCalibration.objective(weight: w, deltaW: printedL, sigmaXX: sxx, sigmaDeltaX: sdx, sigmaDeltaDelta: sdd, projection: lap, lambda: 1e-2)
    #expect(fE < fP, "exact \(fE) should beat the printed formula \(fP) for a Laplacian H")
}

@Test func paperFormulaRejectsIllTypedShapes() throws {
    let (w, sxx, sdx, _) = randomMoments(m: 4, d: 6, n: 10, seed: 1)
    let h = try StructuralProjection.channelMatrix(.random, channels: 6, rank: 3, seed: 2)   // 3×6: k ≠ d
    #expect(throws: QuantError.self) {
        _ = try StructuralResidualCalibration.paperFormula(weight: w, sigmaXX: sxx, sigmaDeltaX: sdx, projection: h, lambda: 1e-2)
    }
    #expect(throws: QuantError.self) {
        _ = try StructuralResidualCalibration.exactMinimiser(weight: w, sigmaXX: sxx, sigmaDeltaX: sdx, projection: h, lambda: 1e-2)
    }
}

@Test func symmetricEigenReconstructs() throws {
    let (_, sxx, _, _) = randomMoments(m: 1, d: 9, n: 20, seed: 5)
    let (vals, vecs) = try SymmetricEigen.decompose(sxx.data, n: 9)
    let v = DMatrix(rows: 9, cols: 9, data: vecs)
    var dg = DMatrix(zeros: 9, 9)
    for i in 0..<9 { dg[i, i] = vals[i] }
    #expect((v * dg * v.transposed - sxx).frobeniusNorm <= 1e-12 * sxx.frobeniusNorm)
    #expect((v.transposed * v - DMatrix.identity(9)).frobeniusNorm <= 1e-12)
}
