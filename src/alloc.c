/* The generic allocator layer: NULL handling, fault injection, statistics, violation reports.
 * Families (system/custom, pool, guard) implement mb__family and see only real requests. */
#include "internal.h"
#include "pool_impl.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mb_strerror(mb_status s)
{
    switch (s) {
    case MB_OK: return "success";
    case MB_ENOMEM: return "out of memory";
    case MB_EINVAL: return "invalid argument";
    case MB_EOVERFLOW: return "size overflow";
    }
    return "unknown status";
}

const char *mb_violation_name(mb_violation v)
{
    switch (v) {
    case MB_DOUBLE_FREE: return "double-free";
    case MB_MISMATCHED_FREE: return "mismatched-free";
    case MB_FOREIGN_FREE: return "foreign-free";
    case MB_OVERFLOW: return "overflow";
    case MB_UNDERFLOW: return "underflow";
    case MB_USE_AFTER_FREE: return "use-after-free";
    case MB_LEAK: return "leak";
    }
    return "unknown-violation";
}

static void default_handler(mb_violation v, const char *message, void *user)
{
    (void)v;
    (void)user;
    (void)fprintf(stderr, "membuf: %s\n", message); /* nothing better to do if stderr fails */
    (void)fflush(stderr);
    abort();
}

/* Process-wide; set it before creating instances in other threads. */
static mb_violation_fn g_handler = default_handler;
static void *g_handler_user;

mb_violation_fn mb_set_violation_handler(mb_violation_fn fn, void *user)
{
    mb_violation_fn old = g_handler;
    g_handler = fn ? fn : default_handler;
    g_handler_user = fn ? user : NULL;
    return old == default_handler ? NULL : old;
}

void mb__report(mb_violation v, const char *fmt, ...)
{
    /* Messages are a name, an address, a size and two instance labels: far below this. */
    char msg[512];
    int len = snprintf(msg, sizeof msg, "%s: ", mb_violation_name(v));
    size_t off = len > 0 ? (size_t)len : 0; /* names are short constants */
    va_list ap;
    va_start(ap, fmt);
    /* clang-analyzer's valist checker misses the va_start above (a known false positive). */
    int n = vsnprintf(msg + off, sizeof msg - off, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof msg - off)
        memcpy(msg + sizeof msg - 4, "...", 4); /* marked, never silently cut */
    g_handler(v, msg, g_handler_user);
}

static atomic_ulong g_next_id = 1;

bool mb__alloc_init(mb_alloc *a, const mb__family *fam, const char *name)
{
    memset(a, 0, sizeof *a);
    size_t len = strlen(name) + 1;
    a->name = mb__sys_malloc(len);
    if (!a->name)
        return false;
    memcpy(a->name, name, len);
    a->fam = fam;
    a->id = atomic_fetch_add(&g_next_id, 1);
    return true;
}

void mb__alloc_fini(mb_alloc *a)
{
    mb__sys_free(a->name);
    a->name = NULL;
}

const char *mb_alloc_name(const mb_alloc *a) { return a ? a->name : "(null)"; }

/* Decides whether this request fails by injection; counts it down otherwise. */
static bool inject_failure(mb_alloc *a)
{
    switch (a->fail_state) {
    case MB__FAIL_OFF: return false;
    case MB__FAIL_FAILING: return true;
    case MB__FAIL_ARMED_ONCE:
    case MB__FAIL_ARMED_ALWAYS:
        if (a->fail_countdown > 0) {
            a->fail_countdown--;
            return false;
        }
        a->fail_state = a->fail_state == MB__FAIL_ARMED_ONCE ? MB__FAIL_OFF : MB__FAIL_FAILING;
        return true;
    }
    return false;
}

void mb_alloc_fail_after(mb_alloc *a, uint64_t n, mb_fail_mode mode)
{
    if (!a)
        return;
    a->fail_countdown = n;
    a->fail_state = mode == MB_FAIL_ALWAYS ? MB__FAIL_ARMED_ALWAYS : MB__FAIL_ARMED_ONCE;
}

void mb_alloc_fail_never(mb_alloc *a)
{
    if (!a)
        return;
    a->fail_state = MB__FAIL_OFF;
    a->fail_countdown = 0;
}

/* mb_malloc through the family's vtable, with fault injection. */
static MB__NOINLINE void *malloc_via_family(mb_alloc *a, size_t size)
{
    if (!a)
        return NULL;
    a->stats.mallocs++;
    void *p = inject_failure(a) ? NULL : a->fam->malloc(a, size);
    if (!p) {
        a->stats.failures++;
        return NULL;
    }
    mb__stats_live(&a->stats, size);
    return p;
}

void *mb_malloc(mb_alloc *a, size_t size)
{
    int ci;
    if (MB__LIKELY(a != NULL) && a->fam == &mb__pool_family &&
        MB__LIKELY(a->fail_state == MB__FAIL_OFF) && (ci = class_of(size)) >= 0) {
        /* The pool's inline path: no vtable, no stack frame; anything it cannot serve (no free
         * block at hand) goes the generic way. */
        void *p = small_alloc_fast((pool_inst *)a, ci, size);
        if (MB__LIKELY(p != NULL)) {
            a->stats.fast_in++;
            mb__stats_bytes_in(&a->stats, size);
            return p;
        }
    }
    return malloc_via_family(a, size);
}

void *mb_realloc(mb_alloc *a, void *p, size_t size)
{
    if (!a)
        return NULL;
    a->stats.reallocs++;
    if (inject_failure(a)) {
        a->stats.failures++;
        return NULL;
    }
    if (!p) {
        void *q = a->fam->malloc(a, size);
        if (!q) {
            a->stats.failures++;
            return NULL;
        }
        mb__stats_live(&a->stats, size);
        return q;
    }
    size_t old = 0;
    void *q = a->fam->realloc(a, p, size, &old);
    if (!q) {
        a->stats.failures++;
        return NULL;
    }
    mb__stats_dead(&a->stats, old);
    mb__stats_live(&a->stats, size);
    return q; // cppcheck-suppress returnDanglingLifetime ; q is the family's block, not &old
}

/* mb_free through the family's vtable. */
static MB__NOINLINE void free_via_family(mb_alloc *a, void *p)
{
    size_t size = 0;
    if (a && p && a->fam->free(a, p, &size))
        mb__stats_free(&a->stats, size);
}

void mb_free(mb_alloc *a, void *p)
{
    if (MB__LIKELY(a != NULL) && a->fam == &mb__pool_family) {
        /* A pool's live small block is freed inline (p NULL never names one); anything else
         * goes through the vtable. */
        pool_inst *pi = (pool_inst *)a;
        uint16_t tag;
        pool_hdr *pl = live_small_block(pi, p, &tag);
        if (MB__LIKELY(pl != NULL)) {
            a->stats.fast_out++;
            a->stats.bytes_out += tag & TAG_SIZE;
            small_free_block(pi, pl, p, tag & TAG_SIZE);
            return;
        }
    }
    free_via_family(a, p);
}

void mb_alloc_get_stats(const mb_alloc *a, mb_alloc_stats *out)
{
    if (!out)
        return;
    if (!a) {
        memset(out, 0, sizeof *out);
        return;
    }
    out->live_blocks = mb__stats_live_blocks(&a->stats);
    out->live_bytes = mb__stats_live_bytes(&a->stats);
    out->peak_bytes = a->stats.peak_bytes;
    out->mallocs = a->stats.mallocs + a->stats.fast_in;
    out->reallocs = a->stats.reallocs;
    out->frees = a->stats.frees + a->stats.fast_out;
    out->failures = a->stats.failures;
}

void mb_alloc_check(mb_alloc *a)
{
    if (a && a->fam->check)
        a->fam->check(a);
}

void mb_alloc_delete(mb_alloc *a)
{
    if (!a)
        return;
    size_t blocks = mb__stats_live_blocks(&a->stats);
    if (blocks > 0)
        mb__report(MB_LEAK, "%zu block%s (%zu bytes) still live in %s#%lu at delete", blocks,
                   blocks == 1 ? "" : "s", mb__stats_live_bytes(&a->stats), a->name, a->id);
    a->fam->destroy(a);
}
