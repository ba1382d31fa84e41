import CGSL

extension GSL {
    /// Central-difference derivative of f at x with initial step h (gsl_deriv_central: 5-point rule with
    /// Richardson error estimate). Evaluates f at x ± h and x ± h/2 only. Returns GSL's `abserr` estimate too.
    public static func centralDerivative(_ f: @escaping (Double) throws -> Double, at x: Double, step h: Double)
        throws -> (value: Double, abserr: Double) {
        begin()
        guard h > 0, h.isFinite else { throw OracleArgumentError("centralDerivative: step must be > 0") }
        return try withFunction(f) { pf, _ in
            var result = 0.0, abserr = 0.0
            try check(gsl_deriv_central(pf, x, h, &result, &abserr), "gsl_deriv_central")
            return (result, abserr)
        }
    }
}
