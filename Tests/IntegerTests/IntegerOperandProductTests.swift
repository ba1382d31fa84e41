import Testing
import PropertyBased
import HarmoQ
import SRIO
import SREngine
import SRInteger

/// Integer attention matmuls (docs/integer.md "Integer attention matmuls"): the int8-GEMM product of two code matrices
/// (any strides, code ranges that need the int8 shift, k beyond the GEMM's 65 536) against the slow Int64 reference.
@Suite struct IntegerOperandProductTests {
    /// Codes in `range` (a quarter of them at its ends), as integer-valued Floats.
    static func codes(_ n: Int, _ range: ClosedRange<Int32>, _ src: inout CodeSource) -> [Float] {
        let span = Int(range.upperBound - range.lowerBound) + 1
        return (0..<n).map { _ in
            switch src.rng.below(8) {
            case 0: Float(range.lowerBound)
            case 1: Float(range.upperBound)
            default: Float(Int(range.lowerBound) + src.rng.below(span))
            }
        }
    }

    /// The code ranges of the operand grids: symmetric 2…8 bits, 8-bit probabilities [0, 255] (z = 0), affine z = 200
    /// ([−200, 55]), 4-bit [0, 15].
    static let ranges: [ClosedRange<Int32>] = [-2...1, -8...7, -128...127, 0...255, -200...55, 0...15, -4...3]

    /// Random m, n, k ≤ 40, random ranges, transposed or not: kernel == reference on every ISA.
    @Test func kernelEqualsReference() async {
        await propertyCheck(count: 150, input: Gen.int(in: 1...40), Gen.int(in: 1...40), Gen.int(in: 0...40),
                            Gen.int(in: 0...6), Gen.int(in: 0...6), Gen.bool, Gen.int(in: 0...1_000_000)) { m, n, k, ia, ib, trans, seed in
            var src = CodeSource(seed: seed)
            let ra = Self.ranges[ia], rb = Self.ranges[ib]
            let a = Self.codes(m * k, ra, &src), b = Self.codes(k * n, rb, &src)
            // A row-major m×k; B k×n row-major, or stored n×k (B(p, j) = b[j·k + p]) when `trans`.
            let (bRow, bCol) = trans ? (1, k) : (n, 1)
            let want = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                IntegerOperandProducts.reference(m: m, n: n, k: k, a: pa.baseAddress!, aRow: k, aCol: 1,
                                                 b: pb.baseAddress!, bRow: bRow, bCol: bCol)
            }}
            for isa in IntegerGEMM.ISA.allCases where isa.isSupported {
                var c = [Float](repeating: .nan, count: m * (n + 3))
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    IntegerOperandProducts.product(m: m, n: n, k: k, a: pa.baseAddress!, aRow: k, aCol: 1, aRange: ra,
                                                   b: pb.baseAddress!, bRow: bRow, bCol: bCol, bRange: rb,
                                                   c: pc.baseAddress!, ldc: n + 3, isa: isa)
                }}}
                for i in 0..<m { for j in 0..<n {
                    #expect(c[i * (n + 3) + j] == Float(want[i * n + j]), "\(isa) m=\(m) n=\(n) k=\(k) \(ra)×\(rb) (\(i), \(j))")
                }}
                for i in 0..<m { for j in n..<(n + 3) { #expect(c[i * (n + 3) + j].isNaN, "wrote outside the row") } }
            }
        }
    }

    /// The attention shapes: window q·kᵀ (256×256, k = 10, B = kᵀ), window P·V with 8-bit probabilities on [0, 255]
    /// (256×10, k = 256), and a channel Gram with k = 140 000 tokens (chunked beyond 65 536), column-strided A.
    @Test func attentionShapes() {
        var src = CodeSource(seed: 7)
        func check(m: Int, n: Int, k: Int, a: [Float], aRow: Int, aCol: Int, ra: ClosedRange<Int32>,
                   b: [Float], bRow: Int, bCol: Int, rb: ClosedRange<Int32>) {
            let want = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                IntegerOperandProducts.reference(m: m, n: n, k: k, a: pa.baseAddress!, aRow: aRow, aCol: aCol,
                                                 b: pb.baseAddress!, bRow: bRow, bCol: bCol)
            }}
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                IntegerOperandProducts.product(m: m, n: n, k: k, a: pa.baseAddress!, aRow: aRow, aCol: aCol, aRange: ra,
                                               b: pb.baseAddress!, bRow: bRow, bCol: bCol, bRange: rb, c: pc.baseAddress!, ldc: n)
            }}}
            #expect(c == want.map { Float($0) }, "m=\(m) n=\(n) k=\(k) \(ra)×\(rb)")
        }
        let q = Self.codes(256 * 10, -128...127, &src), kk = Self.codes(256 * 10, -128...127, &src)
        check(m: 256, n: 256, k: 10, a: q, aRow: 10, aCol: 1, ra: -128...127, b: kk, bRow: 1, bCol: 10, rb: -128...127)
        let p = Self.codes(256 * 256, 0...255, &src), v = Self.codes(256 * 10, -8...7, &src)
        check(m: 256, n: 10, k: 256, a: p, aRow: 256, aCol: 1, ra: 0...255, b: v, bRow: 10, bCol: 1, rb: -8...7)
        // Gram: A(i, l) = cq[l·6 + i] (6 channels), B(l, j) = ck[l·6 + j]; all-extreme codes make |S| = 140 000·128·128 > 2³¹.
        let L = 140_000
        let cq = [Float](repeating: -128, count: L * 6), ck = Self.codes(L * 6, -128...127, &src)
        let ext = [Float](repeating: -128, count: L * 6)
        check(m: 6, n: 6, k: L, a: cq, aRow: 1, aCol: 6, ra: -128...127, b: ck, bRow: 6, bCol: 1, rb: -128...127)
        let want = Float(Int64(L) * 128 * 128)
        var c = [Float](repeating: 0, count: 36)
        cq.withUnsafeBufferPointer { pa in ext.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            IntegerOperandProducts.product(m: 6, n: 6, k: L, a: pa.baseAddress!, aRow: 1, aCol: 6, aRange: -128...127,
                                           b: pb.baseAddress!, bRow: 6, bCol: 1, bRange: -128...127, c: pc.baseAddress!, ldc: 6)
        }}}
        #expect(c.allSatisfy { $0 == want }, "int32 overflow not avoided: \(c[0]) vs \(want)")
    }

    /// Channel-attention shapes on the best ISA with 2 threads, where the AVX2 path splits the work: P·V with m = 9 000
    /// token rows (split by rows; A row-strided as the engine passes v, 8-bit affine codes [−200, 55]) and a Gram over
    /// k = 40 000 tokens with a 4-bit partner (split by token slices, int64 sums added per slice); == the Int64 reference.
    @Test func channelShapesSplitOverThreadsEqualReference() {
        var src = CodeSource(seed: 11)
        let L = 9_000, C = 60, hd = 10
        let v = Self.codes(L * C, -200...55, &src), p = Self.codes(hd * hd, 0...255, &src)
        let want = v.withUnsafeBufferPointer { pa in p.withUnsafeBufferPointer { pb in
            IntegerOperandProducts.reference(m: L, n: hd, k: hd, a: pa.baseAddress! + 20, aRow: C, aCol: 1,
                                             b: pb.baseAddress!, bRow: 1, bCol: hd)
        }}
        var c = [Float](repeating: .nan, count: L * C)
        Parallel.withThreads(2) {
            v.withUnsafeBufferPointer { pa in p.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                IntegerOperandProducts.product(m: L, n: hd, k: hd, a: pa.baseAddress! + 20, aRow: C, aCol: 1, aRange: -200...55,
                                               b: pb.baseAddress!, bRow: 1, bCol: hd, bRange: 0...255, c: pc.baseAddress! + 20, ldc: C)
            }}}
        }
        var bad = 0
        for l in 0..<L { for j in 0..<hd where c[l * C + 20 + j] != Float(want[l * hd + j]) { bad += 1 } }
        #expect(bad == 0, "P·V m=\(L): \(bad) outputs differ from the reference")
        #expect(c.enumerated().allSatisfy { i, x in (20..<30).contains(i % C) || x.isNaN }, "P·V wrote outside its columns")

        let K = 40_000
        let q = Self.codes(K * 6, -128...127, &src), k4 = Self.codes(K * 6, -8...7, &src)
        let g = q.withUnsafeBufferPointer { pa in k4.withUnsafeBufferPointer { pb in
            IntegerOperandProducts.reference(m: 6, n: 6, k: K, a: pa.baseAddress!, aRow: 1, aCol: 6, b: pb.baseAddress!, bRow: 6, bCol: 1)
        }}
        var cg = [Float](repeating: .nan, count: 36)
        Parallel.withThreads(2) {
            q.withUnsafeBufferPointer { pa in k4.withUnsafeBufferPointer { pb in cg.withUnsafeMutableBufferPointer { pc in
                IntegerOperandProducts.product(m: 6, n: 6, k: K, a: pa.baseAddress!, aRow: 1, aCol: 6, aRange: -128...127,
                                               b: pb.baseAddress!, bRow: 6, bCol: 1, bRange: -8...7, c: pc.baseAddress!, ldc: 6)
            }}}
        }
        #expect(cg == g.map { Float($0) }, "Gram k=\(K)")
    }

    /// The executor's operand selection: partners (q ↔ k, probs ↔ v) both on centred grids, else declined with a reason.
    @Test func executorRunsOnlyCentredPairs() throws {
        let sym = try Quantizer(bits: 4, lower: -1, upper: 1, scheme: .symmetric)
        let izp = try Quantizer(bits: 4, lower: -0.3, upper: 1, scheme: .affine, integerZeroPoint: true)
        let fzp = try Quantizer(bits: 4, lower: -0.3, upper: 1, scheme: .affine)
        let ox = OperandProductExecutor(quantizers: ["b.attn.q": sym, "b.attn.k": izp, "b.attn.v": sym, "b.attn.probs": fzp,
                                                     "c.attn.q": sym])
        #expect(Set(ox.quantizers.keys) == ["b.attn.q", "b.attn.k"])
        #expect(ox.declined["b.attn.probs"]?.contains("float zero point") == true)
        #expect(ox.declined["b.attn.v"]?.contains("partner b.attn.probs") == true)
        #expect(ox.declined["c.attn.q"]?.contains("partner c.attn.k") == true)
        #expect(OperandProductExecutor.partner(of: "x.attns.1.probs") == "x.attns.1.v")
        #expect(OperandProductExecutor.partner(of: "x.attn.qkv") == nil)
    }
}
