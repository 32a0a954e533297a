/* The generic allocator layer: NULL handling, fault injection, statistics, the reporting
 * brackets. Families (system/custom, pool, guard) implement mb__family and see only real
 * requests. mb_malloc and mb_free, which try the pool's inline paths first, are in dispatch.c. */
#include "internal.h"

#include <stdatomic.h>
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
    atomic_flag_clear(&a->lock);
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

void *mb__malloc_generic(mb_alloc *a, size_t size)
{
    if (!a)
        return NULL;
    a->stats.mallocs++;
    if (inject_failure(a)) {
        a->stats.failures++;
        return NULL;
    }
    mb__report_enter();
    void *p = a->fam->malloc(a, size);
    if (p)
        mb__stats_live(&a->stats, size);
    else
        a->stats.failures++;
    mb__report_leave();
    return p;
}

/* mb_realloc's work, inside the reporting brackets. */
static void *realloc_counted(mb_alloc *a, void *p, size_t size)
{
    a->stats.reallocs++;
    void *q = NULL;
    size_t old = 0;
    if (inject_failure(a))
        q = NULL;
    else if (!p)
        q = a->fam->malloc(a, size);
    else
        q = a->fam->realloc(a, p, size, &old);
    if (!q) {
        a->stats.failures++;
        return NULL;
    }
    if (p)
        mb__stats_dead(&a->stats, old);
    mb__stats_live(&a->stats, size);
    return q; // cppcheck-suppress returnDanglingLifetime ; q is the family's block, not &old
}

/* Brackets even a no-op (a NULL), so any mb_realloc delivers reports still queued. */
void *mb_realloc(mb_alloc *a, void *p, size_t size)
{
    mb__report_enter();
    void *q = a ? realloc_counted(a, p, size) : NULL;
    mb__report_leave();
    return q;
}

/* Brackets even a no-op (a or p NULL), so any mb_free delivers reports still queued. */
void mb__free_generic(mb_alloc *a, void *p)
{
    mb__report_enter();
    size_t size = 0;
    if (a && p && a->fam->free(a, p, &size))
        mb__stats_free(&a->stats, size);
    mb__report_leave();
}

size_t mb__alloc_live_blocks(const mb_alloc *a)
{
    size_t in = a->stats.blocks_in, out = a->stats.blocks_out;
    if (a->fam->fast_counts) {
        size_t fin = 0, fout = 0;
        a->fam->fast_counts(a, &fin, &fout);
        in += fin;
        out += fout;
    }
    return in - out;
}

void mb_alloc_get_stats(const mb_alloc *a, mb_alloc_stats *out)
{
    if (!out)
        return;
    if (!a) {
        memset(out, 0, sizeof *out);
        return;
    }
    size_t fin = 0, fout = 0;
    if (a->fam->fast_counts)
        a->fam->fast_counts(a, &fin, &fout);
    out->live_blocks = (a->stats.blocks_in + fin) - (a->stats.blocks_out + fout);
    out->live_bytes = mb__stats_live_bytes(&a->stats);
    out->peak_bytes = a->stats.peak_bytes;
    out->mallocs = a->stats.mallocs + fin;
    out->reallocs = a->stats.reallocs;
    out->frees = a->stats.frees + fout;
    out->failures = a->stats.failures;
}

/* Brackets even a no-op, so any check delivers reports still queued. */
void mb_alloc_check(mb_alloc *a)
{
    mb__report_enter();
    if (a && a->fam->check)
        a->fam->check(a);
    mb__report_leave();
}

/* The leak report is made while the instance is still whole: at depth 0 it reaches the handler
 * before anything is released (so the default handler's abort leaves the blocks for ASan and
 * Valgrind to see, and a handler may even free them); what the destroy itself finds reaches the
 * handler after the instance is gone (and out of the registry). */
void mb_alloc_delete(mb_alloc *a)
{
    mb__report_enter();
    mb__report_leave(); /* reports still queued from before */
    if (!a)
        return;
    size_t blocks = mb__alloc_live_blocks(a);
    if (blocks > 0)
        mb__report(MB_LEAK, "%zu block%s (%zu bytes) still live in %s#%lu at delete", blocks,
                   blocks == 1 ? "" : "s", mb__stats_live_bytes(&a->stats), a->name, a->id);
    mb__report_enter();
    mb__registry_remove(a);
    a->fam->destroy(a);
    mb__report_leave();
}
