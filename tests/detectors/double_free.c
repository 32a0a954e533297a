/* Double free: a block is freed twice. Programs (family, and a mode where the scenario differs):
 *
 * - system, pool, guard(system): an error path frees the block and the common exit frees it
 *   again. The system program holds another block of the instance meanwhile, so membuf's
 *   counters cannot tell (SOLE is the case they can). The fix clears the pointer after the first
 *   free (mb_free of NULL is a no-op).
 * - SOLE, system: the block is the instance's only one. A cleanup helper frees the scratch block
 *   it was given and the caller frees it again. With nothing live in the instance, membuf's
 *   counters prove the second free is bad: it is reported and refused before libc sees it. The
 *   fix clears the caller's pointer.
 * - REUSED, guard(pool): the block's memory is reused before the second free. The block is freed,
 *   many later allocations of the same size cycle through the guard's quarantine and the pool (so
 *   the freed memory goes back to the pool and is handed out again), and then a stale copy of the
 *   pointer is freed a second time. The fix clears the stale copy. */
#include "detector.h"

enum { ERROR_PATH, SOLE, REUSED };

static const det_program programs[] = {
    {"double_free_system", DET_SYSTEM, ERROR_PATH},
    {"double_free_system_sole", DET_SYSTEM, SOLE},
    {"double_free_pool", DET_POOL, ERROR_PATH},
    {"double_free_guard", DET_GSYS, ERROR_PATH},
    {"double_free_guard_reused", DET_GPOOL, REUSED},
};

static __attribute__((noinline)) void release_scratch(mb_alloc *a, unsigned char **p)
{
    mb_free(a, *p);
    if (det_clean)
        *p = NULL;
}

static void sole(mb_alloc *a)
{
    unsigned char *p = det_need(mb_malloc(a, det_opaque(40)), "mb_malloc");
    memset(p, 2, 40);
    release_scratch(a, &p);
    mb_free(a, p);
}

static void reused(mb_alloc *a)
{
    unsigned char *p = det_need(mb_malloc(a, 40), "mb_malloc");
    unsigned char *stale = p;
    memset(p, 1, 40);
    mb_free(a, p);
    p = NULL;
    if (det_clean)
        stale = NULL;
    for (int i = 0; i < 300; i++) {
        unsigned char *q = det_need(mb_malloc(a, 40), "mb_malloc");
        memset(q, 2, 40);
        mb_free(a, q);
    }
    mb_free(a, stale);
}

static void error_path(mb_alloc *a, bool hold_another)
{
    void *session = NULL; /* long-lived */
    if (hold_another)
        session = det_need(mb_malloc(a, det_opaque(64)), "mb_malloc");
    unsigned char *p = det_need(mb_malloc(a, det_opaque(32)), "mb_malloc");
    memset(p, 1, 32);
    if (det_opaque(1)) { /* "error" path */
        mb_free(a, p);
        if (det_clean)
            p = NULL;
    }
    mb_free(a, p);
    if (hold_another)
        mb_free(a, session);
}

static void double_free(mb_alloc *a, const det_program *p)
{
    if (p->mode == SOLE)
        sole(a);
    else if (p->mode == REUSED)
        reused(a);
    else
        error_path(a, p->family == DET_SYSTEM);
}

DET_MAIN(programs, double_free)
