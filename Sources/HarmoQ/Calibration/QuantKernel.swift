/// A flattened copy of one `Quantizer` for the ABR inner loops: the same operations in the same order (so results
/// are bit-identical to `Quantizer.fakeQuant` / `derivatives`, checked by a test), without per-call dispatch.
public struct QuantKernel: Sendable {
    public let step: Float
    let lower: Float, upper: Float
    let codeMin: Float, codeMax: Float
    let n: Float
    let symmetric: Bool
    /// Symmetric, or affine with an integer zero point: x̂ = c·Δ with c in [codeMin, codeMax] (centred codes).
    let centred: Bool
    /// The integer zero point (0 unless affine with one).
    let zero: Float
    let evenRounding: Bool
    /// The code range in which the symmetric STE derivative applies (= [codeMin, codeMax]; a `ShippedMutant` may move it).
    let steMin: Float, steMax: Float
    /// ∂x̂/∂β for affine inputs x ≥ β (1; a `ShippedMutant` may zero it).
    let upperClipGradient: Float

    public init(_ q: Quantizer) {
        step = q.step; lower = q.lower; upper = q.upper
        codeMin = Float(q.centredCodeMin); codeMax = Float(q.centredCodeMax)
        n = q.levelsMinusOne
        symmetric = q.scheme == .symmetric
        centred = q.isCentred
        zero = Float(q.zeroPoint ?? 0)
        let mutant = ShippedMutant.active
        evenRounding = q.rounding == .halfToEven || mutant == .kernelRoundingIgnoresMode
        switch mutant {
        case .kernelSTEMaskOffByOne: steMin = codeMin; steMax = codeMax - 1
        case .kernelSymmetricClippedUsesSTE: steMin = -.infinity; steMax = .infinity
        default: steMin = codeMin; steMax = codeMax
        }
        upperClipGradient = mutant == .kernelAffineClipGradientMissing ? 0 : 1
    }

    @inline(__always) func round(_ v: Float) -> Float {
        evenRounding ? v.rounded(.toNearestOrEven) : v.rounded(.toNearestOrAwayFromZero)
    }

    /// x̂ = Q(x).
    @inline(__always) public func fakeQuant(_ x: Float) -> Float {
        if centred {
            let v = x / step
            if v.isNaN { return 0 }
            // Through Int32 like `Quantizer.code`, so −0 becomes +0 exactly as there.
            return Float(Int32(Swift.min(Swift.max(round(v), codeMin), codeMax))) * step
        }
        let v = (Swift.min(Swift.max(x, lower), upper) - lower) / step
        if v.isNaN { return lower }
        return Float(Int32(Swift.min(Swift.max(round(v), codeMin), codeMax))) * step + lower
    }

    /// (x̂, ∂x̂/∂α, ∂x̂/∂β) — identical to `Quantizer.fakeQuant` and `Quantizer.derivatives(x, mode:)`.
    @inline(__always) public func quantAndBoundDerivatives(_ x: Float, exact: Bool) -> (Float, Float, Float) {
        if symmetric {
            let v = x / step
            if v.isNaN { return (0, 0, 0) }
            let r = round(v)
            let q = Swift.min(Swift.max(r, codeMin), codeMax)
            let inside = r >= steMin && r <= steMax
            let dStep = inside && !exact ? q - v : q
            return (Float(Int32(q)) * step, -dStep / n, dStep / n)
        }
        if centred {
            // Integer zero point: `Quantizer.derivatives` (affine derivatives at the grid's bounds [−zΔ, (N−z)Δ]).
            let v = x / step
            if v.isNaN { return (0, 0, 0) }
            let r = round(v)
            let xh = Float(Int32(Swift.min(Swift.max(r, codeMin), codeMax))) * step
            if v >= codeMax { return (xh, 0, upperClipGradient) }
            if v <= codeMin { return (xh, 1, 0) }
            if exact { return (xh, 1 - (r + zero) / n, (r + zero) / n) }
            return (xh, -(r - v) / n, (r - v) / n)
        }
        let xh = fakeQuant(x)
        if x >= upper { return (xh, 0, upperClipGradient) }
        if x <= lower { return (xh, 1, 0) }
        let v = (x - lower) / step
        let r = round(v)
        if exact { return (xh, 1 - r / n, r / n) }
        return (xh, -(r - v) / n, (r - v) / n)
    }

    /// Bulk x ← Q(x) (optionally x ← Q(x / scale[c]) with c = index mod scale.count), written as a branch-free loop the
    /// compiler can vectorise; equal bit for bit to `fakeQuant` element by element (checked by a test).
    public func fakeQuantInPlace(_ xs: UnsafeMutableBufferPointer<Float>, divideBy scale: [Float]? = nil) {
        let st = step, lo = codeMin, hi = codeMax, lw = lower, up = upper
        let sym = centred, even = evenRounding
        @inline(__always) func one(_ x: Float) -> Float {
            if sym {
                let v = x / st
                let r = even ? v.rounded(.toNearestOrEven) : v.rounded(.toNearestOrAwayFromZero)
                let q = (Swift.min(Swift.max(r, lo), hi) + 0) * st
                return v.isNaN ? 0 : q
            }
            let v = (Swift.min(Swift.max(x, lw), up) - lw) / st
            let r = even ? v.rounded(.toNearestOrEven) : v.rounded(.toNearestOrAwayFromZero)
            let q = (Swift.min(Swift.max(r, lo), hi) + 0) * st + lw
            return v.isNaN ? lw : q
        }
        if let s = scale, !s.isEmpty {
            let c = s.count
            let shift = ShippedMutant.active == .kernelBulkScaleIndexShifted ? 1 : 0
            var i = 0
            while i < xs.count {
                let e = Swift.min(xs.count, i + c)
                if _slowPath(shift != 0) { for j in i..<e { xs[j] = one(xs[j] / s[(j - i + shift) % c]) } }
                else { for j in i..<e { xs[j] = one(xs[j] / s[j - i]) } }
                i = e
            }
        } else {
            for i in 0..<xs.count { xs[i] = one(xs[i]) }
        }
    }
}
