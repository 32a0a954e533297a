/* Mismatched frees between every ordered pair of families: system, pool, guard(system),
 * guard(pool) and custom (a custom family over the same libc as system: the PYTHONMALLOC=malloc
 * case, where ASan and Valgrind see one allocator). A block freed or resized through the wrong
 * instance is reported once as a mismatched free naming both instances, stays live and intact
 * in its owner, and is then freed cleanly by it. */
#include "internal.h"
#include "test.h"

enum { NFAM = 5 };
static const char *const fam_names[NFAM] = {"system", "pool", "guard(system)", "guard(pool)", "custom"};

static void *libc_malloc(void *c, size_t n) { (void)c; return malloc(n); }
static void *libc_realloc(void *c, void *p, size_t n) { (void)c; return realloc(p, n); }
static void libc_free(void *c, void *p) { (void)c; free(p); }
static const mb_alloc_vtable libc_vt = {libc_malloc, libc_realloc, libc_free};

typedef struct world {
    mb_alloc *sys, *pool, *inst[NFAM];
} world;

/* guard(system) and guard(pool) wrap the system and pool instances of the same world, so "a
 * guard's block through its own inner" and the reverse are among the pairs. */
static void world_new(world *w)
{
    w->sys = mb_alloc_system_new();
    w->pool = mb_alloc_pool_new();
    ASSERT(w->sys && w->pool);
    w->inst[0] = w->sys;
    w->inst[1] = w->pool;
    w->inst[2] = mb_alloc_guard_new(w->sys);
    w->inst[3] = mb_alloc_guard_new(w->pool);
    w->inst[4] = mb_alloc_custom_new(&libc_vt, NULL, "custom");
    for (int i = 0; i < NFAM; i++) {
        ASSERT_NOT_NULL(w->inst[i]);
        ASSERT_STR_EQ(mb_alloc_name(w->inst[i]), fam_names[i]);
    }
}

static void world_delete(world *w)
{
    mb_alloc_delete(w->inst[2]);
    mb_alloc_delete(w->inst[3]);
    mb_alloc_delete(w->inst[4]);
    mb_alloc_delete(w->pool);
    mb_alloc_delete(w->sys);
}

static void stats_of(mb_alloc *a, mb_alloc_stats *s) { mb_alloc_get_stats(a, s); }

static void assert_same_stats(const mb_alloc_stats *x, const mb_alloc_stats *y)
{
    ASSERT_UEQ(x->live_blocks, y->live_blocks);
    ASSERT_UEQ(x->live_bytes, y->live_bytes);
    ASSERT_UEQ(x->mallocs, y->mallocs);
    ASSERT_UEQ(x->frees, y->frees);
}

/* The report names the block, both instances and the call. */
static void assert_names_both(const void *p, size_t size, const mb_alloc *owner, const mb_alloc *via,
                              const char *what)
{
    char want[256];
    snprintf(want, sizeof want, "mismatched-free: block %p (%zu bytes) allocated by %s#%lu, freed by %s#%lu (%s)",
             p, size, mb_alloc_name(owner), owner->id, mb_alloc_name(via),
             via->id, what);
    if (strcmp(g_capture.last, want) != 0)
        TEST_FAIL_("report \"%s\", want \"%s\"", g_capture.last, want);
}

static void one_pair(int owner, int via, size_t size)
{
    world w;
    world_new(&w);
    mb_alloc *o = w.inst[owner], *v = w.inst[via];
    unsigned char *p = mb_malloc(o, size);
    ASSERT_NOT_NULL(p);
    for (size_t i = 0; i < size; i++)
        p[i] = (unsigned char)(i * 7 + 1);
    mb_alloc_stats so, sv, after;
    stats_of(o, &so);
    stats_of(v, &sv);

    test_capture_begin();
    mb_free(v, p);
    assert_names_both(p, size, o, v, "mb_free");
    ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    ASSERT_NULL(mb_realloc(v, p, size + 100));
    assert_names_both(p, size, o, v, "mb_realloc");
    ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    test_capture_end();

    /* Left alone: the owner still holds it, intact; the receiver counted nothing but the
     * refused realloc. */
    stats_of(o, &after);
    assert_same_stats(&so, &after);
    stats_of(v, &after);
    ASSERT_UEQ(after.frees, sv.frees);
    ASSERT_UEQ(after.live_blocks, sv.live_blocks);
    ASSERT_UEQ(after.failures, sv.failures + 1);
    for (size_t i = 0; i < size; i++)
        ASSERT_EQ(p[i], (unsigned char)(i * 7 + 1));

    test_capture_begin();
    mb_alloc_check(o);
    mb_free(o, p);
    for (int i = 0; i < NFAM; i++)
        mb_alloc_check(w.inst[i]);
    /* The guards' quarantined blocks are live in their inners until the guards go. */
    for (int i = 2; i < NFAM; i++)
        ASSERT_NOTHING_LIVE(w.inst[i]);
    mb_alloc_delete(w.inst[2]);
    mb_alloc_delete(w.inst[3]);
    w.inst[2] = w.inst[3] = NULL;
    ASSERT_NOTHING_LIVE(w.sys);
    ASSERT_NOTHING_LIVE(w.pool);
    world_delete(&w);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

/* Every ordered pair, with a small block and one the pool keeps outside its arenas. */
static void test_every_pair(void)
{
    const size_t sizes[] = {24, 2000};
    for (size_t k = 0; k < 2; k++)
        for (int owner = 0; owner < NFAM; owner++)
            for (int via = 0; via < NFAM; via++)
                if (owner != via)
                    one_pair(owner, via, sizes[k]);
}

/* A freed block handed to another instance: a double free (told through whom), not a mismatch;
 * a pointer that is nobody's: foreign, with where it lies when it lies in a pool. */
static void test_freed_and_foreign_across_families(void)
{
    world w;
    world_new(&w);
    test_capture_begin();
    for (int owner = 0; owner < NFAM; owner++) {
        unsigned char *p = mb_malloc(w.inst[owner], 40);
        ASSERT_NOT_NULL(p);
        unsigned char *keep = mb_malloc(w.inst[owner], 40);
        mb_free(w.inst[owner], p);
        ASSERT_NO_VIOLATION();
        int via = (owner + 1) % NFAM;
        mb_free(w.inst[via], p);
        ASSERT(strstr(g_capture.last, "was already freed") != NULL);
        ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
        mb_free(w.inst[via], keep + 8); /* inside a live block: no instance's block */
        ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
        mb_free(w.inst[owner], keep);
        ASSERT_NO_VIOLATION();
    }
    long local;
    for (int via = 0; via < NFAM; via++) {
        mb_free(w.inst[via], &local);
        ASSERT(strstr(g_capture.last, "nor of any other membuf instance") != NULL);
        ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
    }
    world_delete(&w);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

/* An allocator that keeps the last block freed and hands it to the next request, whichever
 * instance makes it (two families over one allocator, as under PYTHONMALLOC=malloc): an address
 * freed through one instance is then, deterministically, another's live block. */
typedef struct recycler {
    void *cached;
} recycler;
enum { RECYCLED = 256 };

static void *rec_malloc(void *c, size_t n)
{
    recycler *r = c;
    if (n > RECYCLED)
        return NULL;
    void *p = r->cached ? r->cached : malloc(RECYCLED);
    r->cached = NULL;
    return p;
}
static void *rec_realloc(void *c, void *p, size_t n) { (void)c; return n <= RECYCLED ? p : NULL; }
static void rec_free(void *c, void *p)
{
    recycler *r = c;
    free(r->cached);
    r->cached = p;
}
static const mb_alloc_vtable rec_vt = {rec_malloc, rec_realloc, rec_free};

/* An address is one instance's live block at a time: freed through a and handed out again to b,
 * it is b's, so freeing or resizing it through a is a mismatched free naming b -- although a
 * (and b too, earlier) remembers freeing that address -- and b's block stays intact. */
static void test_reused_address_is_the_holders(void)
{
    recycler r = {0};
    mb_alloc *a = mb_alloc_custom_new(&rec_vt, &r, "recycled-a");
    mb_alloc *b = mb_alloc_custom_new(&rec_vt, &r, "recycled-b");
    ASSERT(a && b);
    test_capture_begin();
    unsigned char *x = mb_malloc(b, 40);
    ASSERT_NOT_NULL(x);
    mb_free(b, x);
    ASSERT_PTR_EQ(mb_malloc(a, 40), x);
    mb_free(a, x);
    ASSERT_PTR_EQ(mb_malloc(b, 24), x);
    memset(x, 0x5a, 24);
    ASSERT_NO_VIOLATION();
    mb_free(a, x);
    assert_names_both(x, 24, b, a, "mb_free");
    ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    ASSERT_NULL(mb_realloc(a, x, 100));
    assert_names_both(x, 24, b, a, "mb_realloc");
    ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    for (size_t i = 0; i < 24; i++)
        ASSERT_EQ(x[i], 0x5a);
    mb_free(b, x);
    ASSERT_NO_VIOLATION();
    mb_free(a, x); /* now nobody's live block */
    ASSERT(strstr(g_capture.last, "was already freed") != NULL);
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    ASSERT_NOTHING_LIVE(a);
    ASSERT_NOTHING_LIVE(b);
    mb_alloc_delete(a);
    mb_alloc_delete(b);
    ASSERT_NO_VIOLATION();
    test_capture_end();
    free(r.cached);
}

/* An instance that is deleted leaves the registry: its former blocks' addresses are nobody's. */
static void test_deleted_instance_forgotten(void)
{
    mb_alloc *a = mb_alloc_system_new(), *b = mb_alloc_system_new();
    void *keep = mb_malloc(b, 64); /* b is not empty, so b's map decides */
    void *p = mb_malloc(a, 64);
    void *copy = malloc(64);
    ASSERT(a && b && keep && p && copy);
    test_capture_begin();
    mb_free(b, p);
    ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    mb_free(a, p);
    mb_alloc_delete(a);
    ASSERT_NO_VIOLATION();
    mb_free(b, copy); /* a libc block of nobody's */
    ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
    mb_free(b, keep);
    mb_alloc_delete(b);
    ASSERT_NO_VIOLATION();
    test_capture_end();
    free(copy);
}

int main(void)
{
    TEST_RUN(test_every_pair);
    TEST_RUN(test_freed_and_foreign_across_families);
    TEST_RUN(test_reused_address_is_the_holders);
    TEST_RUN(test_deleted_instance_forgotten);
    puts("test_mismatch: all passed");
    return 0;
}
