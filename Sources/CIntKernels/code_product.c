// Exact product of two integer code matrices held as integer-valued floats (the attention matmuls q·kᵀ and P·V of
// integer execution, docs/integer.md "Integer attention matmuls"): pack as int8 (shifted by oa / ob), the int8 GEMM
// (int32 sums), the shift folded back in int64, one conversion to float per output.
#include "cintkernels.h"
#include "gemm_internal.h"
#include <stdlib.h>

#define CIK_CP_MAX_K 65536

/// dst[p] = src[p·stride] − off as int8, returns Σ dst (contiguous sources get their own, vectorisable loop).
static inline int64_t pack_codes(const float *src, long stride, int n, int off, int8_t *dst) {
    int64_t s = 0;
    if (stride == 1) {
        for (int p = 0; p < n; p++) { const int v = (int)src[p] - off; dst[p] = (int8_t)v; s += v; }
    } else {
        for (int p = 0; p < n; p++) { const int v = (int)src[(long)p * stride] - off; dst[p] = (int8_t)v; s += v; }
    }
    return s;
}

int cik_code_product(int isa, int m, int n, int k, const float *a, long aRow, long aCol, int oa,
                     const float *b, long bRow, long bCol, int ob, float *c, int ldc) {
    if (m < 0 || n < 0 || k < 0) return -1;
    if (m == 0 || n == 0) return 0;
    const int kc = k < 1 ? 1 : (k > CIK_CP_MAX_K ? CIK_CP_MAX_K : k);
    const int chunks = k <= CIK_CP_MAX_K ? 1 : (k + CIK_CP_MAX_K - 1) / CIK_CP_MAX_K;
    const size_t scratchBytes = cik_gemm_scratch_bytes(n, kc);
    size_t bytes = (size_t)m * kc + (size_t)n * kc + scratchBytes + (size_t)m * n * sizeof(int32_t)
                   + (size_t)(m + n) * sizeof(int64_t) + (chunks > 1 ? (size_t)m * n * sizeof(int64_t) : 0)
                   + 8 * 64;   // each of the 7 blocks below starts on a 64-byte boundary
    // The thread's scratch buffer (scratch.c): the attention calls this once per window and head.
    unsigned char *tlBuf = cik_scratch(CIK_SCRATCH_CODE_PRODUCT, bytes);
    if (!tlBuf) return -1;
    unsigned char *mem = tlBuf;
    unsigned char *cur = mem;
#define TAKE(T, count) ((T *)(cur = (unsigned char *)(((uintptr_t)cur + 63) & ~(uintptr_t)63), cur += (count) * sizeof(T), cur - (count) * sizeof(T)))
    int8_t *pa = TAKE(int8_t, (size_t)m * kc);
    int8_t *pb = TAKE(int8_t, (size_t)n * kc);
    void *scratch = TAKE(unsigned char, scratchBytes);
    int32_t *s32 = TAKE(int32_t, (size_t)m * n);
    int64_t *rowA = TAKE(int64_t, (size_t)m);
    int64_t *colB = TAKE(int64_t, (size_t)n);
    int64_t *acc = chunks > 1 ? TAKE(int64_t, (size_t)m * n) : NULL;
#undef TAKE
    for (int i = 0; i < m; i++) rowA[i] = 0;
    for (int j = 0; j < n; j++) colB[j] = 0;
    if (acc) for (size_t t = 0; t < (size_t)m * n; t++) acc[t] = 0;
    int rc = 0;
    for (int p0 = 0; p0 < k || (k == 0 && p0 == 0); p0 += kc) {
        const int kk = k - p0 < kc ? k - p0 : kc;
        for (int i = 0; i < m; i++)
            rowA[i] += pack_codes(a + (long)i * aRow + (long)p0 * aCol, aCol, kk, oa, pa + (size_t)i * kk);
        for (int j = 0; j < n; j++)
            colB[j] += pack_codes(b + (long)p0 * bRow + (long)j * bCol, bRow, kk, ob, pb + (size_t)j * kk);
        if (kk == 0) { for (size_t t = 0; t < (size_t)m * n; t++) s32[t] = 0; break; }
        rc = cik_gemm_s8_packed(isa, m, n, kk, pa, kk, 8, (const uint8_t *)pb, (size_t)kk, scratch, s32, n);
        if (rc != 0) break;
        if (acc) for (size_t t = 0; t < (size_t)m * n; t++) acc[t] += s32[t];
    }
    if (rc == 0 && !acc && oa == 0 && ob == 0) {
        // No shift, one chunk: the int32 sums as they are (a vectorisable conversion).
        for (int i = 0; i < m; i++) {
            const int32_t *si = s32 + (size_t)i * n;
            float *ci = c + (size_t)i * ldc;
            for (int j = 0; j < n; j++) ci[j] = (float)si[j];
        }
    } else if (rc == 0) {
        const int64_t koo = (int64_t)k * oa * ob;
        for (int i = 0; i < m; i++) {
            const int64_t ri = (int64_t)ob * rowA[i] + koo;
            float *ci = c + (size_t)i * ldc;
            for (int j = 0; j < n; j++) {
                const int64_t sij = acc ? acc[(size_t)i * n + j] : (int64_t)s32[(size_t)i * n + j];
                ci[j] = (float)(sij + (int64_t)oa * colB[j] + ri);
            }
        }
    }
    return rc;
}
