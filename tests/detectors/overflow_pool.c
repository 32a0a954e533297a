/* Heap overflow of a pool block: an off-by-one loop (<= instead of <) writes one byte past the
 * end of a 24-byte block. */
#include "detector.h"

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    size_t n = det_opaque(24);
    unsigned char *p = det_need(mb_malloc(a, n), "mb_malloc");
#if DET_CLEAN
    for (size_t i = 0; i < n; i++)
#else
    for (size_t i = 0; i <= n; i++)
#endif
        p[i] = (unsigned char)i;
    mb_free(a, p);
    return DET_FINISH(a);
}
