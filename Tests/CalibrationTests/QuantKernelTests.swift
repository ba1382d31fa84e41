import HarmoQ
import PropertyBased
import Testing

/// The ABR inner loop's flattened quantizer must match the core Quantizer bit for bit.
@Test func quantKernelMatchesQuantizer() async {
    await propertyCheck(count: 200, input: Gen.int(in: 0...1_000_000)) { s in
        var rng = SplitMix64(seed: UInt64(s))
        let bits = 2 + Int(rng.next() % 7)
        let lo = Float(-rng.nextUniform() * 4 - 0.01), hi = Float(rng.nextUniform() * 4 + 0.01)
        for scheme in [QuantScheme.symmetric, .affine] {
            for rounding in [Rounding.halfToEven, .halfAwayFromZero] {
                let q = try! Quantizer(bits: bits, lower: lo, upper: hi, scheme: scheme, rounding: rounding)
                let k = QuantKernel(q)
                for _ in 0..<50 {
                    let x = Float(rng.nextGaussian() * 3)
                    #expect(k.fakeQuant(x).bitPattern == q.fakeQuant(x).bitPattern)
                    for (mode, exact) in [(GradientMode.ste, false), (.exact, true)] {
                        let a = k.quantAndBoundDerivatives(x, exact: exact), b = q.derivatives(x, mode: mode)
                        #expect(a.0.bitPattern == q.fakeQuant(x).bitPattern && a.1 == b.dLower && a.2 == b.dUpper)
                    }
                }
            }
        }
    }
}

@Test func bulkFakeQuantMatchesElementwise() throws {
    var rng = SplitMix64(seed: 77)
    let xs = (0..<1000).map { _ in Float(rng.nextGaussian() * 2) } + [0, -0.0, 1e-30, -1e-30]
    let scale: [Float] = [0.5, 2, 3, 0.25]
    for scheme in [QuantScheme.symmetric, .affine] {
        for rounding in [Rounding.halfToEven, .halfAwayFromZero] {
            let q = try Quantizer(bits: 3, lower: -1.7, upper: 2.1, scheme: scheme, rounding: rounding)
            var a = xs, b = xs
            a.withUnsafeMutableBufferPointer { QuantKernel(q).fakeQuantInPlace($0) }
            #expect(a.map(\.bitPattern) == xs.map { q.fakeQuant($0).bitPattern })
            b.withUnsafeMutableBufferPointer { QuantKernel(q).fakeQuantInPlace($0, divideBy: scale) }
            #expect(b.map(\.bitPattern) == xs.enumerated().map { q.fakeQuant($0.element / scale[$0.offset % 4]).bitPattern })
        }
    }
}
