/* Small-block churn: `slots` live blocks; each step frees one random slot and allocates a random
 * size in [8, 512] into it, touching the first byte. Families are measured interleaved, rep by
 * rep, and reported as the median (min–max) ns/step and as a ratio to the system family measured
 * in the same run. Usage: bench_churn [steps] [reps]
 *
 * Also: --mixed (90% small blocks in [8, 512], 10% large ones in [4 KiB, 64 KiB]; default 5M
 * steps), --all (every variant of this executable's flavour, not only system/pool/guard(pool)),
 * --tsv (records for bench_report instead of a table; implies --all), --rep=K (rotates the order
 * of the variants). Built once per allocator flavour (bench_churn, bench_churn_mimalloc, ...): see
 * families.h. Every variant runs the same sequence of sizes and slots. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "families.h"

#include <membuf.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SLOTS = 4096, MAX_REPS = 31 };

static unsigned char *slot[SLOTS];

BENCH_INLINE size_t next_size(uint64_t r, int mixed)
{
    if (mixed && (r >> 40) % 10 == 0)
        return 4096 + (size_t)((r >> 20) % (60 * 1024 + 1));
    return 8 + (size_t)((r >> 20) % 505);
}

BENCH_INLINE void *xmalloc(mb_alloc *a, int direct, size_t n)
{
    return direct ? bench_direct_malloc(n) : mb_malloc(a, n);
}

BENCH_INLINE void xfree(mb_alloc *a, int direct, void *p)
{
    if (direct)
        bench_direct_free(p);
    else
        mb_free(a, p);
}

/* One run: ns/step, or -1 on allocation failure. Inlined into four specialised copies. */
BENCH_INLINE double churn_impl(mb_alloc *a, int direct, int mixed, long steps)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < SLOTS; i++) {
        slot[i] = xmalloc(a, direct, next_size(bench_xorshift(&x), mixed));
        if (!slot[i])
            return -1;
        slot[i][0] = 1;
    }
    double t0 = bench_now_ns();
    for (long s = 0; s < steps; s++) {
        uint64_t r = bench_xorshift(&x);
        unsigned i = (unsigned)(r % SLOTS);
        xfree(a, direct, slot[i]);
        slot[i] = xmalloc(a, direct, next_size(r, mixed));
        if (!slot[i])
            return -1;
        slot[i][0] = (unsigned char)s;
    }
    double t = (bench_now_ns() - t0) / (double)steps;
    for (int i = 0; i < SLOTS; i++)
        xfree(a, direct, slot[i]);
    return t;
}

static BENCH_NOINLINE double churn_mb(mb_alloc *a, long steps) { return churn_impl(a, 0, 0, steps); }
static BENCH_NOINLINE double churn_direct(long steps) { return churn_impl(NULL, 1, 0, steps); }
static BENCH_NOINLINE double mixed_mb(mb_alloc *a, long steps) { return churn_impl(a, 0, 1, steps); }
static BENCH_NOINLINE double mixed_direct(long steps) { return churn_impl(NULL, 1, 1, steps); }

static double run(const bench_variant *v, int mixed, long steps)
{
    if (v->alloc)
        return mixed ? mixed_mb(v->alloc, steps) : churn_mb(v->alloc, steps);
    return mixed ? mixed_direct(steps) : churn_direct(steps);
}

int main(int argc, char **argv)
{
    bench_common c;
    int mixed = 0, all = 0;
    if ((argc = bench_parse_common(argc, argv, &c, "bench_churn")) < 0)
        return 2;
    int pos = 1;
    for (; pos < argc && argv[pos][0] == '-' && argv[pos][1] == '-'; pos++) {
        if (strcmp(argv[pos], "--mixed") == 0)
            mixed = 1;
        else if (strcmp(argv[pos], "--all") == 0)
            all = 1;
        else {
            fprintf(stderr, "bench_churn: unknown option %s\n", argv[pos]);
            return 2;
        }
    }
    long steps = mixed ? 5000000 : 20000000;
    if (pos < argc && bench_parse_count(argv[pos++], &steps) != 0)
        steps = 0;
    int reps = pos < argc ? atoi(argv[pos++]) : 5;
    if (steps <= 0 || reps < 1 || reps > MAX_REPS || pos < argc) {
        fprintf(stderr,
                "bench_churn: usage: bench_churn [--mixed] [--all] [--tsv] [--rep=K] [steps > 0] "
                "[reps 1..%d]\n",
                MAX_REPS);
        return 2;
    }
    int legacy = !all && !c.tsv;
    bench_variant v[BENCH_MAX_VARIANTS];
    int n = bench_variants_open(v, legacy, "bench_churn");
    if (n < 0)
        return 1;

    static bench_table t;
    const char *base = BENCH_ALLOC == BENCH_ALLOC_GLIBC || c.tsv ? "system" : v[n - 1].name;
    if (mixed)
        bench_table_init(&t, "mixed", "Mixed churn: 90% small [8, 512] B, 10% large [4, 64] KiB",
                         "family", "ns/step", BENCH_TIME, 2, base);
    else
        bench_table_init(&t, "churn", "Small churn: sizes [8, 512] B", "family", "ns/step",
                         BENCH_TIME, 2, base);
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < n; k++) {
            const bench_variant *var = &v[(k + c.rep + r) % n];
            double ns = run(var, mixed, steps);
            if (ns < 0) {
                fprintf(stderr, "bench_churn: %s: allocation failed\n", var->name);
                return 1;
            }
            bench_table_add(&t, var->name, ns);
        }
    /* Rows in variant order, whatever order they ran in. */
    bench_variants_order(&t, v, n);
    if (c.tsv) {
        bench_table_note(&t,
                         "%ld steps, %d live slots; each step frees a random slot and allocates "
                         "into it, touching the first byte.",
                         steps, SLOTS);
        bench_table_emit(&t, stdout);
    } else {
        bench_table_print(&t, stdout, 0);
        if (mixed)
            printf("\n%ld steps, %d live slots, 90%% sizes 8..512, 10%% 4..64 KiB, %d interleaved "
                   "reps (%s)\n",
                   steps, SLOTS, reps, bench_lib_version());
        else
            printf("\n%ld steps, %d live slots, sizes 8..512, %d interleaved reps\n", steps, SLOTS,
                   reps);
    }
    bench_variants_close(v, n);
    return 0;
}
