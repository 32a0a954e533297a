/* Buffer growth: NBUF buffers grow together, round-robin, by STEP doubles per mb_buf_resize (each
 * step writes its new elements) up to MAXLEN doubles (4 KiB), then all are freed; rounds repeat
 * until `resizes` resizes have been done. Reported in ns per resize (frees included). The direct
 * variant does the same with realloc/free of the flavour's allocator.
 * Usage: bench_growth [--tsv] [--rep=K] [resizes] [reps] */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "families.h"

#include <membuf.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NBUF = 256, STEP = 8, MAXLEN = 512, MAX_REPS = 31 };

static mb_buf bufs[NBUF];
static double *raw[NBUF];

static BENCH_NOINLINE double growth_mb(mb_alloc *a, long resizes)
{
    const long per_round = (long)NBUF * (MAXLEN / STEP);
    long rounds = (resizes + per_round - 1) / per_round;
    double t0 = bench_now_ns();
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < NBUF; i++)
            if (mb_buf_init(&bufs[i], a, 0) != MB_OK)
                return -1;
        for (size_t len = STEP; len <= MAXLEN; len += STEP)
            for (int i = 0; i < NBUF; i++) {
                if (mb_buf_resize(&bufs[i], len) != MB_OK)
                    return -1;
                double *d = bufs[i].data;
                for (size_t k = len - STEP; k < len; k++)
                    d[k] = (double)k;
            }
        for (int i = 0; i < NBUF; i++)
            mb_buf_free(&bufs[i]);
    }
    return (bench_now_ns() - t0) / (double)(rounds * per_round);
}

static BENCH_NOINLINE double growth_direct(long resizes)
{
    const long per_round = (long)NBUF * (MAXLEN / STEP);
    long rounds = (resizes + per_round - 1) / per_round;
    double t0 = bench_now_ns();
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < NBUF; i++)
            raw[i] = NULL;
        for (size_t len = STEP; len <= MAXLEN; len += STEP)
            for (int i = 0; i < NBUF; i++) {
                double *d = bench_direct_realloc(raw[i], len * sizeof *d);
                if (!d)
                    return -1;
                raw[i] = d;
                for (size_t k = len - STEP; k < len; k++)
                    d[k] = (double)k;
            }
        for (int i = 0; i < NBUF; i++)
            bench_direct_free(raw[i]);
    }
    return (bench_now_ns() - t0) / (double)(rounds * per_round);
}

int main(int argc, char **argv)
{
    bench_common c;
    if ((argc = bench_parse_common(argc, argv, &c, "bench_growth")) < 0)
        return 2;
    long resizes = 4000000;
    int pos = 1;
    if (pos < argc && bench_parse_count(argv[pos++], &resizes) != 0)
        resizes = 0;
    int reps = pos < argc ? atoi(argv[pos++]) : 5;
    if (resizes <= 0 || reps < 1 || reps > MAX_REPS || pos < argc) {
        fprintf(stderr, "bench_growth: usage: bench_growth [--tsv] [--rep=K] [resizes > 0] "
                        "[reps 1..%d]\n", MAX_REPS);
        return 2;
    }
    bench_variant v[BENCH_MAX_VARIANTS];
    int n = bench_variants_open(v, 0, "bench_growth");
    if (n < 0)
        return 1;
    const char *base = BENCH_ALLOC == BENCH_ALLOC_GLIBC || c.tsv ? "system" : v[n - 1].name;
    static bench_table t;
    bench_table_init(&t, "growth", "Growth: mb_buf_resize by +8 doubles to 4 KiB", "family",
                     "ns/resize", BENCH_TIME, 2, base);
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < n; k++) {
            const bench_variant *var = &v[(k + c.rep + r) % n];
            double ns = var->alloc ? growth_mb(var->alloc, resizes) : growth_direct(resizes);
            if (ns < 0) {
                fprintf(stderr, "bench_growth: %s: allocation failed\n", var->name);
                return 1;
            }
            bench_table_add(&t, var->name, ns);
        }
    bench_variants_order(&t, v, n);
    bench_table_note(&t,
                     "%d buffers grown round-robin from 0 to %d doubles by +%d (%d resizes each, "
                     "new elements written), then freed; %ld resizes per run. Direct rows use "
                     "realloc/free.",
                     NBUF, MAXLEN, STEP, MAXLEN / STEP, resizes);
    if (c.tsv)
        bench_table_emit(&t, stdout);
    else {
        bench_table_print(&t, stdout, 1);
        printf("%d interleaved reps (%s)\n", reps, bench_lib_version());
    }
    bench_variants_close(v, n);
    return 0;
}
