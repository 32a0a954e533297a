/* Heap underflow of a system block: a backwards loop has an off-by-one bound (i >= -1 instead of
 * i >= 0) and writes the byte before the block. */
#include "detector.h"

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    size_t n = det_opaque(24);
    unsigned char *p = det_need(mb_malloc(a, n), "mb_malloc");
#if DET_CLEAN
    for (long i = (long)n - 1; i >= 0; i--)
#else
    for (long i = (long)n - 1; i >= -1; i--)
#endif
        p[i] = (unsigned char)i;
    mb_free(a, p);
    return DET_FINISH(a);
}
