/* Shared by the planted-bug programs in this directory (public API only).
 *
 * One source per bug class; each program built from it is one variant of that class, chosen with
 * -D definitions in CMakeLists.txt: the allocator family (FAMILY, below) and, where the class
 * has more than one scenario, a mode that the source documents. Each variant is built twice: the
 * bug, and with -DCLEAN=1 its twin that differs only by the fix. Both end with det_finish(), the
 * harness leak oracle (the long-lived variants, whose instance is never deleted, call det_oracle()
 * alone): with MEMBUF_LEAK_ORACLE=1 in the environment it checks live_blocks == 0 in every
 * instance the program still holds, before deleting any of them, and exits 3 with
 * "leak-oracle: ..." when one still has live blocks. That is the case LeakSanitizer cannot see
 * (pool blocks sit in an mmap'd arena) and mb_alloc_delete sees only when the instance is deleted.
 * Each instance is checked just before it is deleted, so with or without the variable the
 * instances are deleted in the order given (guards before their inner) and membuf's own MB_LEAK
 * report fires at delete. Violations go through the default handler: "membuf: <message>" on
 * stderr, then abort(). */
#ifndef MEMBUF_DETECTOR_H
#define MEMBUF_DETECTOR_H

#include <membuf.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(CLEAN) && CLEAN
#define DET_CLEAN 1
#else
#define DET_CLEAN 0
#endif

/* Reads and writes the compiler cannot drop, and values it cannot fold (no compile-time warnings
 * for the planted bugs, and no bug optimised away). */
static volatile unsigned char det_sink;
static volatile size_t det_opaque_size;

static inline size_t det_opaque(size_t v)
{
    det_opaque_size = v;
    return det_opaque_size;
}

static inline void *det_need(void *p, const char *what)
{
    if (!p) {
        fprintf(stderr, "detector: %s failed\n", what);
        exit(2);
    }
    return p;
}

static inline bool det_oracle_on(void)
{
    const char *v = getenv("MEMBUF_LEAK_ORACLE");
    return v && *v && strcmp(v, "0") != 0;
}

/* The leak oracle for one instance the program still holds: exits 3 if it has live blocks. */
static inline void det_oracle(const mb_alloc *a, size_t index, size_t count)
{
    mb_alloc_stats st;
    if (!det_oracle_on())
        return;
    mb_alloc_get_stats(a, &st);
    if (st.live_blocks == 0)
        return;
    printf("leak-oracle: %zu block%s (%zu bytes) live in %s (instance %zu of %zu)\n",
           st.live_blocks, st.live_blocks == 1 ? "" : "s", st.live_bytes, mb_alloc_name(a),
           index, count);
    (void)fflush(stdout);
    exit(3);
}

/* The leak oracle, then deletion, instance by instance in the order given (guards before their
 * inner: a guard's quarantined blocks are live in its inner until the guard is deleted). Returns
 * the exit status. */
static inline int det_finish(mb_alloc *const *insts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        det_oracle(insts[i], i + 1, n);
        mb_alloc_delete(insts[i]);
    }
    return 0;
}

#define DET_FINISH(...)                                                                            \
    det_finish((mb_alloc *const[]){__VA_ARGS__},                                                  \
               sizeof((mb_alloc *const[]){__VA_ARGS__}) / sizeof(mb_alloc *))

/* The allocator families a program is built for (-DFAMILY=DET_POOL, say), numbered as
 * mismatch.c's OWNER and VIA. A guard's inner instance is a new one of the family named. */
#define DET_SYSTEM 0
#define DET_POOL 1
#define DET_GPOOL 2 /* guard(pool) */
#define DET_GSYS 3  /* guard(system) */

/* A new instance of `family`. For a guard, the inner instance is made first and returned in
 * *inner; for the others *inner is NULL. Exits 2 when a constructor fails. */
static inline mb_alloc *det_family_new(int family, mb_alloc **inner)
{
    *inner = NULL;
    if (family == DET_SYSTEM)
        return det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    if (family == DET_POOL)
        return det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    if (family == DET_GPOOL)
        *inner = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    else
        *inner = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    return det_need(mb_alloc_guard_new(*inner), "mb_alloc_guard_new");
}

/* The usual main: runs scenario on a new instance of `family`, then det_finish on it (and on its
 * inner instance, if it has one). Returns the exit status. */
static inline int det_run(int family, void (*scenario)(mb_alloc *a))
{
    mb_alloc *inner;
    mb_alloc *a = det_family_new(family, &inner);
    scenario(a);
    if (inner)
        return DET_FINISH(a, inner);
    return DET_FINISH(a);
}

#if defined(FAMILY) && (FAMILY < DET_SYSTEM || FAMILY > DET_GSYS)
#error "FAMILY must be one of DET_SYSTEM, DET_POOL, DET_GPOOL, DET_GSYS"
#endif

#endif /* MEMBUF_DETECTOR_H */
