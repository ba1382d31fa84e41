// AVX-512 VNNI micro-kernel, 8 rows × 32 outputs: vpdpbusd multiplies the unsigned (offset) weight bytes
// by the signed activation bytes and adds four products per int32 lane, without saturation: exact.
#include "gemm_internal.h"
#include <immintrin.h>
#include <string.h>

__attribute__((target("avx512vnni,avx512bw,avx512f")))
static inline __m512i quad_s8(const int8_t *row, int q, int kq, int tail) {
    int32_t v = 0;
    if (q < kq) memcpy(&v, row + 4 * q, 4);
    else memcpy(&v, row + 4 * q, (size_t)tail);
    return _mm512_set1_epi32(v);
}

__attribute__((target("avx512vnni,avx512bw,avx512f")))
void cik_micro_vnni(int k, const int8_t *a, int lda, int mr, const uint8_t *panel, int32_t tile[CIK_MR][CIK_NR]) {
    const int8_t *r[CIK_MR];
    for (int i = 0; i < CIK_MR; i++) r[i] = a + (size_t)(i < mr ? i : 0) * lda;
    __m512i c[CIK_MR][2];
    for (int i = 0; i < CIK_MR; i++) { c[i][0] = _mm512_setzero_si512(); c[i][1] = _mm512_setzero_si512(); }
    const int kq = k / 4, tail = k % 4;
    for (int q = 0; q < kq; q++) {
        const __m512i w0 = _mm512_loadu_si512((const void *)(panel + (size_t)q * 128));
        const __m512i w1 = _mm512_loadu_si512((const void *)(panel + (size_t)q * 128 + 64));
        for (int i = 0; i < CIK_MR; i++) {
            int32_t v;
            memcpy(&v, r[i] + 4 * q, 4);
            const __m512i b = _mm512_set1_epi32(v);
            c[i][0] = _mm512_dpbusd_epi32(c[i][0], w0, b);
            c[i][1] = _mm512_dpbusd_epi32(c[i][1], w1, b);
        }
    }
    if (tail) {
        const __m512i w0 = _mm512_loadu_si512((const void *)(panel + (size_t)kq * 128));
        const __m512i w1 = _mm512_loadu_si512((const void *)(panel + (size_t)kq * 128 + 64));
        for (int i = 0; i < CIK_MR; i++) {
            const __m512i b = quad_s8(r[i], kq, kq, tail);
            c[i][0] = _mm512_dpbusd_epi32(c[i][0], w0, b);
            c[i][1] = _mm512_dpbusd_epi32(c[i][1], w1, b);
        }
    }
    for (int i = 0; i < CIK_MR; i++) {
        _mm512_storeu_si512((void *)tile[i], c[i][0]);
        _mm512_storeu_si512((void *)(tile[i] + 16), c[i][1]);
    }
}
