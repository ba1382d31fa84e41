/// Calibrates one linear site with a `CalibrationMethod`: the per-layer part of Algorithm 1 and the baselines.
///
/// HarmoQ order per layer: θ ← MinMax; [HSO]; [SRC, then weight bounds re-estimated by MinMax on W_c];
/// [ABR on the refinement rows]. The corrected variant runs HSO before SRC because its per-channel scales change
/// δx, which SRC compensates; the literal variant follows the paper's order (SRC, then scalar HSO — which, applied to
/// tensors and bounds alike, cannot change the result either way).
public enum LayerCalibrator {
    /// The zero point of affine grids is the method's (`CalibrationMethod.zeroPoint`).
    public static func calibrate(_ p: LayerProblem, method: CalibrationMethod, weightBits: Int, activationBits: Int,
                                 seed: UInt64 = 0) throws -> LayerCalibrationResult {
        var config: HarmoQConfig
        if case .harmoq(let c) = method { config = c } else { config = HarmoQConfig() }
        config.weightBits = weightBits
        config.activationBits = activationBits
        config.seed = seed
        try config.validate()
        let evalRows = p.rowSubset(config.refinementRows, seed: seed)
        let raw = p.gather(evalRows)
        var initial = try BaselineCalibration.calibrate(p, method: .minMax, weightBits: weightBits, activationBits: activationBits,
                                                        rounding: config.rounding, seed: seed)
        // `before` is always the MinMax baseline (symmetric, as `--method minmax`) on these rows, so before/after
        // compares HarmoQ with MinMax on identical inputs; the affine variant then starts from affine MinMax bounds.
        let before = try losses(initial, rawRows: raw, rows: evalRows.count, original: p.weight)
        if case .harmoq = method, config.activationScheme == .affine {
            initial.activationScheme = .affine
            initial.activationIntegerZeroPoint = config.zeroPoint == .integer ? true : nil
            (initial.activationLower, initial.activationUpper) = try activationMinMax(p.samples)
        }
        guard case .harmoq = method else {
            let q = try BaselineCalibration.calibrate(p, method: method, weightBits: weightBits, activationBits: activationBits,
                                                      rounding: config.rounding, seed: seed)
            return LayerCalibrationResult(method: method.name, quantization: q, before: before,
                                          after: try losses(q, rawRows: raw, rows: evalRows.count, original: p.weight),
                                          trace: nil, srcCorrectionNorm: 0)
        }
        var q = initial
        var srcNorm = 0.0
        var certificate: SolveCertificate?
        let literal = config.variant == .paperLiteral
        if literal {
            if config.useSRC { (srcNorm, certificate) = try applySRC(&q, problem: p, config: config, reestimateWeightBounds: true) }
            if config.useHSO { try AdaptiveBoundaryRefinement.rebalance(&q, config: config) }
        } else {
            if config.useHSO { try applyPerChannelHSO(&q, problem: p, config: config) }
            if config.useSRC { (srcNorm, certificate) = try applySRC(&q, problem: p, config: config, reestimateWeightBounds: true) }
        }
        var trace: RefinementTrace?
        if config.useABR {
            let loss = CompoundLoss(kind: config.refinementLoss, rawInputs: raw, rows: evalRows.count,
                                    originalWeight: p.weight, outputs: p.outputs, inputs: p.inputs)
            var reapply: ((inout LayerQuantization) throws -> Void)?
            if config.useSRC {
                let cfg = config
                reapply = { qq in _ = try applySRC(&qq, problem: p, config: cfg, reestimateWeightBounds: false) }
            }
            var ctx = AdaptiveBoundaryRefinement.Context(rawRows: raw, loss: loss, reapplySRC: reapply)
            trace = try AdaptiveBoundaryRefinement.run(&q, context: &ctx, config: config)
        }
        return LayerCalibrationResult(method: method.name, quantization: q, before: before,
                                      after: try losses(q, rawRows: raw, rows: evalRows.count, original: p.weight),
                                      trace: trace, srcCorrectionNorm: srcNorm, srcCertificate: certificate)
    }

    /// Both L_total forms of `q` on the given raw rows.
    public static func losses(_ q: LayerQuantization, rawRows: [Float], rows n: Int, original w0: [Float]) throws -> LayerLosses {
        var dep = CompoundLoss(kind: .deployment, rawInputs: rawRows, rows: n, originalWeight: w0, outputs: q.outputs, inputs: q.inputs)
        dep.prepare(rawInputs: rawRows, inputScale: q.inputScale, weight: q.weight)
        var lin = CompoundLoss(kind: .linearised, rawInputs: rawRows, rows: n, originalWeight: w0, outputs: q.outputs, inputs: q.inputs)
        lin.prepare(rawInputs: rawRows, inputScale: q.inputScale, weight: q.weight)
        return LayerLosses(deployment: try dep.evaluate(q, mode: .ste, gradient: false).loss,
                           linearised: try lin.evaluate(q, mode: .ste, gradient: false).loss)
    }

    /// Corrected HSO: per-input-channel scales, W₀ → W₀·diag(s), x → x ⊘ s, bounds re-estimated by MinMax.
    static func applyPerChannelHSO(_ q: inout LayerQuantization, problem p: LayerProblem, config c: HarmoQConfig) throws {
        let s = HarmonizedScale.perChannelScales(inputs: p.samples, rows: p.rows, weight: p.weight, outputs: p.outputs,
                                                 dimension: p.inputs, weightBits: c.weightBits, activationBits: c.activationBits,
                                                 minScale: c.scaleMin, maxScale: c.scaleMax)
        let d = p.inputs
        q.inputScale = s
        for i in 0..<p.outputs { for j in 0..<d { q.weight[i * d + j] = p.weight[i * d + j] * s[j] } }
        if ShippedMutant.active == .hsoPerChannelBoundsNotReestimated { return }
        try reestimateWeightBounds(&q)
        var xs = p.samples
        for i in 0..<xs.count { xs[i] /= s[i % d] }
        (q.activationLower, q.activationUpper) = q.activationScheme == .affine ? try activationMinMax(xs) : try Observer.absMax(xs)
    }

    /// MinMax bounds for an affine activation quantizer, widened when the input is constant so that α < β.
    static func activationMinMax(_ xs: [Float]) throws -> (Float, Float) {
        try Observer.minMax(xs)
    }

    static func reestimateWeightBounds(_ q: inout LayerQuantization) throws {
        let d = q.inputs
        for i in 0..<q.outputs { (q.weightLower[i], q.weightUpper[i]) = try Observer.absMax(Array(q.weight[(i * d)..<((i + 1) * d)])) }
    }

    /// SRC on the current scaled problem: W_c = W₀·diag(s) + δW with δW from formula (5) (literal) or the exact
    /// minimiser (corrected), using δx = Q(x ⊘ s) − x ⊘ s at the current activation bounds. Returns ‖δW‖_F and the
    /// certificate of the linear solve (nil for the eigen form, which has none).
    @discardableResult
    static func applySRC(_ q: inout LayerQuantization, problem p: LayerProblem, config c: HarmoQConfig,
                         reestimateWeightBounds reest: Bool) throws -> (Double, SolveCertificate?) {
        let m = p.outputs, d = p.inputs, n = p.rows
        let mutant = ShippedMutant.active
        let s = q.inputScale ?? [Float](repeating: 1, count: d)
        var base = p.weight
        if mutant != .calibratorSRCScaleNotFolded { for i in 0..<m { for j in 0..<d { base[i * d + j] *= s[j] } } }
        var xs = p.samples
        for i in 0..<xs.count { xs[i] /= s[i % d] }
        let aq = try q.activationQuantizer()
        let xq = xs.map { aq.fakeQuant($0) }
        let momentum: Double? = c.covarianceMomentum > 0 ? c.covarianceMomentum : nil
        let wD = DMatrix(rows: m, cols: d, data: base.map(Double.init))
        let dW: DMatrix
        var certificate: SolveCertificate?
        if c.projectionAxis == .tokens && c.projection != .identity {
            guard c.variant == .corrected else {
                throw QuantError("SRC formula (5) is ill-typed for a token-axis H (H would multiply the \(d)×\(d) channel covariance); use --projection-axis channels for the literal variant")
            }
            let (sxx, sdx) = try LayerStatistics.moments(x: xs, xq: xq, rows: n, dimension: d, regressor: c.srcRegressor,
                                                         tokenProjection: c.projection, grid: p.grid, momentum: momentum, warmup: c.covarianceWarmup)
            (dW, certificate) = try StructuralResidualCalibration.certifiedExactMinimiser(weight: wD, sigmaXX: sxx, sigmaDeltaX: sdx, projection: nil,
                                                                                          lambda: c.lambda, jitter: c.choleskyJitter)
        } else {
            let (sxx, sdx) = try LayerStatistics.moments(x: xs, xq: xq, rows: n, dimension: d, regressor: c.srcRegressor,
                                                         tokenProjection: nil, grid: p.grid, momentum: momentum, warmup: c.covarianceWarmup)
            var residualCov: DMatrix?
            if c.projection == .learned {
                // E[r rᵀ] of the structural residual r = W δx (m×m).
                var delta = xq
                for i in 0..<delta.count { delta[i] -= xs[i] }
                let r = DenseKernels.matmulABt(delta, base, n: n, d: d, m: m)
                let rr = DenseKernels.matmulAtB(r, r, n: n, m: m, d: m)
                residualCov = DMatrix(rows: m, cols: m, data: rr.map { $0 / Double(n) })
            }
            if c.variant == .paperLiteral {
                let h = try StructuralProjection.channelMatrix(c.projection, channels: c.projection == .learned ? m : d,
                                                               rank: c.projectionRank, seed: c.projectionSeed, residualCovariance: residualCov)
                let r = try StructuralResidualCalibration.certifiedPaperFormula(weight: wD, sigmaXX: sxx, sigmaDeltaX: sdx, projection: h,
                                                                                lambda: c.lambda, jitter: c.choleskyJitter)
                (dW, certificate) = (r.deltaW, r.certificate)
            } else {
                let h: DMatrix? = c.projection == .identity ? nil
                    : try StructuralProjection.channelMatrix(c.projection, channels: m, rank: c.projectionRank,
                                                             seed: c.projectionSeed, residualCovariance: residualCov)
                (dW, certificate) = try StructuralResidualCalibration.certifiedExactMinimiser(weight: wD, sigmaXX: sxx, sigmaDeltaX: sdx, projection: h,
                                                                                              lambda: c.lambda, jitter: c.choleskyJitter)
            }
        }
        for i in 0..<(m * d) { q.weight[i] = base[i] + Float(dW.data[i]) }
        if reest && mutant != .calibratorSRCBoundsNotReestimated { try reestimateWeightBounds(&q) }
        return (dW.frobeniusNorm, certificate)
    }
}
