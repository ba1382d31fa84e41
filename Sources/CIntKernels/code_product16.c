// Exact product of two integer code matrices on AVX2 with 16-bit operands (the attention matmuls q·kᵀ and P·V of
// integer execution, docs/integer.md "Integer attention matmuls"; the slow definition is
// IntegerOperandProducts.reference, tested against this in IntegerOperandProductTests).
//
// Why 16 bits: AVX2 has no exact int8 dot product (vpmaddubsw saturates), and the operand codes of these products
// (8-bit probabilities on [0, 255], affine grids [−z, 255 − z]) need no shift into int8 when held as int16. vpmaddwd
// multiplies 16 pairs of int16 and adds neighbours into 8 int32 lanes, exactly (|a·b| ≤ 255·255).
//
// Layout (per chunk of at most CP_KC terms): A as int16 rows of k (zero-padded to an even count), read as 32-bit
// pairs (A[i][2p], A[i][2p+1]) and broadcast; B in panels of 16 columns, per pair p the 16 columns' pairs
// (B[2p][j], B[2p+1][j]) as 32-bit words, zero for padded columns and terms. A 6 × 16 register tile accumulates
// Σ_p in int32: exact, since every code is in [−255, 255] and a chunk has at most CP_KC = 4096 terms
// (4096·255·255 < 2^31). Longer sums add their chunks in int64.
#include "cintkernels.h"
#include "gemm_internal.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define CP_MR CIK16_MR
#define CP_NR CIK16_NR
#define CP_KC 4096
#define CP_MAX_CODE 255

/// dst[p] = (int16) src[p·stride] for p < count, dst[count] = 0 when count is odd; returns 1 when a code is outside
/// [−255, 255] (or not integer-valued in range of int).
__attribute__((target("avx2"), always_inline))
static inline int pack_row16(const float *src, long stride, int count, int16_t *dst) {
    int bad = 0;
    if (stride == 1) {
        for (int p = 0; p < count; p++) {
            const float v = src[p];
            bad |= !(v >= -CP_MAX_CODE && v <= CP_MAX_CODE);
            dst[p] = (int16_t)(int)v;
        }
    } else {
        for (int p = 0; p < count; p++) {
            const float v = src[(long)p * stride];
            bad |= !(v >= -CP_MAX_CODE && v <= CP_MAX_CODE);
            dst[p] = (int16_t)(int)v;
        }
    }
    if (count & 1) dst[count] = 0;
    return bad;
}

/// A (m rows of kk terms) as int16 rows of 2·pairs.
__attribute__((target("avx2")))
static int pack_a16(const float *a, long aRow, long aCol, int m, int kk, int pairs, int16_t *ap) {
    int bad = 0;
    for (int i = 0; i < m; i++) bad |= pack_row16(a + (long)i * aRow, aCol, kk, ap + (size_t)i * 2 * pairs);
    return bad;
}

/// Panels of B (kk terms from p0 on): panel jb, pair p, column j < 16, t < 2 → bp[(jb·pairs + p)·32 + 2j + t].
__attribute__((target("avx2")))
static int pack_b16(const float *b, long bRow, long bCol, int n, int kk, int pairs, int16_t *bp) {
    int bad = 0;
    const int panels = (n + CP_NR - 1) / CP_NR;
    int16_t col[2 * CP_KC + 2];
    for (int jb = 0; jb < panels; jb++) {
        int16_t *panel = bp + (size_t)jb * pairs * 2 * CP_NR;
        for (int j = 0; j < CP_NR; j++) {
            const int jj = jb * CP_NR + j;
            if (jj >= n) {
                for (int p = 0; p < pairs; p++) { panel[(size_t)p * 2 * CP_NR + 2 * j] = 0; panel[(size_t)p * 2 * CP_NR + 2 * j + 1] = 0; }
                continue;
            }
            const float *src = b + (long)jj * bCol;
            if (bRow == 1) {
                // Terms of a column contiguous (B = a transposed matrix, e.g. kᵀ): straight into the panel.
                for (int p = 0; p < kk; p++) {
                    const float v = src[p];
                    bad |= !(v >= -CP_MAX_CODE && v <= CP_MAX_CODE);
                    panel[(size_t)(p >> 1) * 2 * CP_NR + 2 * j + (p & 1)] = (int16_t)(int)v;
                }
                if (kk & 1) panel[(size_t)(kk >> 1) * 2 * CP_NR + 2 * j + 1] = 0;
                continue;
            }
            bad |= pack_row16(src, bRow, kk, col);
            for (int p = 0; p < pairs; p++) {
                panel[(size_t)p * 2 * CP_NR + 2 * j] = col[2 * p];
                panel[(size_t)p * 2 * CP_NR + 2 * j + 1] = col[2 * p + 1];
            }
        }
    }
    return bad;
}

int cik_code_product16(int m, int n, int k, const float *a, long aRow, long aCol, const float *b, long bRow, long bCol,
                       float scale, float *c, long cRow, long cCol, int64_t *s64) {
    if (m < 0 || n < 0 || k < 0 || !cik_isa_supported(CIK_ISA_AVX2)) return -1;
    if (m == 0 || n == 0) return 0;
    if (!s64 && !c) return -1;
    const int kc = k < 1 ? 1 : (k < CP_KC ? k : CP_KC);
    const int maxPairs = (kc + 1) / 2;
    const int chunks = k <= CP_KC ? 1 : (k + CP_KC - 1) / CP_KC;
    const int panels = (n + CP_NR - 1) / CP_NR;
    int64_t *acc = s64;
    const size_t aBytes = (size_t)m * maxPairs * 4, bBytes = (size_t)panels * maxPairs * 4 * CP_NR;
    const size_t accBytes = (!s64 && chunks > 1) ? (size_t)m * n * sizeof(int64_t) : 0;
    const size_t bytes = aBytes + bBytes + accBytes + 3 * 64;
    // One buffer per thread, kept and grown (the attention calls this once per window and head).
    unsigned char *tlBuf = cik_scratch(CIK_SCRATCH_CODE_PRODUCT16, bytes);
    if (!tlBuf) return -1;
    unsigned char *cur = tlBuf;
#define TAKE(T, nbytes) ((T *)(cur = (unsigned char *)(((uintptr_t)cur + 63) & ~(uintptr_t)63), cur += (nbytes), cur - (nbytes)))
    int16_t *ap = TAKE(int16_t, aBytes);
    int16_t *bp = TAKE(int16_t, bBytes);
    if (accBytes) acc = TAKE(int64_t, accBytes);
#undef TAKE
    if (acc) memset(acc, 0, (size_t)m * n * sizeof(int64_t));
    int32_t tile[CP_MR][CP_NR];
    float scales[CP_NR];
    for (int j = 0; j < CP_NR; j++) scales[j] = scale;
    for (int p0 = 0; p0 < k || (k == 0 && p0 == 0); p0 += kc) {
        const int kk = k - p0 < kc ? k - p0 : kc;
        const int pairs = (kk + 1) / 2;
        int bad = 0;
        bad |= pack_a16(a + (long)p0 * aCol, aRow, aCol, m, kk, pairs, ap);
        bad |= pack_b16(b + (long)p0 * bRow, bRow, bCol, n, kk, pairs, bp);
        if (bad) return -1;
        for (int i0 = 0; i0 < m; i0 += CP_MR) {
            const int mr = m - i0 < CP_MR ? m - i0 : CP_MR;
            const int16_t *ai = ap + (size_t)i0 * 2 * pairs;
            for (int jb = 0; jb < panels; jb++) {
                const int j0 = jb * CP_NR, nr = n - j0 < CP_NR ? n - j0 : CP_NR;
                const int16_t *panel = bp + (size_t)jb * pairs * 2 * CP_NR;
                if (!acc && cCol == 1) {
                    cik_micro16_avx2(pairs, ai, 2 * pairs, mr, nr, panel, tile, scales, NULL, NULL, c + (long)i0 * cRow + j0, cRow);
                    continue;
                }
                cik_micro16_avx2(pairs, ai, 2 * pairs, mr, nr, panel, tile, NULL, NULL, NULL, NULL, 0);
                for (int r = 0; r < mr; r++) {
                    if (acc) {
                        int64_t *ar = acc + (size_t)(i0 + r) * n + j0;
                        for (int j = 0; j < nr; j++) ar[j] += tile[r][j];
                    } else {
                        float *cr = c + (long)(i0 + r) * cRow + (long)j0 * cCol;
                        for (int j = 0; j < nr; j++) cr[(long)j * cCol] = scale * (float)tile[r][j];
                    }
                }
            }
        }
        if (k == 0) break;
    }
    if (acc && !s64) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(long)i * cRow + (long)j * cCol] = scale * (float)acc[(size_t)i * n + j];
    }
    return 0;
}
