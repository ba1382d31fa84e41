// Per-tensor symmetric activation quantization to int8 codes. Branch-free so it vectorizes;
// target_clones (feature names only, see the toolchain notes) picks AVX-512 / AVX2 / baseline at load.
#include "cintkernels.h"
#include <math.h>

// out = clamp(round(x / step), qmin, qmax) + shift (NaN -> 0 + shift). For an affine grid with integer zero point z
// and b bits: qmin = -z, qmax = 2^b - 1 - z (the centred code q - z) and shift = z - 2^(b-1), so out = q - 2^(b-1),
// the unsigned code moved into the signed range (the zero-point term is folded back in the GEMM epilogue).
__attribute__((target_clones("avx512f", "avx2", "default")))
void cik_quantize_s8_shifted(const float *x, size_t count, float step, int qmin, int qmax, int shift, int halfToEven,
                             int8_t *out) {
    const float lo = (float)qmin, hi = (float)qmax;
    if (halfToEven) {
        for (size_t i = 0; i < count; i++) {
            const float v = x[i] / step;
            float r = nearbyintf(v);
            r = r < lo ? lo : r;
            r = r > hi ? hi : r;
            r = v != v ? 0.0f : r;                       // NaN -> 0, as Quantizer.code
            out[i] = (int8_t)((int)r + shift);
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            const float v = x[i] / step;
            float r = roundf(v);
            r = r < lo ? lo : r;
            r = r > hi ? hi : r;
            r = v != v ? 0.0f : r;
            out[i] = (int8_t)((int)r + shift);
        }
    }
}

void cik_quantize_s8(const float *x, size_t count, float step, int qmin, int qmax, int halfToEven,
                     int8_t *out) {
    cik_quantize_s8_shifted(x, count, step, qmin, qmax, 0, halfToEven, out);
}
