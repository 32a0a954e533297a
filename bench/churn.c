/* Small-block churn: `slots` live blocks; each step frees one random slot and allocates a random
 * size in [8, 512] into it, touching the first byte. Families are measured interleaved, rep by
 * rep, and reported as the median (min–max) ns/step and as a ratio to the system family measured
 * in the same run. Usage: bench_churn [steps] [reps] */
#define _POSIX_C_SOURCE 200809L
#include <membuf.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SLOTS = 4096, MAX_FAMILIES = 8, MAX_REPS = 31 };

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static double churn(mb_alloc *a, long steps)
{
    static unsigned char *slot[SLOTS];
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < SLOTS; i++) {
        slot[i] = mb_malloc(a, 8 + xorshift(&x) % 505);
        if (!slot[i])
            return -1;
        slot[i][0] = 1;
    }
    double t0 = now_ns();
    for (long s = 0; s < steps; s++) {
        uint64_t r = xorshift(&x);
        unsigned i = (unsigned)(r % SLOTS);
        mb_free(a, slot[i]);
        slot[i] = mb_malloc(a, 8 + (size_t)((r >> 20) % 505));
        if (!slot[i])
            return -1;
        slot[i][0] = (unsigned char)s;
    }
    double t = (now_ns() - t0) / (double)steps;
    for (int i = 0; i < SLOTS; i++)
        mb_free(a, slot[i]);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long steps = argc > 1 ? strtol(argv[1], NULL, 10) : 20000000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (steps <= 0 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "bench_churn: usage: bench_churn [steps > 0] [reps 1..%d]\n", MAX_REPS);
        return 2;
    }
    mb_alloc *sys = mb_alloc_system_new(), *pool = mb_alloc_pool_new();
    mb_alloc *fam[MAX_FAMILIES] = {sys, pool, mb_alloc_guard_new(pool)};
    const char *names[MAX_FAMILIES] = {"system", "pool", "guard(pool)"};
    int nfam = 3;
    for (int f = 0; f < nfam; f++)
        if (!fam[f]) {
            fprintf(stderr, "bench_churn: cannot create %s\n", names[f]);
            return 1;
        }
    double t[MAX_FAMILIES][MAX_REPS];
    for (int r = 0; r < reps; r++)
        for (int f = 0; f < nfam; f++)
            if ((t[f][r] = churn(fam[f], steps)) < 0) {
                fprintf(stderr, "bench_churn: %s: allocation failed\n", names[f]);
                return 1;
            }
    double med[MAX_FAMILIES];
    printf("| family | ns/step median | min–max | vs system |\n|---|---|---|---|\n");
    for (int f = 0; f < nfam; f++) {
        qsort(t[f], (size_t)reps, sizeof(double), cmp_double);
        med[f] = t[f][reps / 2];
        printf("| %s | %.2f | %.2f–%.2f | %.2f× faster |\n", names[f], med[f], t[f][0],
               t[f][reps - 1], med[0] / med[f]);
    }
    printf("\n%ld steps, %d live slots, sizes 8..512, %d interleaved reps\n", steps, SLOTS, reps);
    mb_alloc_delete(fam[2]);
    mb_alloc_delete(pool);
    mb_alloc_delete(sys);
    return 0;
}
