/// One bounded uniform quantizer with clipping bounds [α, β] = [`lower`, `upper`] and `bits` bits.
///
/// The step is the paper's Δ = (β − α)/(2^b − 1) for both schemes.
/// - `.symmetric` (zero-point 0, the paper's table): q = clip(round(x/Δ), −2^(b−1), 2^(b−1) − 1), x̂ = q·Δ.
///   With α = −β the grid covers [−2^(b−1)Δ, (2^(b−1)−1)Δ]; the paper defines Δ from [α, β] and the grid from
///   the integer range, and this type takes both statements literally (documented in docs/quantizer.md).
/// - `.affine` (2DQuant's code): x̂ = Δ·round((clip(x, α, β) − α)/Δ) + α; codes 0 … 2^b − 1.
///
/// - `.affine` with an **integer zero point** z (`zeroPoint`, the standard asymmetric scheme of integer runtimes and
///   ONNX QuantizeLinear): Δ as above, z = round(−α/Δ) ∈ [0, 2^b − 1] (half to even), codes
///   q = clip(round(x/Δ) + z, 0, 2^b − 1), x̂ = (q − z)·Δ. Real 0 is a grid point (q = z). Computed as the *centred*
///   code c = q − z = clip(round(x/Δ), −z, 2^b − 1 − z), x̂ = c·Δ — the symmetric formula with a shifted code range —
///   so the symmetric kernels (C fake quantization, code-domain GEMM, int8 GEMM) serve it unchanged. The grid is
///   [α, β] shifted by −(α + zΔ) (|shift| ≤ Δ/2): keep Δ, round z, shift the bounds. Bounds that exclude 0 are first
///   extended to it (α > 0 → α = 0, z = 0; β < 0 → β = 0, z = 2^b − 1), as integer runtimes do. NaN gives code z (x̂ = 0).
///
/// Bits 1…16 are accepted (2…8 are the routine range); α < β, both finite, are required.
/// `dequantize(code(x)) == fakeQuant(x)` holds bit for bit: both compute `Float(q) * Δ` (symmetric),
/// `Float(q) * Δ + α` (affine) or `Float(q − z) * Δ` (integer zero point) from the same integer q.
public struct Quantizer: Sendable, Codable, Equatable, Hashable {
    public let bits: Int
    public let lower: Float
    public let upper: Float
    public let scheme: QuantScheme
    public let rounding: Rounding
    /// The integer zero point z of an affine grid built with `integerZeroPoint: true`; nil = symmetric, or affine with
    /// the float zero point −α/Δ (2DQuant's grid). Derived from the bounds, never set directly.
    public let zeroPoint: Int32?

    public static let supportedBits = 1...16

    /// `integerZeroPoint`: an affine grid with the integer zero point z = round(−α/Δ) (see the type); ignored for
    /// symmetric grids (their zero point is 0 already).
    public init(bits: Int, lower: Float, upper: Float,
                scheme: QuantScheme = .symmetric, rounding: Rounding = .halfToEven, integerZeroPoint: Bool = false) throws {
        guard Quantizer.supportedBits.contains(bits) else {
            throw QuantError("bits must be in 1…16 (2…8 routinely), got \(bits)")
        }
        guard lower.isFinite, upper.isFinite else {
            throw QuantError("clipping bounds must be finite, got [\(lower), \(upper)]")
        }
        guard lower < upper else {
            throw QuantError("clipping bounds need lower < upper, got [\(lower), \(upper)]")
        }
        let step = (upper - lower) / Float((1 << bits) - 1)
        guard step > 0, step.isFinite else {
            throw QuantError("step (upper − lower)/(2^b − 1) = \(step) is not a positive finite number for [\(lower), \(upper)], b = \(bits)")
        }
        self.bits = bits
        self.scheme = scheme
        self.rounding = rounding
        guard integerZeroPoint && scheme == .affine else {
            self.lower = lower; self.upper = upper; zeroPoint = nil
            return
        }
        // Extend [α, β] to contain 0, then z = round(−α/Δ) (clamped against float effects at the ends).
        let lo = Swift.min(lower, 0), hi = Swift.max(upper, 0)
        let n = Float((1 << bits) - 1)
        let d = (hi - lo) / n
        guard d > 0, d.isFinite else {
            throw QuantError("step of [\(lo), \(hi)] extended to contain 0 is not a positive finite number (b = \(bits))")
        }
        let z = Swift.min(Swift.max((-lo / d).rounded(.toNearestOrEven), 0), n)
        self.lower = lo; self.upper = hi
        zeroPoint = Int32(z)
    }

    /// True for grids of the form x̂ = c·Δ with an integer centred code c ∈ [`centredCodeMin`, `centredCodeMax`]:
    /// symmetric grids and affine grids with an integer zero point. These run in the code domain and in integers.
    @inline(__always) public var isCentred: Bool { scheme == .symmetric || zeroPoint != nil }
    /// Smallest centred code c = q − z (symmetric: `codeMin`).
    @inline(__always) public var centredCodeMin: Int32 { codeMin - (zeroPoint ?? 0) }
    /// Largest centred code c = q − z (symmetric: `codeMax`).
    @inline(__always) public var centredCodeMax: Int32 { codeMax - (zeroPoint ?? 0) }
    /// The grid's lowest and highest values: c·Δ at the centred code range (for a float zero point: α and β).
    public var gridLower: Float { isCentred ? Float(centredCodeMin) * step : lower }
    public var gridUpper: Float { isCentred ? Float(centredCodeMax) * step : upper }

    /// The centred code c of x (x̂ = c·Δ) for `isCentred` grids: clip(round(x/Δ), centredCodeMin, centredCodeMax);
    /// NaN → 0. Equal to `code(x) − (zeroPoint ?? 0)` (symmetric: `code(x)`).
    @inline(__always)
    public func centredCode(_ x: Float) -> Int32 {
        guard zeroPoint != nil else { return code(x) }
        let v = x / step
        if v.isNaN { return 0 }
        let r = rounding.apply(v)
        return Int32(Swift.min(Swift.max(r, Float(centredCodeMin)), Float(centredCodeMax)))
    }

    /// Δ = (β − α)/(2^b − 1).
    @inline(__always) public var step: Float { (upper - lower) / levelsMinusOne }
    /// 2^b − 1 as Float.
    @inline(__always) public var levelsMinusOne: Float {
        if _slowPath(ShippedMutant.active == .quantizerStepOverTwoToB) { return Float(1 << bits) }
        return Float((1 << bits) - 1)
    }
    /// Smallest integer code.
    @inline(__always) public var codeMin: Int32 { scheme == .symmetric ? -Int32(1 << (bits - 1)) : 0 }
    /// Largest integer code.
    @inline(__always) public var codeMax: Int32 {
        if _slowPath(scheme == .symmetric && ShippedMutant.active == .quantizerSymmetricCodeMaxOffByOne) { return Int32(1 << (bits - 1)) }
        return scheme == .symmetric ? Int32(1 << (bits - 1)) - 1 : Int32((1 << bits) - 1)
    }

    /// Integer code of x, as a deployment kernel consumes it. NaN maps to 0 (callers that must reject
    /// NaN check with `validate`).
    @inline(__always)
    public func code(_ x: Float) -> Int32 {
        if let z = zeroPoint { return centredCode(x) + z }   // centredCode does not call back here when z is set
        let d = step
        let v: Float
        switch scheme {
        case .symmetric: v = x / d
        case .affine: v = (Swift.min(Swift.max(x, lower), upper) - lower) / d
        }
        if v.isNaN { return 0 }
        let r = rounding.apply(v)
        let lo = Float(codeMin), hi = Float(codeMax)
        if _slowPath(ShippedMutant.active == .quantizerCodesNotClamped) { return Int32(Swift.max(Swift.min(r, 1e9), -1e9)) }
        return Int32(Swift.min(Swift.max(r, lo), hi))
    }

    /// Value of an integer code: q·Δ (symmetric) or q·Δ + α (affine).
    @inline(__always)
    public func dequantize(_ q: Int32) -> Float {
        if let z = zeroPoint { return Float(q - z) * step }
        switch scheme {
        case .symmetric: return Float(q) * step
        case .affine:
            if _slowPath(ShippedMutant.active == .quantizerAffineDropsOffset) { return Float(q) * step }
            return Float(q) * step + lower
        }
    }

    /// x̂ = Q(x) = dequantize(code(x)).
    @inline(__always)
    public func fakeQuant(_ x: Float) -> Float { dequantize(code(x)) }

    /// Fake-quantizes every element.
    public func fakeQuant(_ xs: [Float]) -> [Float] { xs.map { fakeQuant($0) } }

    /// Fake-quantizes in place.
    public func fakeQuantInPlace(_ xs: UnsafeMutableBufferPointer<Float>) {
        for i in xs.indices { xs[i] = fakeQuant(xs[i]) }
    }

    /// Throws when any element is NaN or ±Inf, naming the first offending index and `what`.
    public static func validate(_ xs: [Float], what: String) throws {
        if let i = xs.firstIndex(where: { !$0.isFinite }) {
            throw QuantError("\(what): element \(i) is \(xs[i]) (NaN/Inf are not quantizable)")
        }
    }

    /// Derivatives of x̂ = Q(x; α, β) at x: (∂x̂/∂x, ∂x̂/∂α, ∂x̂/∂β).
    ///
    /// With N = 2^b − 1, Δ = (β−α)/N, so ∂Δ/∂β = 1/N and ∂Δ/∂α = −1/N.
    ///
    /// Symmetric, v = x/Δ, q = clip(round(v), qmin, qmax), x̂ = qΔ:
    /// - inside (qmin ≤ round(v) ≤ qmax): exact ∂x̂/∂Δ = q (round is locally constant), ∂x̂/∂x = 0;
    ///   STE (LSQ) ∂x̂/∂Δ = q − v, ∂x̂/∂x = 1.
    /// - clipped: ∂x̂/∂Δ = q (both modes), ∂x̂/∂x = 0.
    ///
    /// Affine, c = clip(x, α, β), v = (c−α)/Δ, r = round(v), x̂ = rΔ + α:
    /// - inside (α < x < β): exact ∂x̂/∂β = r/N, ∂x̂/∂α = 1 − r/N, ∂x̂/∂x = 0;
    ///   STE ∂x̂/∂β = (r − v)/N, ∂x̂/∂α = −(r − v)/N, ∂x̂/∂x = 1 (2DQuant's autograd).
    /// - x ≥ β: x̂ = β: ∂x̂/∂β = 1, ∂x̂/∂α = 0, ∂x̂/∂x = 0.  x ≤ α: x̂ = α: ∂x̂/∂α = 1, others 0.
    public func derivatives(_ x: Float, mode requested: GradientMode) -> (dx: Float, dLower: Float, dUpper: Float) {
        let mutant = ShippedMutant.active
        let mode = mutant == .quantizerExactDerivativeIsSTE ? GradientMode.ste : requested
        let clipGrad: Float = mutant == .quantizerClipGradientMissing ? 0 : 1
        let n = levelsMinusOne
        let d = step
        switch scheme {
        case .symmetric:
            let v = x / d
            let r = rounding.apply(v)
            let lo = Float(codeMin), hi = Float(codeMax)
            let inside = r >= lo && r <= hi
            let q = Swift.min(Swift.max(r, lo), hi)
            let dStep: Float
            let dx: Float
            if inside {
                dStep = mode == .exact ? q : q - v
                dx = mode == .exact ? 0 : 1
            } else {
                dStep = q * clipGrad
                dx = 0
            }
            return (dx, -dStep / n, dStep / n)
        case .affine where zeroPoint != nil:
            // The float-zero-point affine derivatives at the grid's own bounds [−zΔ, (N−z)Δ] (z held fixed; it only
            // jumps where round(−α/Δ) does): the surrogate with which ABR moves the bounds it snaps.
            let z = Float(zeroPoint!)
            let v = x / d
            if v.isNaN { return (0, 0, 0) }
            if v >= n - z { return (0, 0, clipGrad) }
            if v <= -z { return (0, clipGrad, 0) }
            let r = rounding.apply(v)
            switch mode {
            case .exact: return (0, 1 - (r + z) / n, (r + z) / n)
            case .ste: return (1, -(r - v) / n, (r - v) / n)
            }
        case .affine:
            if x >= upper { return (0, 0, clipGrad) }
            if x <= lower { return (0, clipGrad, 0) }
            let v = (x - lower) / d
            let r = rounding.apply(v)
            switch mode {
            case .exact: return (0, 1 - r / n, r / n)
            case .ste: return (1, -(r - v) / n, (r - v) / n)
            }
        }
    }

    /// The paper's feasibility projection (implementation table), applied in this order:
    /// α ← min(α, β − margin), then β ← max(β, α + margin); margin defaults to 0.01.
    public static func projectFeasible(lower: Float, upper: Float, margin: Float = 0.01) -> (lower: Float, upper: Float) {
        if _slowPath(ShippedMutant.active == .projectionOrderSwapped) {
            let b = Swift.max(upper, lower + margin)
            return (Swift.min(lower, b - margin), b)
        }
        let a = Swift.min(lower, upper - margin)
        let b = Swift.max(upper, a + margin)
        return (a, b)
    }
}
