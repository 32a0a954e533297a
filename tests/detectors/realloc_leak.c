/* The p = realloc(p, n) bug: growth fails (an injected failure) and the only pointer to the old
 * block is overwritten with NULL, leaking the block; the code then carries on with what it
 * believes is an empty buffer. Variants: FAMILY system and pool. The fix assigns through a
 * temporary. */
#include "detector.h"

static void realloc_leak(mb_alloc *a)
{
    size_t n = det_opaque(4);
    double *d = det_need(mb_malloc(a, n * sizeof *d), "mb_malloc");
    for (size_t i = 0; i < n; i++)
        d[i] = (double)i;
    mb_alloc_fail_after(a, 0, MB_FAIL_ONCE);
#if DET_CLEAN
    double *grown = mb_realloc(a, d, 2 * n * sizeof *d);
    if (grown)
        d = grown;
#else
    d = mb_realloc(a, d, 2 * n * sizeof *d);
#endif
    if (!d)
        fprintf(stderr, "grow failed; carrying on without the data\n");
    mb_free(a, d);
}

int main(void)
{
    return det_run(FAMILY, realloc_leak);
}
