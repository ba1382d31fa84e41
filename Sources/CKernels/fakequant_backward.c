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

__attribute__((target_clones("avx512f", "fma", "default")))
void ck_fake_quant_ste_backward(const float *x, const float *g, float *gx, size_t n, float lower, float upper,
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
