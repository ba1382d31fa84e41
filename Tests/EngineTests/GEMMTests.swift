import PropertyBased
import SREngine
import Testing

/// Fast packed GEMM against the slow Double-accumulating reference, over random shapes that hit
/// every edge of the 6×16 tile, both op(B) layouts, accumulate on/off and the threaded path.
@Test func fastGEMMMatchesReference() async {
    await propertyCheck(count: 80,
                        input: Gen.int(in: 1...40), Gen.int(in: 1...50), Gen.int(in: 1...300),
                        Gen.int(in: 0...3), Gen.float(in: -1...1).array(of: 257)) { m, n, k, mode, pool in
        let transB = mode & 1 == 1, accumulate = mode & 2 == 2
        let a = (0..<(m * k)).map { pool[($0 * 7) % pool.count] }
        let b = (0..<(k * n)).map { pool[(3 + $0 * 11) % pool.count] }
        let c0 = (0..<(m * n)).map { pool[(5 + $0 * 13) % pool.count] }
        var fast = c0, ref = c0
        let ldb = transB ? k : n
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            fast.withUnsafeMutableBufferPointer { pc in
                GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: ldb,
                              transB: transB, c: pc.baseAddress!, ldc: n, accumulate: accumulate)
            }
            ref.withUnsafeMutableBufferPointer { pc in
                GEMM.reference(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: ldb,
                               transB: transB, c: pc.baseAddress!, ldc: n, accumulate: accumulate)
            }
        }}
        let err = zip(fast, ref).map { abs($0 - $1) }.max()!
        #expect(err <= 2e-6 * Float(k), "m=\(m) n=\(n) k=\(k) transB=\(transB) acc=\(accumulate) err=\(err)")
    }
}

/// The fused bias (added to every row, with or without accumulate) equals adding it afterwards.
@Test func fusedBiasMatchesReferencePlusBias() async {
    await propertyCheck(count: 30, input: Gen.int(in: 1...30), Gen.int(in: 1...40), Gen.int(in: 0...70),
                        Gen.float(in: -1...1).array(of: 131)) { m, n, k, pool in
        let a = (0..<(m * k)).map { pool[($0 * 5) % pool.count] }
        let b = (0..<(k * n)).map { pool[(1 + $0 * 3) % pool.count] }
        let bias = (0..<n).map { pool[(7 + $0 * 17) % pool.count] }
        let packed = b.withUnsafeBufferPointer { GEMM.Packed(k: k, n: n, b: $0.baseAddress!, ldb: n, transB: false) }
        var fast = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { pa in bias.withUnsafeBufferPointer { pb in fast.withUnsafeMutableBufferPointer { pc in
            GEMM.multiply(m: m, a: pa.baseAddress!, lda: k, packed: packed, c: pc.baseAddress!, ldc: n, bias: pb.baseAddress!)
        }}}
        var ref = GEMM.multiply(a, b, m: m, n: n, k: k, fast: false)
        for i in 0..<m { for j in 0..<n { ref[i * n + j] += bias[j] } }
        let err = zip(fast, ref).map { abs($0 - $1) }.max()!
        #expect(err <= 2e-6 * Float(k + 1), "m=\(m) n=\(n) k=\(k) err=\(err)")
    }
}

/// Big enough to take the multi-threaded row-block path (m·n·k ≥ 1e6), with leading dimensions
/// larger than the logical widths.
@Test func threadedGEMMWithStridesMatchesReference() {
    let m = 1000, n = 37, k = 61, lda = 64, ldb = 40, ldc = 45
    var a = [Float](repeating: .nan, count: m * lda), b = [Float](repeating: .nan, count: k * ldb)
    for i in 0..<m { for p in 0..<k { a[i * lda + p] = Float((i * 31 + p * 17) % 97) / 97 - 0.5 } }
    for p in 0..<k { for j in 0..<n { b[p * ldb + j] = Float((p * 13 + j * 7) % 89) / 89 - 0.5 } }
    var fast = [Float](repeating: -7, count: m * ldc), ref = fast
    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
        fast.withUnsafeMutableBufferPointer { pc in
            GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                          transB: false, c: pc.baseAddress!, ldc: ldc)
        }
        ref.withUnsafeMutableBufferPointer { pc in
            GEMM.reference(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                           transB: false, c: pc.baseAddress!, ldc: ldc)
        }
    }}
    var err: Float = 0
    for i in 0..<m { for j in 0..<n { err = max(err, abs(fast[i * ldc + j] - ref[i * ldc + j])) } }
    #expect(err <= 1e-5, "max error \(err)")
    // Padding columns beyond n must be untouched.
    #expect((0..<m).allSatisfy { i in (n..<ldc).allSatisfy { fast[i * ldc + $0] == -7 } })
}
