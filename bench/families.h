/* The allocator variants a benchmark executable measures. Each executable is built once per
 * flavour (BENCH_ALLOC): the glibc flavour measures the membuf families and glibc; every
 * third-party allocator gets its own executable, because jemalloc and tcmalloc replace malloc for
 * the whole process when linked. Within a flavour:
 *   - an mb_alloc variant goes through membuf (mb_malloc / mb_realloc / mb_free);
 *   - the "direct" variant calls the flavour's allocator with nothing in between, through the
 *     static inline bench_direct_* functions below (so the call is a plain direct call). */
#ifndef MEMBUF_BENCH_FAMILIES_H
#define MEMBUF_BENCH_FAMILIES_H

#include <membuf.h>

#include <stdlib.h>

#define BENCH_ALLOC_GLIBC 0
#define BENCH_ALLOC_MIMALLOC 1
#define BENCH_ALLOC_JEMALLOC 2
#define BENCH_ALLOC_TCMALLOC 3
#ifndef BENCH_ALLOC
#define BENCH_ALLOC BENCH_ALLOC_GLIBC
#endif

#if BENCH_ALLOC == BENCH_ALLOC_MIMALLOC
#include <mimalloc.h>
#define BENCH_LIB "mimalloc"
static inline void *bench_direct_malloc(size_t n) { return mi_malloc(n); }
static inline void *bench_direct_realloc(void *p, size_t n) { return mi_realloc(p, n); }
static inline void bench_direct_free(void *p) { mi_free(p); }
#elif BENCH_ALLOC == BENCH_ALLOC_JEMALLOC
/* Debian's libjemalloc exports unprefixed malloc/realloc/free: linked into this executable they
 * are jemalloc's (bench_variants_open checks that at run time). */
#define BENCH_LIB "jemalloc"
static inline void *bench_direct_malloc(size_t n) { return malloc(n); }
static inline void *bench_direct_realloc(void *p, size_t n) { return realloc(p, n); }
static inline void bench_direct_free(void *p) { free(p); }
#elif BENCH_ALLOC == BENCH_ALLOC_TCMALLOC
#include <gperftools/tcmalloc.h>
#define BENCH_LIB "tcmalloc"
static inline void *bench_direct_malloc(size_t n) { return tc_malloc(n); }
static inline void *bench_direct_realloc(void *p, size_t n) { return tc_realloc(p, n); }
static inline void bench_direct_free(void *p) { tc_free(p); }
#elif BENCH_ALLOC == BENCH_ALLOC_GLIBC
#define BENCH_LIB "glibc"
static inline void *bench_direct_malloc(size_t n) { return malloc(n); }
static inline void *bench_direct_realloc(void *p, size_t n) { return realloc(p, n); }
static inline void bench_direct_free(void *p) { free(p); }
#else
#error "unknown BENCH_ALLOC"
#endif

/* alloc NULL: the direct variant. */
typedef struct bench_variant {
    char name[64];
    mb_alloc *alloc;
} bench_variant;

enum { BENCH_MAX_VARIANTS = 8 };

/* Opens this flavour's variants: glibc: system, pool, guard(pool), custom(glibc), glibc direct;
 * otherwise custom(<lib>), <lib> direct. legacy_only (glibc flavour): only the first three.
 * Returns the count, or -1 (message printed) when an instance cannot be created or the
 * allocator linked in is not the one expected. */
int bench_variants_open(bench_variant *v, int legacy_only, const char *prog);
void bench_variants_close(bench_variant *v, int n);
/* Orders t's rows as the variants (bench.h). */
struct bench_table;
void bench_variants_order(struct bench_table *t, const bench_variant *v, int n);
/* The flavour's allocator and version, e.g. "jemalloc 5.3.0-0-g54eaed1d8b56". */
const char *bench_lib_version(void);

#endif /* MEMBUF_BENCH_FAMILIES_H */
