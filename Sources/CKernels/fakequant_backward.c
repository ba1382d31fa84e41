// Backward of a per-tensor fake quantizer with the straight-through estimator (SREngine `FakeQuantizer`, `.ste`):
// dL/dx per element and the two bound sums, for one chunk. The per-element arithmetic is `FakeQuantizer.Params.ste`
// step by step (2DQuant/LSQ formulas, documented there); the slow reference is SREngine's `FakeQuantReference`.
//
// Sums: element i is added in Float64 to lane i mod 8 (in order), the eight lanes are then added pairwise in a fixed
// order, so the result depends neither on the ISA clone (vector width) nor on the thread count (the caller fixes the
// chunks). gx may alias g (each element is read before it is written).
#include "ckernels.h"

#define CK_LANES 8

// Swift's `Swift.max(a, b)` / `Swift.min(a, b)` on the same operands: `b >= a ? b : a`, `b < a ? b : a`.
#define CK_MAX(a, b) ((b) >= (a) ? (b) : (a))
#define CK_MIN(a, b) ((b) < (a) ? (b) : (a))

static inline float ck_round(float v, int even) { return even ? __builtin_rintf(v) : __builtin_roundf(v); }

// One element: writes dL/dx to *dx and returns the lower/upper contributions.
static inline void ck_ste_element(float x, float g, float lower, float upper, float step, float levels, float qmin,
                                  float qmax, int symmetric, int even, float *dx, float *gl, float *gu) {
    if (symmetric) {
        const float v = x / step;
        if (v >= qmin && v <= qmax) {
            const float ds = g * (ck_round(v, even) - v);
            *dx = g; *gl = -ds / levels; *gu = ds / levels;
        } else {
            const float q = v < qmin ? qmin : qmax;
            const float ds = g * q;
            *dx = 0; *gl = -ds / levels; *gu = ds / levels;
        }
        return;
    }
    const float c = CK_MIN(CK_MAX(x, lower), upper);
    const float t = (c - lower) / step;
    const float e = (ck_round(t, even) - t) / levels;
    *dx = (x < lower || x > upper) ? 0.0f : g;
    const float ml = g * -e, mu = g * e;
    *gl = ml + (x <= lower ? g : 0.0f);
    *gu = mu + (x >= upper ? g : 0.0f);
}

#define CK_STE_LOOP(SYM, EVEN)                                                                                     \
    for (size_t i = 0; i < n; i += CK_LANES) {                                                                     \
        const size_t m = n - i < CK_LANES ? n - i : CK_LANES;                                                      \
        float xs[CK_LANES], gs[CK_LANES], dxs[CK_LANES], gls[CK_LANES], gus[CK_LANES];                             \
        for (size_t j = 0; j < m; j++) { xs[j] = x[i + j]; gs[j] = g[i + j]; }                                     \
        for (size_t j = m; j < CK_LANES; j++) { xs[j] = lower; gs[j] = 0.0f; }                                     \
        for (int j = 0; j < CK_LANES; j++)                                                                         \
            ck_ste_element(xs[j], gs[j], lower, upper, step, levels, qmin, qmax, SYM, EVEN, &dxs[j], &gls[j], &gus[j]); \
        if (gx) { for (size_t j = 0; j < m; j++) gx[i + j] = dxs[j]; }                                             \
        for (size_t j = 0; j < m; j++) { al[j] += (double)gls[j]; au[j] += (double)gus[j]; }                       \
    }

// The portable loop (lane sums as described above); `ck_fake_quant_ste_backward` runs it where AVX2 is absent and
// for round-half-away-from-zero, and the AVX2 loop below is tested bit for bit against it.
void ck_fake_quant_ste_backward_scalar(const float *x, const float *g, float *gx, size_t n, float lower, float upper,
                                       float step, float levels, float qmin, float qmax, int symmetric, int halfToEven,
                                       double *sumLower, double *sumUpper) {
    double al[CK_LANES] = {0}, au[CK_LANES] = {0};
    if (symmetric) {
        if (halfToEven) { CK_STE_LOOP(1, 1) } else { CK_STE_LOOP(1, 0) }
    } else {
        if (halfToEven) { CK_STE_LOOP(0, 1) } else { CK_STE_LOOP(0, 0) }
    }
    *sumLower += ((al[0] + al[1]) + (al[2] + al[3])) + ((al[4] + al[5]) + (al[6] + al[7]));
    *sumUpper += ((au[0] + au[1]) + (au[2] + au[3])) + ((au[4] + au[5]) + (au[6] + au[7]));
}

#if defined(__x86_64__)
#include <immintrin.h>

// Eight elements of `ck_ste_element` (round half to even) in one AVX2 register, operation for operation: the same IEEE
// divisions, products, sums and selections (comparisons written as the scalar ternaries, so NaN and ±0 select the
// same operand). Compiled for AVX2 without FMA so that nothing is contracted.
__attribute__((target("avx2")))
static inline void ck_ste8_avx2(__m256 x, __m256 g, __m256 lower, __m256 upper, __m256 step, __m256 levels, __m256 qmin,
                                __m256 qmax, int symmetric, __m256 *dx, __m256 *gl, __m256 *gu) {
    const __m256 zero = _mm256_setzero_ps(), sign = _mm256_set1_ps(-0.0f);
    if (symmetric) {
        const __m256 v = _mm256_div_ps(x, step);
        const __m256 inr = _mm256_and_ps(_mm256_cmp_ps(v, qmin, _CMP_GE_OQ), _mm256_cmp_ps(v, qmax, _CMP_LE_OQ));
        const __m256 r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256 q = _mm256_blendv_ps(qmax, qmin, _mm256_cmp_ps(v, qmin, _CMP_LT_OQ));
        const __m256 ds = _mm256_blendv_ps(_mm256_mul_ps(g, q), _mm256_mul_ps(g, _mm256_sub_ps(r, v)), inr);
        *dx = _mm256_blendv_ps(zero, g, inr);
        *gl = _mm256_div_ps(_mm256_xor_ps(ds, sign), levels);
        *gu = _mm256_div_ps(ds, levels);
        return;
    }
    // c = CK_MIN(CK_MAX(x, lower), upper): CK_MAX(x, lower) = lower >= x ? lower : x; CK_MIN(m, upper) = upper < m ? upper : m.
    const __m256 m = _mm256_blendv_ps(x, lower, _mm256_cmp_ps(lower, x, _CMP_GE_OQ));
    const __m256 c = _mm256_blendv_ps(m, upper, _mm256_cmp_ps(upper, m, _CMP_LT_OQ));
    const __m256 t = _mm256_div_ps(_mm256_sub_ps(c, lower), step);
    const __m256 e = _mm256_div_ps(_mm256_sub_ps(_mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), t), levels);
    const __m256 out = _mm256_or_ps(_mm256_cmp_ps(x, lower, _CMP_LT_OQ), _mm256_cmp_ps(x, upper, _CMP_GT_OQ));
    *dx = _mm256_blendv_ps(g, zero, out);
    const __m256 ml = _mm256_mul_ps(g, _mm256_xor_ps(e, sign)), mu = _mm256_mul_ps(g, e);
    *gl = _mm256_add_ps(ml, _mm256_blendv_ps(zero, g, _mm256_cmp_ps(x, lower, _CMP_LE_OQ)));
    *gu = _mm256_add_ps(mu, _mm256_blendv_ps(zero, g, _mm256_cmp_ps(x, upper, _CMP_GE_OQ)));
}

__attribute__((target("avx2")))
static void ck_ste_avx2_even(const float *x, const float *g, float *gx, size_t n, float lower, float upper, float step,
                             float levels, float qmin, float qmax, int symmetric, double *sumLower, double *sumUpper) {
    const __m256 L = _mm256_set1_ps(lower), U = _mm256_set1_ps(upper), S = _mm256_set1_ps(step), N = _mm256_set1_ps(levels);
    const __m256 QN = _mm256_set1_ps(qmin), QX = _mm256_set1_ps(qmax);
    __m256d al0 = _mm256_setzero_pd(), al1 = al0, au0 = al0, au1 = al0;
    for (size_t i = 0; i < n; i += CK_LANES) {
        const size_t m = n - i < CK_LANES ? n - i : CK_LANES;
        __m256 xv, gv, dx, gl, gu;
        if (m == CK_LANES) {
            xv = _mm256_loadu_ps(x + i); gv = _mm256_loadu_ps(g + i);
        } else {   // the tail, padded as the scalar loop pads it (x = lower, g = 0)
            float xs[CK_LANES], gs[CK_LANES];
            for (size_t j = 0; j < m; j++) { xs[j] = x[i + j]; gs[j] = g[i + j]; }
            for (size_t j = m; j < CK_LANES; j++) { xs[j] = lower; gs[j] = 0.0f; }
            xv = _mm256_loadu_ps(xs); gv = _mm256_loadu_ps(gs);
        }
        ck_ste8_avx2(xv, gv, L, U, S, N, QN, QX, symmetric, &dx, &gl, &gu);
        if (gx) {
            if (m == CK_LANES) _mm256_storeu_ps(gx + i, dx);
            else { float d[CK_LANES]; _mm256_storeu_ps(d, dx); for (size_t j = 0; j < m; j++) gx[i + j] = d[j]; }
        }
        if (m < CK_LANES) {   // lanes past the tail add nothing in the scalar loop
            // Masked lanes add +0.0, a no-op: a lane sum starts at +0.0 and a round-to-nearest sum is -0.0 only when both
            // terms are, so a lane sum is never -0.0.
            const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)m), lane));
            gl = _mm256_and_ps(gl, keep); gu = _mm256_and_ps(gu, keep);
        }
        al0 = _mm256_add_pd(al0, _mm256_cvtps_pd(_mm256_castps256_ps128(gl)));
        al1 = _mm256_add_pd(al1, _mm256_cvtps_pd(_mm256_extractf128_ps(gl, 1)));
        au0 = _mm256_add_pd(au0, _mm256_cvtps_pd(_mm256_castps256_ps128(gu)));
        au1 = _mm256_add_pd(au1, _mm256_cvtps_pd(_mm256_extractf128_ps(gu, 1)));
    }
    double al[CK_LANES], au[CK_LANES];
    _mm256_storeu_pd(al, al0); _mm256_storeu_pd(al + 4, al1);
    _mm256_storeu_pd(au, au0); _mm256_storeu_pd(au + 4, au1);
    *sumLower += ((al[0] + al[1]) + (al[2] + al[3])) + ((al[4] + al[5]) + (al[6] + al[7]));
    *sumUpper += ((au[0] + au[1]) + (au[2] + au[3])) + ((au[4] + au[5]) + (au[6] + au[7]));
}
#endif

void ck_fake_quant_ste_backward(const float *x, const float *g, float *gx, size_t n, float lower, float upper,
                                float step, float levels, float qmin, float qmax, int symmetric, int halfToEven,
                                double *sumLower, double *sumUpper) {
#if defined(__x86_64__)
    if (halfToEven && __builtin_cpu_supports("avx2")) {
        ck_ste_avx2_even(x, g, gx, n, lower, upper, step, levels, qmin, qmax, symmetric, sumLower, sumUpper);
        return;
    }
#endif
    ck_fake_quant_ste_backward_scalar(x, g, gx, n, lower, upper, step, levels, qmin, qmax, symmetric, halfToEven,
                                      sumLower, sumUpper);
}
