/* Foreign free: a small-buffer optimisation keeps short arrays on the stack, and the cleanup frees
 * the array unconditionally, stack pointer included. Programs: family system, pool and
 * guard(pool); the system program holds another block of the instance meanwhile, so membuf's
 * counters cannot tell the stack pointer apart. The fix frees only what came from the
 * allocator. */
#include "detector.h"

static const det_program programs[] = {
    {"foreign_free_system", DET_SYSTEM, 0},
    {"foreign_free_pool", DET_POOL, 0},
    {"foreign_free_guard", DET_GPOOL, 0},
};

static __attribute__((noinline)) double sum_squares(mb_alloc *a, size_t n)
{
    double small[8];
    double *d = n <= 8 ? small : det_need(mb_malloc(a, n * sizeof *d), "mb_malloc");
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        d[i] = (double)(i * i);
        sum += d[i];
    }
    if (!det_clean || d != small) /* the fix: only what came from the allocator */
        mb_free(a, d);
    return sum;
}

static void foreign_free(mb_alloc *a, const det_program *p)
{
    void *session = NULL;
    if (p->family == DET_SYSTEM) /* another block live meanwhile */
        session = det_need(mb_malloc(a, det_opaque(64)), "mb_malloc");
    double big = sum_squares(a, det_opaque(20));
    double little = sum_squares(a, det_opaque(4));
    det_sink = big > little;
    if (p->family == DET_SYSTEM)
        mb_free(a, session);
}

DET_MAIN(programs, foreign_free)
