import HarmoQ

/// The plain, obviously-correct fake quantizer with backward that `FakeQuantizer` is tested against, generic over the
/// float type (Float to compare with the fast kernel, Double for finite-difference checks). One (lower, upper) pair;
/// per-channel use = one reference per channel slice.
///
/// Written as 2DQuant's forward (`quant_arch.py` FakeQuantizer*.forward) for the affine scheme:
///   s = (ub − lb)/N;  c = clip(x, lb, ub);  t = (c − lb)/s;  r = round(t);  x̂ = s·r + lb
/// and as the engine's symmetric grid otherwise: v = x/s, q = clip(round(v), qmin, qmax), x̂ = q·s.
/// The derivatives are those documented on `FakeQuantGradient`, spelled out case by case.
public struct FakeQuantReference<T: BinaryFloatingPoint & Sendable>: Sendable {
    public let bits: Int
    public let lower: T
    public let upper: T
    public let scheme: QuantScheme
    public let rounding: Rounding

    public init(bits: Int, lower: T, upper: T, scheme: QuantScheme, rounding: Rounding = .halfToEven) {
        self.bits = bits
        self.lower = lower
        self.upper = upper
        self.scheme = scheme
        self.rounding = rounding
    }

    /// The same parameters as a `Quantizer`.
    public init(_ q: Quantizer) {
        self.init(bits: q.bits, lower: T(q.lower), upper: T(q.upper), scheme: q.scheme, rounding: q.rounding)
    }

    public var levels: T { T((1 << bits) - 1) }
    public var step: T { (upper - lower) / levels }
    var qmin: T { scheme == .symmetric ? -T(1 << (bits - 1)) : 0 }
    var qmax: T { scheme == .symmetric ? T((1 << (bits - 1)) - 1) : levels }

    func round(_ v: T) -> T {
        rounding == .halfToEven ? v.rounded(.toNearestOrEven) : v.rounded(.toNearestOrAwayFromZero)
    }

    func clip(_ v: T, _ a: T, _ b: T) -> T {
        if v < a { return a }
        if v > b { return b }
        return v
    }

    /// x̂ = Q(x).
    public func quantize(_ x: T) -> T {
        let s = step
        switch scheme {
        case .affine:
            let c = clip(x, lower, upper)
            let t = (c - lower) / s
            let r = round(t)
            return s * r + lower
        case .symmetric:
            let v = x / s
            let q = clip(round(v), qmin, qmax) + 0   // + 0: −0 → +0, as the engine's integer codes
            return q * s
        }
    }

    /// (∂x̂/∂x, ∂x̂/∂lower, ∂x̂/∂upper) at x.
    public func derivatives(_ x: T, _ mode: FakeQuantGradient) -> (dx: T, dLower: T, dUpper: T) {
        let n = levels, s = step
        switch (scheme, mode) {
        case (.affine, .ste):
            let c = clip(x, lower, upper)
            let t = (c - lower) / s
            let r = round(t)
            var dx: T = 1, dl = (t - r) / n, du = (r - t) / n
            if x < lower || x > upper { dx = 0 }
            if x <= lower { dl += 1 }
            if x >= upper { du += 1 }
            return (dx, dl, du)
        case (.affine, .exact):
            let c = clip(x, lower, upper)
            let r = clip(round((c - lower) / s), 0, n)
            return (0, 1 - r / n, r / n)
        case (.symmetric, .ste):
            let v = x / s
            let dStep: T
            let dx: T
            if v >= qmin && v <= qmax {
                dStep = round(v) - v
                dx = 1
            } else {
                dStep = v < qmin ? qmin : qmax
                dx = 0
            }
            return (dx, -dStep / n, dStep / n)
        case (.symmetric, .exact):
            let q = clip(round(x / s), qmin, qmax)
            return (0, -q / n, q / n)
        }
    }

    /// Forward of every element.
    public func forward(_ xs: [T]) -> [T] { xs.map(quantize) }

    /// (dL/dx, dL/dlower, dL/dupper) for dL/dx̂ = g, summed in order.
    public func backward(_ xs: [T], _ g: [T], _ mode: FakeQuantGradient) -> (dx: [T], dLower: T, dUpper: T) {
        var dx = [T](repeating: 0, count: xs.count)
        var dl: T = 0, du: T = 0
        for i in xs.indices {
            let d = derivatives(xs[i], mode)
            dx[i] = g[i] * d.dx
            dl += g[i] * d.dLower
            du += g[i] * d.dUpper
        }
        return (dx, dl, du)
    }
}
