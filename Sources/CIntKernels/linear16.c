// Integer Linear on AVX2 with 16-bit operands (docs/integer.md "Integer Linear on AVX2"): the weight codes packed once
// into int16 panels (cik_pack_panels16, gemm_internal.h), the activations quantized per block of rows with the same
// function as cik_quantize_s8 (cik_quantize_s8_shifted) and widened to int16, the 6 × 16 micro-kernel
// (gemm16_avx2.c), and the epilogue of cik_linear_s8_packed_offset: y = scale[o]·(float)(S + off[o]) (+ bias[o]).
#include "cintkernels.h"
#include "gemm_internal.h"
#include <stdlib.h>
#include <string.h>

#define L16_MC 96

static size_t pairs_of(int k) { return ((size_t)k + 1) / 2; }
static size_t panels_of16(int n) { return ((size_t)n + CIK16_NR - 1) / CIK16_NR; }

size_t cik_panels16_count(int n, int k) {
    if (n < 0 || k < 0) return 0;
    return panels_of16(n) * pairs_of(k) * 2 * CIK16_NR;
}

void cik_pack_panels16(int n, int k, const int8_t *w, int ldw, int16_t *panels) {
    const size_t pairs = pairs_of(k);
    for (size_t jb = 0; jb < panels_of16(n); jb++)
        for (size_t p = 0; p < pairs; p++)
            for (int j = 0; j < CIK16_NR; j++)
                for (int t = 0; t < 2; t++) {
                    const size_t o = jb * CIK16_NR + (size_t)j, q = 2 * p + (size_t)t;
                    panels[(jb * pairs + p) * 2 * CIK16_NR + 2 * (size_t)j + (size_t)t] =
                        (o < (size_t)n && q < (size_t)k) ? (int16_t)w[o * (size_t)ldw + q] : 0;
                }
}

int cik_linear16(int m, int n, int k, const float *x, long ldx, float step, int qmin, int qmax, int shift, int halfToEven,
                 const int16_t *panels, const int32_t *off, const float *scale, const float *bias, float *y, long ldy) {
    if (m < 0 || n < 0 || k < 0 || !scale || !y || !cik_isa_supported(CIK_ISA_AVX2)) return -1;
    if (m == 0 || n == 0) return 0;
    const int pairs = (int)pairs_of(k), lda = 2 * pairs, np = (int)panels_of16(n);
    const size_t bytes = (size_t)L16_MC * (size_t)k + (size_t)L16_MC * (size_t)lda * sizeof(int16_t) + 2 * 64;
    // One buffer per thread, kept and grown (this runs once per Linear call and row chunk).
    unsigned char *tlBuf = cik_scratch(CIK_SCRATCH_LINEAR16, bytes);
    if (!tlBuf) return -1;
    int8_t *q8 = (int8_t *)(((uintptr_t)tlBuf + 63) & ~(uintptr_t)63);
    int16_t *a16 = (int16_t *)(((uintptr_t)(q8 + (size_t)L16_MC * k) + 63) & ~(uintptr_t)63);
    int32_t tile[CIK16_MR][CIK16_NR];   // unused: every tile goes out through the float epilogue
    for (int i0 = 0; i0 < m; i0 += L16_MC) {
        const int mc = m - i0 < L16_MC ? m - i0 : L16_MC;
        for (int r = 0; r < mc; r++) {
            int8_t *qr = q8 + (size_t)r * k;
            int16_t *ar = a16 + (size_t)r * lda;
            if (k > 0) cik_quantize_s8_shifted(x + (long)(i0 + r) * ldx, (size_t)k, step, qmin, qmax, shift, halfToEven, qr);
            for (int p = 0; p < k; p++) ar[p] = qr[p];
            if (k & 1) ar[k] = 0;
        }
        for (int jb = 0; jb < np; jb++) {
            const int j0 = jb * CIK16_NR, nr = n - j0 < CIK16_NR ? n - j0 : CIK16_NR;
            const int16_t *panel = panels + (size_t)jb * pairs * 2 * CIK16_NR;
            for (int i = 0; i < mc; i += CIK16_MR) {
                const int mr = mc - i < CIK16_MR ? mc - i : CIK16_MR;
                const int16_t *ai = a16 + (size_t)i * lda;
                float *yi = y + (long)(i0 + i) * ldy + j0;
                cik_micro16_avx2(pairs, ai, lda, mr, nr, panel, tile, scale + j0, off ? off + j0 : NULL,
                                 bias ? bias + j0 : NULL, yi, ldy);
            }
        }
    }
    return 0;
}
