/* Raw block ops (fuzz_alloc, fuzz_guard): malloc, realloc, write, free, check, bulk. */
#include "exec_int.h"

#include <stdlib.h>

/* Raw sizes: returns 0 to make the request, 1 to skip it, 2 if it must fail (above
 * PTRDIFF_MAX: no allocator is asked, the request fails). */
static int raw_class(size_t n) { return n >= MBF_RAW_HUGE ? 2 : n > MBF_RAW_MAX ? 1 : 0; }

/* What a request that returned p (NULL: failed) must have done: fail exactly when fault
 * injection, the underlying allocator or the size says so (sys-fail-after: maybe anyway); a
 * block is 16-aligned. Returns whether p is a new block. */
MBF_NO_COVERAGE static bool request_result(run *r, int f, void *p, size_t n, bool injected, uint64_t calls,
                           const char *call)
{
    bool under = model_under(r, f, n, calls, injected);
    bool must_fail = injected || under || raw_class(n) == 2;
    if (!p) {
        /* A guard's request can fail after its inner instance handed out a block and took it
         * back (its own bookkeeping failed): an address the harness never saw may now be a
         * freed block of the inner instance. */
        if (is_guard(f))
            r->hist_full = true;
        if (must_fail)
            model_failed(r, f);
        else if (!may_fail_anyway(r, f))
            fail(r, "%s(%zu) on %s failed", call, n, mbf_family_names[f]);
        return false;
    }
    if (must_fail)
        fail(r, "%s(%zu) on %s succeeded, want a failure (%s)", call, n, mbf_family_names[f],
             injected ? "injected" : under ? "its allocator failed" : "too large");
    if ((uintptr_t)p % 16)
        fail(r, "%s(%zu) on %s returned %p, not 16-aligned", call, n, mbf_family_names[f], p);
    return true;
}

bool exec_malloc(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    size_t n = mbf_size(op);
    int c = raw_class(n);
    if (c == 1 || (c == 0 && !affordable(r, n, sl->kind == SLOT_RAW ? sl->size : 0)))
        return false;
    release(r, sl);
    mb_alloc *a = inst_of(r, op->fam);
    uint64_t calls = under_calls(r, op->fam);
    bool injected = model_request(r, op->fam, false);
    unsigned char *p = mb_malloc(a, n);
    if (!request_result(r, op->fam, p, n, injected, calls, "mb_malloc"))
        return true;
    sl->kind = SLOT_RAW;
    sl->fam = op->fam;
    sl->raw = p;
    sl->size = n;
    sl->reported = false;
    block_in(r, op->fam, p, n);
    paint(sl, ++r->gen);
    return true;
}

/* mb_realloc of slot i's raw block (NULL if empty) to n bytes, which must keep its contents;
 * the new block is repainted. Returns whether it succeeded. */
bool raw_realloc(run *r, int i, size_t n)
{
    slot *sl = &r->s[i];
    bool had = sl->kind == SLOT_RAW;
    int fam = fam_of(r, i);
    mb_alloc *a = inst_of(r, fam);
    if (had)
        verify_slot(r, i);
    touch(r, i);
    uint64_t calls = under_calls(r, fam);
    bool injected = model_request(r, fam, true);
    /* The statistics as they will be if it succeeds, before the call (it may report damage it
     * finds, and the handler call back in); put back if it fails. */
    inst_model saved = r->m[fam];
    if (had)
        stats_out(r, fam, sl->size, false);
    stats_in(r, fam, n);
    r->busy = i;
    unsigned char *q = mb_realloc(a, sl->raw, n);
    r->busy = -1;
    if (!q)
        r->m[fam] = saved;
    if (!request_result(r, fam, q, n, injected, calls, "mb_realloc"))
        return false; /* the old block is checked after the op */
    if (had && q == sl->raw && is_guard(fam))
        fail(r, "mb_realloc through %s did not move the block", mbf_family_names[fam]);
    if (had) {
        unsigned char *old = sl->raw;
        size_t keep = sl->size < n ? sl->size : n;
        sl->raw = q;
        verify_raw(r, i, keep);
        hist_out(r, fam, old, sl->size);
    }
    hist_in(r, fam, q);
    sl->reported = false;
    sl->kind = SLOT_RAW;
    sl->fam = fam;
    sl->raw = q;
    sl->size = n;
    paint(sl, ++r->gen);
    return true;
}

bool exec_realloc(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    size_t n = mbf_size(op);
    int c = raw_class(n);
    if (c == 1 || sl->kind == SLOT_BUF)
        return false;
    if (c == 0 && !affordable(r, n, sl->kind == SLOT_RAW ? sl->size : 0))
        return false;
    raw_realloc(r, op->slot, n);
    return true;
}

MBF_NO_COVERAGE bool exec_write(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    if (sl->kind == SLOT_EMPTY ||
        !worth_touching(r, sl->kind == SLOT_RAW ? sl->size : sl->buf.len * sizeof(double)))
        return false;
    verify_slot(r, op->slot);
    touch(r, op->slot);
    if (sl->kind == SLOT_RAW) {
        paint(sl, ++r->gen);
    } else {
        for (size_t i = 0; i < sl->buf.len; i++)
            sl->buf.data[i] = sl->expect[i] = (double)i * 0.25 - 3.0;
        sl->known = sl->buf.len;
    }
    return true;
}

bool exec_free(run *r, const mbf_op *op)
{
    if (r->s[op->slot].kind == SLOT_EMPTY)
        return false;
    release(r, &r->s[op->slot]);
    return true;
}

/* mb_alloc_check sweeps the live blocks and, for a guard, its quarantine (at most 1 MiB). */
bool exec_check(run *r, const mbf_op *op)
{
    int f = fam_of(r, op->slot);
    size_t cost = r->m[f].st.live_bytes;
    if (is_guard(f))
        cost += r->m[f].freed < ((size_t)1 << 20) ? r->m[f].freed : ((size_t)1 << 20);
    if (!r->inst[f] || !worth_touching(r, cost))
        return false; /* a new instance has nothing to check */
    mb_alloc_check(r->inst[f]);
    r->sweep = true;
    return true;
}

/* count blocks of one size on one instance at once, then all freed in the op's order. */
bool exec_bulk(run *r, const mbf_op *op)
{
    size_t n = mbf_size(op), count = (size_t)op->a * 4;
    int f = op->fam;
    size_t other = f == MBF_F_POOL ? 0 : count;
    if (n > MBF_BULK_MAX_SIZE || count == 0 || n * count > MBF_BULK_BYTES ||
        r->bulk_blocks + count > MBF_BULK_BLOCKS || r->bulk_other + other > MBF_BULK_OTHER_BLOCKS ||
        !affordable(r, n * count, 0))
        return false;
    r->bulk_blocks += count;
    r->bulk_other += other;
    mb_alloc *a = inst_of(r, f);
    /* count <= MBF_BULK_BLOCKS (above); no bulk runs inside another (handlers never bulk) */
    static unsigned char *blk[MBF_BULK_BLOCKS];
    static size_t order[MBF_BULK_BLOCKS];
    uint32_t gen0 = r->gen + 1;
    r->gen += (uint32_t)count;
    for (size_t i = 0; i < count; i++) {
        uint64_t calls = under_calls(r, f);
        bool injected = model_request(r, f, false);
        blk[i] = mb_malloc(a, n);
        if (!request_result(r, f, blk[i], n, injected, calls, "bulk: mb_malloc"))
            continue;
        block_in(r, f, blk[i], n);
        paint_bytes(blk[i], n, gen0 + (uint32_t)i);
    }
    check_stats(r, f);
    mbf_bulk_order(op, count, order);
    for (size_t k = 0; k < count; k++) {
        size_t i = order[k];
        if (!blk[i])
            continue;
        if (!intact(blk[i], n, gen0 + (uint32_t)i))
            fail(r, "bulk: block #%zu of %zu (%zu bytes, %s) changed", i, count, n,
                 mbf_family_names[f]);
        check_block_tools(r, f, blk[i], n, "a bulk block");
        mb_free(a, blk[i]);
        block_out(r, f, blk[i], n, true);
    }
    r->sweep = true;
    return true;
}
