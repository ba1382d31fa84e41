// Per-thread scratch buffers of the integer kernels, one per caller slot, kept and grown: the attention products run
// once per window and head (thousands of calls per forward) and the Linear kernel once per row chunk, and a fresh
// malloc of a few hundred kB is an mmap plus page faults each time. Slots keep the callers' buffers apart.
//
// A thread's buffers are freed when the thread exits (a pthread key destructor): the kernels run on Dispatch worker
// threads, which exit when idle, and a buffer reachable only from an exited thread's TLS was a leak (LeakSanitizer
// under ci/sanitizers.sh, 2026-12-03). The thread's own pointer stays in __thread storage for the fast path.
#include <pthread.h>
#include <stdlib.h>
#include "gemm_internal.h"

typedef struct {
    unsigned char *buf[CIK_SCRATCH_SLOTS];
    size_t cap[CIK_SCRATCH_SLOTS];
} cik_scratch_set;

static __thread cik_scratch_set *cik_tls;
static pthread_key_t cik_key;
static pthread_once_t cik_once = PTHREAD_ONCE_INIT;
static int cik_key_ok;

static void cik_free_set(void *p) {
    cik_scratch_set *s = (cik_scratch_set *)p;
    for (int i = 0; i < CIK_SCRATCH_SLOTS; i++) free(s->buf[i]);
    free(s);
}

static void cik_make_key(void) { cik_key_ok = pthread_key_create(&cik_key, cik_free_set) == 0; }

unsigned char *cik_scratch(int slot, size_t bytes) {
    cik_scratch_set *s = cik_tls;
    if (!s) {
        pthread_once(&cik_once, cik_make_key);
        if (!cik_key_ok) return NULL;
        s = (cik_scratch_set *)calloc(1, sizeof *s);
        if (!s) return NULL;
        if (pthread_setspecific(cik_key, s) != 0) { free(s); return NULL; }
        cik_tls = s;
    }
    if (bytes > s->cap[slot]) {
        unsigned char *grown = (unsigned char *)realloc(s->buf[slot], bytes);
        if (!grown) return NULL;
        s->buf[slot] = grown;
        s->cap[slot] = bytes;
    }
    return s->buf[slot];
}
