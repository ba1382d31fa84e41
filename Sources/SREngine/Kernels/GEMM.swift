import CKernels

/// Row-major float32 matrix products, `C[m×n] (+)= A[m×k] · op(B)`, where op(B) is B (k×n) or,
/// with `transB`, the transpose of B stored n×k.
///
/// `multiply` is the fast path (C kernel: packed 16-column panels, 6×16 register tile, runtime ISA
/// dispatch, row blocks spread over threads for big products). `reference` is the slow triple loop
/// with Double accumulation it is tested against.
public enum GEMM {
    /// Products with fewer multiply-adds than this run on one thread.
    public static let parallelThreshold = 1_000_000

    /// op(B) packed once for repeated use (weights of a linear layer or a convolution).
    public final class Packed: @unchecked Sendable {
        public let k: Int
        public let n: Int
        let storage: UnsafeMutablePointer<Float>

        /// Packs op(B): B is k×n row-major with leading dimension `ldb` (or n×k when `transB`).
        public init(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transB: Bool) {
            self.k = k
            self.n = n
            let count = max(1, ck_packed_b_size(Int32(k), Int32(n)))
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
            storage = raw.bindMemory(to: Float.self, capacity: count)
            ck_pack_b(Int32(k), Int32(n), b, Int32(ldb), transB ? 1 : 0, storage)
        }

        /// Packs the transpose of a row-major `rows × cols` matrix (e.g. a PyTorch Linear weight out×in):
        /// the product then computes x · Wᵀ.
        public convenience init(transposeOf w: [Float], rows: Int, cols: Int) {
            precondition(w.count == rows * cols)
            self.init(k: cols, n: rows, b: w, ldb: cols, transB: true)
        }

        deinit { UnsafeMutableRawPointer(storage).deallocate() }
    }

    /// C = A·op(B) (or C += … with `accumulate`), fast path. Threads over row blocks when the
    /// product is big enough and `parallel` is true.
    public static func multiply(m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                                c: UnsafeMutablePointer<Float>, ldc: Int,
                                accumulate: Bool = false, parallel: Bool = true) {
        guard m > 0, n > 0 else { return }
        let packed = Packed(k: k, n: n, b: b, ldb: ldb, transB: transB)
        multiply(m: m, a: a, lda: lda, packed: packed, c: c, ldc: ldc, accumulate: accumulate, parallel: parallel)
    }

    /// C[m×n] (+)= A[m×k] · packed (+ bias on every row), with the packed operand's k and n.
    public static func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, packed: Packed,
                                c: UnsafeMutablePointer<Float>, ldc: Int,
                                accumulate: Bool = false, bias: UnsafePointer<Float>? = nil, parallel: Bool = true) {
        let n = packed.n, k = packed.k
        guard m > 0, n > 0 else { return }
        let acc: Int32 = accumulate ? 1 : 0
        if !parallel || m * n * k < parallelThreshold || Parallel.threads == 1 || m < 12 {
            ck_gemm_packed(Int32(m), Int32(n), Int32(k), a, Int32(lda), packed.storage, c, Int32(ldc), acc, bias)
            return
        }
        Parallel.ranges(m, minPerChunk: 6, align: 6, oversplit: 2) { r in
            ck_gemm_packed(Int32(r.count), Int32(n), Int32(k), a + r.lowerBound * lda, Int32(lda),
                           packed.storage, c + r.lowerBound * ldc, Int32(ldc), acc, bias)
        }
    }

    /// Slow, obviously-correct reference with the same contract (Double accumulation).
    public static func reference(m: Int, n: Int, k: Int,
                                 a: UnsafePointer<Float>, lda: Int,
                                 b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                                 c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
        ck_gemm_reference(Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), transB ? 1 : 0,
                          c, Int32(ldc), accumulate ? 1 : 0)
    }

    /// Array convenience for tests and small callers: returns A·op(B) as an m×n array.
    public static func multiply(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transB: Bool = false,
                                fast: Bool = true) -> [Float] {
        precondition(a.count == m * k && b.count == k * n)
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    if fast {
                        multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!,
                                 ldb: transB ? k : n, transB: transB, c: pc.baseAddress!, ldc: n)
                    } else {
                        reference(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!,
                                  ldb: transB ? k : n, transB: transB, c: pc.baseAddress!, ldc: n)
                    }
                }
            }
        }
        return c
    }
}
