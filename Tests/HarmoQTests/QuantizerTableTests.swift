import Testing
import HarmoQ

/// Hand-worked, bit-exact tables for the quantizer (issue #2). Every expected value below was worked
/// out by hand from the formulas in Quantizer.swift; none is produced by the code under test.
@Suite("Quantizer hand-worked tables")
struct QuantizerTableTests {
    /// s = Δ = 1: bits 8 and bounds [−127.5, 127.5] give Δ = 255/255 = 1.
    static func unitStep(_ rounding: Rounding) throws -> Quantizer {
        try Quantizer(bits: 8, lower: -127.5, upper: 127.5, scheme: .symmetric, rounding: rounding)
    }

    @Test("ties at s = 1, half-to-even: 0.5→0, 1.5→2, 2.5→2, −0.5→0, −1.5→−2, −2.5→−2")
    func tiesHalfToEven() throws {
        let q = try Self.unitStep(.halfToEven)
        #expect(q.step == 1)
        let table: [(Float, Int32)] = [(0.5, 0), (1.5, 2), (2.5, 2), (-0.5, 0), (-1.5, -2), (-2.5, -2), (3.5, 4), (0.49, 0), (0.51, 1)]
        for (x, c) in table {
            #expect(q.code(x) == c, "x=\(x)")
            #expect(q.fakeQuant(x) == Float(c), "x=\(x)")
        }
    }

    @Test("ties at s = 1, half-away-from-zero: 0.5→1, 1.5→2, 2.5→3, −0.5→−1, −1.5→−2, −2.5→−3")
    func tiesHalfAway() throws {
        let q = try Self.unitStep(.halfAwayFromZero)
        let table: [(Float, Int32)] = [(0.5, 1), (1.5, 2), (2.5, 3), (-0.5, -1), (-1.5, -2), (-2.5, -3)]
        for (x, c) in table { #expect(q.code(x) == c, "x=\(x)") }
    }

    @Test("saturation at both ends (8-bit symmetric: codes −128 … 127)")
    func saturation() throws {
        let q = try Self.unitStep(.halfToEven)
        #expect(q.code(1e9) == 127)
        #expect(q.code(-1e9) == -128)
        #expect(q.code(127.4) == 127)
        #expect(q.code(127.6) == 127)
        #expect(q.code(-128.4) == -128)
        #expect(q.fakeQuant(-1000) == -128)
        #expect(q.fakeQuant(1000) == 127)
    }

    @Test("2-bit symmetric grid is {−2, −1, 0, 1}·s")
    func twoBitGrid() throws {
        // bits 2: Δ = (β−α)/3; bounds [−1.5, 1.5] → Δ = 1.
        let q = try Quantizer(bits: 2, lower: -1.5, upper: 1.5)
        #expect(q.step == 1)
        let xs: [Float] = [-9, -2, -1.6, -1.4, -0.6, -0.4, 0, 0.4, 0.6, 1.4, 9]
        let expect: [Float] = [-2, -2, -2, -1, -1, 0, 0, 0, 1, 1, 1]
        #expect(q.fakeQuant(xs) == expect)
        #expect(Set(xs.map { q.fakeQuant($0) }).isSubset(of: [-2, -1, 0, 1]))
    }

    @Test("affine (2DQuant) 2-bit grid on [0, 3] is {0, 1, 2, 3} and clips")
    func affineGrid() throws {
        let q = try Quantizer(bits: 2, lower: 0, upper: 3, scheme: .affine)
        let xs: [Float] = [-5, 0, 0.5, 1.5, 2.5, 2.6, 3, 7]
        let expect: [Float] = [0, 0, 0, 2, 2, 3, 3, 3]   // ties 0.5→0, 1.5→2, 2.5→2 (half-to-even)
        #expect(q.fakeQuant(xs) == expect)
        #expect(xs.map { q.code($0) } == [0, 0, 0, 2, 2, 3, 3, 3])
    }

    @Test("affine grid with an off-zero lower bound: x̂ = Δ·r + α")
    func affineOffset() throws {
        // [−1, 2], 2 bits: Δ = 1, grid {−1, 0, 1, 2}.
        let q = try Quantizer(bits: 2, lower: -1, upper: 2, scheme: .affine)
        #expect(q.fakeQuant([-0.4, 0.4, 1.2, 1.6]) == [0, 0, 1, 2])
    }

    @Test("dequantize(code(x)) == fakeQuant(x) bit for bit, both schemes, all bit widths")
    func codesRoundTrip() throws {
        var rng = SplitMix64(seed: 7)
        for bits in 1...16 {
            for scheme in QuantScheme.allCases {
                let lo = -Float(rng.nextUniform() * 3 + 0.1), hi = Float(rng.nextUniform() * 3 + 0.1)
                let q = try Quantizer(bits: bits, lower: lo, upper: hi, scheme: scheme)
                for _ in 0..<200 {
                    let x = Float(rng.nextUniform() * 10 - 5)
                    #expect(q.dequantize(q.code(x)).bitPattern == q.fakeQuant(x).bitPattern, "bits=\(bits) \(scheme) x=\(x)")
                    #expect(q.code(x) >= q.codeMin && q.code(x) <= q.codeMax)
                }
            }
        }
    }

    @Test("feasibility projection α ← min(α, β−0.01), β ← max(β, α+0.01)")
    func projection() {
        #expect(Quantizer.projectFeasible(lower: -1, upper: 1) == (-1, 1))
        let p = Quantizer.projectFeasible(lower: 0.5, upper: 0.5)
        #expect(p.lower == 0.49 && p.upper == 0.5)
        let r = Quantizer.projectFeasible(lower: 2, upper: 1)
        #expect(r.lower == 0.99 && r.upper == 1)
    }
}
