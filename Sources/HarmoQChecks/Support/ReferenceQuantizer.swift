/// Float64 quantizer with the same specification as the core's (`Quantizer`), written independently for
/// formula-level checks (T1, T2) and finite differences (T3). Rounding: half to even.
struct ReferenceQuantizer {
    enum Scheme { case symmetric, affine }
    var bits: Int
    var lower: Double
    var upper: Double
    var scheme: Scheme = .symmetric
    /// Number of steps N = 2^b − 1 (the paper's Δ denominator). A mutant may change it.
    var steps: Double { Double((1 << bits) - 1) }
    var step: Double { (upper - lower) / steps }
    var codeMin: Double { scheme == .symmetric ? -Double(1 << (bits - 1)) : 0 }
    var codeMax: Double { scheme == .symmetric ? Double(1 << (bits - 1)) - 1 : Double((1 << bits) - 1) }

    /// Unrounded grid coordinate v.
    func coordinate(_ x: Double) -> Double {
        switch scheme {
        case .symmetric: return x / step
        case .affine: return (min(max(x, lower), upper) - lower) / step
        }
    }
    func code(_ x: Double) -> Double { min(max(coordinate(x).rounded(.toNearestOrEven), codeMin), codeMax) }
    func fakeQuant(_ x: Double) -> Double {
        switch scheme {
        case .symmetric: return code(x) * step
        case .affine: return code(x) * step + lower
        }
    }
}
