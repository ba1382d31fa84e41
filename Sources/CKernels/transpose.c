// Out-of-place transpose, t[j·ldt + i] = a[i·lda + j] for a rows × cols matrix: pure data movement, so every path gives
// the same bits. 8 × 8 tiles (an AVX2 register transpose where the CPU has AVX2, scalar tiles otherwise) keep both the
// reads and the writes within a few cache lines; the plain row-by-column loop writes with a stride of a whole row, which
// for 256 × 256 attention matrices maps every store onto a handful of L1 sets.
#include "ckernels.h"

static void ck_transpose_tile_scalar(const float *a, size_t lda, float *t, size_t ldt, size_t r, size_t c) {
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < c; j++) t[j * ldt + i] = a[i * lda + j];
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2")))
static void ck_transpose_avx2(const float *a, size_t rows, size_t cols, size_t lda, float *t, size_t ldt) {
    for (size_t ib = 0; ib < rows; ib += 8) {
        const size_t r = rows - ib < 8 ? rows - ib : 8;
        for (size_t jb = 0; jb < cols; jb += 8) {
            const size_t c = cols - jb < 8 ? cols - jb : 8;
            const float *s = a + ib * lda + jb;
            float *d = t + jb * ldt + ib;
            if (r < 8 || c < 8) { ck_transpose_tile_scalar(s, lda, d, ldt, r, c); continue; }
            const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lda), r2 = _mm256_loadu_ps(s + 2 * lda),
                         r3 = _mm256_loadu_ps(s + 3 * lda), r4 = _mm256_loadu_ps(s + 4 * lda), r5 = _mm256_loadu_ps(s + 5 * lda),
                         r6 = _mm256_loadu_ps(s + 6 * lda), r7 = _mm256_loadu_ps(s + 7 * lda);
            const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
                         t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                         t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                         u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
                         u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
                         u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + ldt, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * ldt, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * ldt, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * ldt, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * ldt, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * ldt, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * ldt, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    }
}
#endif

void ck_transpose(const float *a, size_t rows, size_t cols, size_t lda, float *t, size_t ldt) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) { ck_transpose_avx2(a, rows, cols, lda, t, ldt); return; }
#endif
    for (size_t ib = 0; ib < rows; ib += 8)
        for (size_t jb = 0; jb < cols; jb += 8)
            ck_transpose_tile_scalar(a + ib * lda + jb, lda, t + jb * ldt + ib, ldt, rows - ib < 8 ? rows - ib : 8,
                                     cols - jb < 8 ? cols - jb : 8);
}
