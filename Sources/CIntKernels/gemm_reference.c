// Slow, obviously-correct int8 x int8 -> int32 GEMM (the oracle for the fast kernels).
#include "cintkernels.h"

void cik_gemm_s8_reference(int m, int n, int k, const int8_t *a, int lda, const int8_t *w, int ldw,
                           int32_t *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int o = 0; o < n; o++) {
            int64_t s = 0;
            for (int p = 0; p < k; p++) s += (int64_t)a[(size_t)i * lda + p] * (int64_t)w[(size_t)o * ldw + p];
            c[(size_t)i * ldc + o] = (int32_t)s;
        }
}
