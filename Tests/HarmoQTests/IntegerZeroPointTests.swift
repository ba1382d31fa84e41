import Testing
import PropertyBased
import HarmoQ

/// Affine grids with an integer zero point (`Quantizer(integerZeroPoint: true)`, docs/integer.md "Integer zero points").
@Suite("Integer zero point")
struct IntegerZeroPointTests {
    /// Hand-worked: 4 bits, [α, β] = [−0.40625, 1.46875] (exact binary values). Δ = 1.875/15 = 0.125, −α/Δ = 3.25 → z = 3:
    /// the grid is (q − 3)·0.125 = [−0.375, 1.5], i.e. [α, β] shifted by +0.03125. Real 0 is the code 3. The float-zero-point
    /// grid of the same bounds puts x = 0 on −0.03125.
    @Test func handWorkedFourBitTable() throws {
        let q = try Quantizer(bits: 4, lower: -0.40625, upper: 1.46875, scheme: .affine, integerZeroPoint: true)
        let f = try Quantizer(bits: 4, lower: -0.40625, upper: 1.46875, scheme: .affine)
        #expect(q.step == 0.125)
        #expect(q.zeroPoint == 3)
        #expect(f.zeroPoint == nil)
        #expect(q.lower == -0.40625 && q.upper == 1.46875)
        #expect(q.gridLower == -0.375 && q.gridUpper == 1.5)
        #expect(q.centredCodeMin == -3 && q.centredCodeMax == 12)
        // (x, code q, x̂ = (q − 3)·0.125)
        let rows: [(x: Float, q: Int32, xhat: Float)] = [
            (-1, 0, -0.375),          // v = −8 → clip to −3
            (-0.40625, 0, -0.375),    // v = −3.25 → −3
            (-0.3125, 1, -0.25),      // v = −2.5 → −2 (half to even)
            (0, 3, 0),                // real 0 is exact
            (0.0625, 3, 0),           // v = 0.5 → 0
            (0.1875, 5, 0.25),        // v = 1.5 → 2
            (1.46875, 15, 1.5),       // v = 11.75 → 12: the grid top lies above β
            (5, 15, 1.5),             // clip to 12
        ]
        for r in rows {
            #expect(q.code(r.x) == r.q, "code(\(r.x))")
            #expect(q.fakeQuant(r.x) == r.xhat, "Q(\(r.x))")
            #expect(q.dequantize(r.q) == r.xhat)
            #expect(q.centredCode(r.x) == r.q - 3)
        }
        #expect(f.fakeQuant(0) == -0.03125, "the float zero point does not hold 0")
        #expect(q.code(.nan) == 3 && q.fakeQuant(.nan) == 0, "NaN → the code of 0")
    }

    /// Hand-worked: 2 bits [−1, 2]: Δ = 1, z = 1, grid {−1, 0, 1, 2}; ties to even on v, before adding z (ONNX QuantizeLinear).
    @Test func handWorkedTwoBitTable() throws {
        let q = try Quantizer(bits: 2, lower: -1, upper: 2, scheme: .affine, integerZeroPoint: true)
        #expect(q.zeroPoint == 1 && q.step == 1)
        let rows: [(Float, Int32, Float)] = [(-1.7, 0, -1), (-0.5, 1, 0), (0.5, 1, 0), (1.5, 3, 2), (2.6, 3, 2), (0.51, 2, 1)]
        for (x, c, v) in rows {
            #expect(q.code(x) == c, "code(\(x))")
            #expect(q.fakeQuant(x) == v, "Q(\(x))")
        }
        #expect(q.fakeQuant(-0.5).sign == .plus, "−0 rounds to code z, x̂ = +0")
    }

    /// Bounds that exclude 0 are extended to it: [0.5, 2] → [0, 2] (z = 0); [−3, −1] → [−3, 0] (z = 2^b − 1).
    @Test func boundsAreExtendedToZero() throws {
        let p = try Quantizer(bits: 2, lower: 0.5, upper: 2, scheme: .affine, integerZeroPoint: true)
        #expect(p.lower == 0 && p.upper == 2 && p.zeroPoint == 0)
        #expect(p.fakeQuant(2) == 2 && p.fakeQuant(0.1) == 0)
        let n = try Quantizer(bits: 2, lower: -3, upper: -1, scheme: .affine, integerZeroPoint: true)
        #expect(n.lower == -3 && n.upper == 0 && n.zeroPoint == 3)
        #expect(n.fakeQuant(-3) == -3 && n.fakeQuant(5) == 0)
        // Symmetric grids ignore the flag (their zero point is 0 already).
        let s = try Quantizer(bits: 4, lower: -1, upper: 1, scheme: .symmetric, integerZeroPoint: true)
        let plain = try Quantizer(bits: 4, lower: -1, upper: 1)
        #expect(s.zeroPoint == nil && s.isCentred && s == plain)
    }

    /// For random bits and bounds: z is an integer in [0, 2^b − 1], real 0 is exact (code z), the grid is the bounds
    /// shifted by at most half a step, Q is idempotent, code/dequantize/centredCode agree, and the ABR kernel equals
    /// the quantizer (values and bound derivatives, both modes).
    @Test func zeroIsExactAndZeroPointIsAnIntegerCode() async {
        await propertyCheck(count: 400, input: Gen.int(in: 1...16), Gen.float(in: -6...0.5), Gen.float(in: 0.02...8),
                            Gen.bool, Gen.float(in: -20...20)) { bits, a, w, even, x in
            let q = try Quantizer(bits: bits, lower: a, upper: a + w, scheme: .affine,
                                  rounding: even ? .halfToEven : .halfAwayFromZero, integerZeroPoint: true)
            let n = Int32((1 << bits) - 1)
            guard let z = q.zeroPoint else { Issue.record("no zero point"); return }
            #expect(z >= 0 && z <= n)
            #expect(q.fakeQuant(0) == 0 && q.code(0) == z)
            #expect(q.dequantize(z) == 0)
            // |shift| ≤ Δ/2, plus the float rounding of −α/Δ (≤ 3u·N in code units) and of z·Δ (u·N), u = 2⁻²⁴.
            if a < 0 { #expect(abs(q.gridLower - q.lower) <= q.step * (0.5 + 4 * Float(n) * 0x1p-24), "shift ≤ Δ/2 at [\(a), \(a + w)] b=\(bits)") }
            let y = q.fakeQuant(x)
            #expect(q.fakeQuant(y) == y)
            #expect(q.dequantize(q.code(x)) == y)
            #expect(q.centredCode(x) == q.code(x) - z)
            #expect(q.code(x) >= 0 && q.code(x) <= n)
            let k = QuantKernel(q)
            #expect(k.fakeQuant(x) == y)
            for mode in [GradientMode.ste, .exact] {
                let d = q.derivatives(x, mode: mode)
                let kd = k.quantAndBoundDerivatives(x, exact: mode == .exact)
                #expect(kd.0 == y && kd.1 == d.dLower && kd.2 == d.dUpper, "\(mode) x=\(x) [\(a), \(a + w)] b=\(bits)")
            }
            var buf = [x, -x, 0, x * 0.5]
            buf.withUnsafeMutableBufferPointer { k.fakeQuantInPlace($0) }
            #expect(buf == [x, -x, 0, x * 0.5].map { q.fakeQuant($0) })
        }
    }

    /// The derivative surrogate: inside the grid, STE moves both bounds by ±(r − v)/N; beyond the grid the nearer bound
    /// gets 1 (as the float-zero-point affine grid at the bounds [−zΔ, (N−z)Δ]).
    @Test func derivativesAtTheGridBounds() throws {
        let q = try Quantizer(bits: 4, lower: -0.40625, upper: 1.46875, scheme: .affine, integerZeroPoint: true)
        let above = q.derivatives(5, mode: .ste), below = q.derivatives(-1, mode: .ste)
        #expect(above.dx == 0 && above.dLower == 0 && above.dUpper == 1)
        #expect(below.dx == 0 && below.dLower == 1 && below.dUpper == 0)
        let d = q.derivatives(0.0625, mode: .ste)   // v = 0.5, r = 0
        #expect(d.dx == 1 && d.dLower == 0.5 / 15 && d.dUpper == -0.5 / 15)
        let e = q.derivatives(0.1875, mode: .exact) // r = 2, code 5
        #expect(e.dx == 0 && e.dLower == 1 - 5 / Float(15) && e.dUpper == 5 / Float(15))
    }
}
