import Testing
import PropertyBased
import HarmoQ
import SRInteger

@Suite struct ActivationCodesTests {
    /// The C quantizer gives Quantizer.code for every input, including exact half-steps, clipping, NaN and ±∞.
    @Test func cQuantizerEqualsQuantizerCode() async throws {
        await propertyCheck(count: 200, input: Gen.int(in: 2...8), Gen.float(in: 0.01...20), Gen.int(in: 0...1),
                            Gen.int(in: 0...1_000_000)) { bits, amax, r, seed in
            let rounding: Rounding = r == 0 ? .halfToEven : .halfAwayFromZero
            let q = try Quantizer(bits: bits, lower: -amax, upper: amax, scheme: .symmetric, rounding: rounding)
            var src = CodeSource(seed: seed)
            var x = src.floats(300, scale: 1.5 * amax)
            // Exact half-steps (ties) and grid points, inside and beyond the clip range.
            for j in -140...140 { x.append((Float(j) + 0.5) * q.step); x.append(Float(j) * q.step) }
            x += [.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
            #expect(try ActivationCodes.quantize(x, q) == ActivationCodes.reference(x, q))
        }
    }

    @Test func affineAndWideQuantizersAreRejected() throws {
        let affine = try Quantizer(bits: 8, lower: -1, upper: 2, scheme: .affine)
        #expect(throws: IntegerError.self) { try ActivationCodes.quantize([0.5], affine) }
        let wide = try Quantizer(bits: 9, lower: -1, upper: 1, scheme: .symmetric)
        #expect(throws: IntegerError.self) { try ActivationCodes.quantize([0.5], wide) }
    }
}
