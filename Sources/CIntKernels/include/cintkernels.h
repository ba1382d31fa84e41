#ifndef CINTKERNELS_H
#define CINTKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Version tag of the integer kernel library.
int cintkernels_version(void);

// ---------------------------------------------------------------------------------------------
// Dense low-bit weight storage (docs/integer.md, "Bit layout").
// A weight W (n outputs × k inputs) of b-bit two's-complement codes, b in {2, 3, 4, 8}, is stored
// row by row; each output row starts on a byte boundary and takes rowBytes = ceil(k·b/8) bytes.
// Inside a row, code j occupies bits [j·b, j·b + b) of a little-endian bit stream (stream bit t is
// bit t%8 of byte t/8): for b = 4 the even code is the low nibble; for b = 8 the row is plain int8.
// ---------------------------------------------------------------------------------------------

/// Bytes one packed row of k codes of `bits` bits takes.
size_t cik_row_bytes(int bits, int k);
/// Unpacks `rows` packed rows (starting at `packed`, rowBytes apart) into int8 codes, row stride ldo.
void cik_unpack_rows(int bits, const uint8_t *packed, size_t rowBytes, int k, int rows,
                     int8_t *out, int ldo);

// ---------------------------------------------------------------------------------------------
// Activation quantization, per tensor, symmetric: q = clamp(round(x / step), qmin, qmax),
// round = half to even (halfToEven != 0) or half away from zero; NaN gives 0. Same operations,
// in the same order, as HarmoQ's Quantizer.code (one IEEE division, one rounding, one clamp).
// ---------------------------------------------------------------------------------------------
void cik_quantize_s8(const float *x, size_t count, float step, int qmin, int qmax, int halfToEven,
                     int8_t *out);
void cik_quantize_s8_shifted(const float *x, size_t count, float step, int qmin, int qmax, int shift, int halfToEven,
                             int8_t *out);

// ---------------------------------------------------------------------------------------------
// Integer GEMM, row-major: C[m×n] = A[m×k] · Wᵀ with A int8 (row stride lda) and W the dense
// packed codes above (n rows). Accumulation is exact in int32 (requires k ≤ 65536).
// The fast kernels unpack W once per call into 32-output panels in `scratch`
// (cik_gemm_scratch_bytes) and run blocks of 256 rows of A against every panel.
// ---------------------------------------------------------------------------------------------

enum {
    CIK_ISA_AUTO = -1,
    CIK_ISA_REFERENCE = 0,
    CIK_ISA_AVX2 = 1,
    CIK_ISA_AVX512VNNI = 2,
};

/// 1 when this CPU can run `isa` (reference: always).
int cik_isa_supported(int isa);
/// The ISA CIK_ISA_AUTO resolves to on this CPU (VNNI, else AVX2, else reference).
int cik_isa_best(void);
/// Scratch bytes one GEMM call with this n and k needs (any alignment; 64-byte aligned is best).
size_t cik_gemm_scratch_bytes(int n, int k);

/// Slow, obviously-correct reference on int8 matrices: C[i,o] = Σ_p A[i,p]·W[o,p] (W int8, n×k, ldw).
void cik_gemm_s8_reference(int m, int n, int k, const int8_t *a, int lda, const int8_t *w, int ldw,
                           int32_t *c, int ldc);

/// C[i,o] = Σ_p A[i,p]·W[o,p] with W dense-packed (`bits`, rowBytes). Returns 0, or -1 when `isa`
/// is not supported on this CPU or k > 65536 (nothing written then).
int cik_gemm_s8_packed(int isa, int m, int n, int k, const int8_t *a, int lda,
                       int bits, const uint8_t *w, size_t rowBytes, void *scratch,
                       int32_t *c, int ldc);

/// Integer linear layer: Y[i,o] = scale[o] · (Σ_p A[i,p]·W[o,p]) + bias[o] (bias may be NULL),
/// one float multiply of the exact int32 sum per output, then one float add. Returns as above.
int cik_linear_s8_packed(int isa, int m, int n, int k, const int8_t *a, int lda,
                         int bits, const uint8_t *w, size_t rowBytes, void *scratch,
                         const float *scale, const float *bias, float *y, int ldy);

/* As cik_linear_s8_packed, with a per-output integer term added to every sum before the rescale:
   y[i, o] = scale[o] * (float)(S[i, o] + colOffset[o]) (+ bias[o]); colOffset NULL = 0. It folds an activation
   zero point in: with codes a = q - 2^(b-1), S + (2^(b-1) - z) * sum_p W[o, p] = sum_p W[o, p] * (q - z). */
int cik_linear_s8_packed_offset(int isa, int m, int n, int k, const int8_t *a, int lda,
                                int bits, const uint8_t *w, size_t rowBytes, void *scratch,
                                const int32_t *colOffset, const float *scale, const float *bias, float *y, int ldy);


/* Exact product of integer code matrices held as integer-valued floats: c[i*ldc + j] = (float)(sum_p A(i,p) B(p,j))
   with A(i,p) = a[i*aRow + p*aCol], B(p,j) = b[p*bRow + j*bCol]. Each code minus its shift (oa, ob) must lie in
   [-128, 127]; the shifted codes go through the int8 GEMM (int32 sums, k in chunks of 65536) and the shifts are folded
   back in int64: sum (a'+oa)(b'+ob) = sum a'b' + oa sum b' + ob sum a' + k oa ob. Returns 0, or -1 (isa unsupported,
   bad sizes, no memory; nothing written). */
int cik_code_product(int isa, int m, int n, int k, const float *a, long aRow, long aCol, int oa,
                     const float *b, long bRow, long bCol, int ob, float *c, int ldc);

/* The same product on AVX2 with 16-bit operands (code_product16.c): every code must be an integer-valued float in
   [-255, 255] (any 8-bit range: [0, 255], [-z, 255 - z], symmetric), so no shift is needed. Writes
   c[i*cRow + j*cCol] = scale * (float)S[i][j] (scale = 1: the sums themselves), or, when s64 is not NULL, the exact
   sums s64[i*n + j] = S[i][j] instead (c unused). Int32 sums over chunks of 4096 terms, int64 across chunks.
   Returns 0, or -1 (no AVX2, bad sizes, a code outside [-255, 255], no memory; c not written then). */
int cik_code_product16(int m, int n, int k, const float *a, long aRow, long aCol, const float *b, long bRow, long bCol,
                       float scale, float *c, long cRow, long cCol, int64_t *s64);

/* Integer linear layer on AVX2 with 16-bit operands (linear16.c), for weights packed once:
   cik_pack_panels16 writes the n × k int8 weight codes W (row stride ldw) as cik_panels16_count(n, k) int16 values
   (panels of 16 outputs, pairs of terms). cik_linear16 quantizes each row of x (float, row stride ldx) exactly as
   cik_quantize_s8_shifted(step, qmin, qmax, shift, halfToEven) does, then writes
   y[i, o] = scale[o] * (float)(sum_p a[i, p] W[o, p] + off[o]) (+ bias[o]), the epilogue of
   cik_linear_s8_packed_offset (off, bias may be NULL). Returns 0, or -1 (no AVX2, bad sizes, no memory). */
size_t cik_panels16_count(int n, int k);
void cik_pack_panels16(int n, int k, const int8_t *w, int ldw, int16_t *panels);
int cik_linear16(int m, int n, int k, const float *x, long ldx, float step, int qmin, int qmax, int shift, int halfToEven,
                 const int16_t *panels, const int32_t *off, const float *scale, const float *bias, float *y, long ldy);

#endif
