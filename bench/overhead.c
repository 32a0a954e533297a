/* Memory overhead: in a fresh child process per variant (fork, so one variant's heap does not
 * pollute another's RSS), allocate `blocks` live blocks of random sizes in [8, 512] (every byte
 * written) and read the RSS before and after. Reports the RSS delta per block minus the mean
 * requested size: the bytes each live small block costs beyond what was asked for.
 * Usage: bench_overhead [--tsv] [--rep=K] [blocks] [reps] */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "families.h"

#include <membuf.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_REPS = 31 };

/* Runs in the child: 0 and the overhead in bytes per block in *out, or a non-zero error. */
static int measure(mb_alloc *a, long blocks, double *out)
{
    unsigned char **p = malloc((size_t)blocks * sizeof *p);
    if (!p)
        return 1;
    /* Resident before the first reading. Not zero: gcc turns malloc + memset 0 into calloc,
     * which leaves fresh mmap'ed pages untouched (they would fault in during the measurement). */
    memset(p, 0xff, (size_t)blocks * sizeof *p);
    /* Warm the allocator up (first-use metadata), outside the measurement. */
    void *w = a ? mb_malloc(a, 64) : bench_direct_malloc(64);
    if (a)
        mb_free(a, w);
    else
        bench_direct_free(w);
    long rss0 = bench_rss_bytes();
    uint64_t x = 0x9E3779B97F4A7C15u;
    double requested = 0;
    for (long i = 0; i < blocks; i++) {
        size_t n = 8 + (size_t)((bench_xorshift(&x) >> 20) % 505);
        p[i] = a ? mb_malloc(a, n) : bench_direct_malloc(n);
        if (!p[i])
            return 2;
        memset(p[i], (int)(i & 0xff), n);
        requested += (double)n;
    }
    long rss1 = bench_rss_bytes();
    if (rss0 < 0 || rss1 < 0)
        return 3;
    *out = ((double)(rss1 - rss0) - requested) / (double)blocks;
    return 0;
}

int main(int argc, char **argv)
{
    bench_common c;
    if ((argc = bench_parse_common(argc, argv, &c, "bench_overhead")) < 0)
        return 2;
    long blocks = 1000000;
    int pos = 1;
    if (pos < argc && bench_parse_count(argv[pos++], &blocks) != 0)
        blocks = 0;
    int reps = pos < argc ? atoi(argv[pos++]) : 5;
    if (blocks <= 0 || reps < 1 || reps > MAX_REPS || pos < argc) {
        fprintf(stderr, "bench_overhead: usage: bench_overhead [--tsv] [--rep=K] [blocks > 0] "
                        "[reps 1..%d]\n", MAX_REPS);
        return 2;
    }
    bench_variant v[BENCH_MAX_VARIANTS];
    int n = bench_variants_open(v, 0, "bench_overhead");
    if (n < 0)
        return 1;
    /* Mean requested size of the same sequence, for the note. */
    uint64_t x = 0x9E3779B97F4A7C15u;
    double requested = 0;
    for (long i = 0; i < blocks; i++)
        requested += (double)(8 + (bench_xorshift(&x) >> 20) % 505);

    const char *base = BENCH_ALLOC == BENCH_ALLOC_GLIBC || c.tsv ? "system" : v[n - 1].name;
    static bench_table t;
    bench_table_init(&t, "overhead", "Memory overhead per live small block", "family",
                     "bytes/block", BENCH_SIZE, 1, base);
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < n; k++) {
            const bench_variant *var = &v[(k + c.rep + r) % n];
            int fd[2];
            if (pipe(fd) != 0) {
                perror("bench_overhead: pipe");
                return 1;
            }
            fflush(stdout);
            pid_t pid = fork();
            if (pid < 0) {
                perror("bench_overhead: fork");
                return 1;
            }
            if (pid == 0) {
                close(fd[0]);
                double o = 0;
                int err = measure(var->alloc, blocks, &o);
                ssize_t w = err ? 0 : write(fd[1], &o, sizeof o);
                _exit(err ? 10 + err : w == (ssize_t)sizeof o ? 0 : 1); /* blocks left live */
            }
            close(fd[1]);
            double o = 0;
            ssize_t got = read(fd[0], &o, sizeof o);
            close(fd[0]);
            int status = 0;
            waitpid(pid, &status, 0);
            if (got != (ssize_t)sizeof o || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench_overhead: %s: child failed (status %d)\n", var->name,
                        status);
                return 1;
            }
            bench_table_add(&t, var->name, o);
        }
    bench_variants_order(&t, v, n);
    bench_table_note(&t,
                     "RSS delta per block minus the mean requested size (%.1f B), %ld live blocks "
                     "of [8, 512] B, every byte written; one fresh child process per variant and "
                     "rep. system and custom add a 16-byte size header in front of each block.",
                     requested / (double)blocks, blocks);
    if (c.tsv)
        bench_table_emit(&t, stdout);
    else {
        bench_table_print(&t, stdout, 1);
        printf("%d interleaved reps (%s)\n", reps, bench_lib_version());
    }
    bench_variants_close(v, n);
    return 0;
}
