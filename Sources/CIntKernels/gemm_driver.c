// Integer GEMM driver: ISA dispatch at run time (__builtin_cpu_supports), unpacking of the dense packed
// weights into offset panels (once per call, in the caller's scratch), row blocks of MC rows that stay
// in L1 while every panel passes over them, the row compensation, and the one-multiply rescale.
#include "cintkernels.h"
#include "gemm_internal.h"
#include <string.h>

#define CIK_MAX_K 65536
#define CIK_MC 256

int cik_isa_supported(int isa) {
    __builtin_cpu_init();
    switch (isa) {
    case CIK_ISA_REFERENCE: return 1;
    case CIK_ISA_AVX2: return __builtin_cpu_supports("avx2") ? 1 : 0;
    case CIK_ISA_AVX512VNNI:
        return (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                && __builtin_cpu_supports("avx512vnni")) ? 1 : 0;
    default: return 0;
    }
}

int cik_isa_best(void) {
    if (cik_isa_supported(CIK_ISA_AVX512VNNI)) return CIK_ISA_AVX512VNNI;
    if (cik_isa_supported(CIK_ISA_AVX2)) return CIK_ISA_AVX2;
    return CIK_ISA_REFERENCE;
}

static size_t quads_of(int k) { return ((size_t)k + 3) / 4; }
static size_t panels_of(int n) { return ((size_t)n + CIK_NR - 1) / CIK_NR; }
static size_t round64(size_t v) { return (v + 63) & ~(size_t)63; }

size_t cik_gemm_scratch_bytes(int n, int k) {
    if (n < 0 || k < 0) return 0;
    // unpacked rows (NR × k) + all panels + alignment slack
    return round64((size_t)CIK_NR * (size_t)k) + panels_of(n) * quads_of(k) * 128 + 64;
}

/// Unpacks W into offset panels (gemm_internal.h).
static void build_panels(int bits, const uint8_t *w, size_t rowBytes, int n, int k, int8_t *rows, uint8_t *panels) {
    const size_t quads = quads_of(k);
    memset(panels, 128, panels_of(n) * quads * 128);
    for (int o0 = 0; o0 < n; o0 += CIK_NR) {
        const int nr = n - o0 < CIK_NR ? n - o0 : CIK_NR;
        uint8_t *panel = panels + (size_t)(o0 / CIK_NR) * quads * 128;
        cik_unpack_rows(bits, w + (size_t)o0 * rowBytes, rowBytes, k, nr, rows, k);
        for (int j = 0; j < nr; j++) {
            const int8_t *src = rows + (size_t)j * k;
            for (int p = 0; p < k; p++) panel[(size_t)(p >> 2) * 128 + (size_t)j * 4 + (p & 3)] = (uint8_t)(src[p] + 128);
        }
    }
}

static int run(int isa, int m, int n, int k, const int8_t *a, int lda, int bits, const uint8_t *w, size_t rowBytes,
               void *scratch, int32_t *c, int ldc, const float *scale, const float *bias, float *y, int ldy,
               const int32_t *colOffset) {
    if (isa == CIK_ISA_AUTO) isa = cik_isa_best();
    if (!cik_isa_supported(isa) || bits < 1 || bits > 8 || k > CIK_MAX_K || k < 0 || m < 0 || n < 0) return -1;
    if (m == 0 || n == 0) return 0;
    int8_t *rows = (int8_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);

    if (isa == CIK_ISA_REFERENCE) {
        for (int o = 0; o < n; o++) {
            cik_unpack_rows(bits, w + (size_t)o * rowBytes, rowBytes, k, 1, rows, k);
            for (int i = 0; i < m; i++) {
                int32_t acc;
                cik_gemm_s8_reference(1, 1, k, a + (size_t)i * lda, lda, rows, k, &acc, 1);
                if (colOffset && y) acc += colOffset[o];
                if (y) { float t = scale[o] * (float)acc; y[(size_t)i * ldy + o] = bias ? t + bias[o] : t; }
                else c[(size_t)i * ldc + o] = acc;
            }
        }
        return 0;
    }

    uint8_t *panels = (uint8_t *)rows + round64((size_t)CIK_NR * (size_t)k);
    build_panels(bits, w, rowBytes, n, k, rows, panels);
    const size_t panelBytes = quads_of(k) * 128;
    int32_t tile[CIK_MR][CIK_NR];
    int32_t comp[CIK_MC];
    for (int i0 = 0; i0 < m; i0 += CIK_MC) {
        const int mc = m - i0 < CIK_MC ? m - i0 : CIK_MC;
        for (int i = 0; i < mc; i++) {
            const int8_t *ar = a + (size_t)(i0 + i) * lda;
            int32_t s = 0;
            for (int p = 0; p < k; p++) s += ar[p];
            comp[i] = 128 * s;
        }
        for (int o0 = 0; o0 < n; o0 += CIK_NR) {
            const int nr = n - o0 < CIK_NR ? n - o0 : CIK_NR;
            const uint8_t *panel = panels + (size_t)(o0 / CIK_NR) * panelBytes;
            for (int i = 0; i < mc; i += CIK_MR) {
                const int mr = mc - i < CIK_MR ? mc - i : CIK_MR;
                const int8_t *ai = a + (size_t)(i0 + i) * lda;
                if (isa == CIK_ISA_AVX512VNNI) cik_micro_vnni(k, ai, lda, mr, panel, tile);
                else cik_micro_avx2(k, ai, lda, mr, panel, tile);
                const size_t row = (size_t)(i0 + i);
                int32_t *ct = c ? c + row * ldc + o0 : 0;
                float *yt = y ? y + row * ldy + o0 : 0;
                const float *st = scale ? scale + o0 : 0, *bt = bias ? bias + o0 : 0;
                const int32_t *ot = colOffset && y ? colOffset + o0 : 0;
                if (isa == CIK_ISA_AVX512VNNI) cik_store_avx512(tile, mr, nr, comp + i, ct, ldc, st, bt, yt, ldy, ot);
                else cik_store_avx2(tile, mr, nr, comp + i, ct, ldc, st, bt, yt, ldy, ot);
            }
        }
    }
    return 0;
}

int cik_gemm_s8_packed(int isa, int m, int n, int k, const int8_t *a, int lda,
                       int bits, const uint8_t *w, size_t rowBytes, void *scratch,
                       int32_t *c, int ldc) {
    return run(isa, m, n, k, a, lda, bits, w, rowBytes, scratch, c, ldc, 0, 0, 0, 0, 0);
}

int cik_linear_s8_packed(int isa, int m, int n, int k, const int8_t *a, int lda,
                         int bits, const uint8_t *w, size_t rowBytes, void *scratch,
                         const float *scale, const float *bias, float *y, int ldy) {
    if (!scale || !y) return -1;
    return run(isa, m, n, k, a, lda, bits, w, rowBytes, scratch, 0, 0, scale, bias, y, ldy, 0);
}

int cik_linear_s8_packed_offset(int isa, int m, int n, int k, const int8_t *a, int lda,
                                int bits, const uint8_t *w, size_t rowBytes, void *scratch,
                                const int32_t *colOffset, const float *scale, const float *bias, float *y, int ldy) {
    if (!scale || !y) return -1;
    return run(isa, m, n, k, a, lda, bits, w, rowBytes, scratch, 0, 0, scale, bias, y, ldy, colOffset);
}
