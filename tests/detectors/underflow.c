/* Heap underflow: a backwards loop has an off-by-one bound (i >= -1 instead of i >= 0) and writes
 * the byte before a 24-byte block. Variants: FAMILY system, pool and guard(system). */
#include "detector.h"

static void underflow(mb_alloc *a)
{
    size_t n = det_opaque(24);
    unsigned char *p = det_need(mb_malloc(a, n), "mb_malloc");
#if DET_CLEAN
    for (long i = (long)n - 1; i >= 0; i--)
#else
    for (long i = (long)n - 1; i >= -1; i--)
#endif
        p[i] = (unsigned char)i;
    mb_free(a, p);
}

int main(void)
{
    return det_run(FAMILY, underflow);
}
