/* Double free of a guard(pool) block after its memory was reused: the block is freed, many later
 * allocations of the same size cycle through the guard's quarantine and the pool (so the freed
 * memory goes back to the pool and is handed out again), and then a stale copy of the pointer is
 * freed a second time. The fix clears the stale copy. */
#include "detector.h"

int main(void)
{
    mb_alloc *inner = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    mb_alloc *g = det_need(mb_alloc_guard_new(inner), "mb_alloc_guard_new");
    unsigned char *p = det_need(mb_malloc(g, 40), "mb_malloc");
    unsigned char *stale = p;
    memset(p, 1, 40);
    mb_free(g, p);
    p = NULL;
#if DET_CLEAN
    stale = NULL;
#endif
    for (int i = 0; i < 300; i++) {
        unsigned char *q = det_need(mb_malloc(g, 40), "mb_malloc");
        memset(q, 2, 40);
        mb_free(g, q);
    }
    mb_free(g, stale);
    return DET_FINISH(g, inner);
}
