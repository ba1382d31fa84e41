import Testing
import HarmoQ

func maxDiff(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite("Core solvers and statistics")
struct SolverTests {
    static func randomSPD(_ n: Int, seed: UInt64) -> DMatrix {
        var rng = SplitMix64(seed: seed)
        let g = DMatrix(rows: n, cols: n, data: (0..<(n * n)).map { _ in rng.nextUniform() - 0.5 })
        var a = g * g.transposed
        for i in 0..<n { a[i, i] += 0.5 }
        return a
    }

    /// Hand-worked 2×2: A = [[4, 2], [2, 3]], b = [2, 1] → x = [0.5, 0].
    @Test func choleskyTwoByTwo() throws {
        let a = DMatrix(rows: 2, cols: 2, data: [4, 2, 2, 3])
        let (x, cert) = try Cholesky.solve(a, DMatrix(rows: 2, cols: 1, data: [2, 1]))
        #expect(abs(x[0, 0] - 0.5) < 1e-15 && abs(x[1, 0]) < 1e-15)
        #expect(cert.choleskySucceeded && cert.escalations == 0 && cert.jitterUsed == 0)
        let l = try #require(Cholesky.factor(a))
        #expect(l[0, 0] == 2 && l[1, 0] == 1 && abs(l[1, 1] - 2.0.squareRoot()) < 1e-15)
    }

    @Test func scaledResidualSmallOnRandomSPD() throws {
        for (n, seed) in [(1, 1), (5, 2), (30, 3), (60, 4)] as [(Int, UInt64)] {
            let a = Self.randomSPD(n, seed: seed)
            let b = DMatrix(rows: n, cols: 3, data: (0..<(3 * n)).map { Double($0 % 7) - 3 })
            let (_, cert) = try Cholesky.solve(a, b)
            #expect(cert.scaledResidual < 30, "n=\(n) seed=\(seed) ratio=\(cert.scaledResidual)")
        }
    }

    @Test func singularMatrixEscalatesJitterAndSaysSo() throws {
        let a = DMatrix(rows: 2, cols: 2, data: [1, 1, 1, 1])   // rank 1
        let (_, cert) = try Cholesky.solve(a, DMatrix(rows: 2, cols: 1, data: [1, 1]))
        #expect(cert.escalations > 0 || cert.jitterUsed > 0)
        #expect(cert.reciprocalConditionEstimate < 1e-6)
    }

    @Test func badInputsThrow() {
        #expect(throws: QuantError.self) { try Cholesky.solve(DMatrix(zeros: 2, 3), DMatrix(zeros: 2, 1)) }
        #expect(throws: QuantError.self) { try Cholesky.solve(DMatrix(rows: 1, cols: 1, data: [.nan]), DMatrix(zeros: 1, 1)) }
        #expect(throws: QuantError.self) { try Cholesky.solve(DMatrix(rows: 1, cols: 1, data: [-1]), DMatrix(zeros: 1, 1)) }
    }

    /// Plain averaging over batches equals the one-shot average; Σδx uses δx = Q(x) − x as the row factor.
    @Test func covarianceAccumulatorAverages() throws {
        var acc = try CovarianceAccumulator(dimension: 2)
        try acc.add(x: [1, 2], quantized: [1, 3], rows: 1)        // δx = (0, 1)
        try acc.add(x: [3, 4, 5, 6], quantized: [3, 4, 4, 6], rows: 2)  // δx = (0,0), (−1, 0)
        // E[xxᵀ] = ([1,2;2,4] + [9,12;12,16] + [25,30;30,36]) / 3
        let xxExpected: [Double] = [35.0 / 3, 44.0 / 3, 44.0 / 3, 56.0 / 3]
        #expect(maxDiff(acc.secondMoment.data, xxExpected) < 1e-13)
        // E[δx xᵀ] = ([0,0;1,2] + 0 + [−5,−6;0,0]) / 3
        let dxExpected: [Double] = [-5.0 / 3, -2.0, 1.0 / 3, 2.0 / 3]
        #expect(maxDiff(acc.errorCrossMoment.data, dxExpected) < 1e-13)
        #expect(acc.samples == 3)
    }

    @Test func covarianceMomentumAfterWarmup() throws {
        var acc = try CovarianceAccumulator(dimension: 1, momentum: 0.9, warmup: 2)
        try acc.add(x: [1, 1], quantized: nil, rows: 2)   // warm-up: mean 1
        try acc.add(x: [11], quantized: nil, rows: 1)     // 0.9·1 + 0.1·121 = 13
        #expect(abs(acc.secondMoment[0, 0] - 13) < 1e-12)
        #expect(throws: QuantError.self) { try CovarianceAccumulator(dimension: 1, momentum: 1) }
    }
}
