import Foundation
import GSLOracle
import HarmoQ

/// T1 — Structural Residual Calibration: is closed form (5) well-typed and does it minimise objective (3)?
/// Independent computation: the vectorised normal equations solved by GSL Cholesky (channel axis) and a GSL
/// Householder-QR least-squares fit of the stacked ridge system (token axis). See Proofs/T1-src-closed-form.md.
public struct T1SRCClosedForm: Checker {
    public init() {}
    public let id = "T1"
    public let title = "SRC closed form (5) vs the true minimiser of objective (3)"
    public var verdict: ClaimVerdict {
        ClaimVerdict(claim: id, status: .refuted,
                     summary: "(5) is well-typed only for k = d and minimises (3) only for H = I; exact minimiser: (Σxx⊗HᵀH + λI)vec δW = −vec(HᵀH·W·Σδx) (eigen form in Proofs/T1)",
                     reproduce: "harmoq verify T1 -v")
    }
    public var legend: [(ratio: String, formula: String)] {
        [("shape", "|rows(δW₅) − m| + |cols(δW₅) − d| for (5) as printed with H k×d (threshold 0.5; 0 = well-typed)"),
         ("oracle-normal-eq", "normal-equation ratio of the GSL Cholesky solution of (Σxx⊗A + λI)vec δW = −vec(A W Σδx), A = HᵀH"),
         ("corrected-normal-eq", "‖A δW Σxx + λδW + A W Σδx‖_F / ((‖A‖‖δW‖‖Σxx‖ + λ‖δW‖ + ‖A‖‖W‖‖Σδx‖)·max(m,d)·ε) for the eigen form"),
         ("corrected-vs-oracle", "‖δW_eig − δW_gsl‖_F / (‖δW_gsl‖_F · κ₁(Σxx⊗A+λI) · md · ε)"),
         ("paper-normal-eq", "the normal-equation ratio for δW₅ (only where (5) is well-typed)"),
         ("paper-excess", "(f(δW₅) − f(δW*)) / (f(δW*)·md·ε), excess = tr(A E Σxx Eᵀ) + λ‖E‖², E = δW₅ − δW*"),
         ("token-*", "token axis: objective ‖(ΔX Wᵀ + X δWᵀ)·H_sᵀ‖² /n + λ‖δW‖², corrected = filtered statistics; oracle = GSL QR of [X̃/√n; √λ I]"),
         ("f-ratio-*", "measured: f(δW)/f(0) for the paper formula and the true minimiser"),
         ("core-*", "the core's StructuralResidualCalibration: exactMinimiser normal-equation and κ-scaled agreement with the GSL oracle; paperFormula vs GSL (k = d) and refusal for k ≠ d (typecheck, 0 = refused); token axis: LayerStatistics + exactMinimiser vs GSL QR (ε_f)"),
         ("core-statistics-quantized", "‖Σ_core − Σ_ref‖_F / (ε_f·‖|X̂|ᵀ|X̂|/n‖_F), LayerStatistics (.quantized regressor): Σxx = E[x̂x̂ᵀ], Σδx = E[(x̂−x)x̂ᵀ] vs Float64 Gram matrices"),
         ("core-covariance-ema", "‖S_core − S_ref‖_F / (‖S_ref‖_F·n·ε_d), CovarianceAccumulator(momentum 0.9, warm-up 200) vs the EMA of batch means in Float64"),
         ("core-calibrator-src", "‖(W_c − W₀·diag(s)) − δW_ref‖_F / (ε_f·(‖W₀·diag(s)‖_F + ‖δW_ref‖_F) + κ·d·ε_d·‖δW_ref‖_F): LayerCalibrator (corrected HSO + SRC) vs GSL QR of [X̂/√n; √(λ+jitter)·I]·δWᵀ = [−ΔWᵀ/√n; 0]"),
         ("core-calibrator-src-bounds", "max relative mismatch (units of ε_f) of the calibrator's weight bounds after SRC vs ±max_j|W_c,ij|"),
         ("second-order", "measured: ‖ΔX·δW*ᵀ‖_F / ‖ΔX·Wᵀ + X·δW*ᵀ‖_F (the neglected δW·δx term vs the kept ones)"),
         ("dW-over-W", "measured: ‖δW*‖_F / ‖W‖_F (H = I)"),
         ("dx-over-x", "measured: ‖ΔX‖_F / ‖X‖_F"),
         ("deployed-error-ratio", "measured: ‖X̂(W+δW*)ᵀ − XWᵀ‖_F / ‖X̂Wᵀ − XWᵀ‖_F (deployed error with vs without the (3)-optimal correction)")]
    }
    public var shippedMutants: [ShippedMutant] {
        [.srcRidgeDropped, .srcSigmaDxTransposed, .srcEigenBackRotationNotTransposed, .srcEigenLambdaDropped,
         .srcPaperFormulaHNotTransposed, .srcPaperFormulaRidgeDropped, .jacobiRotationSignFlipped,
         .choleskyBackSubstitutionTransposed, .statisticsQuantizedRegressorErrorSign, .covarianceEMAWeightsSwapped,
         .calibratorSRCBoundsNotReestimated, .calibratorSRCScaleNotFolded]
    }
    public var mutants: [Mutant] {
        [Mutant("signFlip", "corrected δW with the sign flipped"),
         Mutant("transposedSigmaDx", "Σδxᵀ used in place of Σδx = E[δx xᵀ]"),
         Mutant("lambdaDropped", "λ dropped from the eigen denominators a_i σ_j + λ"),
         Mutant("hNotSquared", "channel axis: sym(H) used in place of A = HᵀH"),
         Mutant("eigenBackRotationTransposed", "back-rotation by V instead of Vᵀ"),
         Mutant("quantizedRegressorInCross", "cross-covariance built as E[δx x̂ᵀ] (x̂ = Q(x)) while the objective uses x"),
         Mutant("paperFormulaReplacedByCorrected", "the 'paper formula' evaluated as the corrected form (a refutation that no longer reproduces)"),
         Mutant("tokenFilterOnDeltaOnly", "token axis: filter applied to δx only (the third-party hybrid) in the corrected form")]
    }

    struct Case { let layer: CheckLayer; let bits: Int }

    public func run(size: CheckSize, seed: UInt64, mutant: Mutant?) throws -> [CheckResult] {
        let mutation = mutant.flatMap { T1Mutation(rawValue: $0.id) }
        let paperIsCorrected = mutant?.id == "paperFormulaReplacedByCorrected"
        let tokenHybrid = mutant?.id == "tokenFilterOnDeltaOnly"
        var out: [CheckResult] = []
        let dims = size == .ci ? [16] : [16, 36, 64]
        let images = size == .ci ? 2 : 4
        for d in dims {
            let layer = CheckLayer(kind: .srLike, d: d, m: d, images: images, grid: 32, seed: seed &+ UInt64(d))
            out += try channelAxis(layer, bits: 2, families: nil, mutation: mutation, paperIsCorrected: paperIsCorrected)
            out += try tokenAxis(layer, bits: 2, mutation: mutation, hybrid: tokenHybrid)
            out += try secondOrder(layer)
            out += try coreSRC(layer, bits: 2)
            out += try corePipeline(layer, bits: 2, seed: seed)
        }
        for kind in [CheckLayer.Kind.illConditioned, .rankDeficient] {
            let layer = CheckLayer(kind: kind, d: 16, m: 16, images: 1, grid: 32, seed: seed &+ 101)
            out += try channelAxis(layer, bits: 2, families: ["identity", "laplacian3x3"], mutation: mutation,
                                   paperIsCorrected: paperIsCorrected)
        }
        return out
    }

    func result(_ ratio: String, _ formula: String, _ v: Double, threshold: Double = Thresholds.scaledRatio,
                        eps: Double = Thresholds.epsDouble, _ params: [(String, String)], _ e: Expectation) -> CheckResult {
        CheckResult(claim: id, ratio: ratio, formula: formula, value: v, threshold: threshold, epsilon: eps,
                    parameters: params, expectation: e)
    }

    /// H on the output channels (k×m).
    func channelAxis(_ layer: CheckLayer, bits: Int, families: [String]?, mutation: T1Mutation?,
                     paperIsCorrected: Bool) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let dx = layer.activationError(bits: bits)
        let stats = SRCStatistics(w: layer.w, x: layer.x, dx: dx)
        // statistics the implementation under test sees (a mutant may corrupt them)
        var implStats = stats
        if mutation == .quantizedRegressorInCross {
            let xq = layer.x + dx
            implStats = SRCStatistics(w: layer.w, x: layer.x, dx: dx, lambda: stats.lambda, regressor: nil)
            implStats = SRCStatistics(w: implStats.w, sxx: implStats.sxx, sdx: Dense.gram(dx, xq, scale: Double(layer.tokens)),
                                      sdd: implStats.sdd, lambda: implStats.lambda)
        }
        let outputCov = Dense.mul(Dense.mul(layer.w, stats.sxx), layer.w.transposed)
        let m = layer.m, d = layer.d
        for fam in try StructuralFilters.channelFamily(m: m, outputCov: outputCov, seed: layer.seed)
        where families == nil || families!.contains(fam.name) {
            let h = fam.h, k = h.rows
            let a = Dense.mul(h.transposed, h)
            var p = layer.parameterText
            p.insert(("k", "\(k)"), at: 2)
            p += [("H", "channel:\(fam.name)"), ("bits", "\(bits)"), ("lambda", fmt(stats.lambda))]
            let isIdentity = fam.name == "identity"
            // (1) well-typedness of (5) as printed (H k×d, acting on Σxx)
            let wellTyped = k == d
            let shapeErr = Double(abs(m - m) + abs(k - d))
            out.append(result("shape", "", shapeErr, threshold: 0.5, eps: 0, p, wellTyped ? .holds : .refutationReproduces))
            // (2) oracle
            let md = m * d
            var oracle: (dW: OracleMatrix, kappa: Double)? = nil
            if md <= 1296 {
                oracle = try SRCSolutions.vectorisedOracle(stats, a: a)
                out.append(result("oracle-normal-eq", "", stats.normalEquationRatio(a, oracle!.dW), p, .holds))
            }
            // (3) corrected eigen form
            var aImpl = a
            if mutation == .hNotSquared, h.rows == h.cols { aImpl = 0.5 * (h + h.transposed) }
            let corrected = try SRCSolutions.corrected(implStats, a: aImpl, mutation: mutation)
            out.append(result("corrected-normal-eq", "", stats.normalEquationRatio(a, corrected), p, .holds))
            if let o = oracle {
                let fwd = (corrected - o.dW).frobeniusNorm / (o.dW.frobeniusNorm * o.kappa * Double(md) * Thresholds.epsDouble)
                out.append(result("corrected-vs-oracle", "", fwd, p + [("kappa", fmt(o.kappa))], .holds))
            }
            let best = try oracle?.dW ?? SRCSolutions.corrected(stats, a: a)
            let f0 = stats.objective(a, OracleMatrix(rows: m, cols: d))
            let fStar = stats.objective(a, best)
            out.append(result("f-ratio-true", "", fStar / f0, threshold: 0, eps: 0, p, .measured))
            // (4) paper formula where well-typed
            if wellTyped {
                let paper = paperIsCorrected ? corrected : try SRCSolutions.paper(stats, h: h)
                let expect: Expectation = isIdentity ? .holds : .refutationReproduces
                out.append(result("paper-normal-eq", "", stats.normalEquationRatio(a, paper), p, expect))
                let ex = stats.excess(a, paper - best) / (fStar * Double(md) * Thresholds.epsDouble)
                out.append(result("paper-excess", "", ex, p, expect))
                out.append(result("f-ratio-paper", "", stats.objective(a, paper) / f0, threshold: 0, eps: 0, p, .measured))
            }
        }
        return out
    }

    /// H_s across the token grid (commutes with the token-wise layer).
    func tokenAxis(_ layer: CheckLayer, bits: Int, mutation: T1Mutation?, hybrid: Bool) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let dx = layer.activationError(bits: bits)
        let n = Double(layer.tokens), m = layer.m, d = layer.d
        for f in StructuralFilters.Token.allCases {
            let xf = StructuralFilters.apply(f, to: layer.x, images: layer.images, grid: layer.grid)
            let dxf = StructuralFilters.apply(f, to: dx, images: layer.images, grid: layer.grid)
            let stats = SRCStatistics(w: layer.w, x: xf, dx: dxf)
            var p = layer.parameterText
            p += [("H", "token:\(f.rawValue)"), ("bits", "\(bits)"), ("lambda", fmt(stats.lambda))]
            // (5) as printed needs H with d columns; H_s has n columns
            out.append(result("token-shape", "", Double(layer.tokens - d), threshold: 0.5, eps: 0, p, .refutationReproduces))
            // corrected: filtered statistics on both sides (A = I)
            var implStats = stats
            if hybrid {
                implStats = SRCStatistics(w: layer.w, sxx: Dense.gram(layer.x, layer.x, scale: n),
                                          sdx: Dense.gram(dxf, layer.x, scale: n), sdd: stats.sdd, lambda: stats.lambda)
            } else if mutation == .transposedSigmaDx || mutation == .signFlip || mutation == .lambdaDropped
                        || mutation == .eigenBackRotationTransposed {
                implStats = stats
            }
            let eye = OracleMatrix.identity(m)
            let corrected = try SRCSolutions.corrected(implStats, a: eye, mutation: hybrid ? nil : mutation)
            out.append(result("token-corrected-normal-eq", "", stats.normalEquationRatio(eye, corrected), p, .holds))
            // oracle: QR least squares of [X̃/√n ; √λ I]·δWᵀ = [−ΔX̃·Wᵀ/√n ; 0]
            var a = OracleMatrix(rows: layer.tokens + d, cols: d)
            var b = OracleMatrix(rows: layer.tokens + d, cols: m)
            let sn = n.squareRoot()
            for t in 0..<layer.tokens { for j in 0..<d { a[t, j] = xf[t, j] / sn } }
            for j in 0..<d { a[layer.tokens + j, j] = stats.lambda.squareRoot() }
            let dxw = Dense.mul(dxf, layer.w.transposed)
            for t in 0..<layer.tokens { for i in 0..<m { b[t, i] = -dxw[t, i] / sn } }
            let qr = try GSL.qrLeastSquares(a, b).transposed
            let g = Dense.addDiagonal(stats.sxx, stats.lambda)
            let kappa = 1 / (try GSL.choleskyRcond(g))
            let fwd = (corrected - qr).frobeniusNorm / (qr.frobeniusNorm * kappa * Double(max(layer.tokens, d)) * Thresholds.epsDouble)
            out.append(result("token-corrected-vs-qr", "", fwd, p + [("kappa", fmt(kappa))], .holds))
            // measured: the third-party hybrid's excess objective
            let hyb = try SRCSolutions.corrected(SRCStatistics(w: layer.w, sxx: Dense.gram(layer.x, layer.x, scale: n),
                                                                sdx: Dense.gram(dxf, layer.x, scale: n), sdd: stats.sdd,
                                                                lambda: stats.lambda), a: eye)
            let f0 = stats.objective(eye, OracleMatrix(rows: m, cols: d))
            out.append(result("f-ratio-true", "", stats.objective(eye, qr) / f0, threshold: 0, eps: 0, p, .measured))
            out.append(result("f-ratio-hybrid", "", stats.objective(eye, hyb) / f0, threshold: 0, eps: 0, p, .measured))
        }
        return out
    }

    /// Measured size of the neglected δW·δx term at the H = I optimum, per activation bit-width.
    func secondOrder(_ layer: CheckLayer) throws -> [CheckResult] {
        var out: [CheckResult] = []
        for bits in [2, 3, 4] {
            let dx = layer.activationError(bits: bits)
            let stats = SRCStatistics(w: layer.w, x: layer.x, dx: dx)
            let dW = try SRCSolutions.corrected(stats, a: .identity(layer.m))
            let kept = Dense.mul(dx, layer.w.transposed) + Dense.mul(layer.x, dW.transposed)
            let neglected = Dense.mul(dx, dW.transposed)
            var p = layer.parameterText
            p += [("H", "channel:identity"), ("bits", "\(bits)")]
            out.append(result("second-order", "", neglected.frobeniusNorm / kept.frobeniusNorm, threshold: 0, eps: 0, p, .measured))
            out.append(result("dW-over-W", "", dW.frobeniusNorm / layer.w.frobeniusNorm, threshold: 0, eps: 0, p, .measured))
            out.append(result("dx-over-x", "", dx.frobeniusNorm / layer.x.frobeniusNorm, threshold: 0, eps: 0, p, .measured))
            // deployment: ‖X̂(W+δW)ᵀ − XWᵀ‖ / ‖X̂Wᵀ − XWᵀ‖ for the (3)-optimal δW (x regressor)
            let xq = layer.x + dx
            let base = Dense.mul(layer.x, layer.w.transposed)
            let noCorr = (Dense.mul(xq, layer.w.transposed) - base).frobeniusNorm
            let withCorr = (Dense.mul(xq, (layer.w + dW).transposed) - base).frobeniusNorm
            out.append(result("deployed-error-ratio", "", withCorr / noCorr, threshold: 0, eps: 0, p, .measured))
        }
        return out
    }
}

extension SRCStatistics {
    init(w: OracleMatrix, sxx: OracleMatrix, sdx: OracleMatrix, sdd: OracleMatrix, lambda: Double) {
        self.w = w; self.sxx = sxx; self.sdx = sdx; self.sdd = sdd; self.lambda = lambda
    }
}
