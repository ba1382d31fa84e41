#include "ckernels.h"
int ckernels_version(void) { return 2; }

#include <malloc.h>
void ck_prefer_heap_reuse(void) {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
