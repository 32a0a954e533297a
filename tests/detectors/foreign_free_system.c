/* Foreign free into a system instance: a small-buffer optimisation keeps short arrays on the stack,
 * and the cleanup frees the array unconditionally, stack pointer included. The fix frees only
 * what came from the allocator. */
#include "detector.h"

static __attribute__((noinline)) double sum_squares(mb_alloc *a, size_t n)
{
    double small[8];
    double *d = n <= 8 ? small : det_need(mb_malloc(a, n * sizeof *d), "mb_malloc");
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        d[i] = (double)(i * i);
        sum += d[i];
    }
#if DET_CLEAN
    if (d != small)
        mb_free(a, d);
#else
    mb_free(a, d);
#endif
    return sum;
}

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    /* Another block live meanwhile, so membuf's counters cannot tell the stack pointer apart. */
    void *session = det_need(mb_malloc(a, det_opaque(64)), "mb_malloc");
    double big = sum_squares(a, det_opaque(20));
    double little = sum_squares(a, det_opaque(4));
    det_sink = big > little;
    mb_free(a, session);
    return DET_FINISH(a);
}
