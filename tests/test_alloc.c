/* The generic allocator layer (statistics, fault injection, reports), the system and custom
 * families, and the internal pointer map. */
#include "internal.h"
#include "test.h"

#include <stdint.h>

/* A custom allocator over libc that counts what passes through it, so a leak left in it at
 * delete can still be released by the test. */
typedef struct counting {
    int live;
    int calls;
    bool refuse; /* every request returns NULL, like an exhausted allocator */
    void *blocks[64];
} counting;

static int slot_of(counting *c, const void *p)
{
    for (int i = 0; i < 64; i++)
        if (c->blocks[i] == p)
            return i;
    TEST_FAIL_("counting allocator: block table full or unknown block");
}

static void remember(counting *c, void *old, void *now) { c->blocks[slot_of(c, old)] = now; }

static void *cnt_malloc(void *ctx, size_t n)
{
    counting *c = ctx;
    c->calls++;
    if (c->refuse)
        return NULL;
    void *p = malloc(n);
    if (p) {
        remember(c, NULL, p);
        c->live++;
    }
    return p;
}

static void *cnt_realloc(void *ctx, void *p, size_t n)
{
    counting *c = ctx;
    c->calls++;
    if (c->refuse)
        return NULL;
    int slot = slot_of(c, p);
    void *q = realloc(p, n);
    if (q)
        c->blocks[slot] = q;
    return q;
}

static void cnt_free(void *ctx, void *p)
{
    counting *c = ctx;
    c->calls++;
    remember(c, p, NULL);
    c->live--;
    free(p);
}

static const mb_alloc_vtable cnt_vt = {cnt_malloc, cnt_realloc, cnt_free};

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

static void check_pattern(const uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(p[i], (uint8_t)(seed + i * 7));
}

static void test_names_and_strings(void)
{
    ASSERT_STR_EQ(mb_strerror(MB_OK), "success");
    ASSERT_STR_EQ(mb_strerror(MB_ENOMEM), "out of memory");
    ASSERT_STR_EQ(mb_strerror(MB_EINVAL), "invalid argument");
    ASSERT_STR_EQ(mb_strerror(MB_EOVERFLOW), "size overflow");
    ASSERT_STR_EQ(mb_strerror((mb_status)99), "unknown status");
    const char *want[] = {"double-free", "mismatched-free", "foreign-free", "overflow",
                          "underflow", "use-after-free", "leak"};
    for (int v = MB_DOUBLE_FREE; v <= MB_LEAK; v++)
        ASSERT_STR_EQ(mb_violation_name((mb_violation)v), want[v]);
    ASSERT_STR_EQ(mb_violation_name((mb_violation)99), "unknown-violation");

    mb_alloc *s = mb_alloc_system_new();
    counting c = {0};
    mb_alloc *named = mb_alloc_custom_new(&cnt_vt, &c, "mimalloc");
    mb_alloc *anon = mb_alloc_custom_new(&cnt_vt, &c, NULL);
    ASSERT_STR_EQ(mb_alloc_name(s), "system");
    ASSERT_STR_EQ(mb_alloc_name(named), "mimalloc");
    ASSERT_STR_EQ(mb_alloc_name(anon), "custom");
    ASSERT_STR_EQ(mb_alloc_name(NULL), "(null)");
    mb_alloc_delete(anon);
    mb_alloc_delete(named);
    mb_alloc_delete(s);
    ASSERT_EQ(c.calls, 0);
}

static void test_handler_swap(void)
{
    void *user = &user;
    ASSERT(mb_get_violation_handler(&user) == NULL); /* the default */
    ASSERT_NULL(user);
    ASSERT(mb_set_violation_handler(test_capture_fn_, &g_capture) == NULL);
    ASSERT(mb_get_violation_handler(&user) == test_capture_fn_);
    ASSERT_PTR_EQ(user, &g_capture);
    ASSERT(mb_get_violation_handler(NULL) == test_capture_fn_);
    mb_violation_fn old = mb_set_violation_handler(NULL, NULL);
    ASSERT(old == test_capture_fn_);
    ASSERT(mb_set_violation_handler(NULL, NULL) == NULL);
    ASSERT(mb_get_violation_handler(&user) == NULL);
    ASSERT_NULL(user);
}

static void test_null_arguments(void)
{
    ASSERT_NULL(mb_malloc(NULL, 8));
    ASSERT_NULL(mb_realloc(NULL, NULL, 8));
    int dummy = 0;
    mb_free(NULL, &dummy);
    mb_alloc_check(NULL);
    mb_alloc_fail_after(NULL, 1, MB_FAIL_ONCE);
    mb_alloc_fail_never(NULL);
    mb_alloc_delete(NULL);
    mb_alloc_stats st;
    memset(&st, 0xAB, sizeof st);
    mb_alloc_get_stats(NULL, &st);
    ASSERT_UEQ(st.live_blocks + st.mallocs + st.peak_bytes, 0);
    mb_alloc_get_stats(NULL, NULL);
    ASSERT_NULL(mb_alloc_custom_new(NULL, NULL, "x"));
    mb_alloc_vtable partial = {cnt_malloc, NULL, cnt_free};
    ASSERT_NULL(mb_alloc_custom_new(&partial, NULL, "x"));
    mb_alloc *s = mb_alloc_system_new();
    mb_free(s, NULL);
    mb_alloc_stats after;
    mb_alloc_get_stats(s, &after);
    ASSERT_UEQ(after.frees, 0);
    mb_alloc_delete(s);
}

/* Content, size 0 and statistics through one instance of a sized family. */
static void exercise_sized(mb_alloc *a)
{
    const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 100, 511, 512, 513, 4096, 100000};
    const size_t n = sizeof sizes / sizeof sizes[0];
    void *ptrs[sizeof sizes / sizeof sizes[0]];
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = mb_malloc(a, sizes[i]);
        ASSERT_NOT_NULL(ptrs[i]);
        ASSERT_EQ((uintptr_t)ptrs[i] % MB__ALIGN, 0);
        fill_pattern(ptrs[i], sizes[i], (uint8_t)i);
        bytes += sizes[i];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            ASSERT(ptrs[i] != ptrs[j]);
    mb_alloc_stats st;
    mb_alloc_get_stats(a, &st);
    ASSERT_UEQ(st.live_blocks, n);
    ASSERT_UEQ(st.live_bytes, bytes);
    ASSERT_UEQ(st.peak_bytes, bytes);
    ASSERT_UEQ(st.mallocs, n);
    for (size_t i = 0; i < n; i++) {
        check_pattern(ptrs[i], sizes[i], (uint8_t)i);
        size_t grown = sizes[i] * 2 + 3;
        ptrs[i] = mb_realloc(a, ptrs[i], grown);
        ASSERT_NOT_NULL(ptrs[i]);
        check_pattern(ptrs[i], sizes[i], (uint8_t)i);
        ptrs[i] = mb_realloc(a, ptrs[i], sizes[i] / 2);
        ASSERT_NOT_NULL(ptrs[i]);
        check_pattern(ptrs[i], sizes[i] / 2, (uint8_t)i);
    }
    /* size 0 shrinks but never frees */
    void *z = mb_realloc(a, ptrs[0], 0);
    ASSERT_NOT_NULL(z);
    ptrs[0] = z;
    mb_alloc_get_stats(a, &st);
    ASSERT_UEQ(st.live_blocks, n);
    ASSERT_UEQ(st.reallocs, 2 * n + 1);
    for (size_t i = 0; i < n; i++)
        mb_free(a, ptrs[i]);
    mb_alloc_get_stats(a, &st);
    ASSERT_UEQ(st.frees, n);
    ASSERT_UEQ(st.failures, 0);
    ASSERT_NOTHING_LIVE(a);
    /* realloc(NULL) is a malloc counted as a realloc */
    void *r = mb_realloc(a, NULL, 40);
    ASSERT_NOT_NULL(r);
    mb_alloc_get_stats(a, &st);
    ASSERT_UEQ(st.live_blocks, 1);
    ASSERT_UEQ(st.live_bytes, 40);
    mb_free(a, r);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_check(a); /* nothing to check: must be a silent no-op */
}

static void test_system_and_custom(void)
{
    test_capture_begin();
    mb_alloc *s = mb_alloc_system_new();
    ASSERT_NOT_NULL(s);
    exercise_sized(s);
    mb_alloc_delete(s);
    counting c = {0};
    mb_alloc *cu = mb_alloc_custom_new(&cnt_vt, &c, "counting");
    ASSERT_NOT_NULL(cu);
    exercise_sized(cu);
    ASSERT_EQ(c.live, 0);
    ASSERT_GT(c.calls, 0);
    mb_alloc_delete(cu);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

static void test_huge_sizes_fail_cleanly(void)
{
    counting c = {0};
    mb_alloc *a = mb_alloc_custom_new(&cnt_vt, &c, "counting");
    /* sizes above PTRDIFF_MAX: refused before the vtable is called */
    ASSERT_NULL(mb_malloc(a, SIZE_MAX));
    ASSERT_NULL(mb_malloc(a, SIZE_MAX - 8));
    ASSERT_NULL(mb_realloc(a, NULL, SIZE_MAX)); /* a malloc, counted as a realloc */
    ASSERT_EQ(c.calls, 0);
    void *p = mb_malloc(a, 32);
    fill_pattern(p, 32, 3);
    ASSERT_NULL(mb_realloc(a, p, SIZE_MAX));
    check_pattern(p, 32, 3);
    /* an allocator that refuses: NULL, the block intact */
    c.refuse = true;
    ASSERT_NULL(mb_malloc(a, 8));
    ASSERT_NULL(mb_realloc(a, NULL, 8));
    ASSERT_NULL(mb_realloc(a, p, 64));
    check_pattern(p, 32, 3);
    c.refuse = false;
    mb_alloc_stats st;
    mb_alloc_get_stats(a, &st);
    ASSERT_UEQ(st.failures, 7); /* every call that returned NULL */
    ASSERT_UEQ(st.reallocs, 4);
    ASSERT_UEQ(st.live_blocks, 1);
    ASSERT_UEQ(st.live_bytes, 32);
    mb_free(a, p);
    ASSERT_NOTHING_LIVE(a);
    ASSERT_EQ(c.live, 0);
    mb_alloc_delete(a);
}

static void test_fault_injection_semantics(void)
{
    mb_alloc *a = mb_alloc_system_new();
    /* ONCE: n requests succeed, the next fails, then all succeed again */
    for (uint64_t n = 0; n < 5; n++) {
        mb_alloc_fail_after(a, n, MB_FAIL_ONCE);
        void *ps[8];
        for (uint64_t i = 0; i < 8; i++) {
            ps[i] = (i % 2) ? mb_malloc(a, 16) : mb_realloc(a, NULL, 16);
            if (i == n)
                ASSERT_NULL(ps[i]);
            else
                ASSERT_NOT_NULL(ps[i]);
        }
        for (int i = 0; i < 8; i++)
            mb_free(a, ps[i]);
        ASSERT_NOTHING_LIVE(a);
    }
    /* ALWAYS: n succeed, then every request fails until fail_never */
    for (uint64_t n = 0; n < 5; n++) {
        mb_alloc_fail_after(a, n, MB_FAIL_ALWAYS);
        void *ps[8];
        for (uint64_t i = 0; i < 8; i++) {
            ps[i] = mb_malloc(a, 24);
            if (i >= n)
                ASSERT_NULL(ps[i]);
            else
                ASSERT_NOT_NULL(ps[i]);
        }
        mb_alloc_fail_never(a);
        void *ok = mb_malloc(a, 24);
        ASSERT_NOT_NULL(ok);
        mb_free(a, ok);
        for (int i = 0; i < 8; i++)
            mb_free(a, ps[i]);
        ASSERT_NOTHING_LIVE(a);
    }
    /* frees are not requests: they never fail and do not count down */
    void *p = mb_malloc(a, 8), *q = mb_malloc(a, 8);
    mb_alloc_fail_after(a, 1, MB_FAIL_ONCE);
    mb_free(a, p);
    ASSERT_NOT_NULL(p = mb_malloc(a, 8));
    ASSERT_NULL(mb_malloc(a, 8));
    /* an injected realloc failure leaves the block as it was */
    fill_pattern(q, 8, 9);
    mb_alloc_fail_after(a, 0, MB_FAIL_ONCE);
    ASSERT_NULL(mb_realloc(a, q, 4000));
    check_pattern(q, 8, 9);
    mb_free(a, p);
    mb_free(a, q);
    mb_alloc_stats st;
    mb_alloc_get_stats(a, &st);
    ASSERT_UEQ(st.failures, 5 /* once */ + (8 + 7 + 6 + 5 + 4) /* always */ + 2);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
}

static void test_peak_tracks_maximum(void)
{
    mb_alloc *a = mb_alloc_system_new();
    void *p = mb_malloc(a, 100);
    void *q = mb_malloc(a, 50);
    mb_free(a, p);
    void *r = mb_malloc(a, 10);
    mb_alloc_stats st;
    mb_alloc_get_stats(a, &st);
    ASSERT_UEQ(st.peak_bytes, 150);
    ASSERT_UEQ(st.live_bytes, 60);
    q = mb_realloc(a, q, 500);
    mb_alloc_get_stats(a, &st);
    ASSERT_UEQ(st.peak_bytes, 510);
    mb_free(a, q);
    mb_free(a, r);
    mb_alloc_delete(a);
}

static void test_leak_report_at_delete(void)
{
    test_capture_begin();
    counting c = {0};
    mb_alloc *a = mb_alloc_custom_new(&cnt_vt, &c, "counting");
    void *p = mb_malloc(a, 24);
    void *q = mb_malloc(a, 8);
    ASSERT_NOT_NULL(p);
    ASSERT_NOT_NULL(q);
    mb_alloc_delete(a);
    ASSERT(strstr(g_capture.last, "2 blocks (32 bytes)") != NULL);
    ASSERT(strstr(g_capture.last, "counting#") != NULL);
    ASSERT_ONE_VIOLATION(MB_LEAK);
    /* the sized family keeps no registry: the blocks stay with the underlying allocator */
    ASSERT_EQ(c.live, 2);
    for (int i = 0; i < 64; i++)
        if (c.blocks[i])
            cnt_free(&c, c.blocks[i]);
    ASSERT_EQ(c.live, 0);
    test_capture_end();
}

/* The sized family (system, custom) keeps a map of its live blocks: a second free and a foreign
 * pointer are reported and never reach the vtable, whether or not other blocks are live, and
 * the counters stay exact. */
static void test_sized_bad_frees(void)
{
    test_capture_begin();
    counting c = {0};
    mb_alloc *a = mb_alloc_custom_new(&cnt_vt, &c, "counting");
    void *keep = mb_malloc(a, 8); /* another live block: the map decides, not the counters */
    void *p = mb_malloc(a, 24);
    ASSERT_NOT_NULL(keep);
    ASSERT_NOT_NULL(p);
    mb_free(a, p);
    ASSERT_EQ(c.live, 1);
    mb_free(a, p); /* the double free: refused, never reaches cnt_free */
    ASSERT(strstr(g_capture.last, "counting#") && strstr(g_capture.last, "already freed") &&
           strstr(g_capture.last, "(24 bytes)"));
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    ASSERT_EQ(c.live, 1);
    ASSERT_NULL(mb_realloc(a, p, 48));
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    mb_alloc_stats st;
    mb_alloc_get_stats(a, &st);
    ASSERT_EQ(st.live_blocks, 1);
    ASSERT_EQ(st.live_bytes, 8);
    ASSERT_UEQ(st.frees, 1);
    ASSERT_UEQ(st.failures, 1); /* the refused realloc returned NULL */
    char local[16];
    mb_free(a, local);
    ASSERT(strstr(g_capture.last, "nor of any other membuf instance"));
    ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
    mb_free(a, (char *)keep + 1); /* interior pointer: not a block */
    ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
    ASSERT_EQ(c.live, 1);
    mb_free(a, keep);
    ASSERT_NO_VIOLATION();
    ASSERT_EQ(c.live, 0);
    mb_alloc_delete(a);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

/* An allocator that hands out blocks 8 bytes off 16-byte alignment while `skew` is set (the
 * block table maps each pointer it returned to the libc block under it). */
typedef struct skewing {
    bool skew_malloc, skew_realloc;
    int live;
    void *ret[16], *raw[16];
    size_t size[16];
} skewing;

static int skew_slot(skewing *k, const void *p)
{
    for (int i = 0; i < 16; i++)
        if (k->ret[i] == p)
            return i;
    TEST_FAIL_("skewing allocator: unknown block %p", p);
}

/* n bytes in a new libc block, at an offset of 24 (skew) or 16 from its 16-aligned start. */
static void *skew_place(skewing *k, size_t n, bool skew)
{
    unsigned char *raw = malloc(n + 32);
    if (!raw)
        return NULL;
    int i = skew_slot(k, NULL);
    k->raw[i] = raw;
    k->ret[i] = raw + (skew ? 24 : 16);
    k->size[i] = n;
    return k->ret[i];
}

static void *skew_malloc(void *ctx, size_t n)
{
    skewing *k = ctx;
    void *p = skew_place(k, n, k->skew_malloc);
    k->live += p != NULL;
    return p;
}

static void *skew_realloc(void *ctx, void *p, size_t n)
{
    skewing *k = ctx;
    int i = skew_slot(k, p);
    size_t old = k->size[i];
    void *q = skew_place(k, n, k->skew_realloc); /* always moves, as realloc may */
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    free(k->raw[i]);
    k->ret[i] = k->raw[i] = NULL;
    return q;
}

static void skew_free(void *ctx, void *p)
{
    skewing *k = ctx;
    int i = skew_slot(k, p);
    free(k->raw[i]);
    k->ret[i] = k->raw[i] = NULL;
    k->live--;
}

/* A custom allocator's misaligned block is reported: refused from malloc (given back, the
 * request fails); from realloc moved to an aligned block when one can be had, else handed out
 * with its contents. Requests below 16 bytes reach the vtable as 16. */
static void test_custom_misaligned(void)
{
    static const mb_alloc_vtable vt = {skew_malloc, skew_realloc, skew_free};
    skewing k = {0};
    mb_alloc *a = mb_alloc_custom_new(&vt, &k, "skewing");
    ASSERT_NOT_NULL(a);
    test_capture_begin();
    k.skew_malloc = true;
    ASSERT_NULL(mb_malloc(a, 40));
    ASSERT(strstr(g_capture.last, "skewing#") && strstr(g_capture.last, "not 16-byte aligned"));
    ASSERT_ONE_VIOLATION(MB_MISALIGNED);
    ASSERT_EQ(k.live, 0); /* given back */
    mb_alloc_stats st;
    mb_alloc_get_stats(a, &st);
    ASSERT_UEQ(st.failures, 1);
    ASSERT_UEQ(st.live_blocks, 0);

    k.skew_malloc = false;
    unsigned char *p = mb_malloc(a, 40);
    ASSERT_NOT_NULL(p);
    ASSERT_UEQ((uintptr_t)p % 16, 0);
    for (int i = 0; i < 40; i++)
        p[i] = (unsigned char)i;
    /* realloc misaligns; first malloc does not (moved to an aligned block), then both do (the
     * contents stay in the misaligned block). */
    static const struct { size_t size; bool skew_malloc; uintptr_t rem; const char *says; } steps[] = {
        {80, false, 0, "moved to an aligned block"}, {120, true, 8, "handed out misaligned"}};
    k.skew_realloc = true;
    for (size_t s = 0; s < 2; s++) {
        k.skew_malloc = steps[s].skew_malloc;
        p = mb_realloc(a, p, steps[s].size);
        ASSERT_NOT_NULL(p);
        ASSERT_UEQ((uintptr_t)p % 16, steps[s].rem);
        ASSERT(strstr(g_capture.last, steps[s].says));
        ASSERT_ONE_VIOLATION(MB_MISALIGNED);
        for (int i = 0; i < 40; i++)
            ASSERT_EQ(p[i], i);
    }
    mb_free(a, p);
    ASSERT_NO_VIOLATION();
    ASSERT_EQ(k.live, 0);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

/* The generator's functions with NULL: nothing read or written, a value that shows it. */
static void test_rng_null(void)
{
    mb_rng_seed(NULL, 42);
    ASSERT_UEQ(mb_rng_u64(NULL), 0);
    double d = mb_rng_double(NULL), n = mb_rng_normal(NULL);
    ASSERT(d != d); /* NaN */
    ASSERT(n != n);
}

static void test_constructors_under_internal_failure(void)
{
    counting c = {0};
    for (uint64_t n = 0;; n++) {
        mb_internal_fail_after(n);
        mb_alloc *s = mb_alloc_system_new();
        mb_alloc *cu = mb_alloc_custom_new(&cnt_vt, &c, "c");
        mb_internal_fail_never();
        if (s && cu) {
            ASSERT_GE(n, 4); /* instance + name, twice */
            mb_alloc_delete(s);
            mb_alloc_delete(cu);
            break;
        }
        mb_alloc_delete(s);
        mb_alloc_delete(cu);
        ASSERT_LT(n, 10);
    }
}

static void test_ptrmap_against_model(void)
{
    enum { N = 3000 };
    static uintptr_t keys[N];
    static bool present[N];
    mb__ptrmap m = {0};
    uint64_t x = 12345;
    for (int i = 0; i < N; i++) {
        /* block-like addresses that collide in the low bits */
        keys[i] = (uintptr_t)0x7f0000000000ull + (uintptr_t)i * 4096 + (uintptr_t)(i % 3) * 16;
    }
    for (int step = 0; step < 200000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % N);
        uintptr_t v;
        if (present[i]) {
            ASSERT(mb__ptrmap_get(&m, (void *)keys[i], &v));
            ASSERT_UEQ(v, keys[i] ^ 0x55);
            if (x & 0x100) {
                ASSERT(mb__ptrmap_del(&m, (void *)keys[i], &v));
                present[i] = false;
            }
        } else {
            ASSERT(!mb__ptrmap_get(&m, (void *)keys[i], NULL));
            ASSERT(!mb__ptrmap_del(&m, (void *)keys[i], NULL));
            ASSERT(mb__ptrmap_reserve(&m, 1));
            mb__ptrmap_put(&m, (void *)keys[i], keys[i] ^ 0x55);
            present[i] = true;
        }
    }
    size_t count = 0;
    for (int i = 0; i < N; i++)
        count += present[i];
    ASSERT_UEQ(m.count, count);
    size_t seen = 0;
    void *k;
    uintptr_t v;
    for (size_t it = mb__ptrmap_next(&m, 0, &k, &v); it; it = mb__ptrmap_next(&m, it, &k, &v)) {
        ASSERT_UEQ(v, (uintptr_t)k ^ 0x55);
        seen++;
    }
    ASSERT_UEQ(seen, count);
    /* growth failure leaves the map usable and unchanged */
    size_t cap = m.cap;
    mb_internal_fail_after(0);
    ASSERT(!mb__ptrmap_reserve(&m, m.cap));
    mb_internal_fail_never();
    ASSERT_UEQ(m.cap, cap);
    ASSERT_UEQ(m.count, count);
    ASSERT(!mb__ptrmap_reserve(&m, SIZE_MAX));
    mb__ptrmap_free(&m);
    ASSERT_UEQ(m.cap, 0);
}

static void test_map_aligned(void)
{
    for (size_t align = 4096; align <= ((size_t)1 << 21); align <<= 3) {
        uint8_t *p = mb__sys_map_aligned(align * 2, align);
        ASSERT_NOT_NULL(p);
        ASSERT_UEQ((uintptr_t)p % align, 0);
        ASSERT_EQ(p[0] + p[align * 2 - 1], 0);
        p[align * 2 - 1] = 1;
        mb__sys_unmap(p, align * 2);
    }
    mb_internal_fail_after(0);
    ASSERT_NULL(mb__sys_map_aligned(4096, 4096));
    mb_internal_fail_never();
    ASSERT_NULL(mb__sys_map_aligned(SIZE_MAX - 100, 4096));
    mb__sys_unmap(NULL, 0);
}

/* realloc frees the old block when it moves it: a free or realloc of the old pointer afterwards
 * is a double free, as in every other family (found by the fuzz harness's bad-free search; the
 * sized and pool families used to forget the old address and call it foreign). */
static void *move_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    void *q = malloc(n);
    if (q) {
        memcpy(q, p, 16);
        free(p);
    }
    return q;
}
static void *plain_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void plain_free(void *ctx, void *p) { (void)ctx; free(p); }

static void test_stale_pointer_after_moving_realloc(void)
{
    static const mb_alloc_vtable moving = {plain_malloc, move_realloc, plain_free};
    test_capture_begin();
    mb_alloc *c = mb_alloc_custom_new(&moving, NULL, "moving");
    unsigned char *p = mb_malloc(c, 24);
    unsigned char *q = mb_realloc(c, p, 4000);
    ASSERT(p != q);
    mb_free(c, p);
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    ASSERT_NULL(mb_realloc(c, p, 8));
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    mb_free(c, q);
    ASSERT_NOTHING_LIVE(c);
    mb_alloc_delete(c);
    /* The pool's large blocks: a neighbour in use keeps libc from growing the block in place. */
    mb_alloc *pool = mb_alloc_pool_new();
    unsigned char *big = mb_malloc(pool, 600), *next = mb_malloc(pool, 600);
    unsigned char *moved = mb_realloc(pool, big, 100000);
    ASSERT_NOT_NULL(moved);
    if (moved != big) {
        mb_free(pool, big);
        ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    }
    mb_free(pool, moved);
    mb_free(pool, next);
    ASSERT_NO_VIOLATION();
    mb_alloc_delete(pool);
    test_capture_end();
}

int main(void)
{
    TEST_RUN(test_names_and_strings);
    TEST_RUN(test_handler_swap);
    TEST_RUN(test_null_arguments);
    TEST_RUN(test_system_and_custom);
    TEST_RUN(test_huge_sizes_fail_cleanly);
    TEST_RUN(test_fault_injection_semantics);
    TEST_RUN(test_peak_tracks_maximum);
    TEST_RUN(test_leak_report_at_delete);
    TEST_RUN(test_sized_bad_frees);
    TEST_RUN(test_custom_misaligned);
    TEST_RUN(test_stale_pointer_after_moving_realloc);
    TEST_RUN(test_rng_null);
    TEST_RUN(test_constructors_under_internal_failure);
    TEST_RUN(test_ptrmap_against_model);
    TEST_RUN(test_map_aligned);
    puts("test_alloc: ok");
    return 0;
}
