import Foundation
import HarmoQ
@testable import SREngine
import Testing

/// Fake-quantizer backward (issue #13 item A): hand-worked tables (2DQuant's formula, non-strict masks), the fast
/// kernel against the plain reference, finite differences in Float64, per-channel independence, thread-count
/// independence. Sizes and seeds are in each test.
struct FakeQuantBackwardTests {
    typealias Row = (x: Float, xq: Float, dx: Float, dl: Float, du: Float)

    static func check(_ q: Quantizer, _ mode: FakeQuantGradient, _ rows: [Row]) {
        let fq = FakeQuantizer(q, gradient: mode)
        let ref = FakeQuantReference<Float>(q)
        for r in rows {
            // One element with dL/dx̂ = 1: the backward returns the derivatives themselves.
            let y = fq.forward([r.x])[0]
            let (gx, b) = fq.backward(x: [r.x], gradOutput: [1])
            let d = ref.derivatives(r.x, mode)
            #expect(y == r.xq && ref.quantize(r.x) == r.xq, "\(q.scheme) \(mode) x=\(r.x): x̂ \(y), ref \(ref.quantize(r.x)), want \(r.xq)")
            #expect(gx[0] == r.dx && d.dx == r.dx, "\(q.scheme) \(mode) x=\(r.x): dx \(gx[0]) / ref \(d.dx), want \(r.dx)")
            #expect(abs(b.lower[0] - Double(r.dl)) <= 1e-6 && abs(d.dLower - r.dl) <= 1e-6,
                    "\(q.scheme) \(mode) x=\(r.x): dlower \(b.lower[0]) / ref \(d.dLower), want \(r.dl)")
            #expect(abs(b.upper[0] - Double(r.du)) <= 1e-6 && abs(d.dUpper - r.du) <= 1e-6,
                    "\(q.scheme) \(mode) x=\(r.x): dupper \(b.upper[0]) / ref \(d.dUpper), want \(r.du)")
        }
    }

    /// Affine 2-bit on [0, 3]: Δ = 1, N = 3. 2DQuant: ∂/∂ub = (r − t)/N + [x ≥ ub], ∂/∂lb = (t − r)/N + [x ≤ lb],
    /// ∂/∂x = [lb ≤ x ≤ ub]; ties to even (1.5 → 2, 2.5 → 2).
    @Test func affineHandWorked() throws {
        let q = try Quantizer(bits: 2, lower: 0, upper: 3, scheme: .affine)
        Self.check(q, .ste, [
            (-1, 0, 0, 1, 0),                   // below: gradient to lb only
            (0, 0, 1, 1, 0),                    // exactly at lb: to x AND lb (non-strict)
            (0.25, 0, 1, 0.25 / 3, -0.25 / 3),  // t = 0.25, r = 0
            (1.5, 2, 1, -0.5 / 3, 0.5 / 3),     // tie → 2
            (2.5, 2, 1, 0.5 / 3, -0.5 / 3),     // tie → 2 (even)
            (3, 3, 1, 0, 1),                    // exactly at ub: to x AND ub
            (4, 3, 0, 0, 1),                    // above: to ub only
        ])
        Self.check(q, .exact, [
            (-1, 0, 0, 1, 0), (0.25, 0, 0, 1, 0), (1.5, 2, 0, 1.0 / 3, 2.0 / 3),
            (2.5, 2, 0, 1.0 / 3, 2.0 / 3), (2.75, 3, 0, 0, 1), (4, 3, 0, 0, 1),
        ])
    }

    /// Symmetric 2-bit on [−3, 3]: Δ = 2, codes −2…1 (LSQ: clamp v = x/Δ, then round).
    @Test func symmetricHandWorked() throws {
        let q = try Quantizer(bits: 2, lower: -3, upper: 3, scheme: .symmetric)
        Self.check(q, .ste, [
            (-5, -4, 0, 2.0 / 3, -2.0 / 3),     // v = −2.5 < −2: ∂/∂Δ = q = −2
            (-4, -4, 1, 0, 0),                  // v = −2 exactly: inside, round(v) − v = 0
            (1, 0, 1, 0.5 / 3, -0.5 / 3),       // v = 0.5 → 0 (even): ∂/∂Δ = −0.5
            (2, 2, 1, 0, 0),                    // v = 1 = qmax: inside
            (2.5, 2, 0, -1.0 / 3, 1.0 / 3),     // v = 1.25 > qmax: clipped, ∂/∂Δ = 1
        ])
        Self.check(q, .exact, [
            (-5, -4, 0, 2.0 / 3, -2.0 / 3), (1, 0, 0, 0, 0), (2.5, 2, 0, -1.0 / 3, 1.0 / 3), (3.1, 2, 0, -1.0 / 3, 1.0 / 3),
        ])
    }

    static func randomValues(_ n: Int, lo: Float, hi: Float, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in lo + (hi - lo) * Float(rng.next() >> 40) / Float(1 << 24) }
    }

    static func quantizers() throws -> [Quantizer] {
        var qs: [Quantizer] = []
        for bits in [2, 4, 8] {
            qs.append(try Quantizer(bits: bits, lower: -0.7391, upper: 1.2345, scheme: .affine))
            qs.append(try Quantizer(bits: bits, lower: -Float((1 << bits) - 1) / 64, upper: Float((1 << bits) - 1) / 64, scheme: .affine))
            qs.append(try Quantizer(bits: bits, lower: -1.1, upper: 1.1, scheme: .symmetric))
            qs.append(try Quantizer(bits: bits, lower: -0.6, upper: 0.9, scheme: .symmetric, rounding: .halfAwayFromZero))
        }
        return qs
    }

    /// Fast kernel vs plain reference (Float): forward and dL/dx bit for bit; bound sums within 1e-6 of Σ|g·∂| (the
    /// kernel sums Float64 chunks, the test sums the reference's per-element products in Float64). 100,003 elements
    /// (several chunks, not a multiple of the chunk), seed 7, values spanning 1.4× the range plus exact bounds and ties.
    @Test func fastMatchesReference() throws {
        for q in try Self.quantizers() {
            var x = Self.randomValues(100_003, lo: q.lower - 0.2 * (q.upper - q.lower), hi: q.upper + 0.2 * (q.upper - q.lower), seed: 7)
            x[0] = q.lower; x[1] = q.upper; x[2] = q.lower + 1.5 * q.step; x[3] = 0.5 * q.step
            let g = Self.randomValues(x.count, lo: -1, hi: 1, seed: 8)
            let ref = FakeQuantReference<Float>(q)
            for mode in FakeQuantGradient.allCases {
                let fq = FakeQuantizer(q, gradient: mode)
                let y = fq.forward(x)
                let (gx, b) = fq.backward(x: x, gradOutput: g)
                var sl = 0.0, su = 0.0, al = 0.0, au = 0.0
                var forwardMismatch = 0, dxMismatch = 0
                for i in x.indices {
                    if y[i] != ref.quantize(x[i]) || y[i] != q.fakeQuant(x[i]) { forwardMismatch += 1 }
                    let d = ref.derivatives(x[i], mode)
                    if gx[i] != g[i] * d.dx { dxMismatch += 1 }
                    sl += Double(g[i] * d.dLower); su += Double(g[i] * d.dUpper)
                    al += Double(abs(g[i] * d.dLower)); au += Double(abs(g[i] * d.dUpper))
                }
                #expect(forwardMismatch == 0, "\(q) \(mode): \(forwardMismatch) forward mismatches")
                #expect(dxMismatch == 0, "\(q) \(mode): \(dxMismatch) dx mismatches")
                #expect(abs(b.lower[0] - sl) <= 1e-6 * al, "\(q) \(mode): dlower \(b.lower[0]) vs \(sl) (Σ|·| \(al))")
                #expect(abs(b.upper[0] - su) <= 1e-6 * au, "\(q) \(mode): dupper \(b.upper[0]) vs \(su) (Σ|·| \(au))")
            }
        }
    }

    /// L(x, lb, ub) = Σ g_i·f(x_i; lb, ub) in Float64, central differences with h = 1e-9·(ub − lb) (moves t by < 1e-4 at 8 bits).
    /// Exact mode: f = Q itself, at points at least 1e-3 (in units of t) from any rounding or clip discontinuity.
    /// STE mode: f = the straight-through surrogate s·(r₀ + u − u₀) (+ lb for affine), u = t (affine) or
    /// clip(v, qmin, qmax) (symmetric), with r₀ = round(u₀) frozen at the base point: its exact derivative is the STE.
    /// 2,000 points per quantizer, seed 11; threshold: |fd − analytic| ≤ 1e-6·(Σ|g| + |analytic|).
    @Test func finiteDifferencesFloat64() throws {
        for q32 in try Self.quantizers() {
            let ref = FakeQuantReference<Double>(q32)
            let lb = ref.lower, ub = ref.upper, s = ref.step, range = ub - lb
            func u(_ x: Double, _ l: Double, _ h: Double) -> Double {
                let st = (h - l) / ref.levels
                if q32.scheme == .affine { return (Swift.min(Swift.max(x, l), h) - l) / st }
                return Swift.min(Swift.max(x / st, ref.qmin), ref.qmax)
            }
            // Points away from discontinuities of round(u) and of the clip.
            var xs: [Double] = []
            var rng = SplitMix64(seed: 11)
            while xs.count < 2000 {
                let x = lb - 0.2 * range + 1.4 * range * Double(rng.next() >> 11) / Double(1 << 53)
                let t = q32.scheme == .affine ? (x - lb) / s : x / s
                let frac = t - t.rounded(.down)
                let nearTie = abs(frac - 0.5) < 1e-3
                let nearClip = q32.scheme == .affine ? (abs(x - lb) < 1e-3 * s || abs(x - ub) < 1e-3 * s)
                    : (abs(t - ref.qmin) < 1e-3 || abs(t - ref.qmax) < 1e-3 || abs(t - ref.qmin + 0.5) < 1e-3 || abs(t - ref.qmax - 0.5) < 1e-3)
                if !nearTie && !nearClip { xs.append(x) }
            }
            let g = (0..<xs.count).map { _ in Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1 }
            let gAbs = g.map(abs).reduce(0, +)
            for mode in FakeQuantGradient.allCases {
                let u0 = xs.map { u($0, lb, ub) }
                let r0 = u0.map { ref.round($0) }
                func loss(_ dx: Double, _ dl: Double, _ du: Double) -> Double {
                    let l = lb + dl, h = ub + du, st = (h - l) / ref.levels
                    var total = 0.0
                    for i in xs.indices {
                        let x = xs[i] + dx
                        let f: Double
                        switch mode {
                        case .exact:
                            f = FakeQuantReference<Double>(bits: ref.bits, lower: l, upper: h, scheme: ref.scheme,
                                                           rounding: ref.rounding).quantize(x)
                        case .ste:
                            f = st * (r0[i] + u(x, l, h) - u0[i]) + (q32.scheme == .affine ? l : 0)
                        }
                        total += g[i] * f
                    }
                    return total
                }
                let h = 1e-9 * range
                let (gx, gl, gu) = ref.backward(xs, g, mode)
                let fdL = (loss(0, h, 0) - loss(0, -h, 0)) / (2 * h)
                let fdU = (loss(0, 0, h) - loss(0, 0, -h)) / (2 * h)
                let fdX = (loss(h, 0, 0) - loss(-h, 0, 0)) / (2 * h)   // shifts every x: Σ dL/dx_i
                let anX = gx.reduce(0, +)
                #expect(abs(fdL - gl) <= 1e-6 * (gAbs + abs(gl)), "\(q32) \(mode): FD dlower \(fdL) vs \(gl)")
                #expect(abs(fdU - gu) <= 1e-6 * (gAbs + abs(gu)), "\(q32) \(mode): FD dupper \(fdU) vs \(gu)")
                #expect(abs(fdX - anX) <= 1e-6 * (gAbs + abs(anX)), "\(q32) \(mode): FD Σdx \(fdX) vs \(anX)")
            }
        }
    }

    /// A mutant of the formula must fail the FD check: detaching Δ (dropping (r − t)/N) changes dL/dub by more than
    /// the threshold on the same data. Guards against an FD test that cannot fail.
    @Test func finiteDifferenceDetectsDetachedStep() throws {
        let q = try Quantizer(bits: 2, lower: -0.7391, upper: 1.2345, scheme: .affine)
        let ref = FakeQuantReference<Double>(q)
        let xs = Self.randomValues(500, lo: -0.6, hi: 1.1, seed: 3).map(Double.init)
        let g = Self.randomValues(500, lo: -1, hi: 1, seed: 4).map(Double.init)
        var detached = 0.0, full = 0.0
        for i in xs.indices {
            let d = ref.derivatives(xs[i], .ste)
            full += g[i] * d.dUpper
            detached += g[i] * (xs[i] >= ref.upper ? 1 : 0)
        }
        #expect(abs(full - detached) > 1e-6 * g.map(abs).reduce(0, +), "the Δ term is too small to be tested here")
    }

    /// Per channel (weights [5, 37] per output row, and activations [.., 7] per column): each channel's bound gradient
    /// equals the per-tensor gradient of its slice, and the forward of one channel ignores the others' bounds.
    @Test func perChannelEqualsSlices() throws {
        let base = try Self.quantizers().filter { $0.bits == 4 }
        for (rows, cols, axis0) in [(5, 37, true), (23, 7, false)] {
            let C = axis0 ? rows : cols
            let qs = (0..<C).map { c in base[c % base.count] }
            let fq = try FakeQuantizer(perChannel: qs, inner: axis0 ? cols : 1, gradient: .ste)
            let x = Self.randomValues(rows * cols, lo: -1.3, hi: 1.5, seed: 21)
            let g = Self.randomValues(rows * cols, lo: -1, hi: 1, seed: 22)
            let y = fq.forward(x)
            let (gx, b) = fq.backward(x: x, gradOutput: g)
            for c in 0..<C {
                let idx = (0..<(rows * cols)).filter { axis0 ? $0 / cols == c : $0 % cols == c }
                let one = FakeQuantizer(qs[c], gradient: .ste)
                let (sgx, sb) = one.backward(x: idx.map { x[$0] }, gradOutput: idx.map { g[$0] })
                #expect(idx.map { y[$0] } == one.forward(idx.map { x[$0] }), "channel \(c) forward")
                #expect(idx.map { gx[$0] } == sgx, "channel \(c) dx")
                #expect(abs(sb.lower[0] - b.lower[c]) <= 1e-12 && abs(sb.upper[0] - b.upper[c]) <= 1e-12, "channel \(c) bounds")
            }
            // Moving channel 0's bounds leaves every other channel's output unchanged.
            var lo = qs.map(\.lower), hi = qs.map(\.upper)
            lo[0] -= 0.3; hi[0] += 0.2
            let y2 = try fq.withBounds(lower: lo, upper: hi).forward(x)
            for i in x.indices where fq.channel(of: i) != 0 { #expect(y2[i] == y[i]) }
        }
    }

    /// The bound sums and dx do not depend on the thread count (1 vs 2 vs 3), 300,001 elements.
    @Test func threadCountIndependent() throws {
        let q = try Quantizer(bits: 4, lower: -0.5, upper: 0.8, scheme: .affine)
        let x = Self.randomValues(300_001, lo: -0.7, hi: 1.0, seed: 31)
        let g = Self.randomValues(300_001, lo: -1, hi: 1, seed: 32)
        let fq = FakeQuantizer(q, gradient: .ste)
        let r1 = Parallel.withThreads(1) { fq.backward(x: x, gradOutput: g) }
        for t in [2, 3] {
            let r = Parallel.withThreads(t) { fq.backward(x: x, gradOutput: g) }
            #expect(r.gradInput == r1.gradInput && r.bounds == r1.bounds, "threads \(t)")
        }
    }
}
