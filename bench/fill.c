/* Fill throughput. mb_buf_fill in GB/s against memset of the same bytes (same block), for each
 * buffer size; mb_buf_fill_normal in ns/sample against Box–Muller written here over the same
 * uniform generator (mb_rng_double, xoshiro256**). bench/numpy_normal.py adds numpy's
 * standard_normal to the same table (ci/bench.sh interleaves the two).
 * Usage: bench_fill [--tsv] [--rep=K] [--mib=1,64] [--bytes=N] [--normal=N] [--samples=N] [reps]
 *   --mib      buffer sizes in MiB (default 1,64)
 *   --bytes    bytes written per timing and size (default 4Gi; at least 3 passes)
 *   --normal   samples per normal fill (default 1M)
 *   --samples  samples per timing (default 20M; at least 3 fills) */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <membuf.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_REPS = 31, MAX_SIZES = 8 };

static const double TWO_PI = 6.283185307179586476925286766559;

/* Box–Muller (basic form): two uniforms give two independent standard normals. */
static BENCH_NOINLINE void box_muller(double *d, size_t n, mb_rng *rng, double mean, double sd)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        double u1 = 1.0 - mb_rng_double(rng); /* (0, 1]: log is finite */
        double u2 = mb_rng_double(rng);
        double r = sqrt(-2.0 * log(u1)), th = TWO_PI * u2;
        d[i] = mean + sd * r * cos(th);
        d[i + 1] = mean + sd * r * sin(th);
    }
    if (i < n) {
        double u1 = 1.0 - mb_rng_double(rng), u2 = mb_rng_double(rng);
        d[i] = mean + sd * sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
    }
}

static volatile unsigned char sink;

enum fill_kind { F_MEMSET, F_FILL, F_FILL_ZERO, F_NFILL };
static const char *const fill_names[F_NFILL] = {"memset", "mb_buf_fill(1.5)",
                                                "mb_buf_fill(0.0)"};

/* GB/s of `passes` fills of b. */
static double time_fill(mb_buf *b, enum fill_kind k, long passes)
{
    size_t bytes = b->len * sizeof(double);
    double t0 = bench_now_ns();
    for (long p = 0; p < passes; p++) {
        switch (k) {
        case F_MEMSET: memset(b->data, 0x5a + (int)(p & 1), bytes); break;
        case F_FILL: mb_buf_fill(b, 1.5 + (double)(p & 1)); break;
        default: mb_buf_fill(b, 0.0); break;
        }
    }
    double ns = bench_now_ns() - t0;
    sink = ((unsigned char *)b->data)[bytes / 2];
    return (double)bytes * (double)passes / ns; /* bytes/ns = GB/s */
}

enum normal_kind { N_BOXMULLER, N_FILL_NORMAL, N_NNORMAL };
static const char *const normal_names[N_NNORMAL] = {"Box–Muller (C)", "mb_buf_fill_normal"};

/* ns/sample over `fills` fills of b. */
static double time_normal(mb_buf *b, enum normal_kind k, long fills)
{
    mb_rng rng;
    mb_rng_seed(&rng, 1);
    double t0 = bench_now_ns();
    for (long f = 0; f < fills; f++) {
        if (k == N_BOXMULLER)
            box_muller(b->data, b->len, &rng, 0.0, 1.0);
        else
            mb_buf_fill_normal(b, &rng, 0.0, 1.0);
    }
    double ns = bench_now_ns() - t0;
    sink = ((unsigned char *)b->data)[b->len / 2];
    return ns / ((double)b->len * (double)fills);
}

static int parse_sizes(const char *s, long *mib, int *n)
{
    *n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > 65536 || *n == MAX_SIZES)
            return -1;
        mib[(*n)++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return *n ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench_common c;
    if ((argc = bench_parse_common(argc, argv, &c, "bench_fill")) < 0)
        return 2;
    long mib[MAX_SIZES] = {1, 64};
    int nsizes = 2;
    long bytes = 4L << 30, normal_n = 1000000, samples = 20000000;
    int reps = 5, pos = 1, bad = 0;
    for (; pos < argc; pos++) {
        const char *a = argv[pos];
        if (strncmp(a, "--mib=", 6) == 0)
            bad |= parse_sizes(a + 6, mib, &nsizes);
        else if (strncmp(a, "--bytes=", 8) == 0)
            bad |= bench_parse_count(a + 8, &bytes);
        else if (strncmp(a, "--normal=", 9) == 0)
            bad |= bench_parse_count(a + 9, &normal_n);
        else if (strncmp(a, "--samples=", 10) == 0)
            bad |= bench_parse_count(a + 10, &samples);
        else if (a[0] == '-')
            bad = 1;
        else
            break;
    }
    if (pos < argc)
        reps = atoi(argv[pos++]);
    if (bad || reps < 1 || reps > MAX_REPS || pos < argc) {
        fprintf(stderr, "bench_fill: usage: bench_fill [--tsv] [--rep=K] [--mib=1,64] "
                        "[--bytes=N] [--normal=N] [--samples=N] [reps 1..%d]\n", MAX_REPS);
        return 2;
    }
    mb_alloc *sys = mb_alloc_system_new();
    if (!sys) {
        fprintf(stderr, "bench_fill: cannot create the system family\n");
        return 1;
    }

    static bench_table fills[MAX_SIZES], normal;
    for (int s = 0; s < nsizes; s++) {
        char id[32], title[96];
        snprintf(id, sizeof id, "fill_%ldM", mib[s]);
        snprintf(title, sizeof title, "mb_buf_fill bandwidth, %ld MiB buffer", mib[s]);
        bench_table_init(&fills[s], id, title, "fill", "GB/s", BENCH_RATE, 2, "memset");
        mb_buf b;
        if (mb_buf_init(&b, sys, (size_t)mib[s] << 17) != MB_OK) {
            fprintf(stderr, "bench_fill: cannot allocate %ld MiB\n", mib[s]);
            return 1;
        }
        long passes = bytes / (mib[s] << 20);
        if (passes < 3)
            passes = 3;
        time_fill(&b, F_MEMSET, 1); /* fault the pages in */
        for (int r = 0; r < reps; r++)
            for (int k = 0; k < F_NFILL; k++) {
                enum fill_kind f = (enum fill_kind)((k + c.rep + r) % F_NFILL);
                bench_table_add(&fills[s], fill_names[f], time_fill(&b, f, passes));
            }
        mb_buf_free(&b);
        bench_table_order(&fills[s], fill_names, F_NFILL);
        bench_table_note(&fills[s],
                         "%ld passes over the same %ld MiB block per run (GB = 1e9 B); "
                         "mb_buf_fill(0.0) takes the library's memset path.",
                         passes, mib[s]);
    }

    bench_table_init(&normal, "normal", "Normal samples: mb_buf_fill_normal vs Box–Muller and numpy",
                     "generator", "ns/sample", BENCH_TIME, 2,
                     "Box–Muller (C),numpy standard_normal(n)");
    mb_buf b;
    if (mb_buf_init(&b, sys, (size_t)normal_n) != MB_OK) {
        fprintf(stderr, "bench_fill: cannot allocate %ld doubles\n", normal_n);
        return 1;
    }
    long nfills = samples / normal_n;
    if (nfills < 3)
        nfills = 3;
    time_normal(&b, N_FILL_NORMAL, 1);
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < N_NNORMAL; k++) {
            enum normal_kind f = (enum normal_kind)((k + c.rep + r) % N_NNORMAL);
            bench_table_add(&normal, normal_names[f], time_normal(&b, f, nfills));
        }
    mb_buf_free(&b);
    bench_table_order(&normal, normal_names, N_NNORMAL);
    bench_table_note(&normal,
                     "%ld samples per fill, %ld fills per run, into an existing buffer. "
                     "mb_buf_fill_normal: ziggurat over xoshiro256**; Box–Muller: basic form "
                     "over mb_rng_double (same generator), 2 samples per 2 uniforms.",
                     normal_n, nfills);

    for (int s = 0; s < nsizes; s++) {
        if (c.tsv)
            bench_table_emit(&fills[s], stdout);
        else {
            bench_table_print(&fills[s], stdout, 1);
            printf("\n");
        }
    }
    if (c.tsv)
        bench_table_emit(&normal, stdout);
    else {
        bench_table_print(&normal, stdout, 1);
        printf("%d interleaved reps\n", reps);
    }
    mb_alloc_delete(sys);
    return 0;
}
