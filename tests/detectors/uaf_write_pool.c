/* Use after free (write) of a pool block: the code frees a block and then writes to it; the fix
 * writes first. */
#include "detector.h"

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    unsigned char *p = det_need(mb_malloc(a, det_opaque(24)), "mb_malloc");
    memset(p, 1, 24);
#if DET_CLEAN
    p[det_opaque(4)] = 7;
    mb_free(a, p);
#else
    mb_free(a, p);
    p[det_opaque(4)] = 7; /* writes into the freed block */
#endif
    return DET_FINISH(a);
}
