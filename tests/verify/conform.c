/* Conformance of a third-party allocator behind membuf's custom family (ci/verify-allocators.sh).
 *
 * Built once per allocator, linked directly against it, with one of
 *   -DVERIFY_MIMALLOC  mi_malloc / mi_realloc / mi_free        (-lmimalloc)
 *   -DVERIFY_JEMALLOC  malloc / realloc / free, jemalloc's     (-ljemalloc: replaces malloc)
 *   -DVERIFY_TCMALLOC  tc_malloc / tc_realloc / tc_free        (-ltcmalloc_minimal)
 *   (none)             glibc's malloc / realloc / free
 * Debian's mimalloc, jemalloc and tcmalloc all export malloc, so linking any of them also replaces
 * the process's malloc (membuf's own internal allocations included); the identity row says which
 * library each function came from (dladdr), so a silent fallback to glibc cannot pass for the
 * allocator under test.
 *
 * The allocator is reached only through mb_alloc_custom_new(vtable, ctx): the vtable is a thin
 * wrapper that counts calls, records the sizes it is asked for, checks the underlying pointers'
 * alignment and usable size, and on demand makes the underlying realloc fail for real (it asks
 * the allocator for 2^62 bytes instead). Every membuf call is checked against a model of the
 * instance's statistics, and every pointer for 16-byte alignment.
 *
 * Output: one line per property, "ROW<TAB>property<TAB>PASS|FAIL|INCOMPLETE<TAB>detail", and a
 * first line "ALLOC<TAB>name<TAB>version". Exit status 1 if any property failed. If the process
 * dies (the allocator aborts, a fault), the property being tested gets the signal as a FAIL, the
 * rows are printed as they stand (INCOMPLETE: not fully checked) and the exit status is 1.
 * Arguments: none; the environment variable VERIFY_CHURN_OPS overrides the number of churn
 * operations (default 60000; ci/verify-allocators.sh uses 200000). */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include <membuf.h>

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(VERIFY_MIMALLOC)
#include <mimalloc.h>
#define A_NAME "mimalloc"
#define A_LIB "libmimalloc"
#define A_MALLOC mi_malloc
#define A_REALLOC mi_realloc
#define A_FREE mi_free
#define A_USABLE mi_usable_size
#define A_MALLOC_NAME "mi_malloc"
static void a_version(char *buf, size_t n) { snprintf(buf, n, "mi_version() %d", mi_version()); }
#elif defined(VERIFY_JEMALLOC)
#include <jemalloc/jemalloc.h>
#define A_NAME "jemalloc"
#define A_LIB "libjemalloc"
#define A_MALLOC malloc
#define A_REALLOC realloc
#define A_FREE free
#define A_USABLE malloc_usable_size
#define A_MALLOC_NAME "malloc"
static void a_version(char *buf, size_t n)
{
    const char *v = "?";
    size_t len = sizeof v;
    if (mallctl("version", (void *)&v, &len, NULL, 0) != 0)
        v = "? (mallctl failed)";
    snprintf(buf, n, "mallctl version %s", v);
}
#elif defined(VERIFY_TCMALLOC)
#include <gperftools/tcmalloc.h>
#define A_NAME "tcmalloc"
#define A_LIB "libtcmalloc"
#define A_MALLOC tc_malloc
#define A_REALLOC tc_realloc
#define A_FREE tc_free
#define A_USABLE tc_malloc_size
#define A_MALLOC_NAME "tc_malloc"
static void a_version(char *buf, size_t n)
{
    int maj, min;
    const char *patch;
    const char *v = tc_version(&maj, &min, &patch);
    snprintf(buf, n, "tc_version %s", v ? v : "?");
}
#else
#include <gnu/libc-version.h>
#include <malloc.h>
#define A_NAME "glibc"
#define A_LIB "libc.so"
#define A_MALLOC malloc
#define A_REALLOC realloc
#define A_FREE free
#define A_USABLE malloc_usable_size
#define A_MALLOC_NAME "malloc"
static void a_version(char *buf, size_t n) { snprintf(buf, n, "glibc %s", gnu_get_libc_version()); }
#endif

#define HUGE_REQ ((size_t)1 << 62)
#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

/* ---- properties ------------------------------------------------------------------------------ */

enum {
    P_IDENT,
    P_REALLOC,
    P_ZERO,
    P_FAIL_INJ,
    P_FAIL_UNDER,
    P_FAIL_OOM,
    P_OVERLAP,
    P_ALIGN,
    P_USABLE,
    P_STATS,
    P_VTCALLS,
    P_CLEAN,
    NPROP
};
static const char *const prop_names[NPROP] = {
    "identity",        "realloc keeps contents", "size 0",         "realloc failure (injected)",
    "realloc failure (allocator)", "realloc failure (RLIMIT_AS)", "no overlap (churn)",
    "16-byte alignment", "usable size", "statistics exact", "one vtable call per request",
    "no reports, no leaks",
};

typedef struct prop {
    unsigned long fails;
    char first[320];
    char detail[320];
    bool incomplete; /* the process died before this property was fully checked */
} prop;
static prop props[NPROP];

static void bad(int p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(int p, const char *fmt, ...)
{
    if (props[p].fails++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(props[p].first, sizeof props[p].first, fmt, ap);
        va_end(ap);
        fprintf(stderr, "conform[%s]: %s: %s\n", A_NAME, prop_names[p], props[p].first);
    }
}

static void detail(int p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail(int p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(props[p].detail, sizeof props[p].detail, fmt, ap);
    va_end(ap);
}

/* ---- the vtable over the allocator --------------------------------------------------------- */

typedef struct vctx {
    uint64_t n_malloc, n_realloc, n_free;
    size_t last_malloc_size, last_realloc_size;
    uint64_t zero_requests;     /* calls that asked the allocator for 0 bytes */
    uint64_t under_null;        /* underlying calls that returned NULL */
    uint64_t under_checked;     /* underlying pointers checked for alignment and usable size */
    bool sabotage_realloc;      /* next realloc asks the allocator for HUGE_REQ */
    bool sabotage_gave_block;   /* the allocator granted HUGE_REQ (!) */
} vctx;
static vctx V;

static void under_check(void *p, size_t asked)
{
    V.under_checked++;
    if ((uintptr_t)p % 16)
        bad(P_ALIGN, "%s returned %p for %zu bytes: not 16-aligned", A_NAME, p, asked);
    size_t u = A_USABLE(p);
    if (u < asked)
        bad(P_USABLE, "%s block of %zu bytes reports usable size %zu", A_NAME, asked, u);
}

static void *v_malloc(void *ctx, size_t n)
{
    vctx *c = ctx;
    c->n_malloc++;
    c->last_malloc_size = n;
    if (n == 0)
        c->zero_requests++;
    void *p = A_MALLOC(n);
    if (!p)
        c->under_null++;
    else
        under_check(p, n);
    return p;
}

static void *v_realloc(void *ctx, void *p, size_t n)
{
    vctx *c = ctx;
    c->n_realloc++;
    c->last_realloc_size = n;
    if (n == 0)
        c->zero_requests++;
    size_t ask = n;
    if (c->sabotage_realloc) {
        c->sabotage_realloc = false;
        ask = HUGE_REQ;
    }
    void *q = A_REALLOC(p, ask);
    if (!q) {
        c->under_null++;
        return NULL;
    }
    if (ask != n) {
        /* 4 EiB granted: nothing sensible to do with it but report and hand it on. */
        c->sabotage_gave_block = true;
        return q;
    }
    under_check(q, n);
    return q;
}

static void v_free(void *ctx, void *p)
{
    vctx *c = ctx;
    c->n_free++;
    A_FREE(p);
}

static const mb_alloc_vtable vt = {v_malloc, v_realloc, v_free};

/* ---- the instance and its model ------------------------------------------------------------ */

static mb_alloc *A;
static mb_alloc_stats M; /* what the statistics must be */
static uint64_t stats_checks, align_checks;
static unsigned long reports;

static void on_violation(mb_violation v, const char *msg, void *user)
{
    (void)user;
    reports++;
    bad(P_CLEAN, "unexpected %s report: %s", mb_violation_name(v), msg);
}

static void check_stats(const char *after)
{
    mb_alloc_stats s;
    mb_alloc_get_stats(A, &s);
    stats_checks++;
    if (s.live_blocks != M.live_blocks || s.live_bytes != M.live_bytes ||
        s.peak_bytes != M.peak_bytes || s.mallocs != M.mallocs || s.reallocs != M.reallocs ||
        s.frees != M.frees || s.failures != M.failures)
        bad(P_STATS,
            "after %s: live %zu/%zu peak %zu m/r/f/x %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
            ", model %zu/%zu %zu %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64,
            after, s.live_blocks, s.live_bytes, s.peak_bytes, s.mallocs, s.reallocs, s.frees,
            s.failures, M.live_blocks, M.live_bytes, M.peak_bytes, M.mallocs, M.reallocs, M.frees,
            M.failures);
}

static void model_add(size_t n)
{
    M.live_blocks++;
    M.live_bytes += n;
    if (M.live_bytes > M.peak_bytes)
        M.peak_bytes = M.live_bytes;
}

static void check_align(void *p, const char *what)
{
    align_checks++;
    if ((uintptr_t)p % 16)
        bad(P_ALIGN, "%s returned %p: not 16-aligned", what, p);
}

/* mb_malloc that must succeed: one vtable malloc, never of 0 bytes, model and alignment. */
static void *t_malloc(int prop_, size_t n)
{
    uint64_t c0 = V.n_malloc, r0 = V.n_realloc;
    void *p = mb_malloc(A, n);
    M.mallocs++;
    if (V.n_malloc != c0 + 1 || V.n_realloc != r0)
        bad(P_VTCALLS, "mb_malloc(%zu) made %" PRIu64 " vtable mallocs and %" PRIu64 " reallocs", n,
            V.n_malloc - c0, V.n_realloc - r0);
    if (!p) {
        M.failures++;
        bad(prop_, "mb_malloc(%zu) failed", n);
        check_stats("a failed mb_malloc");
        return NULL;
    }
    if (V.last_malloc_size < n)
        bad(P_VTCALLS, "mb_malloc(%zu) asked the allocator for only %zu bytes", n, V.last_malloc_size);
    model_add(n);
    check_align(p, "mb_malloc");
    check_stats("mb_malloc");
    return p;
}

/* mb_realloc that must succeed. */
static void *t_realloc(int prop_, void *p, size_t old, size_t n)
{
    uint64_t c0 = V.n_malloc, r0 = V.n_realloc;
    void *q = mb_realloc(A, p, n);
    M.reallocs++;
    uint64_t want_m = p ? 0 : 1, want_r = p ? 1 : 0;
    if (V.n_malloc - c0 != want_m || V.n_realloc - r0 != want_r)
        bad(P_VTCALLS, "mb_realloc(%s, %zu) made %" PRIu64 " vtable mallocs and %" PRIu64 " reallocs",
            p ? "p" : "NULL", n, V.n_malloc - c0, V.n_realloc - r0);
    if (!q) {
        M.failures++;
        bad(prop_, "mb_realloc(%zu -> %zu) failed", old, n);
        check_stats("a failed mb_realloc");
        return NULL;
    }
    if (p && V.last_realloc_size < n)
        bad(P_VTCALLS, "mb_realloc(p, %zu) asked the allocator for only %zu bytes", n,
            V.last_realloc_size);
    if (p) {
        M.live_blocks--;
        M.live_bytes -= old;
    }
    model_add(n);
    check_align(q, "mb_realloc");
    check_stats("mb_realloc");
    return q;
}

static void t_free(void *p, size_t n)
{
    uint64_t f0 = V.n_free;
    mb_free(A, p);
    if (p) {
        M.frees++;
        M.live_blocks--;
        M.live_bytes -= n;
    }
    if (V.n_free - f0 != (p ? 1u : 0u))
        bad(P_VTCALLS, "mb_free made %" PRIu64 " vtable frees", V.n_free - f0);
    check_stats("mb_free");
}

/* A request that must fail: returns whether it did, with the model updated. `calls` is how many
 * vtable calls it must make (0 for an injected failure or a size membuf refuses itself). */
static bool t_realloc_fails(int prop_, void *p, size_t n, unsigned calls, const char *why)
{
    uint64_t c0 = V.n_malloc + V.n_realloc;
    void *q = mb_realloc(A, p, n);
    M.reallocs++;
    uint64_t made = V.n_malloc + V.n_realloc - c0;
    if (made != calls)
        bad(P_VTCALLS, "%s: mb_realloc(%zu) made %" PRIu64 " vtable calls, want %u", why, n, made,
            calls);
    if (q) {
        bad(prop_, "%s: mb_realloc(%zu) succeeded (%p), want NULL", why, n, q);
        return false; /* the model is off now; the statistics row will say so */
    }
    M.failures++;
    check_stats(why);
    return true;
}

static bool t_malloc_fails(int prop_, size_t n, unsigned calls, const char *why)
{
    uint64_t c0 = V.n_malloc + V.n_realloc;
    void *q = mb_malloc(A, n);
    M.mallocs++;
    uint64_t made = V.n_malloc + V.n_realloc - c0;
    if (made != calls)
        bad(P_VTCALLS, "%s: mb_malloc(%zu) made %" PRIu64 " vtable calls, want %u", why, n, made,
            calls);
    if (q) {
        bad(prop_, "%s: mb_malloc(%zu) succeeded (%p), want NULL", why, n, q);
        return false;
    }
    M.failures++;
    check_stats(why);
    return true;
}

/* ---- patterns ------------------------------------------------------------------------------ */

/* Byte i of a block painted with generation g is tmpl[g % 256][i % 256]: periodic, so painting
 * and checking are memcpy/memcmp. Neighbouring generations differ in every byte. */
static unsigned char tmpl[256][256];

static void init_templates(void)
{
    for (unsigned g = 0; g < 256; g++)
        for (unsigned i = 0; i < 256; i++)
            tmpl[g][i] = (unsigned char)(g * 131u + i * 7u + 1u);
}

static void paint(unsigned char *p, size_t n, uint32_t g)
{
    size_t done = n < 256 ? n : 256;
    memcpy(p, tmpl[g % 256], done);
    while (done < n) {
        size_t len = n - done < done ? n - done : done;
        memcpy(p + done, p, len);
        done += len;
    }
}

/* Index of the first byte of [0, n) that differs from generation g's pattern, or SIZE_MAX. */
static size_t first_diff(const unsigned char *p, size_t n, uint32_t g)
{
    const unsigned char *t = tmpl[g % 256];
    size_t head = n < 256 ? n : 256;
    if (memcmp(p, t, head) == 0 && (n <= 256 || memcmp(p + 256, p, n - 256) == 0))
        return SIZE_MAX;
    for (size_t k = 0; k < n; k++)
        if (p[k] != t[k % 256])
            return k;
    return SIZE_MAX; /* unreachable */
}

static uint32_t next_gen = 1;

/* ---- rng (splitmix64: deterministic, independent of membuf's) ------------------------------ */

static uint64_t rng_state = 0x5eed5eed5eedULL;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

/* ---- identity ------------------------------------------------------------------------------- */

typedef void *(*malloc_fn)(size_t);

static const char *lib_of(malloc_fn fn)
{
    void *addr; /* ISO C has no function-to-object pointer conversion; dladdr needs one */
    memcpy(&addr, &fn, sizeof addr);
    Dl_info di;
    if (!dladdr(addr, &di) || !di.dli_fname)
        return "?";
    const char *s = strrchr(di.dli_fname, '/');
    return s ? s + 1 : di.dli_fname;
}

static char version[128];

static void test_identity(void)
{
    a_version(version, sizeof version);
    /* The process's malloc, as the dynamic linker resolves it for everyone (membuf included). */
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    malloc_fn proc_malloc;
    memcpy(&proc_malloc, &sym, sizeof sym);
    const char *vlib = lib_of(A_MALLOC);
    const char *plib = sym ? lib_of(proc_malloc) : "?";
    if (!strstr(vlib, A_LIB))
        bad(P_IDENT, "the vtable's %s resolves to %s, not %s", A_MALLOC_NAME, vlib, A_LIB);
    detail(P_IDENT, "vtable %s in %s; process malloc in %s", A_MALLOC_NAME, vlib, plib);
}

/* ---- realloc keeps contents ------------------------------------------------------------------- */

static size_t sizes[2048];
static size_t nsizes;

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static void add_size(size_t s)
{
    if (nsizes < sizeof sizes / sizeof *sizes)
        sizes[nsizes++] = s;
}

/* 0..40, then around every size class boundary candidate c (eight steps per power of two up to
 * 1 MiB, the typical class spacing): c-17, c-16, c-15 (where a 16-byte header of the
 * allocator's own would straddle c), c-1, c, c+1; above 1 MiB powers of two and halves up to 64 MiB. */
static void build_sizes(void)
{
    for (size_t s = 0; s <= 40; s++)
        add_size(s);
    for (unsigned e = 5; e <= 26; e++) {
        size_t base = (size_t)1 << e;
        for (size_t j = 0; j < 8; j++) {
            if (e > 20 && j != 0 && j != 4)
                continue;
            size_t c = base + j * (base >> 3);
            const long d[] = {-17, -16, -15, -1, 0, 1};
            for (size_t k = 0; k < sizeof d / sizeof *d; k++) {
                if (e > 20 && d[k] < -1)
                    continue;
                size_t s = (size_t)((long)c + d[k]);
                if (s > 40)
                    add_size(s);
            }
        }
    }
    qsort(sizes, nsizes, sizeof *sizes, cmp_size);
    size_t w = 0;
    for (size_t i = 0; i < nsizes; i++)
        if (w == 0 || sizes[w - 1] != sizes[i])
            sizes[w++] = sizes[i];
    nsizes = w;
}

typedef struct rstat {
    unsigned long steps, moved, in_place;
} rstat;

/* One resize of the ladder block: checks the kept prefix, repaints. */
static unsigned char *ladder_step(unsigned char *p, size_t *size, uint32_t *gen, size_t n, rstat *rs)
{
    unsigned char *q = t_realloc(P_REALLOC, p, *size, n);
    if (!q)
        return p;
    size_t keep = *size < n ? *size : n;
    size_t k = p ? first_diff(q, keep, *gen) : SIZE_MAX;
    if (k != SIZE_MAX)
        bad(P_REALLOC, "realloc %zu -> %zu (%s) changed byte %zu of the kept %zu", *size, n,
            q == p ? "in place" : "moved", k, keep);
    rs->steps++;
    if (p) {
        if (q == p)
            rs->in_place++;
        else
            rs->moved++;
    }
    *size = n;
    *gen = next_gen++;
    paint(q, n, *gen);
    return q;
}

static void test_realloc_contents(void)
{
    build_sizes();
    rstat rs = {0, 0, 0};
    unsigned char *p = NULL;
    size_t size = 0;
    uint32_t gen = 0;
    /* Grow through every size, then shrink through every size. */
    for (size_t i = 0; i < nsizes; i++)
        p = ladder_step(p, &size, &gen, sizes[i], &rs);
    for (size_t i = nsizes; i-- > 0;)
        p = ladder_step(p, &size, &gen, sizes[i], &rs);
    /* Random jumps among the sizes up to 1 MiB, next to a few other live blocks so that in-place
     * growth sometimes has a neighbour in the way. */
    size_t small_n = 0;
    while (small_n < nsizes && sizes[small_n] <= MIB)
        small_n++;
    unsigned char *other[8];
    size_t osz[8];
    uint32_t ogen[8];
    for (int j = 0; j < 8; j++) {
        osz[j] = sizes[rnd_below(small_n)];
        other[j] = t_malloc(P_REALLOC, osz[j]);
        ogen[j] = next_gen++;
        if (other[j])
            paint(other[j], osz[j], ogen[j]);
    }
    for (int step = 0; step < 4000; step++) {
        p = ladder_step(p, &size, &gen, sizes[rnd_below(small_n)], &rs);
        int j = (int)rnd_below(8);
        if (other[j] && step % 4 == 0) {
            size_t n = sizes[rnd_below(small_n)];
            size_t k = first_diff(other[j], osz[j], ogen[j]);
            if (k != SIZE_MAX)
                bad(P_REALLOC, "a neighbour block of %zu bytes changed at byte %zu", osz[j], k);
            rstat dummy = {0, 0, 0};
            other[j] = ladder_step(other[j], &osz[j], &ogen[j], n, &dummy);
        }
    }
    for (int j = 0; j < 8; j++)
        if (other[j]) {
            size_t k = first_diff(other[j], osz[j], ogen[j]);
            if (k != SIZE_MAX)
                bad(P_REALLOC, "a neighbour block of %zu bytes changed at byte %zu", osz[j], k);
            t_free(other[j], osz[j]);
        }
    size_t k = first_diff(p, size, gen);
    if (k != SIZE_MAX)
        bad(P_REALLOC, "the ladder block changed at byte %zu", k);
    t_free(p, size);
    detail(P_REALLOC, "%zu sizes 0..%zu MiB, %lu resizes: %lu moved, %lu in place", nsizes,
           sizes[nsizes - 1] >> 20, rs.steps, rs.moved, rs.in_place);
}

/* ---- size 0 --------------------------------------------------------------------------------- */

static void test_size0(void)
{
    /* membuf: malloc(0) gives a unique, freeable block; realloc(p, 0) shrinks and never frees. */
    uint64_t z0 = V.zero_requests;
    unsigned char *a = t_malloc(P_ZERO, 0);
    size_t got_m = V.last_malloc_size;
    unsigned char *b = t_malloc(P_ZERO, 0);
    if (!a || !b || a == b)
        bad(P_ZERO, "mb_malloc(0) twice gave %p and %p: want two unique blocks", (void *)a, (void *)b);
    t_free(a, 0);
    t_free(b, 0);

    unsigned char *p = t_malloc(P_ZERO, 64);
    if (p)
        paint(p, 64, 7);
    unsigned char *q = t_realloc(P_ZERO, p, 64, 0);
    size_t got_r = V.last_realloc_size;
    if (!q) {
        bad(P_ZERO, "mb_realloc(p, 0) returned NULL: want a live empty block");
    } else {
        mb_alloc_stats s;
        mb_alloc_get_stats(A, &s);
        if (s.live_blocks != M.live_blocks)
            bad(P_ZERO, "mb_realloc(p, 0) changed live_blocks");
        unsigned char *r = t_realloc(P_ZERO, q, 0, 100);
        if (r) {
            paint(r, 100, 9);
            t_free(r, 100);
        }
    }
    unsigned char *n0 = t_realloc(P_ZERO, NULL, 0, 0); /* realloc(NULL, 0): a malloc of 0 */
    if (!n0)
        bad(P_ZERO, "mb_realloc(NULL, 0) returned NULL");
    else
        t_free(n0, 0);
    if (V.zero_requests != z0)
        bad(P_ZERO, "the allocator was asked for 0 bytes %" PRIu64 " time(s)", V.zero_requests - z0);

    /* The allocator's own answers, which membuf never relies on (for the record). */
    void *m0 = A_MALLOC(0);
    char raw_m[64], raw_r[64];
    if (m0)
        snprintf(raw_m, sizeof raw_m, "block (usable %zu)", A_USABLE(m0));
    else
        snprintf(raw_m, sizeof raw_m, "NULL");
    A_FREE(m0);
    void *r0 = A_MALLOC(32);
    void *r1 = r0 ? A_REALLOC(r0, 0) : NULL;
    if (r1)
        snprintf(raw_r, sizeof raw_r, "block (usable %zu)", A_USABLE(r1));
    else
        snprintf(raw_r, sizeof raw_r, "NULL");
    if (r1)
        A_FREE(r1);
    detail(P_ZERO, "vtable got malloc(%zu), realloc(p, %zu); raw %s(0): %s, realloc(p, 0): %s",
           got_m, got_r, A_MALLOC_NAME, raw_m, raw_r);
}

/* ---- realloc failure ------------------------------------------------------------------------- */

static void expect_intact(int prop_, const unsigned char *p, size_t n, uint32_t g, const char *why)
{
    size_t k = first_diff(p, n, g);
    if (k != SIZE_MAX)
        bad(prop_, "%s: the %zu-byte block changed at byte %zu", why, n, k);
}

static void test_fail_injected(void)
{
    unsigned long n_failed = 0;
    const size_t base[] = {1, 100, 4000, 300 * KIB, 8 * MIB};
    for (size_t i = 0; i < sizeof base / sizeof *base; i++) {
        size_t n = base[i];
        unsigned char *p = t_malloc(P_FAIL_INJ, n);
        if (!p)
            continue;
        uint32_t g = next_gen++;
        paint(p, n, g);
        /* Once: the next request fails without reaching the allocator. */
        mb_alloc_fail_after(A, 0, MB_FAIL_ONCE);
        n_failed += t_realloc_fails(P_FAIL_INJ, p, 2 * n + 1, 0, "injected once (grow)");
        expect_intact(P_FAIL_INJ, p, n, g, "injected once (grow)");
        /* Always after 2: two resizes succeed, then grow, shrink, 0, malloc and realloc(NULL)
         * all fail, the block intact. */
        mb_alloc_fail_after(A, 2, MB_FAIL_ALWAYS);
        unsigned char *q = t_realloc(P_FAIL_INJ, p, n, n + 16);
        if (q)
            p = q;
        expect_intact(P_FAIL_INJ, p, n, g, "first allowed resize");
        q = t_realloc(P_FAIL_INJ, p, n + 16, n);
        if (q)
            p = q;
        expect_intact(P_FAIL_INJ, p, n, g, "second allowed resize");
        n_failed += t_realloc_fails(P_FAIL_INJ, p, 3 * n, 0, "injected always (grow)");
        n_failed += t_realloc_fails(P_FAIL_INJ, p, n / 2, 0, "injected always (shrink)");
        n_failed += t_realloc_fails(P_FAIL_INJ, p, 0, 0, "injected always (to 0)");
        n_failed += t_malloc_fails(P_FAIL_INJ, 24, 0, "injected always (malloc)");
        n_failed += t_realloc_fails(P_FAIL_INJ, NULL, 24, 0, "injected always (realloc NULL)");
        expect_intact(P_FAIL_INJ, p, n, g, "injected always");
        mb_alloc_fail_never(A);
        q = t_realloc(P_FAIL_INJ, p, n, 2 * n);
        if (q) {
            p = q;
            expect_intact(P_FAIL_INJ, p, n, g, "growth after fail_never");
            t_free(p, 2 * n);
        } else {
            t_free(p, n);
        }
    }
    detail(P_FAIL_INJ, "%lu injected failures on blocks of 1 B..8 MiB: NULL, block intact, "
           "allocator not called", n_failed);
}

static void test_fail_underlying(void)
{
    unsigned long n_failed = 0;
    const size_t base[] = {24, 4000, 200 * KIB, 8 * MIB};
    for (size_t i = 0; i < sizeof base / sizeof *base; i++) {
        size_t n = base[i];
        unsigned char *p = t_malloc(P_FAIL_UNDER, n);
        if (!p)
            continue;
        uint32_t g = next_gen++;
        paint(p, n, g);
        /* The wrapper turns the next realloc into a request for 2^62 bytes. */
        uint64_t u0 = V.under_null;
        V.sabotage_realloc = true;
        void *q = mb_realloc(A, p, 2 * n);
        M.reallocs++;
        if (V.sabotage_gave_block) {
            bad(P_FAIL_UNDER, "%s granted a realloc to 2^62 bytes", A_NAME);
            return; /* p is gone; nothing sound to continue with */
        }
        if (q) {
            bad(P_FAIL_UNDER, "mb_realloc returned %p although the allocator returned NULL", q);
            return;
        }
        if (V.under_null != u0 + 1)
            bad(P_FAIL_UNDER, "the sabotaged realloc did not reach the allocator");
        M.failures++;
        n_failed++;
        check_stats("a failed underlying realloc");
        expect_intact(P_FAIL_UNDER, p, n, g, "allocator realloc to 2^62 failed");
        /* A huge request membuf passes on (below PTRDIFF_MAX): the allocator itself refuses. */
        n_failed += t_realloc_fails(P_FAIL_UNDER, p, (size_t)1 << 61, 1, "mb_realloc(2^61)");
        expect_intact(P_FAIL_UNDER, p, n, g, "mb_realloc(2^61)");
        /* Above PTRDIFF_MAX: membuf refuses without calling the allocator. */
        n_failed += t_realloc_fails(P_FAIL_UNDER, p, (size_t)PTRDIFF_MAX + 1, 0,
                                    "mb_realloc(PTRDIFF_MAX + 1)");
        expect_intact(P_FAIL_UNDER, p, n, g, "mb_realloc(PTRDIFF_MAX + 1)");
        n_failed += t_malloc_fails(P_FAIL_UNDER, (size_t)1 << 61, 1, "mb_malloc(2^61)");
        unsigned char *r = t_realloc(P_FAIL_UNDER, p, n, 2 * n);
        if (r) {
            expect_intact(P_FAIL_UNDER, r, n, g, "growth after the failures");
            t_free(r, 2 * n);
        } else {
            t_free(p, n);
        }
    }
    detail(P_FAIL_UNDER, "%lu allocator failures (realloc to 2^62 via the vtable, 2^61 direct): "
           "NULL, block intact", n_failed);
}

/* Real out-of-memory: in a child, address space capped just above what is mapped, a 16 MiB block
 * is grown to 1 GiB. The child writes its verdict into a pipe. */
static void test_fail_oom(void)
{
    int fd[2];
    if (pipe(fd) != 0) {
        bad(P_FAIL_OOM, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        bad(P_FAIL_OOM, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        /* The child's own death is reported through the pipe and its exit status. */
        signal(SIGABRT, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        close(fd[0]);
        char msg[300] = "";
        int ok = 0;
        size_t n = 16 * MIB;
        unsigned char *p = t_malloc(P_FAIL_OOM, n);
        if (!p) {
            snprintf(msg, sizeof msg, "FAIL\tmb_malloc(16 MiB) failed before the cap");
        } else {
            paint(p, n, 77);
            unsigned long vm_pages = 0;
            FILE *f = fopen("/proc/self/statm", "r");
            if (!f || fscanf(f, "%lu", &vm_pages) != 1) {
                snprintf(msg, sizeof msg, "FAIL\tcannot read /proc/self/statm");
            } else {
                size_t vm = vm_pages * (size_t)sysconf(_SC_PAGESIZE);
                struct rlimit rl = {vm + 64 * MIB, vm + 64 * MIB};
                if (setrlimit(RLIMIT_AS, &rl) != 0) {
                    snprintf(msg, sizeof msg, "FAIL\tsetrlimit: %s", strerror(errno));
                } else {
                    uint64_t u0 = V.under_null;
                    void *q = mb_realloc(A, p, 1024 * MIB);
                    M.reallocs++;
                    if (q) {
                        snprintf(msg, sizeof msg, "FAIL\tgrowth to 1 GiB succeeded under a %zu MiB cap",
                                 (vm >> 20) + 64);
                    } else {
                        M.failures++;
                        size_t k = first_diff(p, n, 77);
                        mb_alloc_stats s;
                        mb_alloc_get_stats(A, &s);
                        if (k != SIZE_MAX)
                            snprintf(msg, sizeof msg, "FAIL\tblock changed at byte %zu", k);
                        else if (V.under_null != u0 + 1)
                            snprintf(msg, sizeof msg,
                                     "FAIL\tthe allocator's realloc was not the one failing");
                        else if (s.failures != M.failures || s.live_bytes != M.live_bytes)
                            snprintf(msg, sizeof msg, "FAIL\tstatistics off after the failure");
                        else {
                            /* Still usable afterwards: a modest growth within the cap. */
                            unsigned char *r = mb_realloc(A, p, n + 4 * MIB);
                            M.reallocs++;
                            if (r)
                                p = r, n += 4 * MIB;
                            else
                                M.failures++;
                            ok = 1;
                            snprintf(msg, sizeof msg,
                                     "PASS\t16 MiB -> 1 GiB under a %zu MiB cap: NULL, block intact; "
                                     "then +4 MiB %s",
                                     (vm >> 20) + 64, r ? "succeeded" : "failed too");
                        }
                    }
                }
            }
            if (f)
                fclose(f);
        }
        (void)ok;
        ssize_t w = write(fd[1], msg, strlen(msg));
        (void)w;
        close(fd[1]);
        _exit(0);
    }
    close(fd[1]);
    char buf[320] = "";
    ssize_t got = 0, r;
    while ((r = read(fd[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0)
        got += r;
    buf[got > 0 ? got : 0] = 0;
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(st)) {
        bad(P_FAIL_OOM, "the child died of signal %d (%s)%s%s", WTERMSIG(st), strsignal(WTERMSIG(st)),
            got ? ": " : "", buf);
        return;
    }
    char *tab = strchr(buf, '\t');
    if (!tab) {
        bad(P_FAIL_OOM, "the child reported nothing (exit %d)", WEXITSTATUS(st));
        return;
    }
    *tab = 0;
    if (strcmp(buf, "PASS") == 0)
        detail(P_FAIL_OOM, "%s", tab + 1);
    else
        bad(P_FAIL_OOM, "%s", tab + 1);
}

/* ---- churn: no overlap ------------------------------------------------------------------------ */

#define NSLOTS 256
typedef struct cslot {
    unsigned char *p;
    size_t n;
    uint32_t g;
    bool live;
} cslot;
static cslot cs[NSLOTS];

static size_t churn_size(void)
{
    uint64_t r = rnd_below(1000);
    if (r < 20)
        return 0;
    if (r < 600)
        return 1 + rnd_below(256);
    if (r < 900)
        return 257 + rnd_below(8 * KIB);
    if (r < 990)
        return 8 * KIB + rnd_below(128 * KIB);
    return 128 * KIB + rnd_below(2 * MIB);
}

/* Compares slot i's block ([p, p + n), one byte for a 0-byte block: membuf's sized family hands
 * the allocator's block out as it is) with every other live slot's. */
static void check_disjoint(int i, unsigned long op)
{
    uintptr_t lo = (uintptr_t)cs[i].p, hi = (uintptr_t)cs[i].p + (cs[i].n ? cs[i].n : 1);
    for (int j = 0; j < NSLOTS; j++) {
        if (j == i || !cs[j].live)
            continue;
        uintptr_t l2 = (uintptr_t)cs[j].p, h2 = (uintptr_t)cs[j].p + (cs[j].n ? cs[j].n : 1);
        if (lo < h2 && l2 < hi)
            bad(P_OVERLAP, "op %lu: block %p (%zu B) overlaps live block %p (%zu B)", op,
                (void *)cs[i].p, cs[i].n, (void *)cs[j].p, cs[j].n);
    }
}

static void check_slot(int i, unsigned long op)
{
    size_t k = first_diff(cs[i].p, cs[i].n, cs[i].g);
    if (k != SIZE_MAX)
        bad(P_OVERLAP, "op %lu: live block %p (%zu B) changed at byte %zu", op, (void *)cs[i].p,
            cs[i].n, k);
}

static void test_churn(unsigned long ops)
{
    unsigned long full_checks = 0, max_live = 0, live = 0;
    size_t max_bytes = 0;
    for (unsigned long op = 0; op < ops; op++) {
        int i = (int)rnd_below(NSLOTS);
        cslot *s = &cs[i];
        uint64_t r = rnd_below(100);
        if (!s->live) {
            size_t n = churn_size();
            unsigned char *p = r < 70 ? t_malloc(P_OVERLAP, n) : t_realloc(P_OVERLAP, NULL, 0, n);
            if (!p)
                continue;
            *s = (cslot){p, n, next_gen++, true};
            paint(p, n, s->g);
            check_disjoint(i, op);
            live++;
        } else {
            check_slot(i, op);
            if (r < 40) {
                size_t n = churn_size();
                unsigned char *p = t_realloc(P_OVERLAP, s->p, s->n, n);
                if (!p)
                    continue;
                size_t keep = s->n < n ? s->n : n;
                size_t k = first_diff(p, keep, s->g);
                if (k != SIZE_MAX)
                    bad(P_OVERLAP, "op %lu: realloc %zu -> %zu lost byte %zu", op, s->n, n, k);
                s->p = p;
                s->n = n;
                s->g = next_gen++;
                paint(p, n, s->g);
                check_disjoint(i, op);
            } else if (r < 75) {
                t_free(s->p, s->n);
                s->live = false;
                live--;
            } else {
                s->g = next_gen++;
                paint(s->p, s->n, s->g);
            }
        }
        if (live > max_live)
            max_live = live;
        if (M.live_bytes > max_bytes)
            max_bytes = M.live_bytes;
        if (op % 512 == 511) {
            full_checks++;
            for (int j = 0; j < NSLOTS; j++)
                if (cs[j].live)
                    check_slot(j, op);
        }
    }
    for (int j = 0; j < NSLOTS; j++)
        if (cs[j].live) {
            check_slot(j, ops);
            t_free(cs[j].p, cs[j].n);
            cs[j].live = false;
        }
    detail(P_OVERLAP, "%lu ops, up to %lu live blocks / %zu KiB; ranges checked per op, "
           "all contents every 512 ops", ops, max_live, max_bytes >> 10);
}

/* ---- main ------------------------------------------------------------------------------------ */

static void print_rows(void)
{
    printf("ALLOC\t%s\t%s\n", A_NAME, version);
    for (int p = 0; p < NPROP; p++) {
        if (props[p].fails > 1)
            printf("ROW\t%s\tFAIL\t%s (and %lu more)\n", prop_names[p], props[p].first,
                   props[p].fails - 1);
        else if (props[p].fails)
            printf("ROW\t%s\tFAIL\t%s\n", prop_names[p], props[p].first);
        else if (props[p].incomplete)
            printf("ROW\t%s\tINCOMPLETE\t%s\n", prop_names[p], props[p].detail);
        else
            printf("ROW\t%s\tPASS\t%s\n", prop_names[p], props[p].detail);
    }
    fflush(stdout);
}

/* The test running now: a crash (the allocator aborting, or a fault) is charged to it, and the
 * table printed so far, so that one broken property does not hide the others' results. */
static volatile sig_atomic_t current = P_IDENT;

static void on_fatal(int sig)
{
    signal(sig, SIG_DFL);
    int p = current;
    if (props[p].fails++ == 0) {
        snprintf(props[p].first, sizeof props[p].first, "the process died of signal %d (%s) here",
                 sig, strsignal(sig));
    } else {
        size_t len = strlen(props[p].first);
        snprintf(props[p].first + len, sizeof props[p].first - len, "; then died of signal %d (%s)",
                 sig, strsignal(sig));
    }
    for (int q = 0; q < NPROP; q++)
        if (!props[q].fails && !props[q].detail[0]) {
            props[q].incomplete = true;
            snprintf(props[q].detail, sizeof props[q].detail, "the process died during '%s'",
                     prop_names[p]);
        }
    print_rows(); /* not async-signal-safe; good enough in a process that is dying anyway */
    _exit(1);
}

int main(void)
{
    signal(SIGABRT, on_fatal);
    signal(SIGSEGV, on_fatal);
    signal(SIGBUS, on_fatal);
    init_templates();
    mb_set_violation_handler(on_violation, NULL);
    A = mb_alloc_custom_new(&vt, &V, A_NAME);
    if (!A) {
        fprintf(stderr, "conform: mb_alloc_custom_new failed\n");
        return 2;
    }
    if (strcmp(mb_alloc_name(A), A_NAME) != 0)
        bad(P_IDENT, "instance named '%s'", mb_alloc_name(A));
    unsigned long churn_ops = 60000;
    const char *e = getenv("VERIFY_CHURN_OPS");
    if (e && *e)
        churn_ops = strtoul(e, NULL, 10);

    test_identity();
    current = P_REALLOC;
    test_realloc_contents();
    current = P_ZERO;
    test_size0();
    current = P_FAIL_INJ;
    test_fail_injected();
    current = P_FAIL_UNDER;
    test_fail_underlying();
    current = P_FAIL_OOM;
    test_fail_oom();
    current = P_OVERLAP;
    test_churn(churn_ops);
    current = P_CLEAN;

    mb_alloc_stats s;
    mb_alloc_get_stats(A, &s);
    if (s.live_blocks || s.live_bytes)
        bad(P_CLEAN, "%zu blocks / %zu bytes live after everything was freed", s.live_blocks,
            s.live_bytes);
    detail(P_ALIGN, "%" PRIu64 " membuf pointers and %" PRIu64 " allocator pointers checked",
           align_checks, V.under_checked);
    detail(P_USABLE, "usable size >= request for %" PRIu64 " allocator blocks", V.under_checked);
    detail(P_STATS, "%" PRIu64 " comparisons of all 7 counters with the model; final %" PRIu64
           " mallocs, %" PRIu64 " reallocs, %" PRIu64 " frees, %" PRIu64 " failures, peak %zu MiB",
           stats_checks, s.mallocs, s.reallocs, s.frees, s.failures, s.peak_bytes >> 20);
    detail(P_VTCALLS, "%" PRIu64 " malloc, %" PRIu64 " realloc, %" PRIu64
           " free calls; never asked for 0 bytes",
           V.n_malloc, V.n_realloc, V.n_free);
    if (V.zero_requests)
        bad(P_VTCALLS, "the allocator was asked for 0 bytes %" PRIu64 " time(s)", V.zero_requests);
    mb_alloc_delete(A);
    detail(P_CLEAN, "0 violation reports; live_blocks 0 at delete");

    print_rows();
    for (int p = 0; p < NPROP; p++)
        if (props[p].fails)
            return 1;
    return 0;
}
