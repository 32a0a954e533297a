/* Leak of a whole pool instance: a helper makes a private pool for temporary work and returns
 * without deleting it (its one block still live), so the instance itself is lost. The program's
 * own system instance is clean, so the leak oracle, which checks only instances the program still
 * holds, has nothing to see; the fix frees the block and deletes the pool. */
#include "detector.h"

static __attribute__((noinline)) double temporary_work(size_t n)
{
    mb_alloc *tmp = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    double *d = det_need(mb_malloc(tmp, n * sizeof *d), "mb_malloc");
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        d[i] = (double)i;
        sum += d[i];
    }
#if DET_CLEAN
    mb_free(tmp, d);
    mb_alloc_delete(tmp);
#endif
    return sum;
}

static __attribute__((noinline)) void scrub_stack(void)
{
    volatile unsigned char pad[4096];
    memset((void *)pad, 0, sizeof pad);
}

int main(void)
{
    mb_alloc *sys = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    double *keep = det_need(mb_malloc(sys, 16), "mb_malloc");
    keep[0] = temporary_work(det_opaque(6));
    scrub_stack();
    det_sink = keep[0] == 15.0;
    mb_free(sys, keep);
    return DET_FINISH(sys);
}
