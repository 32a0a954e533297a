/* The guard family: fills, canaries, quarantine, and every violation it promises to report —
 * each exactly once, with the clean variant silent — over both pool and system inners. */
#include "internal.h"
#include "test.h"

static mb_alloc *g_inner_sys, *g_inner_pool;

static void setup(void)
{
    g_inner_sys = mb_alloc_system_new();
    g_inner_pool = mb_alloc_pool_new();
    ASSERT_NOT_NULL(g_inner_sys);
    ASSERT_NOT_NULL(g_inner_pool);
}

static void teardown(void)
{
    ASSERT_NOTHING_LIVE(g_inner_sys);
    ASSERT_NOTHING_LIVE(g_inner_pool);
    mb_alloc_delete(g_inner_sys);
    mb_alloc_delete(g_inner_pool);
}

static void test_names(void)
{
    mb_alloc *g1 = mb_alloc_guard_new(g_inner_pool);
    mb_alloc *g2 = mb_alloc_guard_new(g1);
    ASSERT_STR_EQ(mb_alloc_name(g1), "guard(pool)");
    ASSERT_STR_EQ(mb_alloc_name(g2), "guard(guard(pool))");
    ASSERT_NULL(mb_alloc_guard_new(NULL));
    mb_alloc_delete(g2);
    mb_alloc_delete(g1);
}

static void test_basic(mb_alloc *inner)
{
    test_capture_begin();
    mb_alloc *g = mb_alloc_guard_new(inner);
    ASSERT_NOT_NULL(g);
    for (size_t n = 0; n < 600; n += 7) {
        unsigned char *p = mb_malloc(g, n);
        ASSERT_NOT_NULL(p);
        ASSERT_UEQ((uintptr_t)p % MB__ALIGN, 0);
        for (size_t i = 0; i < n; i++)
            ASSERT_EQ(p[i], 0xCD);
        memset(p, 0x11, n);
        unsigned char *q = mb_realloc(g, p, n + 5);
        ASSERT_NOT_NULL(q);
        ASSERT(q != p); /* always moves */
        for (size_t i = 0; i < n; i++)
            ASSERT_EQ(q[i], 0x11);
        for (size_t i = n; i < n + 5; i++)
            ASSERT_EQ(q[i], 0xCD);
        mb_alloc_check(g);
        mb_free(g, q);
    }
    ASSERT_NULL(mb_malloc(g, SIZE_MAX));
    ASSERT_NULL(mb_malloc(g, SIZE_MAX - 40));
    ASSERT_NOTHING_LIVE(g);
    mb_alloc_check(g);
    mb_alloc_delete(g);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

static void test_double_free(mb_alloc *inner)
{
    test_capture_begin();
    mb_alloc *g = mb_alloc_guard_new(inner);
    void *p = mb_malloc(g, 24);
    mb_free(g, p);
    ASSERT_NO_VIOLATION();
    mb_free(g, p); /* still in quarantine */
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    ASSERT_NULL(mb_realloc(g, p, 8));
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    /* Evict it from the quarantine with 200 later frees (136 evictions after it, within the
     * evicted-address ring of 256); the inner may reuse its memory meanwhile. */
    void *q[200];
    for (int r = 0; r < 1; r++) {
        for (int i = 0; i < 200; i++)
            q[i] = mb_malloc(g, 24);
        for (int i = 0; i < 200; i++)
            mb_free(g, q[i]);
    }
    ASSERT_NO_VIOLATION();
    mb_free(g, p);
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    mb_alloc_stats s;
    mb_alloc_get_stats(g, &s);
    ASSERT_UEQ(s.frees, 201);
    ASSERT_NOTHING_LIVE(g);
    mb_alloc_delete(g);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

static void test_mismatched(void)
{
    test_capture_begin();
    mb_alloc *a = mb_alloc_guard_new(g_inner_pool);
    mb_alloc *b = mb_alloc_guard_new(g_inner_sys);
    void *p = mb_malloc(a, 24);
    mb_free(b, p);
    char want[160];
    snprintf(want, sizeof want, "mismatched-free: block %p (24 bytes) allocated by guard(pool)#%lu, freed by guard(system)#%lu",
             p, a->id, b->id);
    ASSERT(strncmp(g_capture.last, want, strlen(want)) == 0);
    ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    ASSERT_NULL(mb_realloc(b, p, 100));
    ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    /* Not passed on: the block is still A's and intact. */
    mb_alloc_check(a);
    mb_free(a, p);
    mb_free(b, p); /* now in A's quarantine: a double free, reported through B */
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    mb_alloc_delete(a);
    mb_alloc_delete(b);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

static void test_foreign(mb_alloc *inner)
{
    test_capture_begin();
    mb_alloc *g = mb_alloc_guard_new(inner);
    void *own = mb_malloc(g, 32);
    void *raw = mb_malloc(inner, 32);
    long local = 0;
    /* The inner's own block, freed through the guard: the inner's, so a mismatch. */
    mb_free(g, raw);
    ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    void *bad[] = {&local, (unsigned char *)own + 16};
    for (size_t i = 0; i < 2; i++) {
        mb_free(g, bad[i]);
        ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
    }
    mb_free(inner, raw);
    mb_free(g, own);
    mb_alloc_delete(g);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

/* Writes into the canaries or header, found at free, at check, at realloc — once each. */
static void test_overflow_underflow(mb_alloc *inner)
{
    test_capture_begin();
    mb_alloc *g = mb_alloc_guard_new(inner);
    /* The message says where, with the offset from the block's start (none for the header). */
    struct { ptrdiff_t off; mb_violation v; const char *says; } cases[] = {
        {24, MB_OVERFLOW, ": rear canary overwritten at offset 24 (found at "},
        {24 + 15, MB_OVERFLOW, ": rear canary overwritten at offset 39 (found at "},
        {-1, MB_UNDERFLOW, ": front canary overwritten at offset -1 (found at "},
        {-16, MB_UNDERFLOW, ": front canary overwritten at offset -16 (found at "},
        {-17, MB_UNDERFLOW, ": header overwritten (found at "},
        {-40, MB_UNDERFLOW, ": header overwritten (found at "}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int when = 0; when < 3; when++) {
            unsigned char *p = mb_malloc(g, 24);
            p[cases[i].off] ^= 0x5a;
            if (when == 0) {
                mb_free(g, p);
                if (!strstr(g_capture.last, cases[i].says))
                    TEST_FAIL_("report \"%s\" lacks \"%s\"", g_capture.last, cases[i].says);
                ASSERT_ONE_VIOLATION(cases[i].v);
            } else if (when == 1) {
                mb_alloc_check(g);
                ASSERT_ONE_VIOLATION(cases[i].v);
                mb_alloc_check(g);
                mb_free(g, p);
                ASSERT_NO_VIOLATION();
            } else {
                unsigned char *q = mb_realloc(g, p, 48);
                ASSERT_NOT_NULL(q);
                ASSERT_ONE_VIOLATION(cases[i].v);
                mb_free(g, q);
                ASSERT_NO_VIOLATION();
            }
        }
    }
    mb_alloc_delete(g);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

static void test_write_after_free(mb_alloc *inner)
{
    test_capture_begin();
    mb_alloc *g = mb_alloc_guard_new(inner);
    /* Found by mb_alloc_check, then not again at delete. */
    unsigned char *p = mb_malloc(g, 40);
    mb_free(g, p);
    p[7] = 1;
    mb_alloc_check(g);
    ASSERT(strstr(g_capture.last, "written after free at offset 7") != NULL);
    ASSERT_ONE_VIOLATION(MB_USE_AFTER_FREE);
    /* Found at eviction from the quarantine. */
    p = mb_malloc(g, 40);
    mb_free(g, p);
    p[39] = 2;
    for (int i = 0; i < 100; i++)
        mb_free(g, mb_malloc(g, 8));
    ASSERT_ONE_VIOLATION(MB_USE_AFTER_FREE);
    /* Found at delete. */
    p = mb_malloc(g, 40);
    mb_free(g, p);
    p[0] = 3;
    mb_alloc_delete(g);
    ASSERT_ONE_VIOLATION(MB_USE_AFTER_FREE);
    test_capture_end();
}

static void test_leak(mb_alloc *inner)
{
    test_capture_begin();
    mb_alloc *g = mb_alloc_guard_new(inner);
    ASSERT_NOT_NULL(mb_malloc(g, 24));
    mb_free(g, mb_malloc(g, 8));
    mb_alloc_delete(g); /* the live block and the quarantined one go back to inner */
    ASSERT(strstr(g_capture.last, "1 block (24 bytes) still live in guard(") != NULL);
    ASSERT_ONE_VIOLATION(MB_LEAK);
    ASSERT_NOTHING_LIVE(inner);
    test_capture_end();
}

static void test_failures(mb_alloc *inner)
{
    mb_alloc *g = mb_alloc_guard_new(inner);
    unsigned char *p = mb_malloc(g, 30);
    memset(p, 7, 30);
    mb_alloc_fail_after(inner, 0, MB_FAIL_ONCE);
    ASSERT_NULL(mb_realloc(g, p, 60));
    mb_alloc_check(g);
    for (int i = 0; i < 30; i++)
        ASSERT_EQ(p[i], 7);
    mb_alloc_fail_after(inner, 0, MB_FAIL_ONCE);
    ASSERT_NULL(mb_malloc(g, 1));
    mb_alloc_stats s;
    mb_alloc_get_stats(g, &s);
    ASSERT_UEQ(s.failures, 2);
    ASSERT_UEQ(s.live_blocks, 1);
    mb_free(g, p);
    mb_alloc_delete(g);
    /* Every internal allocation failing in turn: creation, map growth. */
    for (uint64_t k = 0; k < 20; k++) {
        mb_internal_fail_after(k);
        mb_alloc *h = mb_alloc_guard_new(inner);
        void *q[40] = {0};
        size_t ok = 0;
        for (int i = 0; h && i < 40; i++)
            ok += (q[i] = mb_malloc(h, (size_t)i * 3)) != NULL;
        mb_internal_fail_never();
        if (!h)
            continue;
        mb_alloc_get_stats(h, &s);
        ASSERT_UEQ(s.live_blocks, ok);
        for (int i = 0; i < 40; i++)
            mb_free(h, q[i]);
        ASSERT_NOTHING_LIVE(h);
        mb_alloc_delete(h);
    }
}

int main(void)
{
    setup();
    mb_alloc *inners[] = {g_inner_sys, g_inner_pool};
    TEST_RUN(test_names);
    TEST_RUN(test_mismatched);
    for (size_t i = 0; i < 2; i++) {
        fprintf(stderr, " inner %s\n", mb_alloc_name(inners[i]));
        test_basic(inners[i]);
        test_double_free(inners[i]);
        test_foreign(inners[i]);
        test_overflow_underflow(inners[i]);
        test_write_after_free(inners[i]);
        test_leak(inners[i]);
        test_failures(inners[i]);
    }
    teardown();
    puts("test_guard: all passed");
    return 0;
}
