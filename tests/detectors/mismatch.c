/* Mismatched free: a block is freed through an instance other than the one that allocated it.
 * Built once per direction with OWNER and VIA (0 system, 1 pool, 2 guard A = guard(pool),
 * 3 guard B = guard(system)); guard A's inner is the pool and guard B's the system instance, so
 * "guard block via its inner" is among the directions. The fix frees through OWNER. */
#include "detector.h"

#if !defined(OWNER) || !defined(VIA) || OWNER == VIA
#error "build with -DOWNER=n -DVIA=m, two different instances in 0..3"
#endif

int main(void)
{
    mb_alloc *sys = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    mb_alloc *pool = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    mb_alloc *ga = det_need(mb_alloc_guard_new(pool), "mb_alloc_guard_new");
    mb_alloc *gb = det_need(mb_alloc_guard_new(sys), "mb_alloc_guard_new");
    mb_alloc *inst[4] = {sys, pool, ga, gb};

    /* A long-lived system block: a free through the system instance while it has nothing live
     * would be caught by membuf's counters alone (double_free_system_sole covers that). */
    void *session = det_need(mb_malloc(sys, det_opaque(64)), "mb_malloc");
    unsigned char *p = det_need(mb_malloc(inst[OWNER], det_opaque(24)), "mb_malloc");
    memset(p, 1, 24);
#if DET_CLEAN
    mb_free(inst[OWNER], p);
#else
    mb_free(inst[VIA], p);
#endif
    mb_free(sys, session);
    return DET_FINISH(ga, gb, pool, sys);
}
