/* An outside program: includes only <membuf.h>, links the installed library, and touches every
 * name of the public contract (shared/DESIGN.md §3). Exit 0 only if each call behaved. */
#include <membuf.h>

#include <stdio.h>
#include <stdlib.h>

static int g_reports;
static void on_violation(mb_violation v, const char *message, void *user)
{
    (void)user;
    fprintf(stderr, "consumer: captured %s: %s\n", mb_violation_name(v), message);
    g_reports++;
}

static void *my_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void *my_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static void my_free(void *ctx, void *p) { (void)ctx; free(p); }

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "consumer: %s failed\n", #c); return 1; } } while (0)

int main(void)
{
    mb_violation_fn old = mb_set_violation_handler(on_violation, NULL);
    CHECK(old == NULL);
    mb_alloc_vtable vt = {my_malloc, my_realloc, my_free};
    mb_alloc *fams[4] = {mb_alloc_system_new(), mb_alloc_pool_new(), NULL,
                         mb_alloc_custom_new(&vt, NULL, "mine")};
    CHECK(fams[0] && fams[1] && fams[3]);
    fams[2] = mb_alloc_guard_new(fams[1]);
    CHECK(fams[2]);
    for (int i = 0; i < 4; i++) {
        mb_alloc *a = fams[i];
        void *p = mb_malloc(a, 24);
        CHECK(p);
        p = mb_realloc(a, p, 600);
        CHECK(p);
        mb_alloc_fail_after(a, 0, MB_FAIL_ONCE);
        CHECK(mb_realloc(a, p, 9000) == NULL);
        mb_alloc_fail_never(a);
        mb_free(a, p);
        mb_alloc_check(a);
        mb_rng rng;
        mb_rng_seed(&rng, 42);
        CHECK(mb_rng_u64(&rng) != mb_rng_u64(&rng));
        double u = mb_rng_double(&rng), z = mb_rng_normal(&rng);
        CHECK(u >= 0 && u < 1 && z == z);
        mb_buf b;
        mb_status st = mb_buf_init(&b, a, 100);
        CHECK(st == MB_OK);
        CHECK(mb_buf_resize(&b, 200) == MB_OK && b.len == 200);
        CHECK(mb_buf_fill(&b, 1.5) == MB_OK && b.data[199] == 1.5);
        CHECK(mb_buf_fill_normal(&b, &rng, 0.0, 1.0) == MB_OK);
        CHECK(mb_buf_fill_normal(&b, &rng, 0.0, -1.0) == MB_EINVAL);
        CHECK(mb_buf_resize(&b, (size_t)-1) == MB_EOVERFLOW && b.len == 200);
        mb_buf_free(&b);
        CHECK(mb_buf_init(&b, NULL, 1) == MB_EINVAL);
        mb_buf c;
        CHECK(mb_buf_init(&c, a, (size_t)-1) == MB_EOVERFLOW);
        mb_buf_free(&c);
        mb_buf d;
        CHECK(mb_buf_init(&d, a, 8) == MB_OK);
        mb_buf_free(&d);
        mb_buf_free(&d);
        mb_alloc_stats s;
        mb_alloc_get_stats(a, &s);
        CHECK(s.live_blocks == 0 && s.live_bytes == 0 && s.peak_bytes > 0);
        CHECK(s.mallocs + s.reallocs > 0 && s.frees > 0 && s.failures >= 1);
        printf("consumer: %s ok\n", mb_alloc_name(a));
    }
    /* A pool double free is reported, not passed on. */
    void *q = mb_malloc(fams[1], 8);
    mb_free(fams[1], q);
    mb_free(fams[1], q);
    CHECK(g_reports == 1);
    mb_fail_mode m = MB_FAIL_ALWAYS;
    mb_violation v = MB_LEAK;
    mb_status e = MB_ENOMEM;
    CHECK(m == MB_FAIL_ALWAYS && v == MB_LEAK && mb_strerror(e) != NULL);
    CHECK(mb_violation_name(MB_DOUBLE_FREE)[0] == 'd');
    mb_alloc_delete(fams[2]);
    mb_alloc_delete(fams[1]);
    mb_alloc_delete(fams[0]);
    mb_alloc_delete(fams[3]);
    mb_set_violation_handler(NULL, NULL);
    puts("consumer: all names usable");
    return 0;
}
