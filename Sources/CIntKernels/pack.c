// Dense b-bit two's-complement code rows -> int8 (layout in cintkernels.h and docs/integer.md).
#include "cintkernels.h"
#include <string.h>

size_t cik_row_bytes(int bits, int k) { return ((size_t)k * (size_t)bits + 7) / 8; }

static void unpack_row(int bits, const uint8_t *src, size_t rowBytes, int k, int8_t *dst) {
    if (bits == 8) { memcpy(dst, src, (size_t)k); return; }
    const unsigned mask = (1u << bits) - 1u;
    const unsigned sign = 1u << (bits - 1);
    for (int j = 0; j < k; j++) {
        size_t bit = (size_t)j * (size_t)bits;
        size_t byte = bit >> 3;
        unsigned shift = (unsigned)(bit & 7);
        unsigned word = src[byte];
        if (shift + (unsigned)bits > 8 && byte + 1 < rowBytes) word |= (unsigned)src[byte + 1] << 8;
        unsigned u = (word >> shift) & mask;
        dst[j] = (int8_t)((int)(u ^ sign) - (int)sign);   // sign-extend a b-bit field
    }
}

void cik_unpack_rows(int bits, const uint8_t *packed, size_t rowBytes, int k, int rows,
                     int8_t *out, int ldo) {
    for (int r = 0; r < rows; r++)
        unpack_row(bits, packed + (size_t)r * rowBytes, rowBytes, k, out + (size_t)r * (size_t)ldo);
}
