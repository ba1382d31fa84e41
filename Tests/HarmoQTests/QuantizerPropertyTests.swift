import Testing
import PropertyBased
import HarmoQ

/// Invariants of the bounded quantizer, for random bits, bounds, schemes and inputs.
@Suite("Quantizer properties")
struct QuantizerPropertyTests {
    static func make(_ bits: Int, _ a: Float, _ w: Float, _ sym: Bool, _ even: Bool = true) throws -> Quantizer {
        try Quantizer(bits: bits, lower: a, upper: a + w, scheme: sym ? .symmetric : .affine,
                      rounding: even ? .halfToEven : .halfAwayFromZero)
    }

    @Test func idempotence() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...16), Gen.float(in: -4...0), Gen.float(in: 0.02...8),
                            Gen.bool, Gen.float(in: -20...20)) { bits, a, w, sym, x in
            let q = try Self.make(bits, a, w, sym)
            let y = q.fakeQuant(x)
            #expect(q.fakeQuant(y) == y, "bits=\(bits) [\(a),\(a + w)] sym=\(sym) x=\(x)")
        }
    }

    @Test func monotonicity() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...8), Gen.float(in: -4...0), Gen.float(in: 0.02...8),
                            Gen.bool, Gen.float(in: -20...20).array(of: 2)) { bits, a, w, sym, xs in
            let q = try Self.make(bits, a, w, sym)
            let (x, y) = (min(xs[0], xs[1]), max(xs[0], xs[1]))
            #expect(q.fakeQuant(x) <= q.fakeQuant(y), "bits=\(bits) x=\(x) y=\(y)")
        }
    }

    /// Inside the representable range the error is at most half a step (plus one float rounding of x/Δ).
    @Test func errorAtMostHalfStepInside() async {
        await propertyCheck(count: 400, input: Gen.int(in: 2...12), Gen.float(in: -4...(-0.1)), Gen.float(in: 0.2...8),
                            Gen.bool, Gen.double(in: 0...1)) { bits, a, w, sym, t in
            let q = try Self.make(bits, a, w, sym)
            let lo = q.dequantize(q.codeMin), hi = q.dequantize(q.codeMax)
            let x = lo + Float(t) * (hi - lo)
            let err = abs(q.fakeQuant(x) - x)
            #expect(err <= q.step / 2 * (1 + 1e-5) + 1e-6, "bits=\(bits) x=\(x) err=\(err) step=\(q.step)")
        }
    }

    @Test func zeroIsExactSymmetric() async {
        await propertyCheck(count: 200, input: Gen.int(in: 1...16), Gen.float(in: -4...0), Gen.float(in: 0.02...8)) { bits, a, w in
            let q = try Self.make(bits, a, w, true)
            #expect(q.fakeQuant(0) == 0)
            #expect(q.code(0) == 0)
        }
    }

    /// Q_[cα,cβ](c·x) = c·Q_[α,β](x) exactly for c a power of two.
    @Test func scaleEquivariancePowerOfTwo() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...12), Gen.float(in: -4...0), Gen.float(in: 0.02...8),
                            Gen.bool, Gen.float(in: -20...20), Gen.int(in: -6...6)) { bits, a, w, sym, x, e in
            let c = Float(sign: .plus, exponent: e, significand: 1)
            let q = try Self.make(bits, a, w, sym)
            let qc = try Quantizer(bits: bits, lower: c * a, upper: c * (a + w), scheme: q.scheme)
            #expect(qc.fakeQuant(c * x) == c * q.fakeQuant(x), "c=\(c) bits=\(bits) x=\(x)")
        }
    }

    /// Per-channel independence: changing channel 1's data and bounds leaves channel 0's output unchanged.
    @Test func perChannelIndependence() async {
        await propertyCheck(count: 100, input: Gen.int(in: 1...8), Gen.float(in: -3...3).array(of: 12),
                            Gen.float(in: 0.1...5), Gen.float(in: -50...50).array(of: 4)) { bits, xs, w2, junk in
            let q0 = try Quantizer(bits: bits, lower: -1, upper: 1)
            let q1 = try Quantizer(bits: bits, lower: -w2, upper: w2)
            let q1b = try Quantizer(bits: bits, lower: -2 * w2, upper: w2)
            // shape [2, 3, 2]: axis 1 has 3 channels; use channels (q0, q1, q0) vs (q0, q1b, q0)
            let a = try ChannelQuantizer(quantizers: [q0, q1, q0], axis: 1).fakeQuant(xs, shape: [2, 3, 2])
            var ys = xs
            ys[2] = junk[0]; ys[3] = junk[1]; ys[8] = junk[2]; ys[9] = junk[3]  // channel 1 elements
            let b = try ChannelQuantizer(quantizers: [q0, q1b, q0], axis: 1).fakeQuant(ys, shape: [2, 3, 2])
            for i in [0, 1, 4, 5, 6, 7, 10, 11] { #expect(a[i] == b[i], "index \(i)") }
            for i in [0, 1, 4, 5, 6, 7, 10, 11] { #expect(a[i] == q0.fakeQuant(xs[i])) }
        }
    }

    /// The exact a.e. derivatives agree with a one-sided finite difference of the real quantizer
    /// away from kinks (checked in Float64 arithmetic on the same formula).
    @Test func exactDerivativeMatchesFiniteDifference() async {
        await propertyCheck(count: 300, input: Gen.int(in: 2...6), Gen.float(in: -3...(-0.5)), Gen.float(in: 1...6),
                            Gen.bool, Gen.float(in: -5...5)) { bits, a, w, sym, x in
            let q = try Self.make(bits, a, w, sym)
            let h: Float = 1e-3
            guard let qp = try? Self.make(bits, a, w + h, sym), let qm = try? Self.make(bits, a, w - h, sym) else { return }
            // skip near kinks: the code must not change between β−h and β+h
            guard qp.code(x) == qm.code(x), qp.code(x) == q.code(x) else { return }
            let fd = (qp.fakeQuant(x) - qm.fakeQuant(x)) / (2 * h)
            let d = q.derivatives(x, mode: .exact)
            #expect(abs(fd - d.dUpper) <= 2e-2 * max(1, abs(d.dUpper)), "bits=\(bits) x=\(x) fd=\(fd) exact=\(d.dUpper)")
        }
    }

    /// STE inside the range: ∂x̂/∂x = 1 and ∂x̂/∂β − ∂x̂/∂β(exact) = −v/N (symmetric) — the LSQ term.
    @Test func steDiffersFromExactByTheLSQTerm() throws {
        let q = try Quantizer(bits: 4, lower: -1.5, upper: 1.5)   // Δ = 0.2, N = 15
        let x: Float = 0.33                                         // v = 1.65, round → 2
        let e = q.derivatives(x, mode: .exact), s = q.derivatives(x, mode: .ste)
        #expect(e.dx == 0 && s.dx == 1)
        #expect(abs(e.dUpper - 2.0 / 15) < 1e-6)
        #expect(abs(s.dUpper - (2 - 1.65) / 15) < 1e-6)
        #expect(abs(e.dLower + e.dUpper) < 1e-7)
    }
}
