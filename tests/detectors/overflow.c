/* Heap overflow: an off-by-one loop (<= instead of <) writes one byte past the end of a 24-byte
 * block. Variants: FAMILY system, pool and guard(system). */
#include "detector.h"

static void overflow(mb_alloc *a)
{
    size_t n = det_opaque(24);
    unsigned char *p = det_need(mb_malloc(a, n), "mb_malloc");
#if DET_CLEAN
    for (size_t i = 0; i < n; i++)
#else
    for (size_t i = 0; i <= n; i++)
#endif
        p[i] = (unsigned char)i;
    mb_free(a, p);
}

int main(void)
{
    return det_run(FAMILY, overflow);
}
