/* The model and its oracles, always on (never assert()):
 *   - a model of every slot: a buffer's length and the values it must hold (the prefix kept by a
 *     resize, fill values, fill-normal values recomputed from the same seed with the harness's
 *     own generator), a raw block's size and the byte pattern written into it. Each op checks
 *     the slots it touched, every block is checked before it is overwritten, moved or freed,
 *     and every MBF_SWEEP_EVERY ops (and after any op that reaches beyond its slot) all of them
 *     are: overlap, corruption and lost data are found within the input;
 *   - the memory tools' view (under ASan, and under Memcheck when the replay runs in it): every
 *     live block is addressable exactly as far as its family makes it (requested bytes; 16 at
 *     least for libc blocks; header and canaries around a guard's), the bytes just outside it
 *     are off limits, and a block freed by a family that does not keep it (system, custom, pool)
 *     is off limits after the op that freed it -- after failed calls too;
 *   - statistics: every counter of an instance equals the model's, which counts each request
 *     the op must make (a buffer resize to its own length or to 0 makes none; an overflowing
 *     count none), after every op that involved the instance, and every instance's at the sweeps;
 *   - fault injection, modelled exactly: fail-after on an instance, the schedule of a family's
 *     underlying allocator (under-fail-after: custom's vtable, a guard's inner instance; the
 *     underlying allocator must be asked exactly when the model says so), sizes above
 *     PTRDIFF_MAX; MB_EOVERFLOW exactly for overflowing counts; MB_EINVAL exactly for invalid
 *     fill-normal arguments; every failed call leaves its slot as it was;
 *   - violations: any report fails the clean targets; in fuzz_guard an op that commits one must
 *     produce exactly the reports it demands, and a wrong pointer's is decided from what the
 *     harness knows of it (expect_bad);
 *   - at the end every slot is freed and every instance must hold live_blocks == 0 (the leak
 *     oracle, which also sees pool blocks where LeakSanitizer cannot).
 * Raw patterns are periodic (see template_of), so checking a block is a memcmp. */
#define _DEFAULT_SOURCE /* fmemopen, mincore */
#include "exec_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define MBF_TOOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MBF_TOOL_ASAN 1
#endif
#endif
#if defined(MBF_TOOL_ASAN)
#include <sanitizer/asan_interface.h>
#elif defined(MEMBUF_VALGRIND)
#include <valgrind/memcheck.h>
#endif

_Noreturn void fail(const run *r, const char *fmt, ...)
{
    /* The op that failed did act: emit-c must print its calls, or the test it writes passes. */
    if (r->trace && r->op_index < r->prog->n)
        r->trace->acted[r->op_index] = 1;
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

bool is_guard(int f) { return f == MBF_F_GUARD_SYS || f == MBF_F_GUARD_POOL; }

int fam_of(const run *r, int i) { return r->s[i].kind == SLOT_EMPTY ? i % MBF_FAMILIES : r->s[i].fam; }

/* ---- the memory tools' view ------------------------------------------------------------ */

/* Whether a tool tracks addressability here; whether [p, p + n) is all addressable; whether the
 * byte at p is off limits. Nothing can be told without a tool. */
#if defined(MBF_TOOL_ASAN)
static bool tool_on(void) { return true; }
static bool addressable(const void *p, size_t n) { return !__asan_region_is_poisoned((void *)(uintptr_t)p, n); }
static bool off_limits(const void *p) { return __asan_address_is_poisoned(p); }
#elif defined(MEMBUF_VALGRIND)
static bool tool_on(void) { return RUNNING_ON_VALGRIND; }
/* The validity bits of an unaddressable byte cannot be had (3), and asking reports nothing. */
static bool addressable(const void *p, size_t n)
{
    unsigned char bits[256];
    for (size_t k = 0; k < n; k += sizeof bits) {
        size_t len = n - k < sizeof bits ? n - k : sizeof bits;
        if (VALGRIND_GET_VBITS((const char *)p + k, bits, len) == 3)
            return false;
    }
    return true;
}
static bool off_limits(const void *p)
{
    unsigned char bit;
    return VALGRIND_GET_VBITS(p, &bit, 1) == 3;
}
#else
static bool tool_on(void) { return false; }
static bool addressable(const void *p, size_t n) { return (void)p, (void)n, true; }
static bool off_limits(const void *p) { return (void)p, true; }
#endif

/* A harness allocator's block it keeps for reuse: off limits to the memory tool while kept
 * (tool_hide), usable again when handed out (tool_show). */
#if defined(MBF_TOOL_ASAN)
void tool_hide(const void *p, size_t n) { ASAN_POISON_MEMORY_REGION(p, n); }
void tool_show(const void *p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#elif defined(MEMBUF_VALGRIND)
void tool_hide(const void *p, size_t n) { (void)VALGRIND_MAKE_MEM_NOACCESS(p, n); }
void tool_show(const void *p, size_t n) { (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n); }
#else
void tool_hide(const void *p, size_t n) { (void)p, (void)n; }
void tool_show(const void *p, size_t n) { (void)p, (void)n; }
#endif

/* Whether the page holding p is mapped: a pool arena returned to the system is not, and ASan
 * shows its shadow as addressable. (mincore reads nothing at p, so Memcheck has nothing to say.) */
static bool mapped(const void *p)
{
    uintptr_t page = (uintptr_t)p & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
    unsigned char resident;
    return mincore((void *)page, 1, &resident) == 0 || errno != ENOMEM;
}

/* How far around a live block of family f and n bytes its family makes memory addressable:
 * before (bytes before p) and extent (bytes from p). */
MBF_NO_COVERAGE static void extent_of(int f, size_t n, size_t *before, size_t *extent)
{
    *before = 0;
    *extent = n;
    if (f == MBF_F_SYSTEM || f == MBF_F_CUSTOM)
        *extent = n < 16 ? 16 : n; /* the sized family asks libc for 16 bytes at least */
    else if (is_guard(f)) {
        *before = MBF_GUARD_FRONT;
        *extent = n + MBF_GUARD_CANARY;
    }
}

/* Whether the byte just past a block's extent is off limits by the block's own doing. Memcheck
 * keeps a redzone after every block; the pool's small blocks (its own memory) are followed by
 * their redzone. ASan poisons a libc block's own slack, but the byte past a block that ends on a
 * granule may be the next chunk's header, whose shadow ASan leaves clear after it gave the pages
 * back to the system: then nothing is said. */
MBF_NO_COVERAGE static bool edge_is_own(int f, size_t n, size_t before, size_t extent)
{
#if defined(MBF_TOOL_ASAN)
    bool small = (f == MBF_F_POOL && n <= MBF_POOL_SMALL_MAX) ||
                 (f == MBF_F_GUARD_POOL && before + extent <= MBF_POOL_SMALL_MAX);
    return small || (before + extent) % 8 != 0;
#else
    (void)f, (void)n, (void)before, (void)extent;
    return true;
#endif
}

MBF_NO_COVERAGE void check_block_tools(const run *r, int f, const unsigned char *p, size_t n, const char *what)
{
    if (!tool_on())
        return;
    size_t before, extent;
    extent_of(f, n, &before, &extent);
    const unsigned char *lo = p - before;
    if (!addressable(lo, before + extent))
        fail(r, "%s (%zu bytes, %s) is not all addressable to the memory tool", what, n,
             mbf_family_names[f]);
    if (!off_limits(lo - 1))
        fail(r, "%s (%zu bytes, %s): the byte before it is addressable to the memory tool", what,
             n, mbf_family_names[f]);
    if (edge_is_own(f, n, before, extent) && !off_limits(p + extent))
        fail(r, "%s (%zu bytes, %s): the byte after it is addressable to the memory tool", what,
             n, mbf_family_names[f]);
}

/* A block a family released (not a guard: it keeps freed blocks in its quarantine) must be off
 * limits now, unless a live block of the run covers it again or it was returned to the system. */
MBF_NO_COVERAGE static void check_dead(const run *r, const unsigned char *p, size_t n)
{
    for (int i = 0; i < MBF_SLOTS; i++) {
        const slot *sl = &r->s[i];
        const unsigned char *q = sl->kind == SLOT_RAW ? sl->raw : (const unsigned char *)sl->buf.data;
        size_t len = sl->kind == SLOT_RAW ? sl->size : sl->buf.len * sizeof(double);
        if (sl->kind != SLOT_EMPTY && q && q < p + (n ? n : 1) + MBF_GUARD_CANARY &&
            p < q + len + MBF_GUARD_FRONT)
            return;
    }
    size_t last = n ? n - 1 : 0;
    for (size_t k = 0; k <= last; k = k + 8 > last && k != last ? last : k + 8) {
        if (!off_limits(p + k) && mapped(p + k))
            fail(r, "a freed block (%zu bytes) is still addressable to the memory tool at byte %zu",
                 n, k);
        if (k >= 256 && k != last)
            k = last - (last % 8 == 0 ? 8 : last % 8); /* the head and the last byte are enough */
    }
}

/* ---- raw patterns ---------------------------------------------------------------------- */

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
MBF_NO_COVERAGE void paint_bytes(unsigned char *p, size_t n, uint32_t gen)
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

MBF_NO_COVERAGE void paint(slot *sl, uint32_t gen)
{
    sl->gen = gen;
    paint_bytes(sl->raw, sl->size, gen);
}

/* Whether n bytes at p still carry generation gen's pattern: the first 256 bytes against the
 * template, the rest against the bytes 256 before them (the pattern's period) in one memcmp. */
MBF_NO_COVERAGE bool intact(const unsigned char *p, size_t n, uint32_t gen)
{
    size_t head = n < 256 ? n : 256;
    return memcmp(p, template_of(gen), head) == 0 && (n <= 256 || memcmp(p + 256, p, n - 256) == 0);
}

/* Checks bytes [0, n) of slot i's block against its pattern; names the first changed byte. */
MBF_NO_COVERAGE void verify_raw(const run *r, int i, size_t n)
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

/* Slot i against the model: its contents and the memory tool's view of its block. */
MBF_NO_COVERAGE void verify_slot(run *r, int i)
{
    slot *sl = &r->s[i];
    char what[32];
    snprintf(what, sizeof what, "the block in slot %d", i);
    if (sl->kind == SLOT_RAW) {
        verify_raw(r, i, sl->size);
        check_block_tools(r, sl->fam, sl->raw, sl->size, what);
    } else if (sl->kind == SLOT_BUF) {
        verify_buf(r, i);
        if (sl->buf.data)
            check_block_tools(r, sl->fam, (const unsigned char *)sl->buf.data,
                              sl->buf.len * sizeof(double), what);
    }
}

MBF_NO_COVERAGE void touch(run *r, int i) { r->touched |= 1u << i; }

/* ---- statistics ------------------------------------------------------------------------ */

MBF_NO_COVERAGE void check_stats(run *r, int f)
{
    mb_alloc_stats st;
    const mb_alloc_stats *m = &r->m[f].st;
    if (!r->inst[f]) {
        if (m->mallocs || m->reallocs || m->live_blocks)
            fail(r, "harness: %s has a model but no instance", mbf_family_names[f]);
        return;
    }
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

/* The model's own bookkeeping: what its slots hold is what it counts live. */
MBF_NO_COVERAGE static void check_model(const run *r)
{
    size_t blocks[MBF_FAMILIES] = {0}, bytes[MBF_FAMILIES] = {0};
    for (int i = 0; i < MBF_SLOTS; i++) {
        const slot *sl = &r->s[i];
        if (sl->kind == SLOT_RAW || (sl->kind == SLOT_BUF && sl->buf.data)) {
            blocks[sl->fam]++;
            bytes[sl->fam] += sl->kind == SLOT_RAW ? sl->size : sl->buf.len * sizeof(double);
        }
    }
    for (int f = 0; f < MBF_FAMILIES; f++)
        if (r->m[f].st.live_blocks != blocks[f] || r->m[f].st.live_bytes != bytes[f])
            fail(r, "harness: %s model holds %zu blocks / %zu bytes, slots %zu / %zu",
                 mbf_family_names[f], r->m[f].st.live_blocks, r->m[f].st.live_bytes, blocks[f],
                 bytes[f]);
}

/* After every op: the slots it touched (all of them now and then), every instance's statistics,
 * the blocks it freed. */
MBF_NO_COVERAGE void after_op(run *r)
{
    bool all = r->sweep || (r->op_index + 1) % MBF_SWEEP_EVERY == 0;
    for (int i = 0; i < MBF_SLOTS; i++)
        if (all || (r->touched & (1u << i)))
            verify_slot(r, i);
    check_model(r);
    for (int f = 0; f < MBF_FAMILIES; f++)
        if (all || (r->fams & (1u << f)))
            check_stats(r, f);
    if (tool_on())
        for (size_t k = 0; k < r->ndead; k++)
            check_dead(r, r->dead[k].p, r->dead[k].n);
    r->touched = 0;
    r->fams = 0;
    r->sweep = false;
    r->ndead = 0;
}

MBF_NO_COVERAGE void verify_all(run *r)
{
    r->sweep = true;
    after_op(r);
}

/* ---- the model of requests and fault injection ------------------------------------------ */

void sched_arm(sched *s, uint64_t n, int mode)
{
    s->state = mode == 2 ? 0 : mode == 1 ? 2 : 1;
    s->countdown = n;
}

/* One request under schedule s: whether it fails, advancing s as mb_alloc_fail_after says. */
MBF_NO_COVERAGE bool sched_next(sched *s)
{
    switch (s->state) {
    case 0: return false;
    case 3: return true;
    default:
        if (s->countdown > 0) {
            s->countdown--;
            return false;
        }
        s->state = s->state == 1 ? 0 : 3;
        return true;
    }
}

/* One request (mb_malloc or mb_realloc call) on family f: returns whether fault injection fails
 * it. */
MBF_NO_COVERAGE bool model_request(run *r, int f, bool is_realloc)
{
    inst_model *m = &r->m[f];
    r->requests++;
    r->fams |= 1u << f;
    if (is_realloc)
        m->st.reallocs++;
    else
        m->st.mallocs++;
    return sched_next(&m->inject);
}

/* How many times family f's underlying allocator has been asked for memory so far (custom: the
 * vtable's calls; a guard: requests to its inner instance); 0 for the others. */
MBF_NO_COVERAGE uint64_t under_calls(run *r, int f)
{
    if (f == MBF_F_CUSTOM)
        return r->vt.calls;
    int in = f == MBF_F_GUARD_SYS ? MBF_I_INNER_SYS : f == MBF_F_GUARD_POOL ? MBF_I_INNER_POOL : -1;
    if (in < 0 || !r->inst[in])
        return 0;
    mb_alloc_stats st;
    mb_alloc_get_stats(r->inst[in], &st);
    return st.mallocs + st.reallocs;
}

/* After a request of n bytes on family f (injected: fault injection failed it): whether its
 * underlying allocator was to be asked, checked against whether it was (calls_before:
 * under_calls before the request), and if it was, whether its schedule fails the request. */
MBF_NO_COVERAGE bool model_under(run *r, int f, size_t n, uint64_t calls_before, bool injected)
{
    int u = f == MBF_F_CUSTOM ? MBF_U_CUSTOM : f == MBF_F_GUARD_SYS ? MBF_U_GUARD_SYS
          : f == MBF_F_GUARD_POOL ? MBF_U_GUARD_POOL : -1;
    if (u < 0)
        return false;
    bool asked = under_calls(r, f) != calls_before;
    /* The sized family refuses above PTRDIFF_MAX, a guard above half of it. */
    bool want = !injected && n <= (is_guard(f) ? (size_t)PTRDIFF_MAX >> 1 : (size_t)PTRDIFF_MAX);
    if (asked != want && !(r->sys_armed && !asked))
        fail(r, "%s %s its underlying allocator for %zu bytes", mbf_family_names[f],
             asked ? "asked" : "did not ask", n);
    return asked && sched_next(&r->under[u]);
}

void model_failed(run *r, int f)
{
    r->m[f].st.failures++;
    r->fams |= 1u << f;
}

/* A request the model expected to succeed failed: acceptable only while membuf's internal
 * allocations are made to fail (sys-fail-after), and then counted as the failure it is. */
bool may_fail_anyway(run *r, int f)
{
    if (!r->sys_armed)
        return false;
    model_failed(r, f);
    return true;
}

MBF_NO_COVERAGE static void note_dead(run *r, int f, void *p, size_t n)
{
    if (is_guard(f) || r->ndead == sizeof r->dead / sizeof r->dead[0])
        return;
    r->dead[r->ndead].p = p;
    r->dead[r->ndead++].n = n;
}

/* The model's statistics: a block of n bytes became live in family f; one left it (freed when
 * counted_free, else moved away by a realloc). Apply them before the call that does it when the
 * call may report: a handler that calls back in sees the statistics as they are by then. */
MBF_NO_COVERAGE void stats_in(run *r, int f, size_t n)
{
    mb_alloc_stats *st = &r->m[f].st;
    r->fams |= 1u << f;
    st->live_blocks++;
    st->live_bytes += n;
    if (st->live_bytes > st->peak_bytes)
        st->peak_bytes = st->live_bytes;
}

MBF_NO_COVERAGE void stats_out(run *r, int f, size_t n, bool counted_free)
{
    mb_alloc_stats *st = &r->m[f].st;
    r->fams |= 1u << f;
    st->live_blocks--;
    st->live_bytes -= n;
    if (counted_free)
        st->frees++;
    r->m[f].freed += n;
    r->m[f].gone++;
}

/* What the harness remembers of blocks: the block at p became live in family f (a guard's: its
 * inner block too); or left it. */
MBF_NO_COVERAGE void hist_in(run *r, int f, void *p)
{
    hist_put(r, f, p, REC_LIVE);
    if (is_guard(f))
        hist_put(r, f == MBF_F_GUARD_SYS ? MBF_I_INNER_SYS : MBF_I_INNER_POOL,
                 (unsigned char *)p - MBF_GUARD_FRONT, REC_LIVE);
}

MBF_NO_COVERAGE void hist_out(run *r, int f, void *p, size_t n)
{
    record *e = hist_put(r, f, p, REC_FREED);
    if (e)
        e->size = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n; /* none is that large */
    if (is_guard(f)) /* in the quarantine, or back in the inner: the harness cannot tell */
        hist_put(r, f == MBF_F_GUARD_SYS ? MBF_I_INNER_SYS : MBF_I_INNER_POOL,
                 (unsigned char *)p - MBF_GUARD_FRONT, REC_UNKNOWN);
    note_dead(r, f, p, n);
}

MBF_NO_COVERAGE void block_in(run *r, int f, void *p, size_t n)
{
    stats_in(r, f, n);
    hist_in(r, f, p);
}

MBF_NO_COVERAGE void block_out(run *r, int f, void *p, size_t n, bool counted_free)
{
    stats_out(r, f, n, counted_free);
    hist_out(r, f, p, n);
}

/* Whether to fill or write `bytes`: big ones only while the input is within its budget. */
MBF_NO_COVERAGE bool worth_touching(run *r, size_t bytes)
{
    if (bytes > MBF_BIG_REQUEST && r->work > MBF_INPUT_BUDGET)
        return false;
    r->work += bytes;
    return true;
}

MBF_NO_COVERAGE static size_t live_total(const run *r)
{
    size_t n = 0;
    for (int f = 0; f < MBF_FAMILIES; f++)
        n += r->m[f].st.live_bytes;
    return n;
}

/* Whether to make a request of `bytes` that replaces `old` live bytes: the per-input budgets. */
MBF_NO_COVERAGE bool affordable(run *r, size_t bytes, size_t old)
{
    if (bytes > MBF_BIG_REQUEST &&
        (r->work > MBF_INPUT_BUDGET || live_total(r) - old + bytes > MBF_LIVE_CAP))
        return false;
    r->work += bytes;
    return true;
}

MBF_NO_COVERAGE void ensure_cap(const run *r, slot *sl, size_t n)
{
    if (n <= sl->cap)
        return;
    double *e = realloc(sl->expect, n * sizeof(double));
    if (!e)
        fail(r, "harness out of memory for a model of %zu elements", n);
    sl->expect = e;
    sl->cap = n;
}

/* Frees what the slot holds, checking it first. The slot and the model are updated before the
 * call, which may report (damage found), and a handler that calls back in must find the slot
 * empty. */
void release(run *r, slot *sl)
{
    int i = (int)(sl - r->s);
    if (sl->kind == SLOT_EMPTY)
        return;
    verify_slot(r, i);
    int kind = sl->kind, f = sl->fam;
    mb_buf b = sl->buf;
    unsigned char *p = kind == SLOT_RAW ? sl->raw : (unsigned char *)b.data;
    size_t bytes = kind == SLOT_RAW ? sl->size : b.len * sizeof(double);
    sl->kind = SLOT_EMPTY;
    sl->raw = NULL;
    sl->size = 0;
    sl->known = 0;
    sl->reported = false;
    memset(&sl->buf, 0, sizeof sl->buf);
    touch(r, i);
    if (p)
        stats_out(r, f, bytes, true);
    if (kind == SLOT_BUF) {
        mb_buf_free(&b);
        if (b.data || b.len)
            fail(r, "mb_buf_free left data %p len %zu", (void *)b.data, b.len);
        mb_buf_free(&b); /* idempotent */
    } else {
        mb_free(r->inst[f], p);
    }
    if (p) {
        hist_out(r, f, p, bytes);
        sl->last = p;
    }
}

/* ---- what a wrong pointer is ----------------------------------------------------------- */

/* The record a slot holds in this input (its tag is this input's), or NULL: a free slot. */
static inline record *hist_rec(const run *r, uint32_t v)
{
    const uint32_t mask = (1u << HIST_INDEX_BITS) - 1;
    return (v & ~mask) == r->epoch << HIST_INDEX_BITS ? &r->hist[(v & mask) - 1] : NULL;
}

/* The slot of address a in this input's table: its record's, or the free slot where it goes. */
MBF_NO_COVERAGE static uint32_t *hist_slot(run *r, uintptr_t a)
{
    size_t h = (size_t)((a >> 4) * UINT64_C(0x9E3779B97F4A7C15) >> (64 - HIST_BITS));
    const record *e;
    while ((e = hist_rec(r, r->hslot[h])) && e->addr != a)
        h = (h + 1) & (HIST_CAP - 1);
    return &r->hslot[h];
}

MBF_NO_COVERAGE record *hist_put(run *r, int owner, const void *p, int state)
{
    if (r->d != MBF_D_GUARD) /* only bad-free asks (fuzz_guard) */
        return NULL;
    uint32_t *hs = hist_slot(r, (uintptr_t)p);
    record *e = hist_rec(r, *hs);
    if (!e) {
        if (r->hist_n >= HIST_LIMIT) {
            r->hist_full = true;
            return NULL;
        }
        e = &r->hist[r->hist_n++];
        *hs = r->epoch << HIST_INDEX_BITS | (uint32_t)r->hist_n;
        e->addr = (uintptr_t)p;
    }
    e->owner = (uint8_t)owner;
    e->state = (uint8_t)state;
    e->serial = r->serial[owner];
    e->req_at = (uint32_t)r->requests; /* an input makes far fewer than 2^32 of either */
    e->gone_at = owner < MBF_FAMILIES ? (uint32_t)r->m[owner].gone : 0;
    e->size = 0;
    return e;
}

#define V_(k) (1u << (k))

/* Whether the family that freed the block of e still remembers it as freed for certain: system,
 * custom and guard remember the last MBF_FREED_MEMORY blocks that left them; a pool knows a
 * freed block from its tag until a request recycles its pool or its arena is returned (then the
 * address is nobody's). Returns the violations a second free may be reported as. */
static unsigned freed_claim(const run *r, const record *e, const void *q)
{
    int o = e->owner;
    if (o == MBF_F_POOL)
        return (uint32_t)r->requests != e->req_at ? V_(MB_DOUBLE_FREE) | V_(MB_FOREIGN_FREE)
               : mapped(q)              ? V_(MB_DOUBLE_FREE)
                                        : V_(MB_FOREIGN_FREE);
    return (uint32_t)r->m[o].gone - e->gone_at < MBF_FREED_MEMORY ? V_(MB_DOUBLE_FREE)
                                                        : V_(MB_DOUBLE_FREE) | V_(MB_FOREIGN_FREE);
}

/* The violations family x may report for q, which it was handed to free or resize; 0 if q is
 * one of x's live blocks. *named: the size a double free report must name (the block's size when
 * it was last freed at q), when x itself freed it and certainly remembers it; else SIZE_MAX.
 * From the contract: a block live in another instance is a mismatched free, a freed one a double free, anything else foreign -- no block start is ever misaligned,
 * and an address no instance handed out in this input is no block. Where an instance may no
 * longer know (a freed address reused or forgotten, an instance deleted, a guard's inner block
 * whose quarantine the harness cannot see) the violations it may then say are allowed. */
unsigned expect_bad(run *r, int x, const unsigned char *q, size_t *named)
{
    *named = SIZE_MAX;
    const unsigned any = V_(MB_DOUBLE_FREE) | V_(MB_FOREIGN_FREE) | V_(MB_MISMATCHED_FREE);
    uintptr_t a = (uintptr_t)q;
    record *e = hist_rec(r, *hist_slot(r, a));
    bool known = e != NULL;
    bool alive = known && e->owner < MBF_I_TEMP && e->serial == r->serial[e->owner];
    if (known && alive && e->state == REC_LIVE)
        return e->owner == x ? 0 : V_(MB_MISMATCHED_FREE);
    if (a % 16 != 0)
        return V_(MB_FOREIGN_FREE);
    if (!known)
        return r->hist_full ? any : V_(MB_FOREIGN_FREE);
    if (!alive || e->state == REC_UNKNOWN || e->owner >= MBF_FAMILIES)
        return any;
    unsigned v = freed_claim(r, e, q);
    if (v == V_(MB_DOUBLE_FREE) && e->owner == x && e->size != UINT32_MAX)
        *named = e->size;
    return v;
}

/* ---- reports ---------------------------------------------------------------------------- */

/* Exactly the reports an op demands since the last call: none (allowed 0), one of a kind in
 * allowed, or (then a second kind) one of allowed followed by the second. */
void expect_reports(run *r, unsigned allowed, int second, const char *what)
{
    int want = allowed == 0 ? 0 : second < 0 ? 1 : 2;
    bool ok = r->reports == want && (want == 0 || (allowed & V_(r->kinds[0])));
    if (ok && want == 2)
        ok = r->kinds[1] == (mb_violation)second;
    if (!ok) {
        char names[120] = "";
        for (int k = 0; k <= MB_MISALIGNED; k++)
            if (allowed & V_(k))
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         names[0] ? " or " : "", mb_violation_name((mb_violation)k));
        fail(r, "%s: expected %s%s%s%s, got %d report(s)%s%s", what, want ? "exactly one " : "no report",
             names, second >= 0 ? " then " : "", second >= 0 ? mb_violation_name((mb_violation)second) : "",
             r->reports, r->reports ? ", last: " : "", r->reports ? r->last_msg : "");
    }
    if (r->trace && r->op_index < MBF_MAX_OPS) {
        r->trace->allowed[r->op_index] |= (uint16_t)allowed | (uint16_t)(second >= 0 ? V_(second) : 0);
        r->trace->count[r->op_index] = (uint8_t)(r->trace->count[r->op_index] + want);
    }
    r->reports = 0;
}
