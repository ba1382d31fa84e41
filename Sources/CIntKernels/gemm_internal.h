// Private to CIntKernels: the panel layout shared by the driver and the micro-kernels.
//
// W (n × k int8 codes) is laid out, per call, in panels of NR = 32 output channels, grouped by quads of k,
// stored offset-binary (u8 = w + 128, so both kernels multiply unsigned weights by signed activations):
//   panel p, quad q, output j, t < 4:  bytes[p·quads·128 + q·128 + j·4 + t] = W[32p + j][4q + t] + 128,
// and 128 (code 0) where 32p + j ≥ n; the k padding of the last quad is 128 too, and the kernels read
// A's missing tail bytes as 0, so padded terms vanish.
// A micro-kernel multiplies up to MR rows of A by one panel: tile[r][j] = Σ_p (W[j][p] + 128)·A[r][p];
// the driver subtracts 128·Σ_p A[r][p] (exact in int32: |Σ| ≤ k·255·128 < 2^31 for k ≤ 65536).
#ifndef CIK_GEMM_INTERNAL_H
#define CIK_GEMM_INTERNAL_H
#include <stdint.h>

#define CIK_MR 8
#define CIK_NR 32

void cik_micro_vnni(int k, const int8_t *a, int lda, int mr, const uint8_t *panel, int32_t tile[CIK_MR][CIK_NR]);
void cik_micro_avx2(int k, const int8_t *a, int lda, int mr, const uint8_t *panel, int32_t tile[CIK_MR][CIK_NR]);
/// Tile epilogue (epilogue.c): rows r < mr, outputs j < nr; s = tile[r][j] − comp[r]; writes c[r·ldc + j] = s
/// when y is NULL, else y[r·ldy + j] = scale[j]·s (+ bias[j]), with s += off[j] first when off is given (float output
/// only). scale, bias and off point at the tile's first output.
#define CIK_STORE_DECL(name) void name(int32_t tile[CIK_MR][CIK_NR], int mr, int nr, const int32_t *comp, int32_t *c, \
    int ldc, const float *scale, const float *bias, float *y, int ldy, const int32_t *off)
CIK_STORE_DECL(cik_store_avx512);
CIK_STORE_DECL(cik_store_avx2);
CIK_STORE_DECL(cik_store_base);

// 16-bit operand kernels (gemm16_avx2.c, code_product16.c, linear16.c). B (k × n) in panels of NR16 = 16 columns:
//   panel jb, pair p, column j, t < 2:  int16 panel[(jb·pairs + p)·32 + 2j + t] = B[2p + t][16jb + j],
// 0 for padded columns and the padded last term; A as int16 rows of 2·pairs (zero-padded), read as 32-bit pairs.
// The micro-kernel runs MR16 = 6 rows against one panel. With y (unit column stride) it writes, for j < nr only,
// y[r·ldy + j] = scale[j]·(float)(S + off[j]) (+ bias[j]) (off, bias may be NULL; masked loads and stores, so nothing
// at or beyond nr is read or written); without y the int32 sums of all 16 columns into tile.
#define CIK16_MR 6
#define CIK16_NR 16
void cik_micro16_avx2(int pairs, const int16_t *a, long lda, int mr, int nr, const int16_t *panel,
                      int32_t tile[CIK16_MR][CIK16_NR], const float *scale, const int32_t *off, const float *bias,
                      float *y, long ldy);
/// A per-thread buffer of at least `bytes` for caller `slot` (kept and grown; NULL when out of memory). scratch.c.
enum { CIK_SCRATCH_CODE_PRODUCT = 0, CIK_SCRATCH_CODE_PRODUCT16 = 1, CIK_SCRATCH_LINEAR16 = 2, CIK_SCRATCH_SLOTS = 3 };
#include <stddef.h>
unsigned char *cik_scratch(int slot, size_t bytes);

#endif
