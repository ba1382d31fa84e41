// Slow reference GEMM: one dot product per output, accumulated in double. No blocking, no SIMD.
#include "ckernels.h"

void ck_gemm_reference(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                       int transB, float *c, int ldc, int accumulate) {
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int p = 0; p < k; p++) {
                float bv = transB ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += (double)a[(size_t)i * lda + p] * (double)bv;
            }
            float *dst = c + (size_t)i * ldc + j;
            *dst = accumulate ? (float)((double)*dst + s) : (float)s;
        }
    }
}
