/* The pool family: classes, alignment, resize across classes and to/from large blocks, ownership
 * and double-free checks, leak report at delete, and every internal allocation failing. */
#include "internal.h"
#include "test.h"

#include <stdint.h>

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31u + i * 7u);
}

static void verify(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 31u + i * 7u))
            TEST_FAIL_("byte %zu of block %u changed", i, seed);
}

static void test_every_size(void)
{
    enum { N = 1100 };
    mb_alloc *a = mb_alloc_pool_new();
    ASSERT_NOT_NULL(a);
    ASSERT_STR_EQ(mb_alloc_name(a), "pool");
    static unsigned char *p[N];
    size_t bytes = 0;
    for (size_t n = 0; n < N; n++) {
        p[n] = mb_malloc(a, n);
        ASSERT_NOT_NULL(p[n]);
        ASSERT_UEQ((uintptr_t)p[n] % MB__ALIGN, 0);
        fill(p[n], n, (unsigned)n);
        bytes += n;
    }
    mb_alloc_stats s;
    mb_alloc_get_stats(a, &s);
    ASSERT_UEQ(s.live_blocks, N);
    ASSERT_UEQ(s.live_bytes, bytes);
    ASSERT_UEQ(s.peak_bytes, bytes);
    /* Distinct blocks: no two overlap, checked through the patterns. */
    for (size_t n = 0; n < N; n++)
        verify(p[n], n, (unsigned)n);
    for (size_t n = 0; n < N; n += 2)
        mb_free(a, p[n]);
    for (size_t n = 1; n < N; n += 2)
        verify(p[n], n, (unsigned)n);
    for (size_t n = 1; n < N; n += 2)
        mb_free(a, p[n]);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_get_stats(a, &s);
    ASSERT_UEQ(s.frees, N);
    mb_alloc_delete(a);
}

static void test_zero_size_unique(void)
{
    mb_alloc *a = mb_alloc_pool_new();
    void *x = mb_malloc(a, 0), *y = mb_malloc(a, 0);
    ASSERT_NOT_NULL(x);
    ASSERT_NOT_NULL(y);
    ASSERT(x != y);
    void *z = mb_realloc(a, x, 0);
    ASSERT_NOT_NULL(z);
    mb_free(a, z);
    mb_free(a, y);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
}

static void test_reuse_lifo(void)
{
    mb_alloc *a = mb_alloc_pool_new();
    void *x = mb_malloc(a, 40);
    void *keep = mb_malloc(a, 40); /* keeps the pool in use */
    mb_free(a, x);
    void *y = mb_malloc(a, 40);
    ASSERT_PTR_EQ(x, y); /* the free list hands the last freed block back first */
    mb_free(a, y);
    mb_free(a, keep);
    mb_alloc_delete(a);
}

static void test_realloc_paths(void)
{
    mb_alloc *a = mb_alloc_pool_new();
    /* Same class (17 and 29 share one with and without the redzone, tag included): in place. */
    unsigned char *p = mb_malloc(a, 17);
    fill(p, 17, 1);
    unsigned char *q = mb_realloc(a, p, 29);
    ASSERT_PTR_EQ(p, q);
    verify(q, 17, 1);
    /* Across classes, small -> large -> larger -> small, prefix kept every time. */
    size_t sizes[] = {100, 300, 511, 513, 700, 5000, 100000, 2000, 64, 8, 0, 33};
    size_t cur = 17;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        unsigned char *r = mb_realloc(a, q, n);
        ASSERT_NOT_NULL(r);
        ASSERT_UEQ((uintptr_t)r % MB__ALIGN, 0);
        verify(r, cur < n ? cur : n, 1);
        fill(r, n, 1);
        mb_alloc_stats s;
        mb_alloc_get_stats(a, &s);
        ASSERT_UEQ(s.live_blocks, 1);
        ASSERT_UEQ(s.live_bytes, n);
        q = r;
        cur = n;
    }
    mb_free(a, q);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
}

/* Every pair of (class boundary, large) sizes: contents kept across the resize both ways. */
static void test_realloc_every_pair(void)
{
    size_t sizes[80];
    size_t n = 0;
    sizes[n++] = 0;
    for (size_t c = 16; c <= 512; c += 16) {
        sizes[n++] = c;
        sizes[n++] = c + 1;
    }
    sizes[n++] = 2000;
    sizes[n++] = 70000;
    mb_alloc *a = mb_alloc_pool_new();
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            unsigned char *p = mb_malloc(a, sizes[i]);
            ASSERT_NOT_NULL(p);
            fill(p, sizes[i], (unsigned)i);
            unsigned char *q = mb_realloc(a, p, sizes[j]);
            ASSERT_NOT_NULL(q);
            verify(q, sizes[i] < sizes[j] ? sizes[i] : sizes[j], (unsigned)i);
            mb_free(a, q);
        }
    }
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
}

static void test_double_free(void)
{
    test_capture_begin();
    mb_alloc *a = mb_alloc_pool_new();
    void *keep = mb_malloc(a, 24);
    void *p = mb_malloc(a, 24);
    mb_free(a, p);
    ASSERT_NO_VIOLATION();
    mb_alloc_stats before, after;
    mb_alloc_get_stats(a, &before);
    mb_free(a, p);
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    mb_alloc_get_stats(a, &after);
    ASSERT_UEQ(after.frees, before.frees);
    ASSERT_UEQ(after.live_blocks, before.live_blocks);
    /* realloc of a freed block: refused, NULL, reported. */
    ASSERT_NULL(mb_realloc(a, p, 10));
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    /* The freed block is still on the free list exactly once: two allocations differ. */
    void *x = mb_malloc(a, 24), *y = mb_malloc(a, 24);
    ASSERT(x != y);
    mb_free(a, x);
    mb_free(a, y);
    /* Large blocks: the recently-freed ring. */
    void *big = mb_malloc(a, 4000);
    mb_free(a, big);
    mb_free(a, big);
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    mb_free(a, keep);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

static void test_double_free_message(void)
{
    test_capture_begin();
    mb_alloc *a = mb_alloc_pool_new();
    void *keep = mb_malloc(a, 24);
    void *p = mb_malloc(a, 24);
    mb_free(a, p);
    mb_free(a, p);
    char want[64];
    snprintf(want, sizeof want, "(24 bytes) allocated by pool#");
    ASSERT(strstr(g_capture.last, want) != NULL);
    ASSERT(strncmp(g_capture.last, "double-free: block 0x", strlen("double-free: block 0x")) == 0);
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    mb_free(a, keep);
    mb_alloc_delete(a);
    test_capture_end();
}

/* After refused frees: still `live` blocks, and no free counted. */
static void assert_nothing_freed(mb_alloc *a, size_t live)
{
    mb_alloc_stats s;
    mb_alloc_get_stats(a, &s);
    ASSERT_UEQ(s.live_blocks, live);
    ASSERT_UEQ(s.frees, 0);
}

static void test_foreign(void)
{
    test_capture_begin();
    mb_alloc *a = mb_alloc_pool_new(), *b = mb_alloc_pool_new(), *sys = mb_alloc_system_new();
    unsigned char *p = mb_malloc(a, 48);
    unsigned char *pb = mb_malloc(b, 48);
    unsigned char *ps = mb_malloc(sys, 48);
    unsigned char *big = mb_malloc(a, 2000);
    long local = 0;
    /* Another instance's block is a mismatched free; the rest belong to no instance. */
    void *mine[] = {pb, ps};
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++) {
        mb_free(a, mine[i]);
        ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
        ASSERT_NULL(mb_realloc(a, mine[i], 8));
        ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    }
    void *bad[] = {&local, p + 16, p + 1, big + 16, (void *)(uintptr_t)0x1000};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mb_free(a, bad[i]);
        ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
        ASSERT_NULL(mb_realloc(a, bad[i], 8));
        ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
    }
    /* A block start (3840 is a multiple of both possible slot sizes, 64 and 80) past the
     * carving mark of a live pool: never handed out. */
    mb_free(a, p + 3840);
    ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
    assert_nothing_freed(a, 2);
    mb_free(a, p);
    mb_free(a, big);
    mb_free(b, pb);
    mb_free(sys, ps);
    mb_alloc_delete(a);
    mb_alloc_delete(b);
    mb_alloc_delete(sys);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

/* Every interior address of a live block, in every class, is refused as foreign and frees
 * nothing: the block-start test is exact for each class size. */
static void test_interior_every_class(void)
{
    test_capture_begin();
    /* 494 (the largest small request with a redzone), 479, ..., 14: steps below 16 reach every
     * class; the unsigned wrap below 0 ends the loop. */
    for (size_t n = 494; n <= 494; n -= 15) {
        mb_alloc *a = mb_alloc_pool_new();
        /* Three blocks carved one after another from a fresh pool of their class. */
        unsigned char *p0 = mb_malloc(a, n), *p1 = mb_malloc(a, n), *p2 = mb_malloc(a, n);
        ASSERT(p0 && p1 && p2);
        size_t slot = (size_t)(p1 - p0);
        ASSERT_UEQ((size_t)(p2 - p1), slot);
        ASSERT(slot >= n && slot % 16 == 0);
        for (size_t k = 1; k < slot; k++) {
            mb_free(a, p1 + k);
            ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
        }
        assert_nothing_freed(a, 3);
        mb_free(a, p0);
        mb_free(a, p1);
        mb_free(a, p2);
        ASSERT_NO_VIOLATION();
        ASSERT_NOTHING_LIVE(a);
        mb_alloc_delete(a);
    }
    test_capture_end();
}

static void test_leak_at_delete(void)
{
    test_capture_begin();
    mb_alloc *a = mb_alloc_pool_new();
    ASSERT_NOT_NULL(mb_malloc(a, 10));
    ASSERT_NOT_NULL(mb_malloc(a, 3000));
    mb_alloc_delete(a); /* releases both: nothing for LeakSanitizer or Valgrind to find */
    ASSERT(strstr(g_capture.last, "2 blocks (3010 bytes) still live in pool#") != NULL);
    ASSERT_ONE_VIOLATION(MB_LEAK);
    test_capture_end();
}

/* Enough blocks for several arenas; freeing them returns arenas (one kept as spare). */
static void test_many_arenas(void)
{
    enum { N = 60000 };
    mb_alloc *a = mb_alloc_pool_new();
    static unsigned char *p[N];
    for (size_t i = 0; i < N; i++) {
        size_t n = (i * 37) % 512;
        p[i] = mb_malloc(a, n);
        ASSERT_NOT_NULL(p[i]);
        if (n > 1)
            p[i][0] = (unsigned char)i, p[i][n - 1] = (unsigned char)(i >> 3);
    }
    for (size_t i = 0; i < N; i++) {
        size_t n = (i * 37) % 512;
        if (n > 1)
            ASSERT(p[i][0] == (unsigned char)i && p[i][n - 1] == (unsigned char)(i >> 3));
    }
    for (size_t i = 0; i < N; i += 3)
        mb_free(a, p[i]);
    for (size_t i = 0; i < N; i++)
        if (i % 3)
            mb_free(a, p[i]);
    ASSERT_NOTHING_LIVE(a);
    /* Everything still works after arenas were released. */
    for (size_t i = 0; i < N / 4; i++)
        ASSERT_NOT_NULL(p[i] = mb_malloc(a, i % 400));
    for (size_t i = 0; i < N / 4; i++)
        mb_free(a, p[i]);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
}

/* With one arena allowed, allocation fails cleanly when it is full and recovers after a free. */
static void test_arena_cap(void)
{
    mb_alloc *a = mb_alloc_pool_new();
    mb__pool_set_max_arenas(a, 1);
    enum { N = 20000 };
    static void *p[N];
    size_t n = 0;
    while (n < N && (p[n] = mb_malloc(a, 256)) != NULL)
        n++;
    ASSERT_LT(n, N);
    ASSERT_GT(n, 100);
    mb_alloc_stats s;
    mb_alloc_get_stats(a, &s);
    ASSERT_UEQ(s.failures, 1);
    ASSERT_UEQ(s.live_blocks, n);
    mb_free(a, p[n / 2]);
    p[n / 2] = mb_malloc(a, 256);
    ASSERT_NOT_NULL(p[n / 2]);
    /* Growing a small block within the full arena fails, leaving it intact and owned. */
    memset(p[0], 0x5a, 256);
    ASSERT_NULL(mb_realloc(a, p[0], 300));
    ASSERT(((unsigned char *)p[0])[255] == 0x5a);
    /* Large blocks do not need the arena. */
    void *big = mb_malloc(a, 10000);
    ASSERT_NOT_NULL(big);
    mb_free(a, big);
    for (size_t i = 0; i < n; i++)
        mb_free(a, p[i]);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
}

/* Every internal allocation (instance, name, arena map, descriptor, arena, large map, large
 * block) fails in turn: each failure is clean and the state stays consistent. */
/* Memory given back to the cache comes back zeroed (the part ever written), aligned, before new
 * memory is mapped; a full cache unmaps; an armed mb_internal_fail_after fails a map even when
 * the cache could serve it; memory tools see cached memory as off limits. */
static void test_arena_cache(void)
{
    enum { N = 12, CACHED = 8, SZ = 1 << 18 };
    unsigned char *m[N];
    /* Empty the cache (earlier tests deleted pools): it holds CACHED at most. */
    for (int i = 0; i < CACHED; i++) {
        m[i] = mb__sys_map_aligned(SZ, SZ);
        ASSERT(m[i] != NULL);
    }
    for (int i = 0; i < CACHED; i++)
        mb__sys_unmap(m[i], SZ);
    for (int i = 0; i < N; i++) {
        m[i] = mb__sys_map_aligned(SZ, SZ);
        ASSERT(m[i] != NULL);
        ASSERT_UEQ((uintptr_t)m[i] % SZ, 0);
        memset(m[i], 0xAB, 2 * 4096);
    }
    for (int i = 0; i < N; i++)
        mb__sys_unmap_cached(m[i], SZ, 2 * 4096); /* the first CACHED kept, the rest unmapped */
#if defined(MB__TRACK_ASAN)
    ASSERT(__asan_region_is_poisoned(m[0], SZ) == m[0]);
#endif
    mb_internal_fail_after(0);
    ASSERT(mb__sys_map_aligned(SZ, SZ) == NULL); /* even with the cache full */
    mb_internal_fail_never();
    unsigned char *again[CACHED];
    for (int i = 0; i < CACHED; i++) {
        again[i] = mb__sys_map_aligned(SZ, SZ);
        int from = -1;
        for (int j = 0; j < CACHED; j++)
            if (again[i] == m[j])
                from = j;
        ASSERT(from >= 0); /* served by the cache */
        m[from] = NULL;    /* and only once */
        for (size_t k = 0; k < 2 * 4096; k++)
            ASSERT_EQ(again[i][k], 0);
        memset(again[i], 1, SZ); /* all of it writable */
    }
    for (int i = 0; i < CACHED; i++)
        mb__sys_unmap(again[i], SZ);
    /* Pool instances made and deleted in turn reuse the same arena, and its blocks are whole. */
    mb_alloc *a = mb_alloc_pool_new();
    unsigned char *p = mb_malloc(a, 40);
    ASSERT(a != NULL && p != NULL);
    uintptr_t arena = (uintptr_t)p & ~(uintptr_t)(SZ - 1);
    memset(p, 0x11, 40);
    mb_free(a, p);
    mb_alloc_delete(a);
    a = mb_alloc_pool_new();
    p = mb_malloc(a, 40);
    ASSERT(a != NULL && p != NULL);
    ASSERT_UEQ((uintptr_t)p & ~(uintptr_t)(SZ - 1), arena);
#if defined(MB__TRACK_ASAN)
    ASSERT(__asan_region_is_poisoned(p, 40) == NULL);
    ASSERT(__asan_region_is_poisoned(p + 40, 1) != NULL);
#endif
    memset(p, 0x22, 40);
    mb_free(a, p);
    ASSERT_NO_VIOLATION();
    mb_alloc_delete(a);
}

static void test_internal_failures(void)
{
    for (uint64_t k = 0; k < 40; k++) {
        mb_internal_fail_after(k);
        mb_alloc *a = mb_alloc_pool_new();
        if (!a) {
            mb_internal_fail_never();
            continue;
        }
        void *live[8] = {0};
        size_t sizes[8] = {8, 600, 100, 5000, 16, 0, 512, 70000};
        size_t ok = 0;
        for (size_t i = 0; i < 8; i++) {
            live[i] = mb_malloc(a, sizes[i]);
            if (live[i]) {
                memset(live[i], (int)i, sizes[i]);
                ok++;
            }
        }
        for (size_t i = 0; i < 8; i++) {
            if (!live[i])
                continue;
            void *r = mb_realloc(a, live[i], sizes[(i + 3) % 8]);
            if (r) {
                live[i] = r;
                sizes[i] = sizes[(i + 3) % 8];
            } else {
                /* the old block is untouched */
                for (size_t j = 0; j < sizes[i]; j++)
                    ASSERT_EQ(((unsigned char *)live[i])[j], (unsigned char)i);
            }
        }
        mb_internal_fail_never();
        mb_alloc_stats s;
        mb_alloc_get_stats(a, &s);
        ASSERT_UEQ(s.live_blocks, ok);
        for (size_t i = 0; i < 8; i++)
            mb_free(a, live[i]);
        ASSERT_NOTHING_LIVE(a);
        mb_alloc_delete(a);
    }
}

static void test_injected_failures(void)
{
    mb_alloc *a = mb_alloc_pool_new();
    void *p = mb_malloc(a, 100);
    memset(p, 1, 100);
    mb_alloc_fail_after(a, 0, MB_FAIL_ONCE);
    ASSERT_NULL(mb_realloc(a, p, 1000));
    void *q = mb_realloc(a, p, 1000);
    ASSERT_NOT_NULL(q);
    ASSERT_EQ(((unsigned char *)q)[99], 1);
    mb_free(a, q);
    mb_alloc_stats s;
    mb_alloc_get_stats(a, &s);
    ASSERT_UEQ(s.failures, 1);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
}

int main(void)
{
    TEST_RUN(test_every_size);
    TEST_RUN(test_zero_size_unique);
    TEST_RUN(test_reuse_lifo);
    TEST_RUN(test_realloc_paths);
    TEST_RUN(test_realloc_every_pair);
    TEST_RUN(test_double_free);
    TEST_RUN(test_double_free_message);
    TEST_RUN(test_foreign);
    TEST_RUN(test_interior_every_class);
    TEST_RUN(test_leak_at_delete);
    TEST_RUN(test_many_arenas);
    TEST_RUN(test_arena_cap);
    TEST_RUN(test_arena_cache);
    TEST_RUN(test_internal_failures);
    TEST_RUN(test_injected_failures);
    puts("test_pool: all passed");
    return 0;
}
