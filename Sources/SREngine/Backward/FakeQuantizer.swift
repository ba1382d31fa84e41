import CKernels
import HarmoQ

/// Which derivative a differentiable fake quantizer's backward returns.
///
/// Both are defined on the forward x̂ = Q(x; lower, upper) of `HarmoQ.Quantizer` (same grid, same rounding).
/// With N = 2^b − 1, Δ = (upper − lower)/N (so ∂Δ/∂upper = 1/N, ∂Δ/∂lower = −1/N):
///
/// - `.ste` — 2DQuant's autograd (`quant_arch.py` `Differentiable_Round` / `Differentiable_Clip`, Δ not detached;
///   LSQ-style). Affine: c = clip(x, α, β), t = (c − α)/Δ, r = round(t):
///   ∂x̂/∂x = [α ≤ x ≤ β], ∂x̂/∂β = (r − t)/N + [x ≥ β], ∂x̂/∂α = (t − r)/N + [x ≤ α].
///   The masks are non-strict: an element exactly at a bound passes its gradient to x **and** to the bound.
///   Symmetric (zero point 0, codes [qmin, qmax]): v = x/Δ, clip first (LSQ: clamp(v) then round):
///   inside (qmin ≤ v ≤ qmax): ∂x̂/∂x = 1, ∂x̂/∂Δ = round(v) − v; outside: ∂x̂/∂x = 0, ∂x̂/∂Δ = q (the clamped code).
///   (This differs from `Quantizer.derivatives(_:mode: .ste)` only at the edges: that one calls v in
///   (qmax, qmax + ½] "inside" and gives an affine element exactly at a bound no x-gradient.)
/// - `.exact` — the almost-everywhere derivative of the real, piecewise-constant quantizer (d round/dt = 0):
///   ∂x̂/∂x = 0; affine ∂x̂/∂β = r/N, ∂x̂/∂α = 1 − r/N (r = 0 below α, r = N above β, so the clip needs no case);
///   symmetric ∂x̂/∂Δ = q. Undefined on the measure-zero set of rounding and clipping discontinuities.
public enum FakeQuantGradient: String, Sendable, Codable, CaseIterable {
    case ste
    case exact
}

/// dL/d(lower), dL/d(upper) of a fake quantizer, one entry per channel (one for per-tensor quantizers).
/// Accumulated in Float64: a bound collects the sum over every element it quantizes (millions in a model).
public struct BoundGradient: Sendable, Equatable {
    public var lower: [Double]
    public var upper: [Double]

    public init(channels: Int) {
        lower = [Double](repeating: 0, count: channels)
        upper = [Double](repeating: 0, count: channels)
    }

    public init(lower: [Double], upper: [Double]) {
        self.lower = lower
        self.upper = upper
    }

    public mutating func add(_ o: BoundGradient) {
        precondition(o.lower.count == lower.count, "BoundGradient.add: \(o.lower.count) vs \(lower.count) channels")
        for c in lower.indices { lower[c] += o.lower[c]; upper[c] += o.upper[c] }
    }
}

/// A quantizer that a backward pass can differentiate: forward x̂ = Q(x), backward (dL/dx, dL/d bounds).
///
/// The API a per-site differentiable quantizer of a model backward wraps (the DAT-light / SwinIR backward call it at
/// every quantization site). Element i of a buffer belongs to channel `channel(of: i)`; buffers of any length that
/// is a multiple of the channel period are accepted.
public protocol DifferentiableQuantizer: Sendable {
    /// Number of (lower, upper) pairs: 1 for per-tensor, the channel count for per-channel.
    var channels: Int { get }
    /// x̂ = Q(x), element by element (bit-identical to `HarmoQ.Quantizer.fakeQuant`).
    func forward(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>)
    /// Given the forward input x and dL/dx̂: writes dL/dx into `gradInput` (when non-nil; may alias `gradOutput`)
    /// and **adds** dL/d(lower, upper) into `bounds`.
    func backward(x: UnsafeBufferPointer<Float>, gradOutput: UnsafeBufferPointer<Float>,
                  gradInput: UnsafeMutableBufferPointer<Float>?, bounds: inout BoundGradient)
}

extension DifferentiableQuantizer {
    /// Array convenience for `forward`.
    public func forward(_ x: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { forward(xp, into: $0) } }
        return y
    }

    /// Array convenience for `backward`: (dL/dx, dL/d bounds).
    public func backward(x: [Float], gradOutput: [Float]) -> (gradInput: [Float], bounds: BoundGradient) {
        precondition(x.count == gradOutput.count, "backward: x has \(x.count) elements, gradOutput \(gradOutput.count)")
        var gx = [Float](repeating: 0, count: x.count)
        var b = BoundGradient(channels: channels)
        x.withUnsafeBufferPointer { xp in gradOutput.withUnsafeBufferPointer { gp in gx.withUnsafeMutableBufferPointer { o in
            backward(x: xp, gradOutput: gp, gradInput: o, bounds: &b)
        }}}
        return (gx, b)
    }
}

/// The engine's fake quantizer with a backward: per-tensor or per-channel, symmetric or affine (any `Quantizer`).
///
/// Channel of element i: `(i / inner) % quantizers.count` — weights [out, in] per output channel: inner = in;
/// activations [tokens, C] per channel: inner = 1; per-tensor: one quantizer. Bounds are learnable: `withBounds`
/// returns a copy with new (lower, upper) per channel.
///
/// The forward is bit-identical to `Quantizer.fakeQuant` (per tensor it runs `BulkQuantization`). The backward is a
/// fused single pass (Float arithmetic per element in the order of `FakeQuantReference`, bound sums in Float64 over
/// fixed 32K-element chunks added in order, so results do not depend on the thread count); `FakeQuantReference` is
/// the plain version it is tested against. Per tensor with the STE (every activation and attention-operand site) the
/// chunk runs in C (`ck_fake_quant_ste_backward`, CKernels/fakequant_backward.c): the same per-element arithmetic,
/// the chunk's sums in eight Float64 lanes added in a fixed order.
public struct FakeQuantizer: DifferentiableQuantizer {
    public let quantizers: [Quantizer]
    public let inner: Int
    public let gradient: FakeQuantGradient

    public var channels: Int { quantizers.count }

    /// Per tensor.
    public init(_ q: Quantizer, gradient: FakeQuantGradient = .ste) {
        quantizers = [q]
        inner = 1
        self.gradient = gradient
    }

    /// Per channel: element i uses quantizers[(i / inner) % quantizers.count].
    public init(perChannel qs: [Quantizer], inner: Int, gradient: FakeQuantGradient = .ste) throws {
        guard !qs.isEmpty else { throw QuantError("FakeQuantizer: needs at least one quantizer") }
        guard inner >= 1 else { throw QuantError("FakeQuantizer: inner must be ≥ 1, got \(inner)") }
        quantizers = qs
        self.inner = inner
        self.gradient = gradient
    }

    /// Channel of element i.
    @inline(__always) public func channel(of i: Int) -> Int { (i / inner) % quantizers.count }

    /// A copy with new bounds (same bits, scheme, rounding); throws when a pair is not a valid quantizer (lower < upper).
    public func withBounds(lower: [Float], upper: [Float]) throws -> FakeQuantizer {
        guard lower.count == channels, upper.count == channels else {
            throw QuantError("FakeQuantizer.withBounds: \(channels) channels, got \(lower.count)/\(upper.count) bounds")
        }
        let qs = try quantizers.indices.map { c in
            try Quantizer(bits: quantizers[c].bits, lower: lower[c], upper: upper[c],
                          scheme: quantizers[c].scheme, rounding: quantizers[c].rounding,
                          integerZeroPoint: quantizers[c].zeroPoint != nil)
        }
        return try FakeQuantizer(perChannel: qs, inner: inner, gradient: gradient)
    }

    public func forward(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "FakeQuantizer.forward: \(x.count) inputs, \(y.count) outputs")
        guard x.count > 0 else { return }
        if x.baseAddress != UnsafePointer(y.baseAddress) {
            y.baseAddress!.update(from: x.baseAddress!, count: x.count)
        }
        if channels == 1 {
            BulkQuantization.fakeQuantInPlace(quantizers[0], y)
            return
        }
        let ks = quantizers.map(QuantKernel.init)
        Parallel.ranges(y.count, minPerChunk: 1 << 14) { r in
            for i in r { y[i] = ks[channel(of: i)].fakeQuant(y[i]) }
        }
    }

    /// Elements per chunk of the backward's bound sums (fixed: sums do not depend on the thread count).
    static let chunk = 1 << 15

    public func backward(x: UnsafeBufferPointer<Float>, gradOutput: UnsafeBufferPointer<Float>,
                         gradInput: UnsafeMutableBufferPointer<Float>?, bounds: inout BoundGradient) {
        precondition(x.count == gradOutput.count, "FakeQuantizer.backward: \(x.count) inputs, \(gradOutput.count) gradients")
        precondition(gradInput == nil || gradInput!.count == x.count, "FakeQuantizer.backward: gradInput size")
        precondition(bounds.lower.count == channels, "FakeQuantizer.backward: bounds have \(bounds.lower.count) channels, need \(channels)")
        let n = x.count
        guard n > 0 else { return }
        let chunks = (n + Self.chunk - 1) / Self.chunk
        let C = channels
        let params = quantizers.map(Params.init)
        let exact = gradient == .exact
        // partial[k] = (lower sums, upper sums) of chunk k.
        var partial = [Double](repeating: 0, count: chunks * 2 * C)
        partial.withUnsafeMutableBufferPointer { part in
            let pp = part.baseAddress!
            Parallel.forEachChunk(chunks) { k in
                let lo = k * Self.chunk, hi = Swift.min(n, lo + Self.chunk)
                let dl = pp + k * 2 * C, du = dl + C
                if C == 1 && !exact {
                    // Per tensor, STE: the C kernel (same per-element arithmetic; sums in 8 fixed Float64 lanes).
                    let p = params[0]
                    ck_fake_quant_ste_backward(x.baseAddress! + lo, gradOutput.baseAddress! + lo, gradInput.map { $0.baseAddress! + lo },
                                               hi - lo, p.lower, p.upper, p.step, p.n, p.qmin, p.qmax,
                                               p.symmetric ? 1 : 0, p.even ? 1 : 0, dl, du)
                    return
                }
                var i = lo
                while i < hi {
                    // Run of elements sharing one channel.
                    let c = channel(of: i)
                    let runEnd = C == 1 ? hi : Swift.min(hi, (i / inner + 1) * inner)
                    let p = params[c]
                    var sl = 0.0, su = 0.0
                    for j in i..<runEnd {
                        let g = gradOutput[j]
                        let (gx, gl, gu) = exact ? p.exact(x[j], g) : p.ste(x[j], g)
                        gradInput?[j] = gx
                        sl += Double(gl); su += Double(gu)
                    }
                    dl[c] += sl; du[c] += su
                    i = runEnd
                }
            }
        }
        for k in 0..<chunks {
            for c in 0..<C { bounds.lower[c] += partial[k * 2 * C + c]; bounds.upper[c] += partial[k * 2 * C + C + c] }
        }
    }

    /// One quantizer's constants, flattened for the inner loop.
    struct Params {
        let lower: Float, upper: Float, step: Float, n: Float, qmin: Float, qmax: Float
        let symmetric: Bool, even: Bool

        init(_ q: Quantizer) {
            // An integer zero point: the affine derivatives at the grid's own bounds [−zΔ, (N−z)Δ] (as `Quantizer.derivatives`).
            lower = q.gridLower; upper = q.gridUpper; step = q.step; n = q.levelsMinusOne
            qmin = Float(q.codeMin); qmax = Float(q.codeMax)
            symmetric = q.scheme == .symmetric
            even = q.rounding == .halfToEven
        }

        @inline(__always) func round(_ v: Float) -> Float {
            even ? v.rounded(.toNearestOrEven) : v.rounded(.toNearestOrAwayFromZero)
        }

        /// (g·∂x̂/∂x, g·∂x̂/∂lower, g·∂x̂/∂upper), STE.
        @inline(__always) func ste(_ x: Float, _ g: Float) -> (Float, Float, Float) {
            if symmetric {
                let v = x / step
                if v >= qmin && v <= qmax {
                    let ds = g * (round(v) - v)
                    return (g, -ds / n, ds / n)
                }
                let q = v < qmin ? qmin : qmax
                let ds = g * q
                return (0, -ds / n, ds / n)
            }
            let c = Swift.min(Swift.max(x, lower), upper)
            let t = (c - lower) / step
            let e = (round(t) - t) / n
            // Non-strict masks: x == lower (or upper) feeds x and the bound.
            let gx: Float = x < lower || x > upper ? 0 : g
            return (gx, g * -e + (x <= lower ? g : 0), g * e + (x >= upper ? g : 0))
        }

        /// (0, g·∂x̂/∂lower, g·∂x̂/∂upper), a.e. derivative.
        @inline(__always) func exact(_ x: Float, _ g: Float) -> (Float, Float, Float) {
            if symmetric {
                let q = Swift.min(Swift.max(round(x / step), qmin), qmax)
                let ds = g * q
                return (0, -ds / n, ds / n)
            }
            let c = Swift.min(Swift.max(x, lower), upper)
            let r = Swift.min(Swift.max(round((c - lower) / step), 0), n)
            let f = r / n
            return (0, g * (1 - f), g * f)
        }
    }
}

extension Parallel {
    /// Runs body(k) for k in 0..<count across threads (each k exactly once); a thin name for `forEach` over chunks.
    @inline(__always)
    static func forEachChunk(_ count: Int, _ body: (Int) -> Void) { forEach(count, body) }
}
