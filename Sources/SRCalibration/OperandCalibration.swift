import HarmoQ

/// Bounds for an activation-only (matmul operand) site from its pooled samples.
///
/// SRC, HSO and ABR are defined for linear layers; on operand sites the paper-literal HarmoQ keeps its MinMax
/// initialisation and the corrected one uses the MSE search. Baselines use their own observer (DOBI and the
/// 2DQuant scheme per-tensor affine, the others symmetric).
enum OperandCalibration {
    /// Affine grids take the method's zero point (`CalibrationMethod.zeroPoint`; `.integer`: the observers search among
    /// integer-zero-point grids).
    static func bounds(method: CalibrationMethod, bits: Int, sample: [Float], exactMin: Float, exactMax: Float,
                       rounding: Rounding) throws -> (lower: Float, upper: Float, scheme: QuantScheme) {
        let iz = method.zeroPoint == .integer
        let sym = Observer.symmetrise((exactMin, exactMax))
        let exact = Observer.widen(exactMin, exactMax)
        switch method {
        case .minMax: return (sym.0, sym.1, .symmetric)
        case .harmoq(let c) where c.variant == .paperLiteral: return (sym.0, sym.1, .symmetric)
        case .percentile(let p): let b = Observer.symmetrise(try Observer.percentile(sample, p)); return (b.0, b.1, .symmetric)
        case .harmoq(let c) where c.activationScheme == .affine:
            guard exactMin < exactMax else { return (exact.0, exact.1, .affine) }
            let b = try Observer.mseSearch(sample + [exactMin, exactMax], bits: bits, scheme: .affine, rounding: rounding,
                                           integerZeroPoint: iz)
            return (b.0, b.1, .affine)
        case .mseSearch, .harmoq:
            let b = try Observer.mseSearch(sample + [exactMin, exactMax], bits: bits, scheme: .symmetric, rounding: rounding)
            return (b.0, b.1, .symmetric)
        case .dobi(let one, _):
            let b = try Observer.dobi(sample + [exactMin, exactMax], bits: bits, scheme: .affine, oneDirection: one, rounding: rounding,
                                      integerZeroPoint: iz)
            return (b.0, b.1, .affine)
        case .twoDQuantScheme:
            return (exact.0, exact.1, .affine)
        }
    }
}
