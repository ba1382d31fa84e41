import CGSL

extension GSL {
    /// Ordinary least-squares line y = c0 + c1·x (gsl_fit_linear) with the covariance of the coefficients and a
    /// two-sided confidence interval for the slope from Student's t (gsl_cdf_tdist_Pinv, n − 2 dof).
    public struct LinearFit: Sendable, Codable {
        public let intercept: Double
        public let slope: Double
        public let cov00: Double, cov01: Double, cov11: Double
        public let sumSquares: Double
        public let points: Int
        public let confidence: Double
        /// Half-width of the slope's confidence interval.
        public let slopeHalfWidth: Double
        public var slopeInterval: ClosedRange<Double> { (slope - slopeHalfWidth)...(slope + slopeHalfWidth) }
        /// Coefficient of determination.
        public let rSquared: Double
    }

    public static func linearFit(x: [Double], y: [Double], confidence: Double = 0.95) throws -> LinearFit {
        begin()
        guard x.count == y.count, x.count >= 3 else { throw OracleArgumentError("linearFit: need ≥ 3 paired points") }
        var c0 = 0.0, c1 = 0.0, c00 = 0.0, c01 = 0.0, c11 = 0.0, ss = 0.0
        let n = x.count
        try x.withUnsafeBufferPointer { px in try y.withUnsafeBufferPointer { py in
            try check(gsl_fit_linear(px.baseAddress, 1, py.baseAddress, 1, n, &c0, &c1, &c00, &c01, &c11, &ss), "gsl_fit_linear")
        } }
        let t = gsl_cdf_tdist_Pinv(0.5 + confidence / 2, Double(n - 2))
        let mean = y.reduce(0, +) / Double(n)
        let tss = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return LinearFit(intercept: c0, slope: c1, cov00: c00, cov01: c01, cov11: c11, sumSquares: ss, points: n,
                         confidence: confidence, slopeHalfWidth: t * c11.squareRoot(),
                         rSquared: tss > 0 ? 1 - ss / tss : 1)
    }
}
