// Fast float32 GEMM: 6×16 register tile over 16-column packed panels of op(B).
// GCC vector extensions; target_clones picks the AVX-512, FMA (AVX2) or baseline build at load.
#include "ckernels.h"
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

#define MR 6
#define NR 16
#define MC 96

size_t ck_packed_b_size(int k, int n) {
    size_t panels = (size_t)((n + NR - 1) / NR);
    return panels * (size_t)k * NR;
}

void ck_pack_b(int k, int n, const float *b, int ldb, int transB, float *packed) {
    int panels = (n + NR - 1) / NR;
    for (int jp = 0; jp < panels; jp++) {
        float *dst = packed + (size_t)jp * k * NR;
        int j0 = jp * NR;
        int nr = n - j0 < NR ? n - j0 : NR;
        for (int p = 0; p < k; p++) {
            float *row = dst + (size_t)p * NR;
            if (transB) {
                for (int j = 0; j < nr; j++) row[j] = b[(size_t)(j0 + j) * ldb + p];
            } else {
                memcpy(row, b + (size_t)p * ldb + j0, sizeof(float) * nr);
            }
            for (int j = nr; j < NR; j++) row[j] = 0.0f;
        }
    }
}

static inline __attribute__((always_inline))
void micro_6x16(int k, const float *a, int lda, int mr, const float *pb,
                float *c, int ldc, int nr, int accumulate, const float *bias) {
    const float *a0 = a;
    const float *a1 = a + (size_t)(mr > 1 ? 1 : 0) * lda;
    const float *a2 = a + (size_t)(mr > 2 ? 2 : 0) * lda;
    const float *a3 = a + (size_t)(mr > 3 ? 3 : 0) * lda;
    const float *a4 = a + (size_t)(mr > 4 ? 4 : 0) * lda;
    const float *a5 = a + (size_t)(mr > 5 ? 5 : 0) * lda;
    v16 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0}, c5 = {0};
    for (int p = 0; p < k; p++) {
        v16 bv = *(const v16u *)(pb + (size_t)p * NR);
        c0 += a0[p] * bv; c1 += a1[p] * bv; c2 += a2[p] * bv;
        c3 += a3[p] * bv; c4 += a4[p] * bv; c5 += a5[p] * bv;
    }
    v16 acc[MR] = {c0, c1, c2, c3, c4, c5};
    if (bias) {
        v16 bv = {0};
        memcpy(&bv, bias, sizeof(float) * nr);
        for (int r = 0; r < MR; r++) acc[r] += bv;
    }
    for (int r = 0; r < mr; r++) {
        float *crow = c + (size_t)r * ldc;
        if (nr == NR) {
            v16 v = acc[r];
            if (accumulate) v += *(v16u *)crow;
            *(v16u *)crow = v;
        } else {
            float tmp[NR];
            memcpy(tmp, &acc[r], sizeof tmp);
            if (accumulate) { for (int j = 0; j < nr; j++) crow[j] += tmp[j]; }
            else            { for (int j = 0; j < nr; j++) crow[j] = tmp[j]; }
        }
    }
}

__attribute__((target_clones("avx512f", "fma", "default")))
void ck_gemm_packed(int m, int n, int k, const float *a, int lda,
                    const float *packed, float *c, int ldc, int accumulate, const float *bias) {
    int panels = (n + NR - 1) / NR;
    if (k == 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] = (accumulate ? c[(size_t)i * ldc + j] : 0.0f) + (bias ? bias[j] : 0.0f);
        return;
    }
    for (int i0 = 0; i0 < m; i0 += MC) {
        int iend = i0 + MC < m ? i0 + MC : m;
        for (int jp = 0; jp < panels; jp++) {
            const float *pb = packed + (size_t)jp * k * NR;
            int j0 = jp * NR;
            int nr = n - j0 < NR ? n - j0 : NR;
            for (int i = i0; i < iend; i += MR) {
                int mr = iend - i < MR ? iend - i : MR;
                micro_6x16(k, a + (size_t)i * lda, lda, mr, pb, c + (size_t)i * ldc + j0, ldc, nr, accumulate,
                           bias ? bias + j0 : NULL);
            }
        }
    }
}

