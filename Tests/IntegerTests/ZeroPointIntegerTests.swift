import Testing
import PropertyBased
import HarmoQ
import SRIO
import SREngine
import SRInteger

/// Integer execution of affine activations with an integer zero point (docs/integer.md): kernel codes q − 2^(b−1), the
/// zero-point term folded into the epilogue, bit-identical to the slow reference and to the code-domain simulation.
@Suite struct ZeroPointIntegerTests {
    static func affine(_ bits: Int, _ lo: Float, _ hi: Float, _ even: Bool = true) throws -> Quantizer {
        try Quantizer(bits: bits, lower: lo, upper: hi, scheme: .affine, rounding: even ? .halfToEven : .halfAwayFromZero,
                      integerZeroPoint: true)
    }

    /// The C quantizer (shifted) gives Quantizer.code − 2^(b−1) for every input: ties, grid points, clipping, NaN, ±∞.
    @Test func cQuantizerEqualsCodeMinusOffset() async {
        await propertyCheck(count: 200, input: Gen.int(in: 2...8), Gen.float(in: -5...0.2), Gen.float(in: 0.05...20),
                            Gen.bool, Gen.int(in: 0...1_000_000)) { bits, a, w, even, seed in
            let q = try Self.affine(bits, a, a + w, even)
            var src = CodeSource(seed: seed)
            var x = src.floats(300, scale: 1.5 * max(abs(a), abs(a + w)))
            for j in -300...300 { x.append((Float(j) + 0.5) * q.step); x.append(Float(j) * q.step) }
            x += [.nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
            let c = try ActivationCodes.quantize(x, q)
            #expect(c == ActivationCodes.reference(x, q))
            let off = Int32(1 << (bits - 1))
            #expect(zip(x, c).allSatisfy { Int32($1) == q.code($0) - off })
        }
    }

    /// Hand-worked: 2-bit activations on [−1, 2] (Δ = 1, z = 1, kernel codes q − 2), one output with weight codes [1, −2, 1]
    /// and step 0.5, bias 0.25. x = [2, −1, 0.4] → q = [3, 0, 1], centred [2, −1, 0]: Σ cw·(q − z) = 2 + 2 + 0 = 4;
    /// kernel Σ cw·a = 1·1 + (−2)(−2) + 1·(−1) = 4, offset (2 − 1)·Σ cw = 0 → 4; y = 1·0.5·4 + 0.25 = 2.25.
    @Test func handWorkedZeroPointFold() throws {
        let q = try Self.affine(2, -1, 2)
        let w = try PackedLinearWeight(bits: 2, outFeatures: 1, inFeatures: 3,
                                       bytes: try BitPacking.pack(codes: [1, -2, 1], rows: 1, cols: 3, bits: 2), scales: [0.5])
        for isa in IntegerGEMM.ISA.allCases where isa.isSupported {
            let lin = try IntegerLinear(weight: w, bias: [0.25], activation: q, isa: isa)
            #expect(lin.columnOffsets == [0])
            #expect(lin.apply([2, -1, 0.4], rows: 1) == [2.25], "\(isa)")
        }
        // Weight codes [1, 1, 1]: kernel Σ cw·a = 1 − 2 − 1 = −2, offset (2 − 1)·3 = 3 → 1 = Σ cw·(q − z) = 2 − 1 + 0.
        let w1 = try PackedLinearWeight(bits: 2, outFeatures: 1, inFeatures: 3,
                                        bytes: try BitPacking.pack(codes: [1, 1, 1], rows: 1, cols: 3, bits: 2), scales: [0.5])
        let lin1 = try IntegerLinear(weight: w1, bias: nil, activation: q)
        #expect(lin1.columnOffsets == [3])
        #expect(lin1.apply([2, -1, 0.4], rows: 1) == [0.5])
    }

    /// Random sites: every ISA equals the slow reference and the code-domain simulation bit for bit (symmetric
    /// per-channel weights, integer-zero-point activations of 2…8 bits, with and without bias, odd sizes).
    @Test func kernelsEqualReferenceAndCodeDomain() async {
        await propertyCheck(count: 40, input: Gen.int(in: 1...37), Gen.int(in: 1...70), Gen.int(in: 1...130),
                            Gen.int(in: 0...3), Gen.int(in: 0...1_000_000)) { m, n, k, bi, seed in
            let bits = [2, 3, 4, 8][bi]
            var src = CodeSource(seed: seed)
            let lo = -src.floats(1, scale: 2)[0].magnitude - 0.01, hi = src.floats(1, scale: 3)[0].magnitude + 0.05
            let q = try Self.affine(bits, lo, hi)
            let x = src.floats(m * k, scale: 1.3 * max(-lo, hi))
            let wt = Tensor(shape: [n, k], data: src.floats(n * k, scale: 0.7))
            let (packed, _) = try PackedLinearWeight.minMax(wt, bits: bits)
            let bias: [Float]? = seed % 2 == 0 ? src.floats(n, scale: 0.3) : nil
            let cd = try CodeDomainLinear(activation: q, weightCodes: packed.codes(), weightSteps: packed.scales,
                                          outFeatures: n, inFeatures: k, bias: bias)
            let sim = cd.apply(x, rows: m)
            var ref: [Float]?
            for isa in IntegerGEMM.ISA.allCases where isa.isSupported {
                let lin = try IntegerLinear(weight: packed, bias: bias, activation: q, isa: isa)
                ref = ref ?? lin.reference(x, rows: m)
                let y = lin.apply(x, rows: m)
                #expect(y.map(\.bitPattern) == ref!.map(\.bitPattern), "\(isa) m=\(m) n=\(n) k=\(k) b=\(bits)")
            }
            #expect(sim.map(\.bitPattern) == ref!.map(\.bitPattern), "code domain m=\(m) n=\(n) k=\(k) b=\(bits)")
        }
    }

    /// Affine weights with an integer zero point (DOBI's per-tensor grid) are packed as centred codes at a width that
    /// holds them: Ŵ from the packed form equals ChannelQuantizer.fakeQuant bit for bit, and execution stays exact.
    @Test func affineWeightsPackAsCentredCodes() throws {
        var src = CodeSource(seed: 7)
        let (n, k) = (5, 23)
        let wt = Tensor(shape: [n, k], data: src.floats(n * k, scale: 0.6))
        for (bits, lo, hi, width) in [(4, Float(-0.5), Float(0.7), 8), (4, Float(-1), Float(0.875), 4), (2, Float(-0.3), Float(0.9), 3),
                                      (3, Float(-0.2), Float(0.5), 4)] {
            let wq = try Self.affine(bits, lo, hi)
            let cq = try ChannelQuantizer(quantizers: [Quantizer](repeating: wq, count: n), axis: 0)
            let packed = try PackedLinearWeight(weight: wt, quantizer: cq)
            #expect(packed.bits == width, "b=\(bits) z=\(wq.zeroPoint!) packs at \(packed.bits) bits")
            #expect(packed.dequantized().data.map(\.bitPattern) == (try cq.fakeQuant(wt.data, shape: [n, k])).map(\.bitPattern))
            let aq = try Self.affine(4, -0.3, 1.1)
            let x = src.floats(9 * k, scale: 1.2)
            let lin = try IntegerLinear(weight: packed, bias: nil, activation: aq)
            #expect(lin.apply(x, rows: 9).map(\.bitPattern) == lin.reference(x, rows: 9).map(\.bitPattern))
        }
    }

    @Test func floatZeroPointIsRejected() throws {
        let f = try Quantizer(bits: 4, lower: -0.3, upper: 1.1, scheme: .affine)
        #expect(throws: IntegerError.self) { try ActivationCodes.quantize([0.5], f) }
        #expect(throws: EngineError.self) {
            try CodeDomainLinear(activation: f, weightCodes: [1], weightSteps: [1], outFeatures: 1, inFeatures: 1, bias: nil)
        }
    }
}
