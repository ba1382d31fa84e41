import _TestSupport
import Foundation
import Testing
import PropertyBased
import HarmoQ
import SRIO
import SREngine
import SRInteger

/// Integer execution vs fake quantization of one Linear site (docs/integer.md, "Parity").
struct ParityCase {
    let x: [Float]
    let rows: Int
    let weight: Tensor
    let bias: [Float]?
    let bits: Int

    func run(isa: IntegerGEMM.ISA) throws -> (ParityBound.Report, exact: Bool) {
        let (packed, _) = try PackedLinearWeight.minMax(weight, bits: bits)
        let (lo, hi) = try Observer.absMax(x)
        let qx = try Quantizer(bits: bits, lower: lo, upper: hi, scheme: .symmetric)
        let lin = try IntegerLinear(weight: packed, bias: bias, activation: qx, isa: isa)
        let yInt = lin.apply(x, rows: rows)
        let yFake = FakeQuantLinear.apply(x, rows: rows, weight: packed, bias: bias, activation: qx)
        let xCodes = ActivationCodes.reference(x, qx)
        // The integer result is exactly the int32 sum rescaled once: fl(fl(Δx·Δw)·Float(S)) then + b.
        let n = packed.outFeatures, k = packed.inFeatures
        let s = IntegerGEMM.reference(m: rows, n: n, k: k, a: xCodes, w: packed.codes().map { Int8($0) })
        var exact = true
        for i in 0..<rows {
            for o in 0..<n {
                let scale = qx.step * packed.scales[o]
                let t = scale * Float(s[i * n + o])
                let y = bias.map { t + $0[o] } ?? t
                if y != yInt[i * n + o] { exact = false }
            }
        }
        return (ParityBound.compare(yInt: yInt, yFake: yFake, xCodes: xCodes, weight: packed, bias: bias, stepX: qx.step), exact)
    }
}

@Suite struct LinearParityTests {
    @Test func syntheticSitesMeetTheBound() async throws {
        await propertyCheck(count: 60, input: Gen.int(in: 1...30), Gen.int(in: 1...70), Gen.int(in: 1...190),
                            Gen.int(in: 0...3), Gen.int(in: 0...1_000_000)) { rows, n, k, bi, seed in
            var src = CodeSource(seed: seed)
            let c = ParityCase(x: src.floats(rows * k, scale: 3), rows: rows,
                               weight: Tensor(shape: [n, k], data: src.floats(n * k, scale: 0.2)),
                               bias: seed % 2 == 0 ? src.floats(n, scale: 0.5) : nil, bits: BitPacking.supportedBits[bi])
            for isa in IntegerGEMM.ISA.allCases where isa.isSupported {
                let (r, exact) = try c.run(isa: isa)
                #expect(exact, "isa \(isa): integer output is not fl(fl(Δx·Δw)·S) + b")
                #expect(r.violations == 0, "isa \(isa): \(r)")
            }
        }
    }

    /// Every ISA with rows split over 2 threads (the AVX2 kernel runs chunks of ≥ 96 rows, each quantizing its own rows):
    /// bit-identical to `IntegerLinear.reference`, symmetric W4A4/W8A8 and an 8-bit integer-zero-point activation.
    @Test func parallelRowsEqualReferenceOnEveryISA() throws {
        var src = CodeSource(seed: 5)
        let rows = 701, n = 180, k = 60
        let x = src.floats(rows * k, scale: 2.5)
        let bias = src.floats(n, scale: 0.4)
        for (bits, aq) in [(4, try Quantizer(bits: 4, lower: -2, upper: 2, scheme: .symmetric)),
                           (8, try Quantizer(bits: 8, lower: -2, upper: 2, scheme: .symmetric)),
                           (8, try Quantizer(bits: 8, lower: -0.6, upper: 2.2, scheme: .affine, integerZeroPoint: true))] {
            let (packed, _) = try PackedLinearWeight.minMax(Tensor(shape: [n, k], data: src.floats(n * k, scale: 0.3)), bits: bits)
            for isa in IntegerGEMM.ISA.allCases where isa.isSupported {
                let lin = try IntegerLinear(weight: packed, bias: bias, activation: aq, isa: isa)
                let want = lin.reference(x, rows: rows)
                let got = Parallel.withThreads(2) { lin.apply(x, rows: rows, parallel: true) }
                #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(isa) bits=\(bits) \(aq.scheme)")
            }
        }
    }

    /// DAT-light ×2 on a 32×32 crop of Set5 baby (LR ×2): every Linear site's real input, W per channel and X per
    /// tensor with MinMax (AbsMax) bounds at 8 and 4 bits.
    @Test(.enabled(if: RealSiteInputs.available, Comment(rawValue: TestInputs.missingModel)), arguments: [8, 4])
    func datLightSitesMeetTheBoundOnRealActivations(bits: Int) throws {
        let (model, caps) = try RealSiteInputs.datX2BabyCrop()
        #expect(caps.count == model.sites.filter(\.isLinear).count)
        var worst = 0.0, identical = 0, outputs = 0
        for cap in caps {
            let (w, b) = try model.linearWeight(cap.site)
            let c = ParityCase(x: cap.values, rows: cap.rows, weight: w, bias: b?.data, bits: bits)
            let (r, exact) = try c.run(isa: .best)
            #expect(exact, "\(cap.site.name): integer output is not fl(fl(Δx·Δw)·S) + b")
            #expect(r.violations == 0, "\(cap.site.name) W\(bits)A\(bits): \(r)")
            #expect(r.maxAbsSum < 1 << 24, "\(cap.site.name): |S| = \(r.maxAbsSum) ≥ 2^24")
            worst = max(worst, r.maxBoundRatio)
            identical += r.identical
            outputs += r.outputs
        }
        FileHandle.standardError.write(("parity DAT-light x2 W\(bits)A\(bits): \(caps.count) sites, \(outputs) outputs, "
            + "\(identical) bit-identical, max |y_int − y_fake|/bound = \(worst)\n").data(using: .utf8)!)
    }
}

@Suite struct IntegerLinearTests {
    /// Strided input/output and the row split over threads change nothing, bit for bit.
    @Test func stridesAndThreadsGiveTheSameFloats() throws {
        var src = CodeSource(seed: 11)
        let rows = 203, k = 60, n = 120, ldx = 67, ldo = 125
        let x = src.floats(rows * k, scale: 2)
        let (packed, _) = try PackedLinearWeight.minMax(Tensor(shape: [n, k], data: src.floats(n * k, scale: 0.3)), bits: 4)
        let qx = try Quantizer(bits: 4, lower: -2, upper: 2, scheme: .symmetric)
        let lin = try IntegerLinear(weight: packed, bias: src.floats(n, scale: 0.1), activation: qx)
        let plain = lin.apply(x, rows: rows)
        #expect(lin.apply(x, rows: rows, parallel: true).map(\.bitPattern) == plain.map(\.bitPattern))
        var xs = [Float](repeating: .nan, count: rows * ldx)
        for r in 0..<rows { for p in 0..<k { xs[r * ldx + p] = x[r * k + p] } }
        var ys = [Float](repeating: -7, count: rows * ldo)
        xs.withUnsafeBufferPointer { px in ys.withUnsafeMutableBufferPointer { py in
            lin.apply(px.baseAddress!, ldx: ldx, rows: rows, into: py.baseAddress!, ldo: ldo)
        } }
        for r in 0..<rows {
            #expect(Array(ys[(r * ldo)..<(r * ldo + n)]).map(\.bitPattern) == Array(plain[(r * n)..<((r + 1) * n)]).map(\.bitPattern))
            #expect(ys[(r * ldo + n)..<((r + 1) * ldo)].allSatisfy { $0 == -7 }, "row \(r): padding overwritten")
        }
    }

    /// The bench runs end to end on a tiny configuration and reports every variant (no timing is asserted).
    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func benchReportsEveryVariant() throws {
        let r = try IntegerBench.run(modelPath: TestInputs.datX2!,
                                     imagePath: TestInputs.set5 + "/LR_bicubic/X2/babyx2.png",
                                     tokens: 100, bits: [8], repeats: 1, crop: 16)
        #expect(r.timings.map(\.site) == ["blocks.0.attn.qkv", "blocks.0.attn.proj", "blocks.0.ffn.fc1", "blocks.0.ffn.fc2"])
        let fast = IntegerGEMM.ISA.allCases.filter { $0 != .reference && $0.isSupported }.count
        for t in r.timings { #expect(t.seconds.count == 2 + fast && t.seconds.allSatisfy { $0.1 > 0 }) }
        #expect(r.sizes.rows.map(\.bits) == [32, 8, 4, 3, 2])
    }
}
