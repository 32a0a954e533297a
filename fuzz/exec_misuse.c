/* Ops that commit violations (fuzz_guard): misuse (the scenarios of scenario.c), bad-free (a
 * wrong pointer, searched) and corrupt (a damaged guard block, found by a chosen call); and the
 * violation handler's calls back in (reenter). Each first turns off every fault injection (the
 * violation needs its calls to succeed), and demands exactly the reports it commits; the model
 * follows every block they make and free, so statistics stay exact throughout. */
#include "exec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V_(k) (1u << (k))

/* Whether family f may be called back into without upsetting the model's count of injected or
 * underlying failures. */
static bool quiet(const run *r, int f)
{
    if (r->m[f].injecting || f == r->deleting)
        return false;
    if (f == MBF_F_CUSTOM)
        return r->under[MBF_U_CUSTOM].state == 0;
    if (is_guard(f))
        return r->under[f == MBF_F_GUARD_SYS ? MBF_U_GUARD_SYS : MBF_U_GUARD_POOL].state == 0;
    return true;
}

/* A block of n bytes from family f that must be had (fault injection is off). */
static unsigned char *must_malloc(run *r, int f, size_t n, const char *what)
{
    mb_alloc *a = inst_of(r, f);
    model_request(r, f, false);
    unsigned char *p = mb_malloc(a, n);
    if (!p)
        fail(r, "%s: mb_malloc(%zu) on %s failed", what, n, mbf_family_names[f]);
    block_in(r, f, p, n);
    return p;
}

static void must_free(run *r, int f, unsigned char *p, size_t n)
{
    stats_out(r, f, n, true); /* before: the free may report, and the handler call back in */
    mb_free(inst_of(r, f), p);
    hist_out(r, f, p, n);
}

/* The handler of an op marked reenter, on each report: every quiet instance of the five families
 * that the input has made allocates, resizes,
 * frees and is checked, and the first live raw slot's block (of a quiet family, and not the one
 * being resized) is freed. None
 * of it may report; the reporting instance must be consistent again by now (membuf.h: reports
 * are delivered when the outermost call returns), and the oracles after the op see every slot
 * intact and every counter as modelled. */
void call_back_in(run *r)
{
    for (int f = 0; f < MBF_FAMILIES; f++) {
        if (!r->inst[f] || !quiet(r, f))
            continue;
        mb_alloc *a = r->inst[f];
        unsigned char *p = must_malloc(r, f, 24, "reenter");
        paint_bytes(p, 24, 7);
        model_request(r, f, true);
        unsigned char *q = mb_realloc(a, p, 600);
        if (!q)
            fail(r, "reenter: mb_realloc(600) on %s failed", mbf_family_names[f]);
        if (!intact(q, 24, 7))
            fail(r, "reenter: mb_realloc on %s lost the contents", mbf_family_names[f]);
        block_out(r, f, p, 24, false);
        block_in(r, f, q, 600);
        must_free(r, f, q, 600);
        mb_alloc_check(a);
    }
    for (int i = 0; i < MBF_SLOTS; i++) {
        if (r->s[i].kind == SLOT_RAW && quiet(r, r->s[i].fam) && i != r->busy) {
            release(r, &r->s[i]);
            break;
        }
    }
}

/* Before an op that commits a violation: no report pending, no fault injection of any kind. */
static void prepare(run *r, bool reenter)
{
    if (r->reports)
        fail(r, "report before the violation: %s", r->last_msg);
    disarm_all(r);
    r->reenter = reenter;
    r->sweep = true; /* anything may have been touched */
}

/* ---- misuse: the scenarios ----------------------------------------------------------- */

/* The skewed allocator (scenario.h): its mode, and the block it keeps while recycling. */
typedef struct skewer {
    unsigned mode;
    unsigned char *kept; /* a block as the allocator hands it out, or NULL */
} skewer;

typedef struct scene {
    unsigned char *v[2];
    size_t size[2];
    unsigned char local[MBF_LOCAL_BYTES];
    mb_alloc *temp, *twin;
    int temp_inner; /* the family under the scenario's guard; -1 for its custom instance or pool */
    size_t live[2], live_bytes[2]; /* the scenario's own instance's and the twin's live blocks */
    skewer skew;
} scene;

static size_t skew_size(const unsigned char *u)
{
    size_t n;
    memcpy(&n, u - 16, sizeof n);
    return n;
}

static void skew_release(unsigned char *u) { free(u - u[-1]); }

/* Gives the kept block back to libc. */
static void skew_flush(skewer *k)
{
    if (!k->kept)
        return;
    tool_show(k->kept, skew_size(k->kept));
    skew_release(k->kept);
    k->kept = NULL;
}

static void *skew_block(skewer *k, size_t n, bool off)
{
    unsigned char *u = k->kept;
    if ((k->mode & MBF_SKEW_RECYCLE) && u && skew_size(u) == n && u[-1] == (off ? 24 : 16)) {
        k->kept = NULL;
        tool_show(u, n);
        return u;
    }
    unsigned char *raw = malloc(n + 32);
    if (!raw)
        return NULL;
    u = raw + (off ? 24 : 16);
    memcpy(u - 16, &n, sizeof n);
    u[-1] = (unsigned char)(u - raw);
    return u;
}

static void *skew_malloc(void *ctx, size_t n)
{
    skewer *k = ctx;
    return skew_block(k, n, k->mode & 1);
}

static void skew_free(void *ctx, void *p)
{
    skewer *k = ctx;
    unsigned char *u = p;
    if (!(k->mode & MBF_SKEW_RECYCLE)) {
        skew_release(u);
        return;
    }
    skew_flush(k);
    tool_hide(u, skew_size(u));
    k->kept = u;
}

static void *skew_realloc(void *ctx, void *p, size_t n)
{
    skewer *k = ctx;
    unsigned char *u = p, *q = skew_block(k, n, k->mode & 2);
    size_t old = skew_size(u);
    if (!q)
        return NULL;
    memcpy(q, u, old < n ? old : n);
    skew_free(ctx, p);
    return q;
}

static const mb_alloc_vtable skew_vt = {skew_malloc, skew_realloc, skew_free};

static mb_alloc *scene_inst(run *r, scene *sc, int i)
{
    return i == MBF_I_TEMP ? sc->temp : i == MBF_I_TWIN ? sc->twin : inst_of(r, i);
}

static unsigned char *scene_ptr(scene *sc, const mbf_step *s)
{
    unsigned char *base = s->var == MBF_V_LOCAL ? sc->local : sc->v[s->var];
    return (unsigned char *)((uintptr_t)base + (uintptr_t)s->off);
}

/* The leak report of an instance deleted with blocks live names their number and bytes. */
static void leak_names(run *r, size_t blocks, size_t bytes, const char *what)
{
    char want[64];
    snprintf(want, sizeof want, "%zu block%s (%zu bytes)", blocks, blocks == 1 ? "" : "s", bytes);
    if (!strstr(r->last_msg, want))
        fail(r, "%s: a delete with %s live reports '%s'", what, want, r->last_msg);
}

static void run_step(run *r, scene *sc, const mbf_step *s, const char *what)
{
    unsigned char *p;
    switch (s->kind) {
    case MBF_S_MALLOC:
    case MBF_S_MALLOC_AGAIN:
        if (s->inst >= MBF_I_TEMP && sc->temp_inner < 0) {
            p = mb_malloc(scene_inst(r, sc, s->inst), s->n);
            if (!p)
                fail(r, "%s: mb_malloc(%zu) on the scenario's own instance failed", what, s->n);
        } else if (s->inst == MBF_I_TEMP) { /* its inner block is a block of the family under it */
            model_request(r, sc->temp_inner, false);
            p = mb_malloc(sc->temp, s->n);
            if (!p)
                fail(r, "%s: mb_malloc(%zu) on a new guard failed", what, s->n);
            block_in(r, sc->temp_inner, p - MBF_GUARD_FRONT, s->n + MBF_GUARD_FRONT + MBF_GUARD_CANARY);
            hist_put(r, MBF_I_TEMP, p, REC_LIVE);
        } else {
            p = must_malloc(r, s->inst, s->n, what);
        }
        if (s->inst >= MBF_I_TEMP) {
            memset(p, 0xA5, s->n); /* all of it ours: the memory tool objects otherwise */
            sc->live[s->inst - MBF_I_TEMP]++;
            sc->live_bytes[s->inst - MBF_I_TEMP] += s->n;
        }
        if (s->kind == MBF_S_MALLOC_AGAIN && p != sc->v[MBF_V_P])
            fail(r, "%s: the skewed allocator did not hand out the block it kept", what);
        sc->v[s->var] = p;
        sc->size[s->var] = s->n;
        break;
    case MBF_S_FREE:
        if (s->inst >= MBF_I_TEMP) {
            mb_free(scene_inst(r, sc, s->inst), scene_ptr(sc, s));
            sc->live[s->inst - MBF_I_TEMP]--;
            sc->live_bytes[s->inst - MBF_I_TEMP] -= sc->size[s->var];
        } else
            must_free(r, s->inst, scene_ptr(sc, s), sc->size[s->var]);
        break;
    case MBF_S_BAD_FREE: mb_free(scene_inst(r, sc, s->inst), scene_ptr(sc, s)); break;
    case MBF_S_BAD_REALLOC:
        model_request(r, s->inst, true);
        if (mb_realloc(scene_inst(r, sc, s->inst), scene_ptr(sc, s), s->n))
            fail(r, "%s: mb_realloc of a bad pointer succeeded", what);
        model_failed(r, s->inst);
        break;
    case MBF_S_POKE: scene_ptr(sc, s)[0] ^= s->x; break;
    case MBF_S_SET: scene_ptr(sc, s)[0] = s->x; break;
    case MBF_S_CHECK: mb_alloc_check(scene_inst(r, sc, s->inst)); break;
    case MBF_S_CHURN:
        for (size_t k = 0; k < s->n; k++)
            must_free(r, s->inst, must_malloc(r, s->inst, s->size, what), s->size);
        break;
    case MBF_S_NEW_GUARD:
        sc->temp = mb_alloc_guard_new(inst_of(r, s->inst));
        sc->temp_inner = s->inst;
        if (!sc->temp)
            fail(r, "%s: cannot create a guard", what);
        break;
    case MBF_S_NEW_SKEWED: {
        char name[MBF_SKEW_NAME_LEN + 1];
        memset(name, 'x', MBF_SKEW_NAME_LEN);
        memcpy(name, MBF_SKEW_NAME_HEAD, strlen(MBF_SKEW_NAME_HEAD));
        name[MBF_SKEW_NAME_LEN] = 0;
        sc->temp = mb_alloc_custom_new(&skew_vt, &sc->skew, name);
        sc->temp_inner = -1;
        if (!sc->temp)
            fail(r, "%s: cannot create a custom instance", what);
        break;
    }
    case MBF_S_NEW_POOL:
        sc->temp = mb_alloc_pool_new();
        sc->temp_inner = -1;
        if (!sc->temp)
            fail(r, "%s: cannot create a pool", what);
        break;
    case MBF_S_NEW_TWIN:
        sc->twin = mb_alloc_custom_new(&skew_vt, &sc->skew, "twin");
        if (!sc->twin)
            fail(r, "%s: cannot create a custom instance", what);
        break;
    case MBF_S_SKEW: sc->skew.mode = s->x; break;
    case MBF_S_MALLOC_NULL:
        if (mb_malloc(scene_inst(r, sc, s->inst), s->n))
            fail(r, "%s: mb_malloc(%zu) succeeded, want a failure", what, s->n);
        break;
    case MBF_S_REALLOC:
        p = mb_realloc(scene_inst(r, sc, s->inst), sc->v[s->var], s->n);
        if (!p)
            fail(r, "%s: mb_realloc(%zu) failed", what, s->n);
        if (s->inst >= MBF_I_TEMP)
            sc->live_bytes[s->inst - MBF_I_TEMP] += s->n - sc->size[s->var];
        sc->v[s->var] = p;
        sc->size[s->var] = s->n;
        break;
    case MBF_S_DELETE:
        for (int k = 0; k < 2; k++) {
            r->last_msg[0] = '\0';
            mb_alloc_delete(k ? sc->twin : sc->temp);
            if (sc->live[k])
                leak_names(r, sc->live[k], sc->live_bytes[k], what);
            sc->live[k] = sc->live_bytes[k] = 0;
        }
        sc->temp = sc->twin = NULL;
        if (sc->temp_inner < 0)
            break;
        /* the guard reported the leak, then gave its blocks back to the family under it */
        p = sc->v[MBF_V_P];
        block_out(r, sc->temp_inner, p - MBF_GUARD_FRONT,
                  sc->size[MBF_V_P] + MBF_GUARD_FRONT + MBF_GUARD_CANARY, true);
        hist_put(r, MBF_I_TEMP, p, REC_UNKNOWN);
        break;
    case MBF_S_EXPECT: expect_reports(r, s->expect < 0 ? 0 : V_(s->expect), -1, what); break;
    }
}

bool exec_misuse(run *r, const mbf_op *op)
{
    if (r->misused) /* one per input */
        return false;
    r->misused = true;
    prepare(r, op->c);
    mbf_scenario steps;
    mbf_misuse_scenario(op, &steps);
    scene sc;
    memset(&sc, 0, sizeof sc);
    for (size_t k = 0; k < steps.n; k++)
        run_step(r, &sc, &steps.steps[k], mbf_violation_names[op->a % MBF_NMISUSE]);
    skew_flush(&sc.skew);
    r->reenter = false;
    return true;
}

/* ---- bad-free: a wrong pointer ------------------------------------------------------- */

bool exec_bad_free(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    unsigned char local[MBF_BAD_LOCAL];
    int x = op->fam, unit = op->a;
    const unsigned char *anchor = sl->kind == SLOT_RAW   ? sl->raw
                                  : sl->kind == SLOT_BUF ? (const unsigned char *)sl->buf.data
                                                         : sl->last;
    uintptr_t base = (uintptr_t)anchor;
    if (unit == MBF_UNIT_INNER)
        base -= MBF_GUARD_FRONT;
    if (unit == MBF_UNIT_STACK)
        base = (uintptr_t)local + sizeof local / 2;
    if (!anchor && unit != MBF_UNIT_STACK)
        return false;
    unsigned char *q = (unsigned char *)(base + (uintptr_t)mbf_bad_free_delta(op));
    size_t named;
    unsigned allowed = q ? expect_bad(r, x, q, &named) : 0;
    if (!allowed) /* one of x's live blocks: a free like any other, not this op's business */
        return false;
    prepare(r, op->d);
    mb_alloc *a = inst_of(r, x);
    uint64_t calls = under_calls(r, x);
    if (op->c == MBF_PATH_FREE) {
        mb_free(a, q);
    } else {
        model_request(r, x, true);
        if (mb_realloc(a, q, 1))
            fail(r, "bad-free: mb_realloc of %p through %s succeeded", (void *)q, mbf_family_names[x]);
        model_failed(r, x);
    }
    if (!op->d && under_calls(r, x) != calls)
        fail(r, "bad-free: %s asked its underlying allocator for memory", mbf_family_names[x]);
    r->reenter = false;
    if (named != SIZE_MAX && r->reports == 1 && r->kinds[0] == MB_DOUBLE_FREE) {
        char want[40];
        snprintf(want, sizeof want, "(%zu bytes)", named);
        if (!strstr(r->last_msg, want))
            fail(r, "bad-free: the double free of a block freed at %zu bytes names another size: %s",
                 named, r->last_msg);
    }
    expect_reports(r, allowed, -1, "bad-free");
    return true;
}

/* ---- corrupt: a damaged guard block, found ------------------------------------------- */

/* Deletes guard family g with its blocks: the slots holding them are emptied (the guard gave
 * every block back to its inner instance), and the family starts again with a new instance. */
static void delete_guard(run *r, int g)
{
    r->deleting = g; /* the handler leaves it alone (its second report comes when it is gone) */
    mb_alloc_delete(r->inst[g]);
    r->deleting = -1;
    int inner = g == MBF_F_GUARD_SYS ? MBF_I_INNER_SYS : MBF_I_INNER_POOL;
    for (int i = 0; i < MBF_SLOTS; i++) {
        slot *sl = &r->s[i];
        if (sl->kind == SLOT_RAW && sl->fam == g) {
            hist_put(r, inner, sl->raw - MBF_GUARD_FRONT, REC_UNKNOWN);
            sl->last = sl->raw;
            sl->kind = SLOT_EMPTY;
            sl->raw = NULL;
            sl->size = 0;
            sl->reported = false;
        }
    }
    forget_instance(r, g);
}

/* n 1-byte blocks made and freed through guard g, each pushing the oldest out of its quarantine
 * once it is full. */
static void churn(run *r, int g, int n)
{
    for (int k = 0; k < n; k++)
        must_free(r, g, must_malloc(r, g, 1, "corrupt"), 1);
}

/* Leaves a 1-byte block written after its free as the oldest of guard g's quarantine, so that
 * the next block freed into it pushes that one out: the block freed and written, then
 * MBF_GUARD_QUARANTINE - 1 blocks freed after it (whatever was older has been pushed out by
 * then: every damage older than this op was found when it was made). */
static void damaged_oldest(run *r, int g)
{
    unsigned char *q = must_malloc(r, g, 1, "corrupt");
    must_free(r, g, q, 1);
    q[0] ^= 0x5A;
    churn(r, g, MBF_GUARD_QUARANTINE - 1);
}

static bool guard_has_live(const run *r, int g)
{
    for (int i = 0; i < MBF_SLOTS; i++)
        if (r->s[i].kind == SLOT_RAW && r->s[i].fam == g)
            return true;
    return false;
}

bool exec_corrupt(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    int i = op->slot, finder = mbf_corrupt_finder(op);
    if (sl->kind != SLOT_RAW || !is_guard(sl->fam) || (op->a == MBF_REGION_FREED && sl->size == 0))
        return false;
    int g = sl->fam;
    unsigned char *p = sl->raw;
    size_t n = sl->size;
    mb_violation kind;
    long at = mbf_corrupt_at(op, n, &kind);
    /* A block whose damage was reported once is never reported again (until it is freed: its
     * stay in the quarantine is a new episode). */
    bool once = sl->reported && op->a != MBF_REGION_FREED;
    /* a live block found by evict: its free reports its damage, then the eviction's */
    bool twice = finder == MBF_FIND_EVICT && op->a != MBF_REGION_FREED;
    verify_slot(r, i);
    prepare(r, op->d);
    mb_alloc *a = inst_of(r, g);
    if (op->a == MBF_REGION_FREED)
        release(r, sl); /* into the quarantine: the write below is after the free */
    p[at] ^= 0x5A;
    bool leak = false;
    switch (finder) {
    case MBF_FIND_FREE: release(r, sl); break;
    case MBF_FIND_REALLOC: raw_realloc(r, i, n); break;
    case MBF_FIND_CHECK: mb_alloc_check(a); break;
    case MBF_FIND_EVICT:
        if (twice) { /* the block's free finds its damage, then evicts */
            damaged_oldest(r, g);
            release(r, sl);
        } else {
            churn(r, g, MBF_CHURN);
        }
        break;
    default:
        leak = guard_has_live(r, g);
        delete_guard(r, g);
        break;
    }
    r->reenter = false;
    if (leak)
        expect_reports(r, V_(MB_LEAK), once ? -1 : (int)kind, "corrupt");
    else if (twice)
        expect_reports(r, V_(once ? MB_USE_AFTER_FREE : kind), once ? -1 : MB_USE_AFTER_FREE, "corrupt");
    else
        expect_reports(r, once ? 0 : V_(kind), -1, "corrupt");
    if (finder == MBF_FIND_CHECK && op->a != MBF_REGION_FREED && sl->kind == SLOT_RAW && sl->raw == p)
        sl->reported = true; /* still live (unless the handler freed it), and damaged */
    return true;
}
