/* Mismatched free: a block is freed through an instance other than the one that allocated it.
 * Built once per direction with OWNER and VIA (0 system, 1 pool, 2 guard A = guard(pool),
 * 3 guard B = guard(system), 4 custom over libc malloc); guard A's inner is the pool and guard
 * B's the system instance, so "guard block via its inner" is among the directions, and system
 * and custom end in the same malloc (the PYTHONMALLOC=malloc case: ASan and Valgrind see one
 * allocator). The fix frees through OWNER. */
#include "detector.h"

#if !defined(OWNER) || !defined(VIA) || OWNER == VIA
#error "build with -DOWNER=n -DVIA=m, two different instances in 0..4"
#endif

static void *libc_malloc(void *c, size_t n) { (void)c; return malloc(n); }
static void *libc_realloc(void *c, void *p, size_t n) { (void)c; return realloc(p, n); }
static void libc_free(void *c, void *p) { (void)c; free(p); }

int main(void)
{
    mb_alloc *sys = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    mb_alloc *pool = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    mb_alloc *ga = det_need(mb_alloc_guard_new(pool), "mb_alloc_guard_new");
    mb_alloc *gb = det_need(mb_alloc_guard_new(sys), "mb_alloc_guard_new");
    static const mb_alloc_vtable vt = {libc_malloc, libc_realloc, libc_free};
    mb_alloc *cust = det_need(mb_alloc_custom_new(&vt, NULL, "custom"), "mb_alloc_custom_new");
    mb_alloc *inst[5] = {sys, pool, ga, gb, cust};

    /* A long-lived system block, so the system instance is never empty. */
    void *session = det_need(mb_malloc(sys, det_opaque(64)), "mb_malloc");
    unsigned char *p = det_need(mb_malloc(inst[OWNER], det_opaque(24)), "mb_malloc");
    memset(p, 1, 24);
#if DET_CLEAN
    mb_free(inst[OWNER], p);
#else
    mb_free(inst[VIA], p);
#endif
    mb_free(sys, session);
    return DET_FINISH(ga, gb, cust, pool, sys);
}
