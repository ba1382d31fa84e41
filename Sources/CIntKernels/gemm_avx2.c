// AVX2 micro-kernel: AVX2 has no byte dot product without saturation (vpmaddubsw saturates to int16),
// so the weights are zero-extended and the activations sign-extended to int16 and vpmaddwd adds pairs
// into int32 (|pair| ≤ 2·255·128 < 2^31): exact. 16 bytes (4 outputs × 4 k) give 8 int32 lanes, two
// partial sums per output, added at the end.
#include "gemm_internal.h"
#include <immintrin.h>
#include <string.h>

__attribute__((target("avx2")))
static inline __m256i quad16(const int8_t *row, int q, int kq, int tail) {
    uint32_t v = 0;
    if (q < kq) memcpy(&v, row + 4 * q, 4);
    else memcpy(&v, row + 4 * q, (size_t)tail);
    return _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128((int)v)));
}

__attribute__((target("avx2")))
void cik_micro_avx2(int k, const int8_t *a, int lda, int mr, const uint8_t *panel, int32_t tile[CIK_MR][CIK_NR]) {
    const int kq = k / 4, tail = k % 4;
    const int quads = kq + (tail ? 1 : 0);
    for (int r = 0; r < mr; r += 2) {
        const int8_t *ra = a + (size_t)r * lda;
        const int8_t *rb = a + (size_t)(r + 1 < mr ? r + 1 : r) * lda;
        for (int h = 0; h < 2; h++) {
            __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256(), a2 = _mm256_setzero_si256(), a3 = _mm256_setzero_si256();
            __m256i b0 = _mm256_setzero_si256(), b1 = _mm256_setzero_si256(), b2 = _mm256_setzero_si256(), b3 = _mm256_setzero_si256();
            for (int q = 0; q < quads; q++) {
                const uint8_t *p = panel + (size_t)q * 128 + h * 64;
                const __m256i xa = quad16(ra, q, kq, tail), xb = quad16(rb, q, kq, tail);
                __m256i w;
                w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p +  0)));
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(w, xa)); b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(w, xb));
                w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 16)));
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(w, xa)); b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(w, xb));
                w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 32)));
                a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(w, xa)); b2 = _mm256_add_epi32(b2, _mm256_madd_epi16(w, xb));
                w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 48)));
                a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(w, xa)); b3 = _mm256_add_epi32(b3, _mm256_madd_epi16(w, xb));
            }
            int32_t t[2][32];
            _mm256_storeu_si256((__m256i *)(t[0] +  0), a0); _mm256_storeu_si256((__m256i *)(t[0] +  8), a1);
            _mm256_storeu_si256((__m256i *)(t[0] + 16), a2); _mm256_storeu_si256((__m256i *)(t[0] + 24), a3);
            _mm256_storeu_si256((__m256i *)(t[1] +  0), b0); _mm256_storeu_si256((__m256i *)(t[1] +  8), b1);
            _mm256_storeu_si256((__m256i *)(t[1] + 16), b2); _mm256_storeu_si256((__m256i *)(t[1] + 24), b3);
            for (int j = 0; j < 16; j++) {
                tile[r][h * 16 + j] = t[0][2 * j] + t[0][2 * j + 1];
                if (r + 1 < mr) tile[r + 1][h * 16 + j] = t[1][2 * j] + t[1][2 * j + 1];
            }
        }
    }
}
