/* The p = realloc(p, n) bug: growth fails (an injected failure) and the only pointer to the old
 * block is overwritten with NULL, leaking the block; the code then carries on with what it
 * believes is an empty buffer. Programs: family system and pool. The fix assigns through a
 * temporary. */
#include "detector.h"

static const det_program programs[] = {
    {"realloc_leak_system", DET_SYSTEM, 0},
    {"realloc_leak_pool", DET_POOL, 0},
};

static void realloc_leak(mb_alloc *a, const det_program *p)
{
    (void)p;
    size_t n = det_opaque(4);
    double *d = det_need(mb_malloc(a, n * sizeof *d), "mb_malloc");
    for (size_t i = 0; i < n; i++)
        d[i] = (double)i;
    mb_alloc_fail_after(a, 0, MB_FAIL_ONCE);
    if (det_clean) {
        double *grown = mb_realloc(a, d, 2 * n * sizeof *d);
        if (grown)
            d = grown;
    } else {
        d = mb_realloc(a, d, 2 * n * sizeof *d);
    }
    if (!d)
        fprintf(stderr, "grow failed; carrying on without the data\n");
    mb_free(a, d);
}

DET_MAIN(programs, realloc_leak)
