// Tile epilogue: subtract the row compensation, then write int32 sums or y = scale·s + bias (with `off`, the
// per-output zero-point term, added to s first; only for float output).
// The same plain loops are compiled three times (AVX-512, AVX2, baseline) so the compiler vectorizes them
// for the ISA at hand; the multiply and the add are separate statements (no fused multiply-add is
// formed), so every ISA writes the same floats.
#include "gemm_internal.h"
#include <stddef.h>

#define CIK_STORE_BODY                                                                                    \
    for (int r = 0; r < mr; r++) {                                                                        \
        const int32_t *restrict acc = tile[r];                                                            \
        const int32_t cr = comp[r];                                                                       \
        if (off) {                                                                                        \
            float *restrict yr = y + (size_t)r * ldy;                                                     \
            if (bias) {                                                                                   \
                for (int j = 0; j < nr; j++) { float t = scale[j] * (float)(acc[j] - cr + off[j]); yr[j] = t + bias[j]; } \
            } else {                                                                                      \
                for (int j = 0; j < nr; j++) yr[j] = scale[j] * (float)(acc[j] - cr + off[j]);            \
            }                                                                                             \
        } else if (y) {                                                                                          \
            float *restrict yr = y + (size_t)r * ldy;                                                     \
            if (bias) {                                                                                   \
                for (int j = 0; j < nr; j++) { float t = scale[j] * (float)(acc[j] - cr); yr[j] = t + bias[j]; } \
            } else {                                                                                      \
                for (int j = 0; j < nr; j++) yr[j] = scale[j] * (float)(acc[j] - cr);                     \
            }                                                                                             \
        } else {                                                                                          \
            int32_t *restrict cr_ = c + (size_t)r * ldc;                                                  \
            for (int j = 0; j < nr; j++) cr_[j] = acc[j] - cr;                                            \
        }                                                                                                 \
    }

#define CIK_STORE_ARGS int32_t tile[CIK_MR][CIK_NR], int mr, int nr, const int32_t *comp, int32_t *c, int ldc, \
    const float *restrict scale, const float *restrict bias, float *y, int ldy, const int32_t *restrict off

__attribute__((target("avx512f"))) void cik_store_avx512(CIK_STORE_ARGS) { CIK_STORE_BODY }
__attribute__((target("avx2"))) void cik_store_avx2(CIK_STORE_ARGS) { CIK_STORE_BODY }
void cik_store_base(CIK_STORE_ARGS) { CIK_STORE_BODY }
