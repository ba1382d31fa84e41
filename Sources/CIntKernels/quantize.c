// Per-tensor symmetric activation quantization to int8 codes. Branch-free so it vectorizes;
// target_clones (feature names only, see the toolchain notes) picks AVX-512 / AVX2 / baseline at load.
#include "cintkernels.h"
#include <math.h>

__attribute__((target_clones("avx512f", "avx2", "default")))
void cik_quantize_s8(const float *x, size_t count, float step, int qmin, int qmax, int halfToEven,
                     int8_t *out) {
    const float lo = (float)qmin, hi = (float)qmax;
    if (halfToEven) {
        for (size_t i = 0; i < count; i++) {
            const float v = x[i] / step;
            float r = nearbyintf(v);
            r = r < lo ? lo : r;
            r = r > hi ? hi : r;
            r = v != v ? 0.0f : r;                       // NaN -> 0, as Quantizer.code
            out[i] = (int8_t)(int)r;
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            const float v = x[i] / step;
            float r = roundf(v);
            r = r < lo ? lo : r;
            r = r > hi ? hi : r;
            r = v != v ? 0.0f : r;
            out[i] = (int8_t)(int)r;
        }
    }
}
