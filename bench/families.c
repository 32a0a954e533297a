#include "families.h"

#include "bench.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if BENCH_ALLOC == BENCH_ALLOC_GLIBC
#include <gnu/libc-version.h>
#elif BENCH_ALLOC == BENCH_ALLOC_JEMALLOC
/* From <jemalloc/jemalloc.h> (unprefixed in Debian's build); declared here so that header's
 * redeclarations of malloc & co. stay out of this file. */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
#endif

/* The custom family's vtable: the same wrapper cost as the system family, another allocator. */
static void *vt_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return bench_direct_malloc(n);
}
static void *vt_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return bench_direct_realloc(p, n);
}
static void vt_free(void *ctx, void *p)
{
    (void)ctx;
    bench_direct_free(p);
}
static const mb_alloc_vtable vtable = {vt_malloc, vt_realloc, vt_free};

const char *bench_lib_version(void)
{
    static char buf[96];
#if BENCH_ALLOC == BENCH_ALLOC_MIMALLOC
    int v = mi_version();
    snprintf(buf, sizeof buf, "mimalloc %d.%d.%d", v / 100, v / 10 % 10, v % 10);
#elif BENCH_ALLOC == BENCH_ALLOC_JEMALLOC
    const char *ver = NULL;
    size_t len = sizeof ver;
    if (mallctl("version", (void *)&ver, &len, NULL, 0) != 0 || !ver)
        ver = "?";
    snprintf(buf, sizeof buf, "jemalloc %s", ver);
#elif BENCH_ALLOC == BENCH_ALLOC_TCMALLOC
    snprintf(buf, sizeof buf, "%s", tc_version(NULL, NULL, NULL));
#else
    snprintf(buf, sizeof buf, "glibc %s", gnu_get_libc_version());
#endif
    return buf;
}

/* 0 when the allocator this flavour calls is really the one in use. */
static int lib_check(const char *prog)
{
#if BENCH_ALLOC == BENCH_ALLOC_JEMALLOC
    /* thread.allocated grows only if malloc() is jemalloc's. */
    uint64_t before = 0, after = 0;
    size_t len = sizeof before;
    if (mallctl("thread.allocated", &before, &len, NULL, 0) != 0) {
        fprintf(stderr, "%s: mallctl(thread.allocated) failed\n", prog);
        return -1;
    }
    void *volatile p = bench_direct_malloc(4000);
    len = sizeof after;
    mallctl("thread.allocated", &after, &len, NULL, 0);
    bench_direct_free(p);
    if (after < before + 4000) {
        fprintf(stderr, "%s: malloc() is not jemalloc's (check the link order)\n", prog);
        return -1;
    }
#else
    (void)prog;
#endif
    return 0;
}

static int add(bench_variant *v, int n, const char *name, mb_alloc *a, const char *prog)
{
    if (!a) {
        fprintf(stderr, "%s: cannot create %s\n", prog, name);
        return -1;
    }
    snprintf(v[n].name, sizeof v[n].name, "%s", name);
    v[n].alloc = a;
    return n + 1;
}

int bench_variants_open(bench_variant *v, int legacy_only, const char *prog)
{
    int n = 0;
    if (lib_check(prog) != 0)
        return -1;
#if BENCH_ALLOC == BENCH_ALLOC_GLIBC
    mb_alloc *pool;
    if ((n = add(v, n, "system", mb_alloc_system_new(), prog)) < 0 ||
        (n = add(v, n, "pool", pool = mb_alloc_pool_new(), prog)) < 0 ||
        (n = add(v, n, "guard(pool)", mb_alloc_guard_new(pool), prog)) < 0)
        return -1;
    if (legacy_only)
        return n;
#else
    (void)legacy_only;
#endif
    if ((n = add(v, n, "custom(" BENCH_LIB ")", mb_alloc_custom_new(&vtable, NULL, BENCH_LIB),
                 prog)) < 0)
        return -1;
    snprintf(v[n].name, sizeof v[n].name, "%s direct", BENCH_LIB);
    v[n].alloc = NULL;
    return n + 1;
}

void bench_variants_close(bench_variant *v, int n)
{
    /* Delete in reverse: a guard goes before the pool it wraps. */
    for (int i = n - 1; i >= 0; i--)
        mb_alloc_delete(v[i].alloc);
}

void bench_variants_order(bench_table *t, const bench_variant *v, int n)
{
    const char *names[BENCH_MAX_VARIANTS];
    for (int i = 0; i < n && i < BENCH_MAX_VARIANTS; i++)
        names[i] = v[i].name;
    bench_table_order(t, names, n < BENCH_MAX_VARIANTS ? n : BENCH_MAX_VARIANTS);
}
