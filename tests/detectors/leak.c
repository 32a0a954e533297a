/* Leak: the last pointer to something the program allocated is lost. Variants (FAMILY, and a mode
 * where the scenario differs):
 *
 * - system, pool: a helper allocates scratch space and returns without freeing it, so the last
 *   pointer to the block is lost. The fix frees it before returning.
 * - LONGLIVED, system and pool: the same in an instance that lives as long as the process, a
 *   process-wide allocator that is never deleted by design (so mb_alloc_delete's MB_LEAK report
 *   never runs). At exit the leak oracle checks the still-alive instance; for a pool this is the
 *   case LeakSanitizer cannot see, since the block lies in an mmap'd arena, not in a heap chunk.
 *   The fix frees the block.
 * - INSTANCE, pool: a whole instance of FAMILY leaks. A helper makes a private instance for
 *   temporary work and returns without deleting it (its one block still live), so the instance
 *   itself is lost. The program's own system instance is clean, so the leak oracle, which checks
 *   only instances the program still holds, has nothing to see; the fix frees the block and
 *   deletes the private instance. */
#include "detector.h"

#if LONGLIVED && INSTANCE
#error "LONGLIVED and INSTANCE are two different scenarios"
#endif
#if (LONGLIVED || INSTANCE) && FAMILY != DET_SYSTEM && FAMILY != DET_POOL
#error "LONGLIVED and INSTANCE are written for a family without an inner instance"
#endif

/* Overwrites the stack the helper used, so no stale copy of its pointer survives there. */
static __attribute__((noinline)) void scrub_stack(void)
{
    volatile unsigned char pad[4096];
    memset((void *)pad, 0, sizeof pad);
}

#if INSTANCE
static __attribute__((noinline)) double temporary_work(size_t n)
{
    mb_alloc *inner;
    mb_alloc *tmp = det_family_new(FAMILY, &inner);
    double *d = det_need(mb_malloc(tmp, n * sizeof *d), "mb_malloc");
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        d[i] = (double)i;
        sum += d[i];
    }
#if DET_CLEAN
    mb_free(tmp, d);
    mb_alloc_delete(tmp);
#endif
    return sum;
}

int main(void)
{
    mb_alloc *sys = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    double *keep = det_need(mb_malloc(sys, 16), "mb_malloc");
    keep[0] = temporary_work(det_opaque(6));
    scrub_stack();
    det_sink = keep[0] == 15.0;
    mb_free(sys, keep);
    return DET_FINISH(sys);
}
#else
static __attribute__((noinline)) void checksum_scratch(mb_alloc *a)
{
    unsigned char *p = det_need(mb_malloc(a, det_opaque(48)), "mb_malloc");
    memset(p, 0x5a, 48);
    det_sink = p[47];
#if DET_CLEAN
    mb_free(a, p);
#endif
}

#if LONGLIVED
static mb_alloc *g_alloc; /* process lifetime; never deleted */

int main(void)
{
    mb_alloc *inner;
    g_alloc = det_family_new(FAMILY, &inner);
    checksum_scratch(g_alloc);
    scrub_stack();
    det_oracle(g_alloc, 1, 1);
    return 0;
}
#else
static void leak(mb_alloc *a)
{
    checksum_scratch(a);
    scrub_stack();
}

int main(void)
{
    return det_run(FAMILY, leak);
}
#endif
#endif
