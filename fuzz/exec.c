/* The executor and its oracles, always on (never assert()):
 *   - a model of every slot: a buffer's length and the values it must hold (the prefix kept by a
 *     resize, fill values, fill-normal values recomputed from the same seed with our own rng),
 *     a raw block's size and the byte pattern written into it; after every op every live block
 *     is compared with the model, which catches overlap, corruption and lost data;
 *   - statistics: every counter of every instance (live_blocks, live_bytes, peak_bytes,
 *     mallocs, reallocs, frees, failures) equals the model's, which counts each request the op
 *     must make (a buffer resize to its own length or to 0 makes none; an overflowing count none);
 *   - fault injection, modelled exactly: `fail-after n once|always` lets exactly n more requests
 *     through, then fails the next one (or every later one); a request fails if and only if the
 *     model says it is injected or it is above PTRDIFF_MAX; MB_EOVERFLOW exactly for overflowing
 *     counts; MB_EINVAL exactly for invalid fill-normal arguments; every failed call leaves the
 *     slot unchanged;
 *   - violations: any report fails the clean targets; in fuzz_guard a misuse op must produce
 *     exactly the one violation it commits, and nothing else may be reported;
 *   - at the end every slot is freed and every instance must hold live_blocks == 0 (the leak
 *     oracle, which also sees pool blocks where LeakSanitizer cannot).
 * Requests too big to be worth making (raw 1 MiB .. 2^60 bytes, buffers over 2^16 elements that do
 * not overflow) are skipped, so inputs stay fast and within libFuzzer's RSS limit. Raw patterns are
 * periodic (see make_template), so checking every live block after every op is a memcmp. */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include "exec.h"
#include "refrng.h"

#include <membuf.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAW_MAX ((size_t)1 << 20)
#define RAW_HUGE ((size_t)1 << 60)
#define BUF_MAX_ELEMS ((size_t)1 << 16)
#define BIG_REQUEST ((size_t)4 << 10)
#define INPUT_BUDGET ((size_t)4 << 20)
#define LIVE_CAP ((size_t)2 << 20)

enum { SLOT_EMPTY, SLOT_BUF, SLOT_RAW };
enum { F_SYSTEM, F_POOL, F_GUARD_SYS, F_GUARD_POOL, F_CUSTOM };

typedef struct slot {
    int kind;
    int fam;
    mb_buf buf;
    double *expect; /* model of buf.data[0 .. known) */
    size_t known, cap;
    unsigned char *raw;
    size_t size;
    uint32_t gen;
} slot;

/* What an instance's statistics and fault injection must be, per the model. */
typedef struct inst_model {
    mb_alloc_stats st;
    int fail_state; /* 0 off, 1 armed once, 2 armed always, 3 failing */
    uint64_t countdown;
    bool injecting; /* fail-after since the last fail-never (or renew): call_back_in keeps off */
    size_t freed; /* bytes freed or moved away so far: what a guard's quarantine may hold */
} inst_model;

typedef struct run {
    mbf_dialect d;
    const mbf_prog *prog;
    size_t op_index;
    mb_alloc *inst[MBF_FAMILIES];
    mb_alloc *inner_sys, *inner_pool;
    inst_model m[MBF_FAMILIES];
    size_t work; /* bytes requested, filled or written so far in this input (INPUT_BUDGET) */
    bool sys_armed; /* sys-fail-after: any request may fail (see may_fail_anyway) */
    slot s[MBF_SLOTS];
    uint32_t gen;
    int reports;
    mb_violation last_kind;
    char last_msg[1024];
    bool reenter;    /* the current misuse op's handler calls back in (call_back_in) */
    bool reentering; /* call_back_in is running */
} run;

static void fail(const run *r, const char *fmt, ...)
{
    fprintf(stderr, "membuf-fuzz: %s: op %zu (", mbf_dialect_name(r->d), r->op_index);
    if (r->op_index < r->prog->n) {
        char line[160] = "";
        FILE *m = fmemopen(line, sizeof line, "w");
        if (m) {
            mbf_print_op(m, &r->prog->ops[r->op_index]);
            fclose(m);
            line[strcspn(line, "\n")] = 0;
            fputs(line, stderr);
        }
    } else {
        fputs("teardown", stderr);
    }
    fputs("): ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

static void call_back_in(run *r);

static void handler(mb_violation v, const char *msg, void *user)
{
    run *r = user;
    r->reports++;
    r->last_kind = v;
    snprintf(r->last_msg, sizeof r->last_msg, "%s", msg);
    if (r->d != MBF_D_GUARD)
        fail(r, "unexpected violation: %s", msg);
    if (r->reentering)
        fail(r, "a call made by the violation handler reported: %s", msg);
    if (r->reenter) {
        r->reentering = true;
        call_back_in(r);
        r->reentering = false;
    }
}

/* ---- the custom family: libc through the vtable -------------------------------------- */

static void *c_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void *c_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static void c_free(void *ctx, void *p) { (void)ctx; free(p); }
static const mb_alloc_vtable libc_vt = {c_malloc, c_realloc, c_free};

/* ---- model helpers --------------------------------------------------------------------- */

/* The oracles' inner loops run after every op: keep libFuzzer's comparison tracing out of them
 * (it would dominate the run time and adds no useful feedback). */
#if defined(__clang__)
#define MBF_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define MBF_NO_COVERAGE
#endif

/* A raw block's pattern: byte i is (gen * 131 + i * 7 + 1) mod 256, periodic in i with period
 * 256 and in gen with period 256, so 256 templates of 256 bytes make painting and checking
 * memcpy/memcmp. */
static unsigned char templates[256][256];

MBF_NO_COVERAGE static const unsigned char *template_of(uint32_t gen)
{
    static bool ready;
    if (!ready) {
        for (size_t g = 0; g < 256; g++)
            for (size_t i = 0; i < 256; i++)
                templates[g][i] = (unsigned char)(g * 131u + i * 7u + 1u);
        ready = true;
    }
    return templates[gen % 256];
}

/* Paints n bytes at p with generation gen's pattern. */
MBF_NO_COVERAGE static void paint_bytes(unsigned char *p, size_t n, uint32_t gen)
{
    size_t done = n < 256 ? n : 256;
    memcpy(p, template_of(gen), done);
    /* Doubling copies of the painted prefix: few calls, however big the block. */
    while (done < n) {
        size_t len = n - done < done ? n - done : done;
        memcpy(p + done, p, len);
        done += len;
    }
}

MBF_NO_COVERAGE static void paint(slot *sl, uint32_t gen)
{
    sl->gen = gen;
    paint_bytes(sl->raw, sl->size, gen);
}

/* Whether n bytes at p still carry generation gen's pattern: the first 256 bytes against the
 * template, the rest against the bytes 256 before them (the pattern's period) in one memcmp,
 * which is one interceptor call under the sanitizers. */
MBF_NO_COVERAGE static bool intact(const unsigned char *p, size_t n, uint32_t gen)
{
    size_t head = n < 256 ? n : 256;
    return memcmp(p, template_of(gen), head) == 0 && (n <= 256 || memcmp(p + 256, p, n - 256) == 0);
}

/* Checks bytes [0, n) of slot i's block against its pattern; names the first changed byte. */
MBF_NO_COVERAGE static void verify_raw(const run *r, int i, size_t n)
{
    const slot *sl = &r->s[i];
    if (intact(sl->raw, n, sl->gen))
        return;
    const unsigned char *t = template_of(sl->gen);
    for (size_t k = 0; k < n; k++)
        if (sl->raw[k] != t[k % 256])
            fail(r, "raw block in slot %d (%zu bytes, %s) changed at byte %zu", i, sl->size,
                 mbf_family_names[sl->fam], k);
}

MBF_NO_COVERAGE static void verify_buf(const run *r, int i)
{
    const slot *sl = &r->s[i];
    if ((sl->buf.len == 0) != (sl->buf.data == NULL))
        fail(r, "buffer in slot %d: len %zu with data %p", i, sl->buf.len, (void *)sl->buf.data);
    if (sl->known && memcmp(sl->buf.data, sl->expect, sl->known * sizeof(double)) != 0)
        for (size_t k = 0; k < sl->known; k++)
            if (memcmp(&sl->buf.data[k], &sl->expect[k], sizeof(double)) != 0)
                fail(r, "buffer in slot %d (%s): element %zu is %.17g, model says %.17g", i,
                     mbf_family_names[sl->fam], k, sl->buf.data[k], sl->expect[k]);
}

MBF_NO_COVERAGE static void check_stats(run *r, int f)
{
    mb_alloc_stats st;
    const mb_alloc_stats *m = &r->m[f].st;
    mb_alloc_get_stats(r->inst[f], &st);
    if (st.live_blocks != m->live_blocks || st.live_bytes != m->live_bytes ||
        st.peak_bytes != m->peak_bytes)
        fail(r, "%s statistics: %zu live blocks / %zu bytes / peak %zu, model %zu / %zu / %zu",
             mbf_family_names[f], st.live_blocks, st.live_bytes, st.peak_bytes, m->live_blocks,
             m->live_bytes, m->peak_bytes);
    if (st.mallocs != m->mallocs || st.reallocs != m->reallocs || st.frees != m->frees ||
        st.failures != m->failures)
        fail(r,
             "%s statistics: %llu mallocs, %llu reallocs, %llu frees, %llu failures; model %llu, "
             "%llu, %llu, %llu",
             mbf_family_names[f], (unsigned long long)st.mallocs,
             (unsigned long long)st.reallocs, (unsigned long long)st.frees,
             (unsigned long long)st.failures, (unsigned long long)m->mallocs,
             (unsigned long long)m->reallocs, (unsigned long long)m->frees,
             (unsigned long long)m->failures);
}

/* The model's copy of the counters, taken as they are: after a misuse op, whose frees and
 * reports the guard decides. */
static void resync(run *r)
{
    for (int f = 0; f < MBF_FAMILIES; f++) {
        mb_alloc_get_stats(r->inst[f], &r->m[f].st);
    }
}

MBF_NO_COVERAGE static void verify_all(run *r)
{
    size_t blocks[MBF_FAMILIES] = {0}, bytes[MBF_FAMILIES] = {0};
    for (int i = 0; i < MBF_SLOTS; i++) {
        slot *sl = &r->s[i];
        if (sl->kind == SLOT_RAW) {
            verify_raw(r, i, sl->size);
            blocks[sl->fam]++;
            bytes[sl->fam] += sl->size;
        } else if (sl->kind == SLOT_BUF) {
            verify_buf(r, i);
            if (sl->buf.data) {
                blocks[sl->fam]++;
                bytes[sl->fam] += sl->buf.len * sizeof(double);
            }
        }
    }
    for (int f = 0; f < MBF_FAMILIES; f++) {
        if (r->m[f].st.live_blocks != blocks[f] || r->m[f].st.live_bytes != bytes[f])
            fail(r, "harness: %s model holds %zu blocks / %zu bytes, slots %zu / %zu",
                 mbf_family_names[f], r->m[f].st.live_blocks, r->m[f].st.live_bytes, blocks[f],
                 bytes[f]);
        check_stats(r, f);
    }
}

/* ---- the model of requests and fault injection ------------------------------------------ */

/* One request (mb_malloc or mb_realloc call) on instance f: returns whether fault injection
 * fails it, advancing the model exactly as mb_alloc_fail_after documents. */
static bool model_request(run *r, int f, bool is_realloc)
{
    inst_model *m = &r->m[f];
    if (is_realloc)
        m->st.reallocs++;
    else
        m->st.mallocs++;
    switch (m->fail_state) {
    case 0: return false;
    case 3: return true;
    default:
        if (m->countdown > 0) {
            m->countdown--;
            return false;
        }
        m->fail_state = m->fail_state == 1 ? 0 : 3;
        return true;
    }
}

static void model_failed(run *r, int f) { r->m[f].st.failures++; }

/* A request the model expected to succeed failed: acceptable only while membuf's internal
 * allocations are made to fail (sys-fail-after), and then counted as the failure it is. */
static bool may_fail_anyway(run *r, int f)
{
    if (!r->sys_armed)
        return false;
    model_failed(r, f);
    return true;
}

/* A block of `size` bytes becomes live (replacing one of `old` bytes when replacing). */
static void model_live(run *r, int f, bool replacing, size_t old, size_t size)
{
    mb_alloc_stats *st = &r->m[f].st;
    if (replacing) {
        st->live_blocks--;
        st->live_bytes -= old;
        r->m[f].freed += old;
    }
    st->live_blocks++;
    st->live_bytes += size;
    if (st->live_bytes > st->peak_bytes)
        st->peak_bytes = st->live_bytes;
}

/* Whether to fill or write `bytes`: big ones only while the input is within its budget. */
static bool worth_touching(run *r, size_t bytes)
{
    if (bytes > BIG_REQUEST && r->work > INPUT_BUDGET)
        return false;
    r->work += bytes;
    return true;
}

static void model_freed(run *r, int f, size_t size)
{
    mb_alloc_stats *st = &r->m[f].st;
    st->live_blocks--;
    st->live_bytes -= size;
    st->frees++;
    r->m[f].freed += size;
}

/* mb_alloc_check sweeps the live blocks and, for a guard, its quarantine (at most 1 MiB). */
static void op_check(run *r, int f)
{
    size_t cost = r->m[f].st.live_bytes;
    if (f == F_GUARD_SYS || f == F_GUARD_POOL)
        cost += r->m[f].freed < ((size_t)1 << 20) ? r->m[f].freed : ((size_t)1 << 20);
    if (worth_touching(r, cost))
        mb_alloc_check(r->inst[f]);
}

static size_t live_total(const run *r)
{
    size_t n = 0;
    for (int f = 0; f < MBF_FAMILIES; f++)
        n += r->m[f].st.live_bytes;
    return n;
}

/* Whether to make a request of `bytes` that replaces `old` live bytes: the per-input budgets. */
static bool affordable(run *r, size_t bytes, size_t old)
{
    if (bytes > BIG_REQUEST && (r->work > INPUT_BUDGET || live_total(r) - old + bytes > LIVE_CAP))
        return false;
    r->work += bytes;
    return true;
}

static void ensure_cap(const run *r, slot *sl, size_t n)
{
    if (n <= sl->cap)
        return;
    double *e = realloc(sl->expect, n * sizeof(double));
    if (!e)
        fail(r, "harness out of memory for a model of %zu elements", n);
    sl->expect = e;
    sl->cap = n;
}

static void release(run *r, slot *sl)
{
    if (sl->kind == SLOT_BUF) {
        size_t bytes = sl->buf.len * sizeof(double);
        bool had = sl->buf.data != NULL;
        mb_buf_free(&sl->buf);
        if (sl->buf.data || sl->buf.len)
            fail(r, "mb_buf_free left data %p len %zu", (void *)sl->buf.data, sl->buf.len);
        mb_buf_free(&sl->buf); /* idempotent */
        if (had)
            model_freed(r, sl->fam, bytes);
    } else if (sl->kind == SLOT_RAW) {
        verify_raw(r, (int)(sl - r->s), sl->size);
        mb_free(r->inst[sl->fam], sl->raw);
        model_freed(r, sl->fam, sl->size);
    }
    sl->kind = SLOT_EMPTY;
    sl->raw = NULL;
    sl->size = 0;
    sl->known = 0;
}

static int fam_of(const run *r, int i)
{
    return r->s[i].kind == SLOT_EMPTY ? i % MBF_FAMILIES : r->s[i].fam;
}

/* ---- ops ------------------------------------------------------------------------------- */

static void op_init(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    size_t n = mbf_size(op);
    bool overflow = n > SIZE_MAX / sizeof(double);
    if (!overflow && (n > BUF_MAX_ELEMS || !affordable(r, n * sizeof(double), 0)))
        return;
    release(r, sl);
    bool injected = !overflow && n > 0 && model_request(r, op->fam, false);
    mb_status st = mb_buf_init(&sl->buf, r->inst[op->fam], n);
    if (sl->buf.alloc != r->inst[op->fam])
        fail(r, "mb_buf_init did not set alloc");
    if (overflow) {
        if (st != MB_EOVERFLOW || sl->buf.data || sl->buf.len)
            fail(r, "mb_buf_init of %zu elements: %s, want size overflow", n, mb_strerror(st));
        return;
    }
    if (injected) {
        model_failed(r, op->fam);
        if (st != MB_ENOMEM || sl->buf.data || sl->buf.len)
            fail(r, "mb_buf_init with an injected failure: %s, data %p len %zu, want out of memory",
                 mb_strerror(st), (void *)sl->buf.data, sl->buf.len);
        return;
    }
    if (st == MB_ENOMEM && !sl->buf.data && !sl->buf.len && may_fail_anyway(r, op->fam))
        return;
    if (st != MB_OK)
        fail(r, "mb_buf_init of %zu elements: %s", n, mb_strerror(st));
    if (sl->buf.len != n || (n && !sl->buf.data))
        fail(r, "mb_buf_init: len %zu data %p for %zu elements", sl->buf.len, (void *)sl->buf.data, n);
    sl->kind = SLOT_BUF;
    sl->fam = op->fam;
    sl->known = 0;
    if (n)
        model_live(r, op->fam, false, 0, n * sizeof(double));
    ensure_cap(r, sl, n);
}

static void op_resize(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    if (sl->kind != SLOT_BUF)
        return;
    size_t n = mbf_size(op), old_bytes = sl->buf.len * sizeof(double);
    bool overflow = n > SIZE_MAX / sizeof(double);
    if (!overflow && (n > BUF_MAX_ELEMS || !affordable(r, n * sizeof(double), old_bytes)))
        return;
    /* No request for the same length, for 0 (a free) or for an overflowing count. */
    bool requests = !overflow && n != 0 && n != sl->buf.len;
    bool injected = requests && model_request(r, sl->fam, true);
    mb_buf old = sl->buf;
    mb_status st = mb_buf_resize(&sl->buf, n);
    if (overflow || injected) {
        if (st != (overflow ? MB_EOVERFLOW : MB_ENOMEM))
            fail(r, "mb_buf_resize from %zu to %zu: %s, want %s", old.len, n, mb_strerror(st),
                 overflow ? "size overflow" : "out of memory (injected)");
        if (memcmp(&old, &sl->buf, sizeof old) != 0)
            fail(r, "failed mb_buf_resize changed the buffer (data %p len %zu, was %p len %zu)",
                 (void *)sl->buf.data, sl->buf.len, (void *)old.data, old.len);
        if (injected)
            model_failed(r, sl->fam);
        return; /* contents checked by verify_all */
    }
    if (st == MB_ENOMEM && memcmp(&old, &sl->buf, sizeof old) == 0 && may_fail_anyway(r, sl->fam))
        return;
    if (st != MB_OK)
        fail(r, "mb_buf_resize from %zu to %zu: %s", old.len, n, mb_strerror(st));
    if (sl->buf.len != n || (n == 0) != (sl->buf.data == NULL))
        fail(r, "mb_buf_resize to %zu: len %zu data %p", n, sl->buf.len, (void *)sl->buf.data);
    if (n == 0 && old.data)
        model_freed(r, sl->fam, old_bytes);
    else if (requests)
        model_live(r, sl->fam, old.data != NULL, old_bytes, n * sizeof(double));
    if (sl->known > n)
        sl->known = n;
    ensure_cap(r, sl, n);
}

MBF_NO_COVERAGE static void op_fill(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    if (sl->kind != SLOT_BUF || !worth_touching(r, sl->buf.len * sizeof(double)))
        return;
    double v = mbf_value(mbf_fill_values, op->a);
    if (mb_buf_fill(&sl->buf, v) != MB_OK)
        fail(r, "mb_buf_fill failed");
    for (size_t i = 0; i < sl->buf.len; i++)
        sl->expect[i] = v;
    sl->known = sl->buf.len;
}

MBF_NO_COVERAGE static void op_fill_normal(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    /* The model draws every value again: twice the work of a fill. */
    if (sl->kind != SLOT_BUF || !worth_touching(r, sl->buf.len * 2 * sizeof(double)))
        return;
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
        return;
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
}

/* Raw sizes: returns 0 to make the request, 1 to skip it, 2 if it must fail (above
 * PTRDIFF_MAX: no allocator is asked, the request fails). */
static int raw_class(size_t n) { return n >= RAW_HUGE ? 2 : n > RAW_MAX ? 1 : 0; }

static void op_malloc(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    size_t n = mbf_size(op);
    int c = raw_class(n);
    if (c == 1 || (c == 0 && !affordable(r, n, sl->kind == SLOT_RAW ? sl->size : 0)))
        return;
    release(r, sl);
    bool must_fail = model_request(r, op->fam, false) || c == 2;
    unsigned char *p = mb_malloc(r->inst[op->fam], n);
    if (!p) {
        if (must_fail)
            model_failed(r, op->fam);
        else if (!may_fail_anyway(r, op->fam))
            fail(r, "mb_malloc(%zu) on %s failed", n, mbf_family_names[op->fam]);
        return;
    }
    if (must_fail)
        fail(r, "mb_malloc(%zu) on %s succeeded, want a failure (%s)", n,
             mbf_family_names[op->fam], c == 2 ? "too large" : "injected");
    if ((uintptr_t)p % 16)
        fail(r, "mb_malloc(%zu) returned %p, not 16-aligned", n, (void *)p);
    sl->kind = SLOT_RAW;
    sl->fam = op->fam;
    sl->raw = p;
    sl->size = n;
    model_live(r, op->fam, false, 0, n);
    paint(sl, ++r->gen);
}

static void op_realloc(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    size_t n = mbf_size(op);
    int c = raw_class(n);
    if (c == 1 || sl->kind == SLOT_BUF)
        return;
    bool had = sl->kind == SLOT_RAW;
    if (c == 0 && !affordable(r, n, had ? sl->size : 0))
        return;
    int fam = fam_of(r, op->slot);
    bool must_fail = model_request(r, fam, true) || c == 2;
    unsigned char *q = mb_realloc(r->inst[fam], sl->raw, n);
    if (!q) {
        if (must_fail)
            model_failed(r, fam);
        else if (!may_fail_anyway(r, fam))
            fail(r, "mb_realloc(%zu) on %s failed", n, mbf_family_names[fam]);
        return; /* verify_all checks the old block is intact */
    }
    if (must_fail)
        fail(r, "mb_realloc(%zu) on %s succeeded, want a failure (%s)", n, mbf_family_names[fam],
             c == 2 ? "too large" : "injected");
    if ((uintptr_t)q % 16)
        fail(r, "mb_realloc returned %p, not 16-aligned", (void *)q);
    if (had && q == sl->raw && (fam == F_GUARD_SYS || fam == F_GUARD_POOL))
        fail(r, "mb_realloc through %s did not move the block", mbf_family_names[fam]);
    if (had) {
        size_t keep = sl->size < n ? sl->size : n;
        sl->raw = q;
        verify_raw(r, op->slot, keep);
    }
    model_live(r, fam, had, had ? sl->size : 0, n);
    sl->kind = SLOT_RAW;
    sl->fam = fam;
    sl->raw = q;
    sl->size = n;
    paint(sl, ++r->gen);
}

MBF_NO_COVERAGE static void op_write(run *r, const mbf_op *op)
{
    slot *sl = &r->s[op->slot];
    if (!worth_touching(r, sl->kind == SLOT_RAW ? sl->size : sl->buf.len * sizeof(double)))
        return;
    if (sl->kind == SLOT_RAW) {
        paint(sl, ++r->gen);
    } else if (sl->kind == SLOT_BUF) {
        for (size_t i = 0; i < sl->buf.len; i++)
            sl->buf.data[i] = sl->expect[i] = (double)i * 0.25 - 3.0;
        sl->known = sl->buf.len;
    }
}

/* ---- bulk ------------------------------------------------------------------------------ */

#define BULK_MAX_SIZE ((size_t)4096)



/* count blocks of one size on one instance at once, then all freed in the op's order. */
static void op_bulk(run *r, const mbf_op *op)
{
    size_t n = mbf_size(op), count = (size_t)op->a * 4;
    int f = op->fam;
    if (n > BULK_MAX_SIZE || count == 0 || !affordable(r, n * count, 0))
        return;
    unsigned char **blk = calloc(count, sizeof *blk);
    size_t *order = malloc(count * sizeof *order);
    if (!blk || !order)
        fail(r, "harness: out of memory");
    uint32_t gen0 = r->gen + 1;
    r->gen += (uint32_t)count;
    for (size_t i = 0; i < count; i++) {
        bool injected = model_request(r, f, false);
        blk[i] = mb_malloc(r->inst[f], n);
        if (!blk[i]) {
            if (injected)
                model_failed(r, f);
            else if (!may_fail_anyway(r, f))
                fail(r, "bulk: mb_malloc(%zu) #%zu on %s failed", n, i, mbf_family_names[f]);
            continue;
        }
        if (injected)
            fail(r, "bulk: mb_malloc(%zu) #%zu on %s succeeded, want a failure (injected)", n, i,
                 mbf_family_names[f]);
        if ((uintptr_t)blk[i] % 16)
            fail(r, "bulk: mb_malloc(%zu) returned %p, not 16-aligned", n, (void *)blk[i]);
        model_live(r, f, false, 0, n);
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
        mb_free(r->inst[f], blk[i]);
        model_freed(r, f, n);
    }
    free(order);
    free(blk);
}

/* ---- misuse (fuzz_guard) --------------------------------------------------------------- */

static void expect_one(run *r, mb_violation want, const char *what)
{
    if (r->reports != 1 || r->last_kind != want)
        fail(r, "%s: expected exactly one %s, got %d report(s)%s%s", what,
             mb_violation_name(want), r->reports, r->reports ? ", last: " : "",
             r->reports ? r->last_msg : "");
    r->reports = 0;
}

/* Misuse aimed at the plain pool (misuse arg bit 7), whose own checks must catch it: a second
 * free, a free through another pool instance, a free of an address inside a block or on the
 * stack, a realloc of a freed block. Bit 6 uses a large block (the pool's large map and its
 * ring of freed addresses). */
static void misuse_pool(run *r, const mbf_op *op)
{
    uint8_t a = op->a;
    mb_alloc *pool = r->inst[F_POOL], *other = r->inner_pool;
    bool large = (a & 0x40) && op->slot != MBF_MISMATCHED_FREE;
    size_t n = large ? 600 + (size_t)(a % 61) : (size_t)(a % 61) + 1;
    const char *what = mbf_violation_names[op->slot];
    unsigned char *p = mb_malloc(pool, n);
    if (!p)
        fail(r, "mb_malloc(%zu) on pool failed before a misuse", n);
    switch ((mbf_misuse)op->slot) {
    case MBF_DOUBLE_FREE:
        mb_free(pool, p);
        mb_free(pool, p);
        expect_one(r, MB_DOUBLE_FREE, what);
        break;
    case MBF_DOUBLE_FREE_LATE: /* through realloc */
        mb_free(pool, p);
        if (mb_realloc(pool, p, n + 1))
            fail(r, "mb_realloc of a freed pool block succeeded");
        expect_one(r, MB_DOUBLE_FREE, what);
        break;
    case MBF_MISMATCHED_FREE: /* another pool instance: the registry names the owner */
        mb_free(other, p);
        expect_one(r, MB_MISMATCHED_FREE, what);
        mb_free(pool, p);
        break;
    default: /* MBF_FOREIGN_FREE */
        if (a & 2) {
            unsigned char local[64];
            mb_free(pool, local + (a >> 2) % 32);
        } else {
            mb_free(pool, p + 8); /* inside the block: never a block start (those are 16-aligned) */
        }
        expect_one(r, MB_FOREIGN_FREE, what);
        mb_free(pool, p);
        break;
    }
}

static void op_misuse(run *r, const mbf_op *op)
{
    uint8_t a = op->a;
    mb_alloc *g = r->inst[(a & 1) ? F_GUARD_POOL : F_GUARD_SYS];
    mb_alloc *other = r->inst[(a & 1) ? F_GUARD_SYS : F_GUARD_POOL];
    size_t n = (size_t)(a % 61) + 1;
    const char *what = mbf_violation_names[op->slot];
    if (r->reports)
        fail(r, "report before the misuse: %s", r->last_msg);
    if (r->sys_armed) { /* the misuse needs its allocations to succeed */
        mb_internal_fail_never();
        r->sys_armed = false;
    }
    if ((a & 0x80) && op->slot <= MBF_FOREIGN_FREE) {
        misuse_pool(r, op);
        return;
    }
    unsigned char *p;
    switch ((mbf_misuse)op->slot) {
    case MBF_DOUBLE_FREE:
        p = mb_malloc(g, n);
        mb_free(g, p);
        mb_free(g, p);
        expect_one(r, MB_DOUBLE_FREE, what);
        break;
    case MBF_DOUBLE_FREE_LATE: {
        p = mb_malloc(g, n);
        mb_free(g, p);
        /* Push it out of the quarantine; the inner may hand its memory out again meanwhile. */
        for (int i = 0; i < 80; i++)
            mb_free(g, mb_malloc(g, n));
        mb_free(g, p);
        expect_one(r, MB_DOUBLE_FREE, what);
        break;
    }
    case MBF_MISMATCHED_FREE:
        p = mb_malloc(g, n);
        mb_free(other, p);
        expect_one(r, MB_MISMATCHED_FREE, what);
        mb_free(g, p);
        break;
    case MBF_FOREIGN_FREE:
        if (a & 2) {
            unsigned char local[64];
            mb_free(g, local + (a >> 2) % 32);
            expect_one(r, MB_FOREIGN_FREE, what);
        } else { /* inside a system block: no instance's block */
            mb_alloc *sys = r->inst[F_SYSTEM];
            p = mb_malloc(sys, n);
            mb_free(g, p + 8);
            expect_one(r, MB_FOREIGN_FREE, what);
            mb_free(sys, p);
        }
        break;
    case MBF_OVERFLOW:
        p = mb_malloc(g, n);
        p[n + (a >> 4) % 16] ^= 0xA5; /* inside the rear canary */
        if (a & 2) {
            mb_alloc_check(g);
            expect_one(r, MB_OVERFLOW, what);
            mb_free(g, p);
            if (r->reports)
                fail(r, "overflow reported twice: %s", r->last_msg);
        } else {
            mb_free(g, p);
            expect_one(r, MB_OVERFLOW, what);
        }
        break;
    case MBF_UNDERFLOW:
        p = mb_malloc(g, n);
        p[-1 - (a >> 4) % 16] ^= 0x5A; /* inside the front canary */
        mb_free(g, p);
        expect_one(r, MB_UNDERFLOW, what);
        break;
    case MBF_WRITE_AFTER_FREE:
        p = mb_malloc(g, n);
        mb_free(g, p);
        p[(a >> 2) % n] = 0x11; /* the block is quarantined: still allocated in the inner */
        mb_alloc_check(g);
        expect_one(r, MB_USE_AFTER_FREE, what);
        break;
    case MBF_LEAK: {
        mb_alloc *t = mb_alloc_guard_new(r->inst[(a & 1) ? F_POOL : F_SYSTEM]);
        if (!t)
            fail(r, "cannot create a guard");
        if (!mb_malloc(t, n))
            fail(r, "mb_malloc on a fresh guard failed");
        mb_alloc_delete(t);
        expect_one(r, MB_LEAK, what);
        break;
    }
    case MBF_NMISUSE: break;
    }
}

/* The handler of a `misuse ... reenter` op, on each report: every instance (but one given a
 * fail-after since its last fail-never: the model would lose count) allocates, resizes, frees and is checked, and
 * the first live raw slot's block is freed. None of it may report, the reporting instance must be
 * consistent again by now (membuf.h: reports are delivered when the outermost call returns), and
 * the oracles after the op see every slot intact; the counters are resynced after a misuse. */
static void call_back_in(run *r)
{
    for (int f = 0; f < MBF_FAMILIES; f++) {
        if (r->m[f].injecting)
            continue;
        mb_alloc *a = r->inst[f];
        unsigned char *p = mb_malloc(a, 24);
        if (!p)
            fail(r, "reenter: mb_malloc(24) on %s failed", mbf_family_names[f]);
        paint_bytes(p, 24, 7);
        unsigned char *q = mb_realloc(a, p, 600);
        if (!q)
            fail(r, "reenter: mb_realloc(600) on %s failed", mbf_family_names[f]);
        if (!intact(q, 24, 7))
            fail(r, "reenter: mb_realloc on %s lost the contents", mbf_family_names[f]);
        mb_free(a, q);
        mb_alloc_check(a);
    }
    for (int i = 0; i < MBF_SLOTS; i++) {
        if (r->s[i].kind == SLOT_RAW && !r->m[r->s[i].fam].injecting) {
            release(r, &r->s[i]);
            break;
        }
    }
}

/* ---- driver ---------------------------------------------------------------------------- */

/* A new instance of family f (guards over the run's inner instances). */
static mb_alloc *new_instance(const run *r, int f)
{
    switch (f) {
    case F_SYSTEM: return mb_alloc_system_new();
    case F_POOL: return mb_alloc_pool_new();
    case F_GUARD_SYS: return mb_alloc_guard_new(r->inner_sys);
    case F_GUARD_POOL: return mb_alloc_guard_new(r->inner_pool);
    default: return mb_alloc_custom_new(&libc_vt, NULL, "custom");
    }
}

static void check_name(const run *r, const mb_alloc *a, int f)
{
    if (strcmp(mb_alloc_name(a), mbf_family_names[f]) != 0)
        fail(r, "instance named '%s', want '%s'", mb_alloc_name(a), mbf_family_names[f]);
}

static void setup(run *r)
{
    r->inner_sys = mb_alloc_system_new();
    r->inner_pool = mb_alloc_pool_new();
    if (!r->inner_sys || !r->inner_pool)
        fail(r, "cannot create the inner instances");
    for (int f = 0; f < MBF_FAMILIES; f++) {
        r->inst[f] = new_instance(r, f);
        if (!r->inst[f])
            fail(r, "cannot create instance %s", mbf_family_names[f]);
        check_name(r, r->inst[f], f);
    }
}

/* renew: a fresh instance for family f when nothing of the old one is live. */
static void op_renew(run *r, int f)
{
    for (int i = 0; i < MBF_SLOTS; i++)
        if (r->s[i].kind != SLOT_EMPTY && r->s[i].fam == f)
            return;
    if (r->m[f].st.live_blocks != 0)
        return;
    mb_alloc *a = new_instance(r, f);
    if (!a) {
        if (!r->sys_armed)
            fail(r, "cannot create a new %s instance", mbf_family_names[f]);
        return; /* the old one stays */
    }
    check_name(r, a, f);
    mb_alloc_stats st;
    mb_alloc_get_stats(a, &st);
    if (st.live_blocks || st.live_bytes || st.peak_bytes || st.mallocs || st.reallocs || st.frees ||
        st.failures)
        fail(r, "a new %s instance does not start with zero statistics", mbf_family_names[f]);
    mb_alloc_delete(r->inst[f]); /* nothing live: no report */
    r->inst[f] = a;
    memset(&r->m[f], 0, sizeof r->m[f]);
}

static const mb_alloc_vtable null_fn_vt = {c_malloc, NULL, c_free};

/* api-edge: calls whose results the contract fixes for NULL or invalid arguments. */
static void op_api_edge(run *r, const mbf_op *op)
{
    mb_alloc *a = r->inst[fam_of(r, op->slot)];
    slot *sl = &r->s[op->slot];
    int x = 0;
    mb_alloc_stats st;
    mb_buf b;
    switch (op->a) {
    case 0:
        if (mb_malloc(NULL, 16) || mb_realloc(NULL, &x, 16) || mb_realloc(NULL, NULL, 16))
            fail(r, "api-edge: an allocation through a NULL instance did not return NULL");
        mb_free(NULL, &x);
        mb_free(a, NULL); /* no-op: no statistic moves (check_stats after the op) */
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
        break;
    }
    case 4: {
        const char *seen[5] = {0};
        for (int s = 0; s < 5; s++) {
            seen[s] = mb_strerror((mb_status)s);
            if (!seen[s] || !*seen[s])
                fail(r, "api-edge: mb_strerror(%d) is empty", s);
            for (int t = 0; t < s; t++)
                if (strcmp(seen[s], seen[t]) == 0)
                    fail(r, "api-edge: mb_strerror(%d) and (%d) are both '%s'", s, t, seen[s]);
        }
        break;
    }
    case 5: {
        const char *seen[8] = {0};
        for (int v = 0; v < 8; v++) {
            seen[v] = mb_violation_name((mb_violation)v);
            if (!seen[v] || !*seen[v])
                fail(r, "api-edge: mb_violation_name(%d) is empty", v);
            for (int t = 0; t < v; t++)
                if (strcmp(seen[v], seen[t]) == 0)
                    fail(r, "api-edge: mb_violation_name(%d) and (%d) are both '%s'", v, t, seen[v]);
        }
        break;
    }
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
}

static void teardown(run *r)
{
    r->op_index = r->prog->n;
    mb_internal_fail_never();
    r->sys_armed = false;
    for (int f = 0; f < MBF_FAMILIES; f++) {
        mb_alloc_fail_never(r->inst[f]);
        r->m[f].fail_state = 0;
    }
    for (int i = 0; i < MBF_SLOTS; i++) {
        release(r, &r->s[i]);
        free(r->s[i].expect);
        r->s[i].expect = NULL;
        r->s[i].cap = 0;
    }
    verify_all(r); /* the leak oracle: every instance must now hold nothing */
    for (int f = 0; f < MBF_FAMILIES; f++)
        mb_alloc_check(r->inst[f]);
    for (int f = MBF_FAMILIES - 1; f >= 0; f--)
        mb_alloc_delete(r->inst[f]);
    mb_alloc_stats st;
    mb_alloc_get_stats(r->inner_sys, &st);
    if (st.live_blocks)
        fail(r, "guard(system) left %zu blocks in its inner instance", st.live_blocks);
    mb_alloc_get_stats(r->inner_pool, &st);
    if (st.live_blocks)
        fail(r, "guard(pool) left %zu blocks in its inner instance", st.live_blocks);
    mb_alloc_delete(r->inner_sys);
    mb_alloc_delete(r->inner_pool);
    if (r->reports)
        fail(r, "unexpected violation: %s", r->last_msg);
}

size_t mbf_run(mbf_dialect d, const mbf_prog *p)
{
    static run r; /* static: 8 slots of models; reset each run */
    memset(&r, 0, sizeof r);
    r.d = d;
    r.prog = p;
    mb_violation_fn old = mb_set_violation_handler(handler, &r);
    setup(&r);
    int misused = 0;
    for (r.op_index = 0; r.op_index < p->n; r.op_index++) {
        const mbf_op *op = &p->ops[r.op_index];
        int f = op->kind == MBF_MISUSE || op->kind == MBF_SYS_FAIL || op->kind == MBF_RENEW
                    ? 0
                    : fam_of(&r, op->slot);
        switch ((mbf_kind)op->kind) {
        case MBF_INIT: op_init(&r, op); break;
        case MBF_RESIZE: op_resize(&r, op); break;
        case MBF_FILL: op_fill(&r, op); break;
        case MBF_FILL_NORMAL: op_fill_normal(&r, op); break;
        case MBF_FREE: release(&r, &r.s[op->slot]); break;
        case MBF_MALLOC: op_malloc(&r, op); break;
        case MBF_REALLOC: op_realloc(&r, op); break;
        case MBF_WRITE: op_write(&r, op); break;
        case MBF_FAIL_AFTER:
            mb_alloc_fail_after(r.inst[f], op->a, op->b ? MB_FAIL_ALWAYS : MB_FAIL_ONCE);
            r.m[f].fail_state = op->b ? 2 : 1;
            r.m[f].countdown = op->a;
            r.m[f].injecting = true;
            break;
        case MBF_FAIL_NEVER:
            mb_alloc_fail_never(r.inst[f]);
            r.m[f].fail_state = 0;
            r.m[f].countdown = 0;
            r.m[f].injecting = false;
            break;
        case MBF_CHECK: op_check(&r, f); break;
        case MBF_MISUSE:
            if (d == MBF_D_GUARD && !misused++) {
                r.reenter = op->b;
                op_misuse(&r, op);
                r.reenter = false;
                resync(&r);
            }
            break;
        case MBF_BULK: op_bulk(&r, op); break;
        case MBF_SYS_FAIL:
            mb_internal_fail_after(op->a);
            r.sys_armed = true;
            break;
        case MBF_RENEW: op_renew(&r, op->fam); break;
        case MBF_API_EDGE: op_api_edge(&r, op); break;
        case MBF_NKINDS: break;
        }
        if (r.reports)
            fail(&r, "unexpected violation: %s", r.last_msg);
        verify_all(&r);
    }
    teardown(&r);
    mb_set_violation_handler(old, NULL);
    return p->n;
}

int mbf_fuzz_one(mbf_dialect d, const uint8_t *data, size_t size)
{
    static mbf_prog prog;
    mbf_decode(d, data, size, &prog);
    mbf_run(d, &prog);
    return 0;
}

/* Huge requests must return NULL, not abort, under the sanitizers' allocators. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
const char *__msan_default_options(void);
const char *__msan_default_options(void) { return "allocator_may_return_null=1"; }
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "allocator_may_return_null=1"; }
