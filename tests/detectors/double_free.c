/* Double free: a block is freed twice. Variants (FAMILY, and a mode where the scenario differs):
 *
 * - system, pool, guard(system): an error path frees the block and the common exit frees it
 *   again. The system variant holds another block of the instance meanwhile, so membuf's counters
 *   cannot tell (SOLE is the case they can). The fix clears the pointer after the first free
 *   (mb_free of NULL is a no-op).
 * - SOLE, system: the block is the instance's only one. A cleanup helper frees the scratch block
 *   it was given and the caller frees it again. With nothing live in the instance, membuf's
 *   counters prove the second free is bad: it is reported and refused before libc sees it. The
 *   fix clears the caller's pointer.
 * - REUSED, guard(pool): the block's memory is reused before the second free. The block is freed,
 *   many later allocations of the same size cycle through the guard's quarantine and the pool (so
 *   the freed memory goes back to the pool and is handed out again), and then a stale copy of the
 *   pointer is freed a second time. The fix clears the stale copy. */
#include "detector.h"

#if SOLE && REUSED
#error "SOLE and REUSED are two different scenarios"
#endif

#if SOLE
static __attribute__((noinline)) void release_scratch(mb_alloc *a, unsigned char **p)
{
    mb_free(a, *p);
#if DET_CLEAN
    *p = NULL;
#endif
}

static void double_free(mb_alloc *a)
{
    unsigned char *p = det_need(mb_malloc(a, det_opaque(40)), "mb_malloc");
    memset(p, 2, 40);
    release_scratch(a, &p);
    mb_free(a, p);
}
#elif REUSED
static void double_free(mb_alloc *a)
{
    unsigned char *p = det_need(mb_malloc(a, 40), "mb_malloc");
    unsigned char *stale = p;
    memset(p, 1, 40);
    mb_free(a, p);
    p = NULL;
#if DET_CLEAN
    stale = NULL;
#endif
    for (int i = 0; i < 300; i++) {
        unsigned char *q = det_need(mb_malloc(a, 40), "mb_malloc");
        memset(q, 2, 40);
        mb_free(a, q);
    }
    mb_free(a, stale);
}
#else
static void double_free(mb_alloc *a)
{
#if FAMILY == DET_SYSTEM
    void *session = det_need(mb_malloc(a, det_opaque(64)), "mb_malloc"); /* long-lived */
#endif
    unsigned char *p = det_need(mb_malloc(a, det_opaque(32)), "mb_malloc");
    memset(p, 1, 32);
    if (det_opaque(1)) { /* "error" path */
        mb_free(a, p);
#if DET_CLEAN
        p = NULL;
#endif
    }
    mb_free(a, p);
#if FAMILY == DET_SYSTEM
    mb_free(a, session);
#endif
}
#endif

int main(void)
{
    return det_run(FAMILY, double_free);
}
