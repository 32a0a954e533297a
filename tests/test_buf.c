/* mb_buf on every family: init/resize/fill/fill_normal/free, overflow without touching the
 * allocator, and every failure leaving the buffer unchanged and still owning its block. */
#include "internal.h"
#include "test.h"

#include <math.h>

static void *c_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void *c_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static void c_free(void *ctx, void *p) { (void)ctx; free(p); }
static const mb_alloc_vtable libc_vt = {c_malloc, c_realloc, c_free};

enum { NFAM = 5 };
static mb_alloc *fam[NFAM];
static mb_alloc *inner_pool, *inner_sys;

static void families(void)
{
    inner_pool = mb_alloc_pool_new();
    inner_sys = mb_alloc_system_new();
    fam[0] = mb_alloc_system_new();
    fam[1] = mb_alloc_pool_new();
    fam[2] = mb_alloc_guard_new(inner_pool);
    fam[3] = mb_alloc_guard_new(inner_sys);
    fam[4] = mb_alloc_custom_new(&libc_vt, NULL, "libc");
    for (int i = 0; i < NFAM; i++)
        ASSERT_NOT_NULL(fam[i]);
}

static void test_init_free(mb_alloc *a)
{
    mb_buf b;
    ASSERT_EQ(mb_buf_init(&b, a, 0), MB_OK);
    ASSERT_NULL(b.data);
    ASSERT_UEQ(b.len, 0);
    ASSERT_PTR_EQ(b.alloc, a);
    mb_buf_free(&b);
    ASSERT_EQ(mb_buf_init(&b, a, 100), MB_OK);
    ASSERT_NOT_NULL(b.data);
    ASSERT_UEQ(b.len, 100);
    ASSERT_UEQ((uintptr_t)b.data % _Alignof(double), 0);
    mb_buf_free(&b);
    ASSERT_NULL(b.data);
    ASSERT_UEQ(b.len, 0);
    ASSERT_PTR_EQ(b.alloc, a);
    mb_buf_free(&b); /* idempotent */
    mb_buf_free(NULL);
    ASSERT_EQ(mb_buf_init(NULL, a, 1), MB_EINVAL);
    ASSERT_EQ(mb_buf_init(&b, NULL, 1), MB_EINVAL);
    ASSERT_NULL(b.data);
    ASSERT_UEQ(b.len, 0);
    ASSERT_NULL(b.alloc);
    /* A buffer without an allocator cannot grow; filling it (empty) is a no-op. */
    mb_rng r, r0;
    mb_rng_seed(&r, 1);
    r0 = r;
    ASSERT_EQ(mb_buf_resize(&b, 4), MB_EINVAL);
    ASSERT_EQ(mb_buf_fill(&b, 1.0), MB_OK);
    ASSERT_EQ(mb_buf_fill_normal(&b, &r, 0, 1), MB_OK);
    ASSERT(memcmp(&r, &r0, sizeof r) == 0); /* no element, no draw */
    ASSERT(b.data == NULL && b.len == 0 && b.alloc == NULL);
    mb_buf_free(&b);
    ASSERT_NOTHING_LIVE(a);
}

static void test_overflow(mb_alloc *a)
{
    mb_alloc_stats before, after;
    mb_alloc_get_stats(a, &before);
    mb_buf b;
    ASSERT_EQ(mb_buf_init(&b, a, SIZE_MAX / sizeof(double) + 1), MB_EOVERFLOW);
    ASSERT_NULL(b.data);
    ASSERT_EQ(mb_buf_init(&b, a, SIZE_MAX), MB_EOVERFLOW);
    ASSERT_EQ(mb_buf_init(&b, a, 4), MB_OK);
    double *d = b.data;
    ASSERT_EQ(mb_buf_resize(&b, SIZE_MAX / 8 + 1), MB_EOVERFLOW);
    ASSERT_PTR_EQ(b.data, d);
    ASSERT_UEQ(b.len, 4);
    mb_buf_free(&b);
    mb_alloc_get_stats(a, &after);
    /* Only the one real init and its free reached the allocator. */
    ASSERT_UEQ(after.mallocs, before.mallocs + 1);
    ASSERT_UEQ(after.reallocs, before.reallocs);
    ASSERT_UEQ(after.failures, before.failures);
}

static void test_resize_keeps_prefix(mb_alloc *a)
{
    mb_buf b;
    ASSERT_EQ(mb_buf_init(&b, a, 3), MB_OK);
    for (size_t i = 0; i < 3; i++)
        b.data[i] = (double)i + 0.5;
    size_t steps[] = {5, 64, 65, 1000, 2, 70, 1, 3000, 0, 9};
    size_t cur = 3;
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        size_t n = steps[s];
        ASSERT_EQ(mb_buf_resize(&b, n), MB_OK);
        ASSERT_UEQ(b.len, n);
        if (n == 0) {
            ASSERT_NULL(b.data);
            cur = 0;
            continue;
        }
        for (size_t i = 0; i < (cur < n ? cur : n); i++)
            ASSERT_DBL_EQ(b.data[i], (double)i + 0.5);
        for (size_t i = 0; i < n; i++)
            b.data[i] = (double)i + 0.5;
        cur = n;
    }
    mb_buf_free(&b);
    ASSERT_EQ(mb_buf_resize(NULL, 3), MB_EINVAL);
    ASSERT_NOTHING_LIVE(a);
}

static void test_resize_failure(mb_alloc *a)
{
    mb_buf b;
    ASSERT_EQ(mb_buf_init(&b, a, 10), MB_OK);
    for (size_t i = 0; i < 10; i++)
        b.data[i] = (double)i;
    double *d = b.data;
    mb_alloc_fail_after(a, 0, MB_FAIL_ONCE);
    ASSERT_EQ(mb_buf_resize(&b, 5000), MB_ENOMEM);
    ASSERT_PTR_EQ(b.data, d);
    ASSERT_UEQ(b.len, 10);
    for (size_t i = 0; i < 10; i++)
        ASSERT_DBL_EQ(b.data[i], (double)i);
    mb_alloc_check(a);
    ASSERT_EQ(mb_buf_resize(&b, 5000), MB_OK);
    mb_buf_free(&b);
    ASSERT_NOTHING_LIVE(a);
}

/* Fail after k requests for every k (SQLite-style), once and always, until the whole sequence
 * runs without a failure. Every operation either succeeds or reports MB_ENOMEM with the buffer
 * unchanged; the allocator counts exactly the failures reported; at the end nothing is live. */
enum { FI_BUFS = 3, FI_ROUNDS = 3 };
static const size_t fi_init[FI_BUFS] = {1, 40, 600};
static const size_t fi_resize[FI_ROUNDS] = {3, 70, 2};

static void check_contents(const mb_buf *b, double v)
{
    for (size_t j = 0; j < b->len; j++)
        ASSERT_DBL_EQ(b->data[j], v);
}

/* Runs the sequence once; returns how many operations reported MB_ENOMEM. */
static uint64_t fi_sequence(mb_alloc *a)
{
    uint64_t failed = 0;
    mb_buf bufs[FI_BUFS];
    for (int i = 0; i < FI_BUFS; i++) {
        mb_status st = mb_buf_init(&bufs[i], a, fi_init[i]);
        ASSERT(st == MB_OK || st == MB_ENOMEM);
        ASSERT_PTR_EQ(bufs[i].alloc, a);
        if (st == MB_ENOMEM) {
            ASSERT(bufs[i].data == NULL && bufs[i].len == 0);
            failed++;
        } else {
            ASSERT_UEQ(bufs[i].len, fi_init[i]);
            ASSERT_EQ(mb_buf_fill(&bufs[i], (double)i), MB_OK);
        }
    }
    for (int round = 0; round < FI_ROUNDS; round++) {
        for (int i = 0; i < FI_BUFS; i++) {
            mb_buf old = bufs[i];
            size_t n = fi_resize[round] + (size_t)i;
            mb_status st = mb_buf_resize(&bufs[i], n);
            ASSERT(st == MB_OK || st == MB_ENOMEM);
            if (st == MB_ENOMEM) {
                ASSERT(memcmp(&bufs[i], &old, sizeof old) == 0);
                failed++;
            } else {
                ASSERT_UEQ(bufs[i].len, n);
                /* the kept prefix survived the move */
                mb_buf prefix = {bufs[i].data, old.len < n ? old.len : n, a};
                check_contents(&prefix, (double)i);
                ASSERT_EQ(mb_buf_fill(&bufs[i], (double)i), MB_OK);
            }
            check_contents(&bufs[i], (double)i);
        }
    }
    mb_alloc_check(a);
    for (int i = 0; i < FI_BUFS; i++)
        mb_buf_free(&bufs[i]);
    return failed;
}

static void test_fault_injection_loop(mb_alloc *a)
{
    /* Every operation of the sequence makes exactly one request, failed or not. */
    const uint64_t requests = FI_BUFS + FI_BUFS * FI_ROUNDS;
    for (int mode = 0; mode < 2; mode++) {
        for (uint64_t k = 0;; k++) {
            ASSERT(k <= requests);
            mb_alloc_stats before, after;
            mb_alloc_get_stats(a, &before);
            mb_alloc_fail_after(a, k, mode ? MB_FAIL_ALWAYS : MB_FAIL_ONCE);
            uint64_t failed = fi_sequence(a);
            mb_alloc_fail_never(a);
            mb_alloc_get_stats(a, &after);
            ASSERT_UEQ(after.failures - before.failures, failed);
            ASSERT_UEQ(after.mallocs + after.reallocs - before.mallocs - before.reallocs, requests);
            ASSERT_UEQ(failed, k >= requests ? 0 : mode ? requests - k : 1);
            ASSERT_NOTHING_LIVE(a);
            if (failed == 0)
                break;
        }
    }
}

static void test_fill(mb_alloc *a)
{
    mb_buf b;
    ASSERT_EQ(mb_buf_init(&b, a, 1001), MB_OK);
    double vals[] = {0.0, -0.0, 1.5, -3e300, INFINITY, 5e-324};
    for (size_t v = 0; v < sizeof vals / sizeof *vals; v++) {
        ASSERT_EQ(mb_buf_fill(&b, vals[v]), MB_OK);
        for (size_t i = 0; i < b.len; i++)
            ASSERT(memcmp(&b.data[i], &vals[v], sizeof(double)) == 0);
    }
    ASSERT_EQ(mb_buf_fill(&b, NAN), MB_OK);
    ASSERT(isnan(b.data[0]) && isnan(b.data[1000]));
    ASSERT_EQ(mb_buf_fill(NULL, 1), MB_EINVAL);
    mb_buf_free(&b);
    ASSERT_EQ(mb_buf_fill(&b, 2.0), MB_OK); /* empty: nothing to do */
}

static void test_fill_normal(mb_alloc *a)
{
    mb_buf b;
    ASSERT_EQ(mb_buf_init(&b, a, 777), MB_OK);
    mb_rng r, ref;
    mb_rng_seed(&r, 7);
    mb_rng_seed(&ref, 7);
    ASSERT_EQ(mb_buf_fill_normal(&b, &r, 2.0, 0.5), MB_OK);
    for (size_t i = 0; i < b.len; i++)
        ASSERT_DBL_EQ(b.data[i], 2.0 + 0.5 * mb_rng_normal(&ref));
    ASSERT_UEQ(mb_rng_u64(&r), mb_rng_u64(&ref)); /* same number of draws */
    /* Enough draws for the wedges (~1%) and the tail (~0.03%): the fused fill must draw exactly
     * as mb_rng_normal does there too. */
    ASSERT_EQ(mb_buf_resize(&b, 300000), MB_OK);
    ASSERT_EQ(mb_buf_fill_normal(&b, &r, -1.0, 3.0), MB_OK);
    size_t tail = 0;
    for (size_t i = 0; i < b.len; i++) {
        double z = mb_rng_normal(&ref);
        tail += fabs(z) > 3.654152885361009; /* drawn by the tail algorithm */
        ASSERT_DBL_EQ(b.data[i], -1.0 + 3.0 * z);
    }
    ASSERT(tail > 0);
    ASSERT_UEQ(mb_rng_u64(&r), mb_rng_u64(&ref));
    ASSERT_EQ(mb_buf_resize(&b, 777), MB_OK);
    /* Invalid arguments: nothing touched, not even the generator. */
    ASSERT_EQ(mb_buf_fill(&b, 9.0), MB_OK);
    mb_rng before = r;
    double bad[][2] = {{0, -1}, {0, NAN}, {0, INFINITY}, {NAN, 1}, {-INFINITY, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ASSERT_EQ(mb_buf_fill_normal(&b, &r, bad[i][0], bad[i][1]), MB_EINVAL);
        ASSERT(memcmp(&r, &before, sizeof r) == 0);
        for (size_t j = 0; j < b.len; j++)
            ASSERT_DBL_EQ(b.data[j], 9.0);
    }
    ASSERT_EQ(mb_buf_fill_normal(NULL, &r, 0, 1), MB_EINVAL);
    ASSERT_EQ(mb_buf_fill_normal(&b, NULL, 0, 1), MB_EINVAL);
    ASSERT_EQ(mb_buf_fill_normal(&b, &r, 1.0, 0.0), MB_OK);
    ASSERT_DBL_EQ(b.data[5], 1.0);
    mb_buf_free(&b);
    ASSERT_NOTHING_LIVE(a);
}

int main(void)
{
    test_capture_begin(); /* no family may report anything in this file */
    families();
    for (int i = 0; i < NFAM; i++) {
        fprintf(stderr, " family %s\n", mb_alloc_name(fam[i]));
        test_init_free(fam[i]);
        test_overflow(fam[i]);
        test_resize_keeps_prefix(fam[i]);
        test_resize_failure(fam[i]);
        test_fault_injection_loop(fam[i]);
        test_fill(fam[i]);
        test_fill_normal(fam[i]);
    }
    for (int i = 0; i < NFAM; i++)
        mb_alloc_delete(fam[i]);
    mb_alloc_delete(inner_pool);
    mb_alloc_delete(inner_sys);
    ASSERT_NO_VIOLATION();
    test_capture_end();
    puts("test_buf: all passed");
    return 0;
}
