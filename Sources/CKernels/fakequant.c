// Bulk uniform quantization: symmetric fake quantization and integer codes (as floats), bit-identical element by
// element to HarmoQ's `Quantizer.code` / `QuantKernel.fakeQuant` (tested in EngineTests/FakeQuantKernelTests).
//
// Every operation is one IEEE operation that Swift performs too, in the same order: x / divisor, then / step, one
// rounding (rint = ties to even in the default rounding mode, or roundf = ties away from zero), a clamp written as
// Swift's max/min (`lo >= r ? lo : r`, `hi < m ? hi : m`), `+ 0` (turns −0 into +0 as Swift's Int32 round trip does),
// then — for fake quantization only — one multiply by step. There is no multiply followed by an add, so this target's
// -ffp-contract=fast cannot fuse anything here (the affine dequantization q·Δ + α is done in Swift for that reason).
#include "ckernels.h"

#define CK_CODE(v, half_even, lo, hi)                                                                   \
    ({ float _r = (half_even) ? __builtin_rintf(v) : __builtin_roundf(v);                               \
       float _m = (lo) >= _r ? (lo) : _r;                                                              \
       _m = (hi) < _m ? (hi) : _m;                                                                     \
       _m + 0.0f; })

__attribute__((target_clones("avx512f", "avx2", "default")))
void ck_fake_quant_sym(float *x, size_t n, float step, float lo, float hi, int halfToEven,
                       const float *divisor, size_t period) {
    if (divisor && period > 0) {
        // Element i is divided by divisor[i mod period]: whole periods, then the tail.
        for (size_t base = 0; base < n; base += period) {
            const size_t len = n - base < period ? n - base : period;
            float *xr = x + base;
            for (size_t j = 0; j < len; j++) {
                const float v = (xr[j] / divisor[j]) / step;
                const float q = CK_CODE(v, halfToEven, lo, hi) * step;
                xr[j] = v != v ? 0.0f : q;
            }
        }
        return;
    }
    if (halfToEven) {
        for (size_t i = 0; i < n; i++) {
            const float v = x[i] / step;
            const float q = CK_CODE(v, 1, lo, hi) * step;
            x[i] = v != v ? 0.0f : q;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            const float v = x[i] / step;
            const float q = CK_CODE(v, 0, lo, hi) * step;
            x[i] = v != v ? 0.0f : q;
        }
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void ck_quant_codes(const float *restrict x, int ldx, int rows, int cols, float step, float lo, float hi, int halfToEven,
                    int affine, float lower, float upper, const float *restrict divisor, float *restrict out, int ldo) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        float *o = out + (size_t)r * ldo;
        if (affine) {
            // Swift: v = (min(max(x, α), β) − α) / Δ (x first divided by divisor[j] when given); NaN propagates
            // (the caller maps it to α).
            for (int j = 0; j < cols; j++) {
                float c = divisor ? xr[j] / divisor[j] : xr[j];
                c = lower >= c ? lower : c;
                c = upper < c ? upper : c;
                const float v = (c - lower) / step;
                const float q = CK_CODE(v, halfToEven, lo, hi);
                o[j] = v != v ? v : q;
            }
        } else if (divisor) {
            for (int j = 0; j < cols; j++) {
                const float v = (xr[j] / divisor[j]) / step;
                const float q = CK_CODE(v, halfToEven, lo, hi);
                o[j] = v != v ? 0.0f : q;
            }
        } else if (halfToEven) {
            for (int j = 0; j < cols; j++) {
                const float v = xr[j] / step;
                const float q = CK_CODE(v, 1, lo, hi);
                o[j] = v != v ? 0.0f : q;
            }
        } else {
            for (int j = 0; j < cols; j++) {
                const float v = xr[j] / step;
                const float q = CK_CODE(v, 0, lo, hi);
                o[j] = v != v ? 0.0f : q;
            }
        }
    }
}
