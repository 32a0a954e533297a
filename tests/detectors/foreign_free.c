/* Foreign free: a small-buffer optimisation keeps short arrays on the stack, and the cleanup frees
 * the array unconditionally, stack pointer included. Variants: FAMILY system, pool and
 * guard(pool); the system variant holds another block of the instance meanwhile, so membuf's
 * counters cannot tell the stack pointer apart. The fix frees only what came from the
 * allocator. */
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

static void foreign_free(mb_alloc *a)
{
#if FAMILY == DET_SYSTEM
    /* Another block live meanwhile, so membuf's counters cannot tell the stack pointer apart. */
    void *session = det_need(mb_malloc(a, det_opaque(64)), "mb_malloc");
#endif
    double big = sum_squares(a, det_opaque(20));
    double little = sum_squares(a, det_opaque(4));
    det_sink = big > little;
#if FAMILY == DET_SYSTEM
    mb_free(a, session);
#endif
}

int main(void)
{
    return det_run(FAMILY, foreign_free);
}
