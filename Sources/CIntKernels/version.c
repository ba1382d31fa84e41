#include "cintkernels.h"
int cintkernels_version(void) { return 2; }
