// Vectorised exp, exact-form GELU and row softmax (GCC vector extensions, target_clones).
#include "ckernels.h"
#include <math.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));


// Select a where mask lanes are set, else b (bitwise, avoids by-value vector arguments,
// which change the ABI between the target_clones builds).
#define VSEL(mask, a, b) ({ v16 _a = (a), _b = (b); v16i _ai, _bi; v16i _m = (mask); \
    __builtin_memcpy(&_ai, &_a, sizeof _ai); __builtin_memcpy(&_bi, &_b, sizeof _bi); \
    v16i _r = (_ai & _m) | (_bi & ~_m); v16 _o; __builtin_memcpy(&_o, &_r, sizeof _o); _o; })
#define VSPLAT(s) ({ v16 _z = {0}; _z + (float)(s); })

// Cephes-style expf: 2^n · P(r), r = x − n·ln2 in [−ln2/2, ln2/2].
static inline __attribute__((always_inline)) void vexp(v16 *px) {
    v16 x = *px;
    const float hi = 88.3762626647949f, lo = -87.0f;
    x = VSEL(x > hi, VSPLAT(hi), x);
    v16i underflow = x < lo;
    x = VSEL(underflow, VSPLAT(lo), x);
    v16 fx = x * 1.44269504088896341f + 0.5f;
    v16i ni = __builtin_convertvector(fx, v16i);
    v16 nf = __builtin_convertvector(ni, v16);
    nf = VSEL(nf > fx, nf - 1.0f, nf);       // floor
    ni = __builtin_convertvector(nf, v16i);
    v16 r = x - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    v16 r2 = r * r;
    v16 y = VSPLAT(1.9875691500E-4f);
    y = y * r + 1.3981999507E-3f;
    y = y * r + 8.3334519073E-3f;
    y = y * r + 4.1665795894E-2f;
    y = y * r + 1.6666665459E-1f;
    y = y * r + 5.0000001201E-1f;
    y = y * r2 + r + 1.0f;
    v16i bits = (ni + 127) << 23;
    v16 scale;
    memcpy(&scale, &bits, sizeof scale);
    v16 out = y * scale;
    *px = VSEL(underflow, VSPLAT(0.0f), out);
}

// erfc(z) for z ≥ 0 (Numerical Recipes erfcc, fractional error < 1.2e-7).
static inline __attribute__((always_inline)) void verfc_pos(v16 *pz) {
    v16 z = *pz;
    v16 t = 1.0f / (1.0f + 0.5f * z);
    v16 p = VSPLAT(0.17087277f);
    p = p * t + -0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t + -1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t + -0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t + -1.26551223f;
    v16 e = -z * z + p;
    vexp(&e);
    *pz = t * e;
}

static inline __attribute__((always_inline)) void vgelu(v16 *px) {
    v16 x = *px;
    v16i neg = x < 0.0f;
    v16 ax = VSEL(neg, -x, x);
    v16 z = ax * 0.70710678118654752f;
    verfc_pos(&z);
    v16 half_erfc = 0.5f * z;
    // x ≥ 0: x·(1 − ½erfc);  x < 0: x·½erfc(|x|/√2)
    *px = VSEL(neg, x * half_erfc, x - x * half_erfc);
}

__attribute__((target_clones("avx512f", "fma", "default")))
void ck_exp(float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) { v16 t = *(v16u *)(x + i); vexp(&t); *(v16u *)(x + i) = t; }
    if (i < n) {
        v16 t = {0}; memcpy(&t, x + i, sizeof(float) * (n - i));
        vexp(&t); memcpy(x + i, &t, sizeof(float) * (n - i));
    }
}

__attribute__((target_clones("avx512f", "fma", "default")))
void ck_gelu(float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) { v16 t = *(v16u *)(x + i); vgelu(&t); *(v16u *)(x + i) = t; }
    if (i < n) {
        v16 t = {0}; memcpy(&t, x + i, sizeof(float) * (n - i));
        vgelu(&t); memcpy(x + i, &t, sizeof(float) * (n - i));
    }
}

__attribute__((target_clones("avx512f", "fma", "default")))
void ck_softmax_rows(float *x, const float *bias, int rows, int cols, int ld) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * ld;
        const float *brow = bias ? bias + (size_t)r * ld : NULL;
        int j = 0;
        v16 vm = VSPLAT(-INFINITY);
        for (; j + 16 <= cols; j += 16) {
            v16 t = *(v16u *)(row + j);
            if (brow) { t += *(const v16u *)(brow + j); *(v16u *)(row + j) = t; }
            vm = VSEL(t > vm, t, vm);
        }
        float mx = -INFINITY;
        for (int q = 0; q < 16; q++) mx = vm[q] > mx ? vm[q] : mx;
        for (; j < cols; j++) {
            if (brow) row[j] += brow[j];
            mx = row[j] > mx ? row[j] : mx;
        }
        v16 vs = {0};
        for (j = 0; j + 16 <= cols; j += 16) {
            v16 e = *(v16u *)(row + j) - mx;
            vexp(&e);
            *(v16u *)(row + j) = e;
            vs += e;
        }
        if (j < cols) {
            v16 t = VSPLAT(-INFINITY);
            memcpy(&t, row + j, sizeof(float) * (cols - j));
            v16 e = t - mx;
            vexp(&e);
            memcpy(row + j, &e, sizeof(float) * (cols - j));
            for (int q = cols - j; q < 16; q++) e[q] = 0.0f;
            vs += e;
        }
        float sum = 0.0f;
        for (int q = 0; q < 16; q++) sum += vs[q];
        float inv = 1.0f / sum;
        for (j = 0; j + 16 <= cols; j += 16) *(v16u *)(row + j) *= inv;
        for (; j < cols; j++) row[j] *= inv;
    }
}

__attribute__((target_clones("avx512f", "fma", "default")))
void ck_round_to_grid(float *restrict x, size_t n, float lo, float hi, float step) {
    float inv = 1.0f / step;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        x[i] = __builtin_rintf((v - lo) * inv) * step + lo;
    }
}
