/* Mismatched free: a block is freed through an instance other than the one that allocated it.
 * One program per direction between the instances 0 system, 1 pool, 2 guard A = guard(pool),
 * 3 guard B = guard(system) and 4 custom over libc malloc (the program's family is the owner, its
 * mode the instance the block is freed through); guard A's inner is the pool and guard B's the
 * system instance, so "guard block via its inner" is among the directions, and system and custom
 * end in the same malloc (the PYTHONMALLOC=malloc case: ASan and Valgrind see one allocator). The
 * fix frees through the owner. */
#include "detector.h"

enum { SYS, POOL, GUARD_A, GUARD_B, CUSTOM, NINST };

static const det_program programs[] = {
    {"mismatch_system_via_pool", SYS, POOL},
    {"mismatch_system_via_gpool", SYS, GUARD_A},
    {"mismatch_system_via_gsys", SYS, GUARD_B},
    {"mismatch_system_via_custom", SYS, CUSTOM},
    {"mismatch_pool_via_system", POOL, SYS},
    {"mismatch_pool_via_gpool", POOL, GUARD_A},
    {"mismatch_pool_via_gsys", POOL, GUARD_B},
    {"mismatch_pool_via_custom", POOL, CUSTOM},
    {"mismatch_gpool_via_system", GUARD_A, SYS},
    {"mismatch_gpool_via_pool", GUARD_A, POOL},
    {"mismatch_gpool_via_gsys", GUARD_A, GUARD_B},
    {"mismatch_gpool_via_custom", GUARD_A, CUSTOM},
    {"mismatch_gsys_via_system", GUARD_B, SYS},
    {"mismatch_gsys_via_pool", GUARD_B, POOL},
    {"mismatch_gsys_via_gpool", GUARD_B, GUARD_A},
    {"mismatch_gsys_via_custom", GUARD_B, CUSTOM},
    {"mismatch_custom_via_system", CUSTOM, SYS},
    {"mismatch_custom_via_pool", CUSTOM, POOL},
    {"mismatch_custom_via_gpool", CUSTOM, GUARD_A},
    {"mismatch_custom_via_gsys", CUSTOM, GUARD_B},
};

static void *libc_malloc(void *c, size_t n) { (void)c; return malloc(n); }
static void *libc_realloc(void *c, void *p, size_t n) { (void)c; return realloc(p, n); }
static void libc_free(void *c, void *p) { (void)c; free(p); }

static int run(const det_program *prog)
{
    int owner = prog->family, via = prog->mode;
    if (owner < 0 || owner >= NINST || via < 0 || via >= NINST || owner == via) {
        fprintf(stderr, "detector: %s: want two different instances in 0..4\n", prog->name);
        return 2;
    }
    mb_alloc *sys = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    mb_alloc *pool = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    mb_alloc *ga = det_need(mb_alloc_guard_new(pool), "mb_alloc_guard_new");
    mb_alloc *gb = det_need(mb_alloc_guard_new(sys), "mb_alloc_guard_new");
    static const mb_alloc_vtable vt = {libc_malloc, libc_realloc, libc_free};
    mb_alloc *cust = det_need(mb_alloc_custom_new(&vt, NULL, "custom"), "mb_alloc_custom_new");
    mb_alloc *inst[NINST] = {sys, pool, ga, gb, cust};

    /* A long-lived system block, so the system instance is never empty. */
    void *session = det_need(mb_malloc(sys, det_opaque(64)), "mb_malloc");
    unsigned char *p = det_need(mb_malloc(inst[owner], det_opaque(24)), "mb_malloc");
    memset(p, 1, 24);
    mb_free(inst[det_clean ? owner : via], p);
    mb_free(sys, session);
    return DET_FINISH(ga, gb, cust, pool, sys);
}

int main(int argc, char **argv)
{
    return det_main(argc, argv, programs, DET_COUNT(programs), run);
}
