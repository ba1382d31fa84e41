#ifndef CINTKERNELS_H
#define CINTKERNELS_H
int cintkernels_version(void);
#endif
