import CKernels
import HarmoQ
import SREngine
import Testing

/// `ck_transpose` (8 × 8 tiles, AVX2 where available) and `BackwardReduce.transpose` against the plain definition
/// t[j][i] = a[i][j], bit for bit: every shape 1…19 × 1…19 (all tile remainders), 256 × 256 (attention) and a strided
/// 37 × 60 view of a 37 × 64 matrix. Seed 5.
struct TransposeKernelTests {
    @Test func tiledTransposeEqualsDefinition() {
        var rng = SplitMix64(seed: 5)
        var shapes: [(Int, Int, Int)] = [(256, 256, 256), (37, 60, 64)]
        for r in 1...19 { for c in 1...19 { shapes.append((r, c, c)) } }
        for (rows, cols, lda) in shapes {
            let a = (0..<(rows * lda)).map { _ in Float(rng.nextGaussian()) }
            var t = [Float](repeating: .nan, count: rows * cols), u = t
            ck_transpose(a, rows, cols, lda, &t, rows)
            a.withUnsafeBufferPointer { ap in u.withUnsafeMutableBufferPointer { up in
                BackwardReduce.transpose(ap.baseAddress!, ld: lda, rows: rows, cols: cols, into: up.baseAddress!)
            }}
            var ok = true
            for i in 0..<rows { for j in 0..<cols {
                let want = a[i * lda + j].bitPattern
                if t[j * rows + i].bitPattern != want || u[j * rows + i].bitPattern != want { ok = false }
            }}
            #expect(ok, "transpose \(rows)×\(cols) (lda \(lda)) differs from the definition (seed 5)")
        }
    }
}
