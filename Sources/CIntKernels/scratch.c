// Per-thread scratch buffers of the integer kernels, one per caller slot, kept and grown: the attention products run
// once per window and head (thousands of calls per forward) and the Linear kernel once per row chunk, and a fresh
// malloc of a few hundred kB is an mmap plus page faults each time. Slots keep the callers' buffers apart.
#include <stdlib.h>
#include "gemm_internal.h"

static __thread unsigned char *cik_scratch_buf[CIK_SCRATCH_SLOTS];
static __thread size_t cik_scratch_cap[CIK_SCRATCH_SLOTS];

unsigned char *cik_scratch(int slot, size_t bytes) {
    if (bytes > cik_scratch_cap[slot]) {
        unsigned char *grown = (unsigned char *)realloc(cik_scratch_buf[slot], bytes);
        if (!grown) return NULL;
        cik_scratch_buf[slot] = grown;
        cik_scratch_cap[slot] = bytes;
    }
    return cik_scratch_buf[slot];
}
