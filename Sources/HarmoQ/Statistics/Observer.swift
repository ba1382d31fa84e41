/// Range observers: each returns clipping bounds (lower, upper) for a tensor.
///
/// All reject empty input and NaN/Inf with a `QuantError` naming the problem. A constant tensor
/// (min == max) gets bounds widened to [v − 0.005, v + 0.005] around it (the paper's 0.01 margin) so
/// a quantizer can always be built.
public enum Observer {
    static func check(_ x: [Float], _ what: String) throws {
        guard !x.isEmpty else { throw QuantError("\(what): empty tensor") }
        try Quantizer.validate(x, what: what)
    }

    /// The one rule for a degenerate range: (lo, hi) when lo < hi, else widened to [lo − 0.005, hi + 0.005].
    public static func widen(_ lo: Float, _ hi: Float) -> (Float, Float) {
        lo < hi ? (lo, hi) : (lo - 0.005, hi + 0.005)
    }

    /// Symmetric bounds (−a, a) with a = max(|lo|, |hi|); (−0.005, 0.005) when a = 0.
    public static func symmetrise(_ b: (Float, Float)) -> (Float, Float) {
        let a = Swift.max(abs(b.0), abs(b.1))
        return a > 0 ? (-a, a) : (-0.005, 0.005)
    }

    /// (min x, max x).
    public static func minMax(_ x: [Float]) throws -> (Float, Float) {
        try check(x, "minMax")
        var lo = x[0], hi = x[0]
        for v in x { lo = Swift.min(lo, v); hi = Swift.max(hi, v) }
        if _slowPath(ShippedMutant.active == .observerMinMaxSwapped) { return widen(hi, lo) }
        return widen(lo, hi)
    }

    /// Symmetric MinMax: (−max|x|, max|x|).
    public static func absMax(_ x: [Float]) throws -> (Float, Float) {
        let (lo, hi) = try minMax(x)
        if ShippedMutant.active == .observerAbsMaxUsesSmaller { let m = Swift.min(abs(lo), abs(hi)); return symmetrise((m, m)) }
        return symmetrise((lo, hi))
    }

    /// Lower and upper percentiles: the `100−p`-th and `p`-th percentile (p in (50, 100], e.g. 99.99),
    /// by sorting and linear interpolation between order statistics (NumPy's default "linear" method).
    public static func percentile(_ x: [Float], _ p: Double) throws -> (Float, Float) {
        try check(x, "percentile")
        guard p > 50, p <= 100 else { throw QuantError("percentile p must be in (50, 100], got \(p)") }
        let s = x.sorted()
        let offByOne = ShippedMutant.active == .observerPercentileIndexOffByOne
        func at(_ q: Double) -> Float {
            let pos = q / 100 * Double(offByOne ? s.count : s.count - 1)
            let i = Int(pos.rounded(.down))
            let f = Float(pos - Double(i))
            if i >= s.count { return s[s.count - 1] }
            return i + 1 < s.count ? s[i] + f * (s[i + 1] - s[i]) : s[i]
        }
        return widen(at(100 - p), at(p))
    }

    /// Quantization error ‖x − Q(x)‖² for bounds (lo, hi); +∞ when the bounds are not a valid quantizer.
    public static func quantError(_ x: [Float], lower: Float, upper: Float, bits: Int,
                                  scheme: QuantScheme, rounding: Rounding = .halfToEven, integerZeroPoint: Bool = false) -> Double {
        guard let q = try? Quantizer(bits: bits, lower: lower, upper: upper, scheme: scheme, rounding: rounding,
                                     integerZeroPoint: integerZeroPoint) else {
            return .infinity
        }
        var e = 0.0
        for v in x { let d = Double(q.fakeQuant(v) - v); e += d * d }
        return e
    }

    /// DOBI (2DQuant stage 1, `quant_arch.py`): `candidates` candidate ranges from MinMax, keep the one with the
    /// smallest ‖x − Q(x)‖ (strict `<`: ties keep the earliest, widest candidate).
    /// - two-sided (code-faithful default): δ = (max−min)/(2·candidates), lb = min + iδ, ub = max − iδ;
    /// - one-direction: δ = (max−min)/candidates, lb = min, ub = max − iδ.
    public static func dobi(_ x: [Float], bits: Int, scheme: QuantScheme = .affine, candidates: Int = 100,
                            oneDirection: Bool = false, rounding: Rounding = .halfToEven,
                            integerZeroPoint: Bool = false) throws -> (Float, Float) {
        let (mn, mx) = try minMax(x)
        guard candidates >= 1 else { throw QuantError("DOBI needs ≥ 1 candidate, got \(candidates)") }
        _ = try Quantizer(bits: bits, lower: mn, upper: mx, scheme: scheme, rounding: rounding)
        var best = (mn, mx)
        var bestErr = Double.infinity
        let twice = ShippedMutant.active == .observerDOBIShrinksTwiceAsFast
        let delta = oneDirection || twice ? (mx - mn) / Float(candidates) : (mx - mn) / Float(2 * candidates)
        for i in 0..<candidates {
            let lb = oneDirection ? mn : mn + Float(i) * delta
            let ub = mx - Float(i) * delta
            let e = quantError(x, lower: lb, upper: ub, bits: bits, scheme: scheme, rounding: rounding, integerZeroPoint: integerZeroPoint)
            if e < bestErr { bestErr = e; best = (lb, ub) }
        }
        return best
    }

    /// MSE-optimal symmetric-shrink search: bounds (c·lo, c·hi) for c on a grid of `grid` values in (0, 1],
    /// minimising ‖x − Q(x)‖² (ties keep the widest). Starts from MinMax (affine) or AbsMax (symmetric).
    public static func mseSearch(_ x: [Float], bits: Int, scheme: QuantScheme = .symmetric, grid: Int = 100,
                                 rounding: Rounding = .halfToEven, integerZeroPoint: Bool = false) throws -> (Float, Float) {
        guard grid >= 1 else { throw QuantError("mseSearch needs grid ≥ 1, got \(grid)") }
        let (lo, hi) = scheme == .symmetric ? try absMax(x) : try minMax(x)
        var best = (lo, hi)
        var bestErr = Double.infinity
        let skipFull = ShippedMutant.active == .observerMSESearchSkipsFullRange ? 1 : 0
        for i in 0..<grid {
            let c = Float(grid - i - skipFull) / Float(grid)
            let e = quantError(x, lower: c * lo, upper: c * hi, bits: bits, scheme: scheme, rounding: rounding,
                               integerZeroPoint: integerZeroPoint)
            if e < bestErr { bestErr = e; best = (c * lo, c * hi) }
        }
        return best
    }
}
