/* Buffer ops (fuzz_buf): init, resize, fill, fill-normal. */
#include "exec_int.h"
#include "refrng.h"

#include <math.h>
#include <string.h>

bool exec_init(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    size_t n = mbf_size(op);
    bool overflow = n > SIZE_MAX / sizeof(double);
    if (!overflow && (n > MBF_BUF_MAX_ELEMS || !affordable(r, n * sizeof(double), 0)))
        return false;
    release(r, sl);
    mb_alloc *a = inst_of(r, op->fam);
    uint64_t calls = under_calls(r, op->fam);
    bool injected = !overflow && n > 0 && model_request(r, op->fam, false);
    mb_status st = mb_buf_init(&sl->buf, a, n);
    if (sl->buf.alloc != a)
        fail(r, "mb_buf_init did not set alloc");
    if (overflow) {
        if (st != MB_EOVERFLOW || sl->buf.data || sl->buf.len)
            fail(r, "mb_buf_init of %zu elements: %s, want size overflow", n, mb_strerror(st));
        return true;
    }
    bool under = n > 0 && model_under(r, op->fam, n * sizeof(double), calls, injected);
    if (injected || under) {
        model_failed(r, op->fam);
        if (st != MB_ENOMEM || sl->buf.data || sl->buf.len)
            fail(r, "mb_buf_init with %s failure: %s, data %p len %zu, want out of memory",
                 injected ? "an injected" : "its allocator's", mb_strerror(st),
                 (void *)sl->buf.data, sl->buf.len);
        return true;
    }
    if (st == MB_ENOMEM && !sl->buf.data && !sl->buf.len && may_fail_anyway(r, op->fam))
        return true;
    if (st != MB_OK)
        fail(r, "mb_buf_init of %zu elements: %s", n, mb_strerror(st));
    if (sl->buf.len != n || (n && !sl->buf.data))
        fail(r, "mb_buf_init: len %zu data %p for %zu elements", sl->buf.len, (void *)sl->buf.data, n);
    sl->kind = SLOT_BUF;
    sl->fam = op->fam;
    sl->known = 0;
    if (n)
        block_in(r, op->fam, sl->buf.data, n * sizeof(double));
    ensure_cap(r, sl, n);
    return true;
}

bool exec_resize(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    if (sl->kind != SLOT_BUF)
        return false;
    size_t n = mbf_size(op), old_bytes = sl->buf.len * sizeof(double);
    bool overflow = n > SIZE_MAX / sizeof(double);
    if (!overflow && (n > MBF_BUF_MAX_ELEMS || !affordable(r, n * sizeof(double), old_bytes)))
        return false;
    verify_slot(r, op->slot);
    touch(r, op->slot);
    /* No request for the same length, for 0 (a free) or for an overflowing count. */
    bool requests = !overflow && n != 0 && n != sl->buf.len;
    uint64_t calls = under_calls(r, sl->fam);
    bool injected = requests && model_request(r, sl->fam, true);
    mb_buf old = sl->buf;
    mb_status st = mb_buf_resize(&sl->buf, n);
    bool under = requests && model_under(r, sl->fam, n * sizeof(double), calls, injected);
    if (overflow || injected || under) {
        if (st != (overflow ? MB_EOVERFLOW : MB_ENOMEM))
            fail(r, "mb_buf_resize from %zu to %zu: %s, want %s", old.len, n, mb_strerror(st),
                 overflow ? "size overflow" : "out of memory");
        if (memcmp(&old, &sl->buf, sizeof old) != 0)
            fail(r, "failed mb_buf_resize changed the buffer (data %p len %zu, was %p len %zu)",
                 (void *)sl->buf.data, sl->buf.len, (void *)old.data, old.len);
        if (!overflow)
            model_failed(r, sl->fam);
        return true; /* contents and memory checked after the op */
    }
    if (st == MB_ENOMEM && memcmp(&old, &sl->buf, sizeof old) == 0 && may_fail_anyway(r, sl->fam))
        return true;
    if (st != MB_OK)
        fail(r, "mb_buf_resize from %zu to %zu: %s", old.len, n, mb_strerror(st));
    if (sl->buf.len != n || (n == 0) != (sl->buf.data == NULL))
        fail(r, "mb_buf_resize to %zu: len %zu data %p", n, sl->buf.len, (void *)sl->buf.data);
    if (n == 0 && old.data) {
        block_out(r, sl->fam, old.data, old_bytes, true);
        sl->last = (unsigned char *)old.data;
    } else if (requests) {
        if (old.data)
            block_out(r, sl->fam, old.data, old_bytes, false);
        block_in(r, sl->fam, sl->buf.data, n * sizeof(double));
    }
    if (sl->known > n)
        sl->known = n;
    ensure_cap(r, sl, n);
    return true;
}

MBF_NO_COVERAGE bool exec_fill(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    if (sl->kind != SLOT_BUF || !worth_touching(r, sl->buf.len * sizeof(double)))
        return false;
    verify_slot(r, op->slot);
    touch(r, op->slot);
    double v = mbf_value(mbf_fill_values, op->a);
    if (mb_buf_fill(&sl->buf, v) != MB_OK)
        fail(r, "mb_buf_fill failed");
    for (size_t i = 0; i < sl->buf.len; i++)
        sl->expect[i] = v;
    sl->known = sl->buf.len;
    return true;
}

MBF_NO_COVERAGE bool exec_fill_normal(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    /* The model draws every value again: twice the work of a fill. */
    if (sl->kind != SLOT_BUF || r->draws + sl->buf.len > MBF_NORMAL_DRAWS ||
        !worth_touching(r, sl->buf.len * 2 * sizeof(double)))
        return false;
    r->draws += sl->buf.len;
    verify_slot(r, op->slot);
    touch(r, op->slot);
    double mean = mbf_value(mbf_means, op->b), sd = mbf_value(mbf_sds, op->c);
    bool valid = isfinite(mean) && isfinite(sd) && sd >= 0;
    mb_rng rng, model;
    mb_rng_seed(&rng, op->a);
    model = rng;
    mb_status st = mb_buf_fill_normal(&sl->buf, &rng, mean, sd);
    if (!valid) {
        if (st != MB_EINVAL || memcmp(&rng, &model, sizeof rng) != 0)
            fail(r, "mb_buf_fill_normal(mean %g, sd %g): %s, want invalid argument, rng untouched",
                 mean, sd, mb_strerror(st));
        return true;
    }
    if (st != MB_OK)
        fail(r, "mb_buf_fill_normal: %s", mb_strerror(st));
    /* The model's values come from the harness's own reference generator (refrng.c), not from
     * the library's, so a bug in rng.c cannot hide by being copied into the model. */
    mbf_refrng ref;
    mbf_ref_seed(&ref, op->a);
    for (size_t i = 0; i < sl->buf.len; i++)
        sl->expect[i] = mean + sd * mbf_ref_normal(&ref);
    sl->known = sl->buf.len;
    if (mb_rng_u64(&rng) != mbf_ref_next(&ref))
        fail(r, "mb_buf_fill_normal left its generator in another state than the model's (seed %u)",
             op->a);
    return true;
}
