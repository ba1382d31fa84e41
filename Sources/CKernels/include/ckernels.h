#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>

/// Version tag of the kernel library.
int ckernels_version(void);

/// glibc mallopt: serve allocations up to 1 GiB from the heap and never trim it (process-wide).
void ck_prefer_heap_reuse(void);

// ---------------------------------------------------------------------------------------------
// GEMM, row-major:  C[m×n] (+)= A[m×k] · op(B),  op(B) = B[k×n] (transB = 0) or Bᵀ with B[n×k].
// The fast path packs op(B) into zero-padded 16-column panels once (ck_pack_b) and then runs
// any set of row ranges of A against the packed panels (ck_gemm_packed); callers may run
// disjoint row ranges on different threads.  ISA is picked at load time with target_clones.
// ---------------------------------------------------------------------------------------------

/// Number of floats the packed form of a k×n operand needs (n rounded up to 16).
size_t ck_packed_b_size(int k, int n);
/// Packs op(B) (k×n) into `packed` (ck_packed_b_size floats, 64-byte aligned preferred).
void ck_pack_b(int k, int n, const float *b, int ldb, int transB, float *packed);
/// C[m×n] = A·op(B) (accumulate = 0) or C += A·op(B) (accumulate = 1), using packed op(B);
/// a non-NULL `bias` (n values) is added to every row.
void ck_gemm_packed(int m, int n, int k, const float *a, int lda,
                    const float *packed, float *c, int ldc, int accumulate, const float *bias);
/// Slow, obviously-correct reference: double accumulation, plain triple loop, same contract.
void ck_gemm_reference(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                       int transB, float *c, int ldc, int accumulate);

// ---------------------------------------------------------------------------------------------
// Elementwise / row kernels (vectorised; references live in Swift beside their callers).
// ---------------------------------------------------------------------------------------------

/// In place: x = exp(x), |rel err| ≲ 2 ulp for x in [-87, 88]; below -87 gives ~0.
void ck_exp(float *x, size_t n);
/// In place exact-form GELU 0.5·x·(1 + erf(x/√2)) via a rational erfc (rel. err ≤ 1.2e-7).
void ck_gelu(float *x, size_t n);
/// In place row softmax over `cols` for `rows` rows with row stride `ld`; when `bias` is not NULL
/// it is added first (same layout), i.e. x = softmax(x + bias) row-wise.
void ck_softmax_rows(float *x, const float *bias, int rows, int cols, int ld);

/// LayerNorm of `rows` rows of `c` features: out = (x − mean)/sqrt(var + eps)·gamma + beta
/// (biased variance, two passes). Row strides ldx and ldo; x may equal out when they agree.
void ck_layernorm_rows(const float *x, int ldx, int rows, int c, const float *gamma,
                       const float *beta, float eps, float *out, int ldo);

/// Depthwise 3×3 convolution (zero padding 1), channels-last, output rows y0..<y1 only.
/// taps: 9·c values, tap t = ky·3 + kx for channel ch at taps[t·c + ch]; in rows have stride ldi.
void ck_depthwise3x3(const float *in, int ldi, int h, int w, int c, const float *taps,
                     const float *bias, float *out, int y0, int y1);

/// Channel Gram blocks for XCiT-style attention: out[hh][i][j] = Σ_l q[l·ldq + hh·hd + i]·k[l·ldk + hh·hd + j]
/// over tokens l in [l0, l1), for hh < heads (out: heads·hd·hd, overwritten).
void ck_channel_gram(const float *q, int ldq, const float *k, int ldk, int l0, int l1,
                     int heads, int hd, float *out);

/// In place uniform fake quantization on a fixed grid: x = lo + step·rint((clamp(x, lo, hi) − lo)/step)
/// (rint = round half to even in the default rounding mode).
void ck_round_to_grid(float *x, size_t n, float lo, float hi, float step);

// ---------------------------------------------------------------------------------------------
// Bulk quantization, bit-identical element by element to HarmoQ's Quantizer (fakequant.c).
// lo/hi are the integer code range as floats; halfToEven selects rint (ties to even) or roundf.
// ---------------------------------------------------------------------------------------------

/// Symmetric fake quantization in place, x[i] = clamp(round(v), lo, hi)·step with v = x[i]/step, or
/// v = (x[i]/divisor[i mod period])/step when divisor is not NULL; NaN gives +0.
void ck_fake_quant_sym(float *x, size_t n, float step, float lo, float hi, int halfToEven,
                       const float *divisor, size_t period);
/// Integer codes as integer-valued floats, rows × cols (row strides ldx, ldo): symmetric
/// clamp(round(x/divisor[j]/step), lo, hi) (NaN → 0; divisor may be NULL), or with affine != 0
/// clamp(round((clamp(x', lower, upper) − lower)/step), lo, hi), x' = x/divisor[j] or x, NaN propagated.
/// out must not overlap x.
void ck_quant_codes(const float *x, int ldx, int rows, int cols, float step, float lo, float hi, int halfToEven,
                    int affine, float lower, float upper, const float *divisor, float *out, int ldo);

/// Backward of a per-tensor fake quantizer, straight-through estimator (SREngine `FakeQuantizer` `.ste`), on n elements:
/// gx[i] = dL/dx (when gx is non-null; may alias g) and the Float64 sums of g·∂x̂/∂lower, g·∂x̂/∂upper added into
/// *sumLower, *sumUpper (lane i mod 8, lanes added in a fixed order). fakequant_backward.c.
void ck_fake_quant_ste_backward(const float *x, const float *g, float *gx, size_t n, float lower, float upper,
                                float step, float levels, float qmin, float qmax, int symmetric, int halfToEven,
                                double *sumLower, double *sumUpper);
// t[j·ldt + i] = a[i·lda + j] for a rows × cols matrix (8 × 8 tiles; bit-exact data movement).
void ck_transpose(const float *a, size_t rows, size_t cols, size_t lda, float *t, size_t ldt);
// The portable loop of the same kernel (what non-AVX2 machines and round-half-away run; the AVX2 path equals it bit for bit).
void ck_fake_quant_ste_backward_scalar(const float *x, const float *g, float *gx, size_t n, float lower, float upper,
                                       float step, float levels, float qmin, float qmax, int symmetric, int halfToEven,
                                       double *sumLower, double *sumUpper);

#endif
