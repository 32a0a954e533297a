/* Shared by the planted-bug programs in this directory (public API only).
 *
 * One source per bug class, built as one executable per build, det_<class>. Each program of the
 * class is one variant of it, listed in the source's table of det_program: an allocator family
 * (FAMILY, below) and, where the class has more than one scenario, a mode that the source
 * documents. The program and the variant are chosen at run time (det_main):
 *
 *     det_<class> PROGRAM          the planted bug
 *     det_<class> PROGRAM clean    its clean twin
 *     det_<class> --list           the program names, one a line
 *
 * The twin runs the same code as the bug, except where the scenario tests det_clean: there, and
 * only there, it takes the fix. Both end with det_finish(), the harness leak oracle (the
 * long-lived variants, whose instance is never deleted, call det_oracle() alone): with
 * MEMBUF_LEAK_ORACLE=1 in the environment it checks live_blocks == 0 in every instance the
 * program still holds, before deleting any of them, and exits 3 with "leak-oracle: ..." when one
 * still has live blocks. That is the case LeakSanitizer cannot see (pool blocks sit in an mmap'd
 * arena) and mb_alloc_delete sees only when the instance is deleted. Each instance is checked
 * just before it is deleted, so with or without the variable the instances are deleted in the
 * order given (guards before their inner) and membuf's own MB_LEAK report fires at delete.
 * Violations go through the default handler: "membuf: <message>" on stderr, then abort().
 * A problem of the program itself (bad arguments, a constructor that failed) is one line
 * "detector: ..." on stderr and exit status 2. */
#ifndef MEMBUF_DETECTOR_H
#define MEMBUF_DETECTOR_H

#include <membuf.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads and writes the compiler cannot drop, and values it cannot fold (no compile-time warnings
 * for the planted bugs, and no bug optimised away). */
static volatile unsigned char det_sink;
static volatile size_t det_opaque_size;

/* Set by det_main for a clean twin: the scenario takes the fix. It comes from the command line,
 * so the compiler cannot know which branch runs either. */
static bool det_clean;

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

/* The allocator families a program runs on, numbered as mismatch.c's instances. A guard's inner
 * instance is a new one of the family named. */
#define DET_SYSTEM 0
#define DET_POOL 1
#define DET_GPOOL 2 /* guard(pool) */
#define DET_GSYS 3  /* guard(system) */

/* One program of a bug class: a row of expected.tsv. */
typedef struct det_program {
    const char *name; /* as in expected.tsv */
    int family;       /* DET_SYSTEM, DET_POOL, DET_GPOOL or DET_GSYS (mismatch.c: the owner) */
    int mode;         /* the source's scenario, 0 for its usual one (mismatch.c: the instance the
                         block is freed through) */
} det_program;

#define DET_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* The usual main: runs the program named by argv[1] (its clean twin when argv[2] is "clean")
 * through `run`, or lists the names for --list. Returns the exit status; 2, with one line on
 * stderr, for bad arguments. */
static inline int det_main(int argc, char **argv, const det_program *programs, size_t n,
                           int (*run)(const det_program *p))
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", programs[i].name);
        return 0;
    }
    if (argc != 2 && !(argc == 3 && strcmp(argv[2], "clean") == 0)) {
        fprintf(stderr, "detector: usage: %s PROGRAM [clean] | --list\n",
                argc > 0 ? argv[0] : "det");
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], programs[i].name) == 0) {
            det_clean = argc == 3;
            return run(&programs[i]);
        }
    }
    bool printable = strlen(argv[1]) <= 60;
    for (const char *c = argv[1]; printable && *c; c++)
        printable = isprint((unsigned char)*c);
    if (printable)
        fprintf(stderr, "detector: unknown program '%s' (see --list)\n", argv[1]);
    else
        fprintf(stderr, "detector: unknown program (see --list)\n");
    return 2;
}

/* A new instance of `family`. For a guard, the inner instance is made first and returned in
 * *inner; for the others *inner is NULL. Exits 2 when a constructor fails or the family is
 * unknown. */
static inline mb_alloc *det_family_new(int family, mb_alloc **inner)
{
    *inner = NULL;
    switch (family) {
    case DET_SYSTEM:
        return det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    case DET_POOL:
        return det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    case DET_GPOOL:
        *inner = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
        break;
    case DET_GSYS:
        *inner = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
        break;
    default:
        fprintf(stderr, "detector: unknown family %d\n", family);
        exit(2);
    }
    return det_need(mb_alloc_guard_new(*inner), "mb_alloc_guard_new");
}

/* The usual run: the scenario on a new instance of the program's family, then det_finish on it
 * (and on its inner instance, if it has one). Returns the exit status. */
static inline int det_run(const det_program *p, void (*scenario)(mb_alloc *a, const det_program *p))
{
    mb_alloc *inner;
    mb_alloc *a = det_family_new(p->family, &inner);
    scenario(a, p);
    if (inner)
        return DET_FINISH(a, inner);
    return DET_FINISH(a);
}

/* The usual program: main() runs det_main over `table`, each program through det_run(p,
 * scenario). Sources whose programs need more (checks of their table row) write their own. */
static void (*det_scenario)(mb_alloc *a, const det_program *p);
static inline int det_run_scenario(const det_program *p) { return det_run(p, det_scenario); }
#define DET_MAIN(table, scenario)                                                                 \
    int main(int argc, char **argv)                                                               \
    {                                                                                             \
        det_scenario = (scenario);                                                                \
        return det_main(argc, argv, (table), DET_COUNT(table), det_run_scenario);                 \
    }

#endif /* MEMBUF_DETECTOR_H */
