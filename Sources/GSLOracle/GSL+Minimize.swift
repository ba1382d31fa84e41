import CGSL

extension GSL {
    /// Result of a bracketed 1-D minimisation.
    public struct Minimum: Sendable {
        public let x: Double
        public let fx: Double
        public let lower: Double
        public let upper: Double
        public let iterations: Int
    }

    /// Minimises f on [lower, upper] with gsl_min_fminimizer_brent from `guess` (which must satisfy
    /// f(guess) < f(lower), f(guess) < f(upper)); stops when gsl_min_test_interval(epsAbs, epsRel) succeeds.
    public static func minimizeBrent(_ f: @escaping (Double) throws -> Double, lower: Double, upper: Double, guess: Double,
                                     epsAbs: Double = 0, epsRel: Double = 1e-10, maxIterations: Int = 500) throws -> Minimum {
        begin()
        guard lower < guess, guess < upper else { throw OracleArgumentError("minimizeBrent: need lower < guess < upper") }
        return try withFunction(f) { pf, _ in
            guard let s = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent) else {
                throw GSLError(code: Int32(GSL_ENOMEM), function: "gsl_min_fminimizer_alloc")
            }
            defer { gsl_min_fminimizer_free(s) }
            try check(gsl_min_fminimizer_set(s, pf, guess, lower, upper), "gsl_min_fminimizer_set")
            var it = 0
            while it < maxIterations {
                it += 1
                try check(gsl_min_fminimizer_iterate(s), "gsl_min_fminimizer_iterate")
                let a = gsl_min_fminimizer_x_lower(s), b = gsl_min_fminimizer_x_upper(s)
                let rc = gsl_min_test_interval(a, b, epsAbs, epsRel)
                if rc == Int32(GSL_SUCCESS) { break }
                if rc != Int32(GSL_CONTINUE) { try check(rc, "gsl_min_test_interval") }
            }
            if it >= maxIterations { throw GSLError(code: Int32(GSL_EMAXITER), function: "gsl_min_fminimizer_brent") }
            return Minimum(x: gsl_min_fminimizer_x_minimum(s), fx: gsl_min_fminimizer_f_minimum(s),
                           lower: gsl_min_fminimizer_x_lower(s), upper: gsl_min_fminimizer_x_upper(s), iterations: it)
        }
    }
}
