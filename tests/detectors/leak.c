/* Leak: the last pointer to something the program allocated is lost. Programs (family, and a mode
 * where the scenario differs):
 *
 * - system, pool: a helper allocates scratch space and returns without freeing it, so the last
 *   pointer to the block is lost. The fix frees it before returning.
 * - LONGLIVED, system and pool: the same in an instance that lives as long as the process, a
 *   process-wide allocator that is never deleted by design (so mb_alloc_delete's MB_LEAK report
 *   never runs). At exit the leak oracle checks the still-alive instance; for a pool this is the
 *   case LeakSanitizer cannot see, since the block lies in an mmap'd arena, not in a heap chunk.
 *   The fix frees the block.
 * - INSTANCE, pool: a whole instance of the family leaks. A helper makes a private instance for
 *   temporary work and returns without deleting it (its one block still live), so the instance
 *   itself is lost. The program's own system instance is clean, so the leak oracle, which checks
 *   only instances the program still holds, has nothing to see; the fix frees the block and
 *   deletes the private instance.
 *
 * LONGLIVED and INSTANCE are written for a family without an inner instance (system or pool). */
#include "detector.h"

enum { SCRATCH, LONGLIVED, INSTANCE };

static const det_program programs[] = {
    {"leak_system", DET_SYSTEM, SCRATCH},
    {"leak_system_longlived", DET_SYSTEM, LONGLIVED},
    {"leak_pool", DET_POOL, SCRATCH},
    {"leak_pool_longlived", DET_POOL, LONGLIVED},
    {"leak_pool_instance", DET_POOL, INSTANCE},
};

static mb_alloc *g_alloc; /* LONGLIVED: process lifetime; never deleted */

/* The helpers below run through below_cushion, then the caller calls scrub_stack: the helper's
 * frames (and its callees') then lie where scrub_stack's pad will be, not in the parts of
 * scrub_stack's own frame its pad does not cover (return address, saved registers, redzones and
 * alignment under ASan), so no stale copy of the helper's pointers survives on the stack. */
static __attribute__((noinline)) void below_cushion(void (*helper)(void *arg), void *arg)
{
    volatile unsigned char cushion[1024];
    cushion[0] = 0;
    helper(arg);
    det_sink = cushion[0];
}

static __attribute__((noinline)) void scrub_stack(void)
{
    volatile unsigned char pad[16384];
    memset((void *)pad, 0, sizeof pad);
}

struct work {
    int family;
    size_t n;
    double sum;
};

static void temporary_work(void *arg)
{
    struct work *w = arg;
    mb_alloc *inner;
    mb_alloc *tmp = det_family_new(w->family, &inner);
    double *d = det_need(mb_malloc(tmp, w->n * sizeof *d), "mb_malloc");
    w->sum = 0;
    for (size_t i = 0; i < w->n; i++) {
        d[i] = (double)i;
        w->sum += d[i];
    }
    if (det_clean) {
        mb_free(tmp, d);
        mb_alloc_delete(tmp);
    }
}

static int instance(const det_program *p)
{
    mb_alloc *sys = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    double *keep = det_need(mb_malloc(sys, 16), "mb_malloc");
    struct work w = {p->family, det_opaque(6), 0};
    below_cushion(temporary_work, &w);
    keep[0] = w.sum;
    scrub_stack();
    det_sink = keep[0] == 15.0;
    mb_free(sys, keep);
    return DET_FINISH(sys);
}

static void checksum_scratch(void *arg)
{
    mb_alloc *a = arg;
    unsigned char *p = det_need(mb_malloc(a, det_opaque(48)), "mb_malloc");
    memset(p, 0x5a, 48);
    det_sink = p[47];
    if (det_clean)
        mb_free(a, p);
}

static int longlived(const det_program *p)
{
    mb_alloc *inner;
    g_alloc = det_family_new(p->family, &inner);
    below_cushion(checksum_scratch, g_alloc);
    scrub_stack();
    det_oracle(g_alloc, 1, 1);
    return 0;
}

static void leak(mb_alloc *a, const det_program *p)
{
    (void)p;
    below_cushion(checksum_scratch, a);
    scrub_stack();
}

static int run(const det_program *p)
{
    if (p->mode != SCRATCH && p->family != DET_SYSTEM && p->family != DET_POOL) {
        fprintf(stderr, "detector: %s: written for system or pool only\n", p->name);
        return 2;
    }
    if (p->mode == LONGLIVED)
        return longlived(p);
    if (p->mode == INSTANCE)
        return instance(p);
    return det_run(p, leak);
}

int main(int argc, char **argv)
{
    return det_main(argc, argv, programs, DET_COUNT(programs), run);
}
