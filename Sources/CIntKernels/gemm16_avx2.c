// AVX2 micro-kernel with 16-bit operands (vpmaddwd: 16 int16 products, neighbours added into 8 exact int32 lanes),
// shared by the code products (code_product16.c) and the integer Linear (linear16.c). Layout in gemm_internal.h.
#include "gemm_internal.h"
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

/// 6 × 16 tile (gemm_internal.h): rows r < mr of A (row r at a + r·lda int16) times one panel.
__attribute__((target("avx2")))
void cik_micro16_avx2(int pairs, const int16_t *a, long lda, int mr, int nr, const int16_t *panel,
                      int32_t tile[CIK16_MR][CIK16_NR], const float *scale, const int32_t *off, const float *bias,
                      float *y, long ldy) {
    const int16_t *r[CIK16_MR];
    for (int i = 0; i < CIK16_MR; i++) r[i] = a + (size_t)(i < mr ? i : mr - 1) * lda;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int p = 0; p < pairs; p++) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)p * 32));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)p * 32 + 16));
        int32_t w;
        __m256i x;
#define CP_ROW(i, lo, hi) memcpy(&w, r[i] + 2 * p, 4); x = _mm256_set1_epi32(w); \
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(x, b0)); hi = _mm256_add_epi32(hi, _mm256_madd_epi16(x, b1));
        CP_ROW(0, c00, c01) CP_ROW(1, c10, c11) CP_ROW(2, c20, c21)
        CP_ROW(3, c30, c31) CP_ROW(4, c40, c41) CP_ROW(5, c50, c51)
#undef CP_ROW
    }
    if (y) {
        // Columns j < nr only: scale, off and bias are read and y written under a mask (nothing beyond nr is touched).
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
        const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
        const __m256 s0 = _mm256_maskload_ps(scale, m0), s1 = _mm256_maskload_ps(scale + 8, m1);
        const __m256i z = _mm256_setzero_si256();
        const __m256i o0 = off ? _mm256_maskload_epi32((const int *)off, m0) : z;
        const __m256i o1 = off ? _mm256_maskload_epi32((const int *)(off + 8), m1) : z;
        const __m256 zf = _mm256_setzero_ps();
        const __m256 bb0 = bias ? _mm256_maskload_ps(bias, m0) : zf, bb1 = bias ? _mm256_maskload_ps(bias + 8, m1) : zf;
        // t = scale·(float)(S + off), then y = t + bias: a multiply and an add, never fused (no FMA target here).
#define CP_OUT(i, lo, hi) if (i < mr) { \
        __m256 t0 = _mm256_mul_ps(s0, _mm256_cvtepi32_ps(_mm256_add_epi32(lo, o0))); \
        __m256 t1 = _mm256_mul_ps(s1, _mm256_cvtepi32_ps(_mm256_add_epi32(hi, o1))); \
        if (bias) { t0 = _mm256_add_ps(t0, bb0); t1 = _mm256_add_ps(t1, bb1); } \
        if (nr == CIK16_NR) { _mm256_storeu_ps(y + (size_t)i * ldy, t0); _mm256_storeu_ps(y + (size_t)i * ldy + 8, t1); } \
        else { _mm256_maskstore_ps(y + (size_t)i * ldy, m0, t0); _mm256_maskstore_ps(y + (size_t)i * ldy + 8, m1, t1); } }
        CP_OUT(0, c00, c01) CP_OUT(1, c10, c11) CP_OUT(2, c20, c21)
        CP_OUT(3, c30, c31) CP_OUT(4, c40, c41) CP_OUT(5, c50, c51)
#undef CP_OUT
        return;
    }
#define CP_TILE(i, lo, hi) _mm256_storeu_si256((__m256i *)tile[i], lo); _mm256_storeu_si256((__m256i *)(tile[i] + 8), hi);
    CP_TILE(0, c00, c01) CP_TILE(1, c10, c11) CP_TILE(2, c20, c21)
    CP_TILE(3, c30, c31) CP_TILE(4, c40, c41) CP_TILE(5, c50, c51)
#undef CP_TILE
}

