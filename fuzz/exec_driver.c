/* The driver: instances (created when an input first uses them), the custom family's vtable
 * with a schedule of its own, fault injection ops, renew, api-edge, the violation handler and
 * the run loop. */
#include "exec_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the custom family: libc through a vtable that fails on its own schedule ----------- */

static void *u_malloc(void *ctx, size_t n)
{
    under_vt *u = ctx;
    u->calls++;
    return sched_next(&u->s) ? NULL : malloc(n);
}

static void *u_realloc(void *ctx, void *p, size_t n)
{
    under_vt *u = ctx;
    u->calls++;
    return sched_next(&u->s) ? NULL : realloc(p, n);
}

static void u_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static const mb_alloc_vtable under_vtable = {u_malloc, u_realloc, u_free};

static void *c_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void c_free(void *ctx, void *p) { (void)ctx; free(p); }
static void *c_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static const mb_alloc_vtable libc_vt = {c_malloc, c_realloc, c_free};
static const mb_alloc_vtable null_fn_vt = {c_malloc, NULL, c_free};

/* ---- instances ----------------------------------------------------------------------- */

static const char *const inst_names[NINST] = {"system", "pool", "guard(system)", "guard(pool)",
                                              "custom", "system", "pool"};

static mb_alloc *new_instance(run *r, int i)
{
    switch (i) {
    case MBF_F_SYSTEM:
    case MBF_I_INNER_SYS: return mb_alloc_system_new();
    case MBF_F_POOL:
    case MBF_I_INNER_POOL: return mb_alloc_pool_new();
    case MBF_F_GUARD_SYS: return mb_alloc_guard_new(inst_of(r, MBF_I_INNER_SYS));
    case MBF_F_GUARD_POOL: return mb_alloc_guard_new(inst_of(r, MBF_I_INNER_POOL));
    default: return mb_alloc_custom_new(&under_vtable, &r->vt, "custom");
    }
}

static void check_name(const run *r, const mb_alloc *a, int i)
{
    if (strcmp(mb_alloc_name(a), inst_names[i]) != 0)
        fail(r, "instance named '%s', want '%s'", mb_alloc_name(a), inst_names[i]);
}

mb_alloc *inst_of(run *r, int i)
{
    if (i < MBF_FAMILIES)
        r->fams |= 1u << i; /* used by the op: its statistics are checked after it */
    if (r->inst[i])
        return r->inst[i];
    mb_alloc *a = new_instance(r, i);
    if (!a)
        fail(r, "cannot create instance %s", inst_names[i]);
    check_name(r, a, i);
    r->inst[i] = a;
    return a;
}

void forget_instance(run *r, int i)
{
    r->inst[i] = NULL;
    r->serial[i]++;
    if (i < MBF_FAMILIES)
        memset(&r->m[i], 0, sizeof r->m[i]);
}

/* No fault injection of any kind from here on (until an op arms one again). */
void disarm_all(run *r)
{
    mb_internal_fail_never();
    r->sys_armed = false;
    for (int f = 0; f < MBF_FAMILIES; f++) {
        if (r->inst[f])
            mb_alloc_fail_never(r->inst[f]);
        r->m[f].inject.state = 0;
        r->m[f].injecting = false;
    }
    for (int u = 0; u < MBF_UNDERS; u++)
        r->under[u].state = 0;
    r->vt.s.state = 0;
    for (int i = MBF_I_INNER_SYS; i < NINST; i++)
        if (r->inst[i])
            mb_alloc_fail_never(r->inst[i]);
}

/* ---- fault injection ------------------------------------------------------------------ */

bool exec_fail_after(run *r, const mbf_op *op)
{
    int f = fam_of(r, op->slot);
    mb_alloc_fail_after(inst_of(r, f), op->a, op->b ? MB_FAIL_ALWAYS : MB_FAIL_ONCE);
    sched_arm(&r->m[f].inject, op->a, op->b);
    r->m[f].injecting = true;
    return true;
}

bool exec_fail_never(run *r, const mbf_op *op)
{
    int f = fam_of(r, op->slot);
    mb_alloc_fail_never(inst_of(r, f));
    r->m[f].inject.state = 0;
    r->m[f].injecting = false;
    return true;
}

bool exec_sys_fail(run *r, const mbf_op *op)
{
    /* Every instance exists before membuf's own allocations start failing, as it would in a
     * program that set up first. */
    for (int i = 0; i < NINST; i++)
        inst_of(r, i);
    mb_internal_fail_after(op->a);
    r->sys_armed = true;
    return true;
}

bool exec_under_fail(run *r, const mbf_op *op)
{
    int u = op->fam, mode = op->b;
    sched_arm(&r->under[u], op->a, mode);
    if (u == MBF_U_CUSTOM) {
        sched_arm(&r->vt.s, op->a, mode);
        return true;
    }
    mb_alloc *in = inst_of(r, u == MBF_U_GUARD_SYS ? MBF_I_INNER_SYS : MBF_I_INNER_POOL);
    if (mode == 2)
        mb_alloc_fail_never(in);
    else
        mb_alloc_fail_after(in, op->a, mode ? MB_FAIL_ALWAYS : MB_FAIL_ONCE);
    return true;
}

/* renew: a fresh instance for family f when nothing of the old one is live. */
bool exec_renew(run *r, const mbf_op *op)
{
    int f = op->fam;
    for (int i = 0; i < MBF_SLOTS; i++)
        if (r->s[i].kind != SLOT_EMPTY && r->s[i].fam == f)
            return false;
    if (r->m[f].st.live_blocks != 0)
        return false;
    mb_alloc *a = new_instance(r, f);
    if (!a) {
        if (!r->sys_armed)
            fail(r, "cannot create a new %s instance", mbf_family_names[f]);
        return true; /* the old one stays */
    }
    check_name(r, a, f);
    mb_alloc_stats st;
    mb_alloc_get_stats(a, &st);
    if (st.live_blocks || st.live_bytes || st.peak_bytes || st.mallocs || st.reallocs || st.frees ||
        st.failures)
        fail(r, "a new %s instance does not start with zero statistics", mbf_family_names[f]);
    if (r->inst[f])
        mb_alloc_delete(r->inst[f]); /* nothing live: no report */
    forget_instance(r, f);
    r->inst[f] = a;
    r->fams |= 1u << f;
    return true;
}

/* ---- api-edge ------------------------------------------------------------------------- */

static void distinct_names(const run *r, const char *(*name)(int), int n, const char *what)
{
    const char *seen[8] = {0};
    for (int s = 0; s < n; s++) {
        seen[s] = name(s);
        if (!seen[s] || !*seen[s])
            fail(r, "api-edge: %s(%d) is empty", what, s);
        for (int t = 0; t < s; t++)
            if (strcmp(seen[s], seen[t]) == 0)
                fail(r, "api-edge: %s(%d) and (%d) are both '%s'", what, s, t, seen[s]);
    }
}

static const char *status_name(int s) { return mb_strerror((mb_status)s); }
static const char *violation_name(int v) { return mb_violation_name((mb_violation)v); }

/* Calls whose results the contract fixes for NULL or invalid arguments. */
bool exec_api_edge(run *r, const mbf_op *op)
{
    mb_alloc *a = inst_of(r, fam_of(r, op->slot));
    slot *sl = &r->s[op->slot];
    int x = 0;
    mb_alloc_stats st;
    mb_buf b;
    switch (op->a) {
    case 0:
        if (mb_malloc(NULL, 16) || mb_realloc(NULL, &x, 16) || mb_realloc(NULL, NULL, 16))
            fail(r, "api-edge: an allocation through a NULL instance did not return NULL");
        mb_free(NULL, &x);
        mb_free(a, NULL); /* no-op: no statistic moves (checked after the op) */
        break;
    case 1:
        memset(&st, 0xA5, sizeof st);
        mb_alloc_get_stats(NULL, &st);
        if (st.live_blocks || st.live_bytes || st.peak_bytes || st.mallocs || st.reallocs ||
            st.frees || st.failures)
            fail(r, "api-edge: mb_alloc_get_stats(NULL) did not zero the statistics");
        mb_alloc_get_stats(a, NULL);
        mb_alloc_check(NULL);
        mb_alloc_delete(NULL);
        mb_alloc_fail_after(NULL, 1, MB_FAIL_ALWAYS);
        mb_alloc_fail_never(NULL);
        break;
    case 2:
        if (mb_buf_init(NULL, a, 4) != MB_EINVAL)
            fail(r, "api-edge: mb_buf_init(NULL, ...) is not MB_EINVAL");
        memset(&b, 0xA5, sizeof b);
        if (mb_buf_init(&b, NULL, 4) != MB_EINVAL || b.data || b.len || b.alloc)
            fail(r, "api-edge: mb_buf_init with a NULL instance: not MB_EINVAL and empty");
        mb_buf_free(&b);
        mb_buf_free(NULL);
        break;
    case 3: {
        mb_rng rng;
        mb_rng_seed(&rng, 1);
        memset(&b, 0, sizeof b); /* no instance */
        if (mb_buf_resize(NULL, 1) != MB_EINVAL || mb_buf_resize(&b, 1) != MB_EINVAL ||
            mb_buf_fill(NULL, 1.0) != MB_EINVAL || mb_buf_fill_normal(NULL, &rng, 0, 1) != MB_EINVAL)
            fail(r, "api-edge: a buffer call with a NULL buffer or instance is not MB_EINVAL");
        if (sl->kind == SLOT_BUF && mb_buf_fill_normal(&sl->buf, NULL, 0, 1) != MB_EINVAL)
            fail(r, "api-edge: mb_buf_fill_normal with a NULL generator is not MB_EINVAL");
        mb_rng_seed(NULL, 1);
        if (mb_rng_u64(NULL) != 0 || !isnan(mb_rng_double(NULL)) || !isnan(mb_rng_normal(NULL)))
            fail(r, "api-edge: a NULL generator does not give 0, NaN and NaN");
        break;
    }
    case 4: distinct_names(r, status_name, MB_EOVERFLOW + 2, "mb_strerror"); break; /* and one unknown */
    case 5: distinct_names(r, violation_name, MB_MISALIGNED + 1, "mb_violation_name"); break;
    case 6: {
        if (mb_alloc_guard_new(NULL) || mb_alloc_custom_new(NULL, NULL, "x") ||
            mb_alloc_custom_new(&null_fn_vt, NULL, "x"))
            fail(r, "api-edge: a constructor with a NULL argument did not return NULL");
        mb_alloc *c = mb_alloc_custom_new(&libc_vt, NULL, NULL);
        if (c) { /* NULL under sys-fail-after */
            if (strcmp(mb_alloc_name(c), "custom") != 0)
                fail(r, "api-edge: a custom instance named NULL is called '%s'", mb_alloc_name(c));
            mb_alloc_delete(c);
        } else if (!r->sys_armed) {
            fail(r, "api-edge: mb_alloc_custom_new failed");
        }
        break;
    }
    default: {
        mb_violation_fn mine = mb_set_violation_handler(NULL, NULL); /* the default, for a moment */
        if (!mine)
            fail(r, "api-edge: the harness's violation handler was not installed");
        if (mb_set_violation_handler(mine, r) != NULL)
            fail(r, "api-edge: replacing the default handler did not return NULL");
        break;
    }
    }
    return true;
}

/* ---- the run --------------------------------------------------------------------------- */

static void handler(mb_violation v, const char *msg, void *user)
{
    run *r = user;
    if (r->reports < 8)
        r->kinds[r->reports] = v;
    r->reports++;
    snprintf(r->last_msg, sizeof r->last_msg, "%s", msg);
    for (const unsigned char *c = (const unsigned char *)msg; *c; c++)
        if (*c < 0x20 || *c == 0x7f) /* the contract: one line, names escaped */
            fail(r, "a report holds control character 0x%02x at byte %td (of %zu)", *c,
                 (const char *)c - msg, strlen(msg));
    if (r->d != MBF_D_GUARD)
        fail(r, "unexpected violation: %s", msg);
    /* Reentered: a report the op's call still had queued, delivered by a call the handler made
     * (report.c: such a call delivers the rest of the queue). The handler's own calls report
     * nothing: the op's exact count of reports checks that. */
    if (r->reenter && !r->reentering) {
        r->reentering = true;
        call_back_in(r);
        r->reentering = false;
    }
}

#define MBF_OP(id, text, fn, targets, ...) [MBF_##id] = exec_##fn,
static bool (*const executors[MBF_NKINDS])(run *, const mbf_op *) = {
#include "ops_table.h"
};
#undef MBF_OP

static void teardown(run *r)
{
    r->op_index = r->prog->n;
    disarm_all(r);
    for (int i = 0; i < MBF_SLOTS; i++) {
        release(r, &r->s[i]);
        free(r->s[i].expect);
        r->s[i].expect = NULL;
        r->s[i].cap = 0;
    }
    verify_all(r); /* the leak oracle: every instance must now hold nothing */
    for (int f = 0; f < MBF_FAMILIES; f++)
        if (r->inst[f])
            mb_alloc_check(r->inst[f]);
    for (int f = MBF_FAMILIES - 1; f >= 0; f--)
        if (r->inst[f])
            mb_alloc_delete(r->inst[f]);
    for (int i = MBF_I_INNER_SYS; i < NINST; i++) {
        if (!r->inst[i])
            continue;
        mb_alloc_stats st;
        mb_alloc_get_stats(r->inst[i], &st);
        if (st.live_blocks)
            fail(r, "guard(%s) left %zu blocks in its inner instance", inst_names[i], st.live_blocks);
        mb_alloc_delete(r->inst[i]);
    }
    if (r->reports)
        fail(r, "unexpected violation: %s", r->last_msg);
}

size_t mbf_run(mbf_dialect d, const mbf_prog *p, mbf_trace *trace)
{
    static run r; /* static: 8 slots of models; reset each run */
    static record hist[HIST_LIMIT];
    static uint32_t hslot[HIST_CAP];
    /* This input's tag: 1 to 2^HIST_TAG_BITS - 1; when the tags run out, every slot is freed
     * (tag 0) and they start again. */
    uint32_t epoch = r.epoch + 1;
    if (epoch >> HIST_TAG_BITS) {
        memset(hslot, 0, sizeof hslot);
        epoch = 1;
    }
    memset(&r, 0, sizeof r);
    r.epoch = epoch;
    r.hist = hist;
    r.hslot = hslot;
    r.d = d;
    r.prog = p;
    r.deleting = -1;
    r.busy = -1;
    r.trace = trace;
    if (trace)
        memset(trace, 0, sizeof *trace);
    mb_violation_fn old = mb_set_violation_handler(handler, &r);
    for (r.op_index = 0; r.op_index < p->n; r.op_index++) {
        const mbf_op *op = &p->ops[r.op_index];
        bool acted = executors[op->kind](&r, op);
        if (trace)
            trace->acted[r.op_index] = acted;
        if (r.reports)
            fail(&r, "unexpected violation: %s", r.last_msg);
        after_op(&r);
    }
    teardown(&r);
    mb_set_violation_handler(old, NULL);
    return p->n;
}

int mbf_fuzz_one(mbf_dialect d, const uint8_t *data, size_t size)
{
    static mbf_prog prog;
    mbf_decode(d, data, size, &prog);
    mbf_run(d, &prog, NULL);
    return 0;
}

/* Huge requests must return NULL, not abort, under the sanitizers' allocators. ASan's quarantine
 * of freed blocks: an input frees a few MiB at most (bounds.h: 1.5 MiB of requests, instances of
 * a few KiB each), so 16 MiB still holds every block freed in the input and the ones before it,
 * while a small quarantine keeps the memory ASan cycles through warm: the default 256 MiB made
 * every allocation of the harness touch fresh pages, and the fuzzer's memory climb. For the same
 * reason ASan keeps the pages it has instead of giving idle ones back to the system every few
 * seconds (each madvise a TLB flush on every core, each page then faulted in again: a twentieth
 * of a fuzz_guard execution); the memory in use stays what the bounds make it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:quarantine_size_mb=16:allocator_release_to_os_interval_ms=-1";
}
const char *__msan_default_options(void);
const char *__msan_default_options(void) { return "allocator_may_return_null=1"; }
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "allocator_may_return_null=1"; }
