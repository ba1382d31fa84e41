import CIntKernels
import SREngine

/// Integer attention matmuls (q·kᵀ, P·V): the `OperandProductExecutor.Kernel` of integer execution
/// (docs/integer.md "Integer attention matmuls").
///
/// The engine hands over the two operands' centred codes (integer-valued Floats, any strides) and their code ranges.
/// On AVX2 (`isa == .avx2`, the best ISA on an AVX2-only CPU) `product16` packs them as int16 and runs the 6×16
/// `vpmaddwd` kernel of the integer Linear (`cik_code_product16`; no shift needed, int32 sums per 4096-term chunk).
/// Otherwise this kernel packs them as int8 — A row-major m × k, B transposed n × k (the int8 GEMM's weight layout) — and
/// runs the int8 × int8 → int32 GEMM (`cik_gemm_s8_packed` at 8 bits: VNNI / reference), all in C (`cik_code_product`).
/// On the int8 path, a code range that does not fit int8 (8-bit probabilities on [0, 255], an 8-bit affine grid with z ≠ 128) is shifted by an integer o into
/// [−128, 127] and folded back exactly:
///
///     Σ_p (a + oa)(b + ob) = Σ_p a·b + oa·Σ_p b + ob·Σ_p a + k·oa·ob      (Int64)
///
/// k beyond the GEMM's 65 536 is summed in chunks (Int64). The result is written as Float(S); the engine then applies
/// the one float rescale fl(fl(Δa·Δb)·S), and only calls this when every partial sum is ≤ 2²⁴, so Float(S) is exact and
/// equals the code-domain simulation's S. `reference` is the slow definition beside it.
public enum IntegerOperandProducts {
    /// The executor of integer execution: the same operand quantizers as `simulation`, S from the int8 GEMM.
    public static func executor(like simulation: OperandProductExecutor, isa: IntegerGEMM.ISA = .best) -> OperandProductExecutor {
        simulation.with(path: isa == .avx2 ? "integer, int16 madd AVX2" : "integer, int8 GEMM \(isa)", kernel: kernel(isa: isa))
    }

    /// The kernel closure (thread-safe: every call allocates its own buffers).
    public static func kernel(isa: IntegerGEMM.ISA = .best) -> OperandProductExecutor.Kernel {
        { m, n, k, a, aRow, aCol, aRange, b, bRow, bCol, bRange, c, ldc in
            product(m: m, n: n, k: k, a: a, aRow: aRow, aCol: aCol, aRange: aRange, b: b, bRow: bRow, bCol: bCol, bRange: bRange,
                    c: c, ldc: ldc, isa: isa)
        }
    }

    /// The integer shift that moves a code range into int8 (0 when it fits already). Precondition: width ≤ 256.
    static func shift(_ r: ClosedRange<Int32>) -> Int32 {
        precondition(r.upperBound - r.lowerBound <= 255, "operand codes span more than 8 bits")
        return r.lowerBound >= -128 && r.upperBound <= 127 ? 0 : r.lowerBound + 128
    }

    /// c[i·ldc + j] = Float(Σ_p A(i, p)·B(p, j)) through the int8 GEMM (see the type's description).
    public static func product(m: Int, n: Int, k: Int,
                               a: UnsafePointer<Float>, aRow: Int, aCol: Int, aRange: ClosedRange<Int32>,
                               b: UnsafePointer<Float>, bRow: Int, bCol: Int, bRange: ClosedRange<Int32>,
                               c: UnsafeMutablePointer<Float>, ldc: Int, isa: IntegerGEMM.ISA = .best) {
        guard m > 0, n > 0 else { return }
        if isa == .avx2 {
            product16(m: m, n: n, k: k, a: a, aRow: aRow, aCol: aCol, b: b, bRow: bRow, bCol: bCol, c: c, ldc: ldc)
            return
        }
        let rc = cik_code_product(isa.rawValue, Int32(m), Int32(n), Int32(k), a, aRow, aCol, shift(aRange),
                                  b, bRow, bCol, shift(bRange), c, Int32(ldc))
        precondition(rc == 0, "integer code product refused m=\(m) n=\(n) k=\(k) isa=\(isa)")
    }

    /// The AVX2 path (`cik_code_product16`: 16-bit operands, no shift, int32 sums, int64 across 4096-term chunks).
    /// Large products are split over `Parallel.threads`: by rows when m is large (channel attention's P·V, m = tokens),
    /// by terms when k is large and m·n small (its Gram, k = tokens: exact int64 sums per slice, added in slice order).
    /// The sums are exact integers, so the split does not change the result. Window attention (m ≤ 256, k ≤ 256,
    /// called inside the engine's parallel loop over windows) runs in one call.
    static func product16(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aCol: Int,
                          b: UnsafePointer<Float>, bRow: Int, bCol: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let threads = Parallel.threads
        if threads > 1 && m >= 4096 {
            Parallel.ranges(m, minPerChunk: 2048, align: 6) { r in
                let rc = cik_code_product16(Int32(r.count), Int32(n), Int32(k), a + r.lowerBound * aRow, aRow, aCol,
                                            b, bRow, bCol, 1, c + r.lowerBound * ldc, ldc, 1, nil)
                precondition(rc == 0, "integer code product (AVX2) refused m=\(r.count) n=\(n) k=\(k)")
            }
        } else if threads > 1 && k >= 16_384 && m * n <= 4096 {
            let slices = Swift.min(threads, k / 8192), per = (k + slices - 1) / slices
            var sums = [Int64](repeating: 0, count: slices * m * n)
            sums.withUnsafeMutableBufferPointer { s in
                let base = s.baseAddress!
                Parallel.forEach(slices) { t in
                    let lo = t * per, hi = Swift.min(k, lo + per)
                    let rc = cik_code_product16(Int32(m), Int32(n), Int32(hi - lo), a + lo * aCol, aRow, aCol,
                                                b + lo * bRow, bRow, bCol, 1, nil, 0, 0, base + t * m * n)
                    precondition(rc == 0, "integer code product (AVX2) refused m=\(m) n=\(n) k=\(hi - lo)")
                }
            }
            for i in 0..<m {
                for j in 0..<n {
                    var s: Int64 = 0
                    for t in 0..<slices { s += sums[t * m * n + i * n + j] }
                    c[i * ldc + j] = Float(s)
                }
            }
        } else {
            let rc = cik_code_product16(Int32(m), Int32(n), Int32(k), a, aRow, aCol, b, bRow, bCol, 1, c, ldc, 1, nil)
            precondition(rc == 0, "integer code product (AVX2) refused m=\(m) n=\(n) k=\(k)")
        }
    }

    /// Slow, obviously correct: Σ_p A(i, p)·B(p, j) in Int64 straight from the Float codes, one output at a time.
    public static func reference(m: Int, n: Int, k: Int,
                                 a: UnsafePointer<Float>, aRow: Int, aCol: Int,
                                 b: UnsafePointer<Float>, bRow: Int, bCol: Int) -> [Int64] {
        var out = [Int64](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Int64 = 0
                for p in 0..<k { s += Int64(a[i * aRow + p * aCol]) * Int64(b[p * bRow + j * bCol]) }
                out[i * n + j] = s
            }
        }
        return out
    }
}
