/// The one place thresholds live; each is copied into the Proofs/ document that uses it.
public enum Thresholds {
    /// LAPACK's default (dtest.in) for every ε-scaled residual ratio.
    public static let scaledRatio = 30.0
    /// ε used by Float64 ratios: Swift's Double.ulpOfOne = 2.22e-16 (twice LAPACK's unit roundoff).
    public static let epsDouble = Double.ulpOfOne
    /// ε used by ratios on Float32 results: Float.ulpOfOne = 1.19e-7.
    public static let epsFloat = Double(Float.ulpOfOne)
    /// T5: a claimed exponent must lie within the fitted slope's 95% confidence interval widened by this margin.
    public static let exponentMargin = 0.1
}
