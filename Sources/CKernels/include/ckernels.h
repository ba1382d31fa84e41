#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
/// Version tag of the kernel library (placeholder until the GEMM lands).
int ckernels_version(void);
#endif
