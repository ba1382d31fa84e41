// Row-wise LayerNorm, depthwise 3×3 convolution and channel Gram blocks (channels-last data).
#include "ckernels.h"
#include <string.h>

// No AVX-512 clone: the reductions below are reassociated by the vectoriser, so their summation order follows the
// vector width; with an avx512f clone a machine with AVX-512 summed in another order than an AVX2 one and got other
// ulps (enough to flip quantizer roundings: the 2DQuant reference tests and goldens failed there). AVX-512 machines
// run the fma (AVX2) clone, so every x86-64 machine with FMA gets the same bits. LayerNorm is memory-bound: no loss.
__attribute__((target_clones("fma", "default")))
void ck_layernorm_rows(const float *x, int ldx, int rows, int c, const float *gamma,
                       const float *beta, float eps, float *out, int ldo) {
    // Let the compiler vectorise the two reductions (sum order differs from a scalar loop by ulps).
    #pragma clang fp reassociate(on)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        float *o = out + (size_t)r * ldo;
        float mean = 0.0f;
        for (int j = 0; j < c; j++) mean += xr[j];
        mean /= (float)c;
        float var = 0.0f;
        for (int j = 0; j < c; j++) { float d = xr[j] - mean; var += d * d; }
        var /= (float)c;
        float inv = 1.0f / __builtin_sqrtf(var + eps);
        for (int j = 0; j < c; j++) o[j] = (xr[j] - mean) * inv * gamma[j] + beta[j];
    }
}

typedef float dw16 __attribute__((vector_size(64)));
typedef float dw16u __attribute__((vector_size(64), aligned(4)));

__attribute__((target_clones("avx512f", "fma", "default")))
void ck_depthwise3x3(const float *restrict in, int ldi, int h, int w, int c, const float *restrict taps,
                     const float *restrict bias, float *restrict out, int y0, int y1) {
    for (int y = y0; y < y1; y++) {
        int ky0 = y == 0 ? 1 : 0, ky1 = y == h - 1 ? 2 : 3;
        for (int x = 0; x < w; x++) {
            int kx0 = x == 0 ? 1 : 0, kx1 = x == w - 1 ? 2 : 3;
            float *o = out + ((size_t)y * w + x) * c;
            // 16 channels at a time, accumulated in a register across the valid taps. When c is not a
            // multiple of 16 (c ≥ 16), one extra block at c − 16 overlaps the previous one: the
            // overlapping channels are recomputed with the same operations and the same result.
            int nblocks = c >= 16 ? (c + 15) / 16 : 0;
            for (int bi = 0; bi < nblocks; bi++) {
                int ch = bi * 16 + 16 <= c ? bi * 16 : c - 16;
                dw16 acc = *(const dw16u *)(bias + ch);
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *srow = in + ((size_t)(y + ky - 1) * w) * ldi + ch;
                    const float *trow = taps + (ky * 3) * c + ch;
                    for (int kx = kx0; kx < kx1; kx++)
                        acc += *(const dw16u *)(trow + kx * c) * *(const dw16u *)(srow + (size_t)(x + kx - 1) * ldi);
                }
                *(dw16u *)(o + ch) = acc;
            }
            for (int ch = nblocks ? c : 0; ch < c; ch++) {   // only when c < 16
                float acc = bias[ch];
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        acc += taps[(ky * 3 + kx) * c + ch] * in[((size_t)(y + ky - 1) * w + (x + kx - 1)) * ldi + ch];
                o[ch] = acc;
            }
        }
    }
}

__attribute__((target_clones("avx512f", "fma", "default")))
void ck_channel_gram(const float *q, int ldq, const float *k, int ldk, int l0, int l1,
                     int heads, int hd, float *out) {
    int c = heads * hd;
    memset(out, 0, sizeof(float) * (size_t)heads * hd * hd);
    if (c <= 64) {
        // Full c×c outer-product accumulation over tokens on 16-wide vectors (a few times the
        // multiply-adds of the diagonal blocks, but fully vectorised), then keep the blocks.
        int cp = (c + 15) / 16;
        dw16 acc[64][4];
        memset(acc, 0, sizeof acc);
        float kp[64];
        for (int l = l0; l < l1; l++) {
            const float *qr = q + (size_t)l * ldq, *kr = k + (size_t)l * ldk;
            memset(kp, 0, sizeof kp);
            memcpy(kp, kr, sizeof(float) * c);
            dw16 kv[4];
            memcpy(kv, kp, sizeof kv);
            for (int i = 0; i < c; i++) {
                float qi = qr[i];
                for (int b = 0; b < cp; b++) acc[i][b] += qi * kv[b];
            }
        }
        for (int hh = 0; hh < heads; hh++)
            for (int i = 0; i < hd; i++)
                for (int j = 0; j < hd; j++) {
                    int row = hh * hd + i, col = hh * hd + j;
                    out[((size_t)hh * hd + i) * hd + j] = acc[row][col / 16][col % 16];
                }
        return;
    }
    for (int hh = 0; hh < heads; hh++) {
        float *o = out + (size_t)hh * hd * hd;
        for (int l = l0; l < l1; l++) {
            const float *qr = q + (size_t)l * ldq + hh * hd;
            const float *kr = k + (size_t)l * ldk + hh * hd;
            for (int i = 0; i < hd; i++) {
                float qi = qr[i];
                float *oi = o + i * hd;
                for (int j = 0; j < hd; j++) oi[j] += qi * kr[j];
            }
        }
    }
}
