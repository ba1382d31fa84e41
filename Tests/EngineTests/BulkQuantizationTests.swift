import Testing
import HarmoQ
@testable import SREngine

/// `BulkQuantization` (C, vectorised, parallel) against the core's scalar definitions, bit for bit, on adversarial
/// values: exact ties, ±0, NaN, ±Inf, subnormals, huge values, clamp boundaries, both rounding modes, both schemes,
/// with and without an HSO divisor, lengths that are not multiples of the vector width, and buffers big enough to be
/// split over threads.
struct BulkQuantizationTests {
    /// Values that stress every branch of the quantizer for step `st`.
    static func adversarial(step st: Float, count: Int, seed: UInt64) -> [Float] {
        var v: [Float] = [0, -0.0, .nan, -.nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                          .leastNormalMagnitude, -.leastNormalMagnitude, Float(bitPattern: 0x0001_16C2), -Float(bitPattern: 0x0001_16C2), .greatestFiniteMagnitude,
                          -.greatestFiniteMagnitude, 3e38, -3e38, 1e30, -1e30]
        for c in -140...140 {
            let h = (Float(c) + 0.5) * st               // a tie when st is a power of two, else within an ulp of one
            v += [h, h.nextUp, h.nextDown, Float(c) * st, (Float(c) * st).nextUp, (Float(c) * st).nextDown]
        }
        var rng = SplitMix64(seed: seed)
        while v.count < count {
            let u = Float(rng.next() >> 40) / Float(1 << 24)
            v.append((u * 2 - 1) * st * 200)
        }
        return Array(v.prefix(count))
    }

    static func quantizers() throws -> [Quantizer] {
        var qs: [Quantizer] = []
        for rounding in Rounding.allCases {
            for bits in [2, 4, 8, 16] {
                // step a power of two (exact ties), and an arbitrary step.
                let levels = Float((1 << bits) - 1)
                qs.append(try Quantizer(bits: bits, lower: -levels / 32, upper: levels / 32, scheme: .symmetric, rounding: rounding))
                qs.append(try Quantizer(bits: bits, lower: -0.7391, upper: 1.2345, scheme: .symmetric, rounding: rounding))
                qs.append(try Quantizer(bits: bits, lower: -levels / 64, upper: levels / 64, scheme: .affine, rounding: rounding))
                qs.append(try Quantizer(bits: bits, lower: -0.3113, upper: 2.71, scheme: .affine, rounding: rounding))
                qs.append(try Quantizer(bits: bits, lower: -0.0, upper: 1.5, scheme: .affine, rounding: rounding))
            }
        }
        return qs
    }

    @Test(arguments: [1, 7, 16, 61, 1000, 70_001])
    func fakeQuantInPlaceIsBitIdenticalToTheCore(count: Int) throws {
        for (i, q) in try Self.quantizers().enumerated() {
            let xs = Self.adversarial(step: q.step, count: count, seed: UInt64(i))
            // Reference: the core's scalar kernel, bit for bit.
            let ref = xs.map { QuantKernel(q).fakeQuant($0).bitPattern }
            var got = xs
            got.withUnsafeMutableBufferPointer { BulkQuantization.fakeQuantInPlace(q, $0) }
            let bad = xs.indices.filter { got[$0].bitPattern != ref[$0] }
            #expect(bad.isEmpty, "\(q) count \(count): \(bad.count) mismatches, first x = \(bad.first.map { xs[$0] } ?? 0)")
            // `Quantizer.fakeQuant` agrees in value (it gives +0 where QuantKernel gives α = −0 for NaN, see docs/integer.md).
            let badQ = xs.indices.filter { got[$0] != q.fakeQuant(xs[$0]) }
            #expect(badQ.isEmpty, "\(q) count \(count): \(badQ.count) value mismatches with Quantizer.fakeQuant")
            // And the core's bulk Swift path (what the hooks used before).
            var swiftBulk = xs
            swiftBulk.withUnsafeMutableBufferPointer { QuantKernel(q).fakeQuantInPlace($0) }
            #expect(swiftBulk.map(\.bitPattern) == ref, "\(q): QuantKernel.fakeQuantInPlace vs fakeQuant")
        }
    }

    @Test(arguments: [3, 60, 61])
    func fakeQuantWithDivisorIsBitIdentical(period: Int) throws {
        var rng = SplitMix64(seed: 11)
        var scale = (0..<period).map { _ in 0.25 + Float(rng.next() >> 40) / Float(1 << 24) * 3 }
        scale[0] = 1; scale[period - 1] = 0.5
        for q in try Self.quantizers() {
            let xs = Self.adversarial(step: q.step, count: period * 1200 + period / 2, seed: 5)   // a partial last period
            var ref = xs
            ref.withUnsafeMutableBufferPointer { QuantKernel(q).fakeQuantInPlace($0, divideBy: scale) }
            var got = xs
            got.withUnsafeMutableBufferPointer { BulkQuantization.fakeQuantInPlace(q, $0, divideBy: scale) }
            let bad = xs.indices.filter { got[$0].bitPattern != ref[$0].bitPattern }
            #expect(bad.isEmpty, "\(q), period \(period): \(bad.count) mismatches with QuantKernel.fakeQuantInPlace")
            // element by element against the scalar definition
            let bad1 = xs.indices.filter { got[$0].bitPattern != QuantKernel(q).fakeQuant(xs[$0] / scale[$0 % period]).bitPattern }
            #expect(bad1.isEmpty, "\(q), period \(period): \(bad1.count) mismatches with QuantKernel.fakeQuant")
        }
    }

    @Test func codesEqualQuantizerCode() throws {
        let rows = 37, cols = 61, ldx = 64, ldo = 63
        var rng = SplitMix64(seed: 2)
        let scale = (0..<cols).map { _ in 0.5 + Float(rng.next() >> 40) / Float(1 << 24) }
        for q in try Self.quantizers() where q.scheme == .symmetric {
            let xs = Self.adversarial(step: q.step, count: rows * ldx, seed: 9)
            for divide in [false, true] {
                var out = [Float](repeating: -7, count: rows * ldo)
                xs.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { po in scale.withUnsafeBufferPointer { ps in
                    BulkQuantization.codes(q, x: px.baseAddress!, ldx: ldx, rows: rows, cols: cols,
                                           divideBy: divide ? ps.baseAddress : nil, into: po.baseAddress!, ldo: ldo)
                } } }
                for r in 0..<rows {
                    for j in 0..<cols {
                        let x = xs[r * ldx + j]
                        let want = Float(q.code(divide ? x / scale[j] : x))
                        #expect(out[r * ldo + j].bitPattern == want.bitPattern, "\(q) divide \(divide) x \(x)")
                    }
                    for j in cols..<ldo { #expect(out[r * ldo + j] == -7, "row padding must stay untouched") }
                }
            }
        }
    }

    /// A mutation check of the test itself: a quantizer with the other rounding mode must disagree on the ties.
    @Test func tiesDistinguishTheRoundingModes() throws {
        let even = try Quantizer(bits: 4, lower: -15.0 / 32, upper: 15.0 / 32, scheme: .symmetric, rounding: .halfToEven)
        let away = try Quantizer(bits: 4, lower: -15.0 / 32, upper: 15.0 / 32, scheme: .symmetric, rounding: .halfAwayFromZero)
        var a: [Float] = [0.5 * even.step, 2.5 * even.step, -0.5 * even.step]
        var b = a
        a.withUnsafeMutableBufferPointer { BulkQuantization.fakeQuantInPlace(even, $0) }
        b.withUnsafeMutableBufferPointer { BulkQuantization.fakeQuantInPlace(away, $0) }
        #expect(a == [0, 2 * even.step, 0])
        #expect(b == [even.step, 3 * even.step, -even.step])
    }
}

/// `CodeDomainLinear`: exact integer sums through the float GEMM, and its refusal beyond 2²⁴.
struct CodeDomainLinearTests {
    @Test func refusesPartialSumsBeyondTwoToThe24() throws {
        let q8 = try Quantizer(bits: 8, lower: -1, upper: 1)
        // 128 · 128 · 1025 > 2^24: refused; 1024 inputs: exactly 2^24, accepted.
        for (k, ok) in [(1025, false), (1024, true)] {
            let codes = [Int32](repeating: -128, count: 2 * k)
            let made = try? CodeDomainLinear(activation: q8, weightCodes: codes, weightSteps: [0.01, 0.02], outFeatures: 2,
                                             inFeatures: k, bias: nil)
            #expect((made != nil) == ok, "k = \(k)")
        }
        let affine = try Quantizer(bits: 8, lower: -1, upper: 1, scheme: .affine)
        #expect(throws: EngineError.self) {
            try CodeDomainLinear(activation: affine, weightCodes: [1], weightSteps: [1], outFeatures: 1, inFeatures: 1, bias: nil)
        }
    }

    /// At the limit (every partial sum a multiple of 2^14 up to 2^24) the sum is exact: y = s·2^24 (+ b).
    @Test func sumAtTheLimitIsExact() throws {
        let q8 = try Quantizer(bits: 8, lower: -1, upper: 1)
        let k = 1024
        let lin = try CodeDomainLinear(activation: q8, weightCodes: [Int32](repeating: -128, count: 3 * k),
                                       weightSteps: [0.01, 0.02, 0.03], outFeatures: 3, inFeatures: k, bias: [0.5, 0, -1])
        let x = [Float](repeating: -10, count: 7 * k)         // clamps to code −128
        let y = lin.apply(x, rows: 7, parallel: true)
        for r in 0..<7 {
            for o in 0..<3 {
                let t = lin.outputScales[o] * Float(1 << 24)
                #expect(y[r * 3 + o].bitPattern == (t + [0.5, 0, -1][o]).bitPattern)
            }
        }
    }

    /// Against a Double reference of Σ cx·cw and the epilogue, on random codes, with an HSO divisor and strides.
    @Test func matchesTheDefinition() throws {
        var rng = SplitMix64(seed: 4)
        func u() -> Float { Float(rng.next() >> 40) / Float(1 << 24) }
        let k = 60, n = 37, rows = 301, ldx = 64, ldo = 40
        let q = try Quantizer(bits: 4, lower: -0.8, upper: 0.8)
        let wc = (0..<(n * k)).map { _ in Int32(rng.below(16)) - 8 }
        let steps = (0..<n).map { _ in 0.001 + u() * 0.1 }
        let bias = (0..<n).map { _ in u() - 0.5 }
        let scale = (0..<k).map { _ in 0.5 + u() }
        let lin = try CodeDomainLinear(activation: q, weightCodes: wc, weightSteps: steps, outFeatures: n, inFeatures: k,
                                       bias: bias, inputScale: scale)
        let x = (0..<(rows * ldx)).map { _ in (u() - 0.5) * 2 }
        var y = [Float](repeating: .nan, count: rows * ldo)
        x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            lin.apply(px.baseAddress!, ldx: ldx, rows: rows, into: py.baseAddress!, ldo: ldo, parallel: true)
        } }
        for r in 0..<rows {
            for o in 0..<n {
                var s: Int64 = 0
                for p in 0..<k { s += Int64(q.code(x[r * ldx + p] / scale[p])) * Int64(wc[o * k + p]) }
                let t = (q.step * steps[o]) * Float(s)
                #expect(y[r * ldo + o].bitPattern == (t + bias[o]).bitPattern)
            }
        }
    }
}
