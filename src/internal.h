/* Internal interface shared by the families. Nothing here is installed. Prefix mb__ / MB__. */
#ifndef MEMBUF_INTERNAL_H
#define MEMBUF_INTERNAL_H

#include "membuf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define MB__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MB__LIKELY(x) __builtin_expect(!!(x), 1)
#define MB__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MB__NOINLINE __attribute__((noinline))
#else
#define MB__PRINTF(f, a)
#define MB__LIKELY(x) (x)
#define MB__UNLIKELY(x) (x)
#define MB__NOINLINE
#endif

/* Alignment of every block handed out (that of max_align_t on the platforms we build for). */
#define MB__ALIGN 16
_Static_assert(MB__ALIGN >= _Alignof(max_align_t), "MB__ALIGN below max_align_t");

/* Debug checks of the invariants the allocators rely on: on in the checking presets (dev, asan,
 * msan, tsan, valgrind, fuzz, coverage: -DMEMBUF_ASSERTS=1), compiled away in release builds. A
 * failed check prints the expression with file and line and aborts. */
#if defined(MEMBUF_ASSERTS) && MEMBUF_ASSERTS
#define MB__ASSERT(c) (MB__LIKELY(c) ? (void)0 : mb__assert_fail(#c, __FILE__, __LINE__))
#else
#define MB__ASSERT(c) ((void)0)
#endif
_Noreturn void mb__assert_fail(const char *expr, const char *file, int line);

/* How strongly an instance claims a pointer it is asked about (mb__family.query). Stronger
 * claims are larger. */
typedef enum mb__claim {
    MB__CLAIM_NONE,   /* nothing of ours */
    MB__CLAIM_INSIDE, /* inside memory we manage, but not a block we hand out */
    MB__CLAIM_FREED,  /* a block of ours that was freed (recently, as far as we remember) */
    MB__CLAIM_LIVE    /* one of our live blocks; *size is its requested size */
} mb__claim;

/* One family's implementation. The generic layer (alloc.c) handles NULL pointers, fault
 * injection and statistics; the family only sees real requests.
 *   malloc:  size may be 0 (return a unique block). NULL on failure.
 *   realloc: p != NULL. On success returns the block and sets *old_size to p's requested size.
 *            On failure (or a violation already reported) returns NULL, p untouched.
 *   free:    p != NULL. Returns true and sets *size if a block was released; false if a
 *            violation was reported and nothing was freed.
 *   check:   optional (NULL): sweep live blocks and report corruption.
 *   destroy: release everything the instance holds, then the instance itself. The generic layer
 *            has already reported MB_LEAK for live blocks and taken the instance out of the
 *            registry.
 *   query:   what p is to this instance, asked by another instance that was handed p (see
 *            mb__bad_pointer). Runs in any thread, with the registry lock and this instance's
 *            lock held: it may read only state that its owner changes under that lock, and never
 *            the memory at p.
 *   fast_counts: optional: blocks allocated and freed by inline paths that bypass the generic
 *            layer's counters (added to mallocs / frees and to the live count). */
typedef struct mb__family {
    void *(*malloc)(mb_alloc *a, size_t size);
    void *(*realloc)(mb_alloc *a, void *p, size_t size, size_t *old_size);
    bool (*free)(mb_alloc *a, void *p, size_t *size);
    void (*check)(mb_alloc *a);
    void (*destroy)(mb_alloc *a);
    mb__claim (*query)(mb_alloc *a, const void *p, size_t *size);
    void (*fast_counts)(const mb_alloc *a, size_t *in, size_t *out);
} mb__family;

enum mb__fail_state { MB__FAIL_OFF, MB__FAIL_ARMED_ONCE, MB__FAIL_ARMED_ALWAYS, MB__FAIL_FAILING };

/* An instance's counters as kept: what becomes live and what stops being live are counted
 * separately (live = in - out, in modular arithmetic), so a malloc and the free after it do not
 * both update one counter -- a chain of read-modify-writes through memory that would bound the
 * throughput of a churn loop. mb_alloc_get_stats assembles mb_alloc_stats (with the family's
 * fast_counts). */
typedef struct mb__stats {
    uint64_t mallocs, reallocs, frees, failures;
    size_t blocks_in, blocks_out;
    size_t bytes_in, bytes_out;
    size_t peak_bytes;
} mb__stats;

/* size more live bytes. */
static inline void mb__stats_bytes_in(mb__stats *s, size_t size)
{
    s->bytes_in += size;
    size_t live = s->bytes_in - s->bytes_out;
    if (live > s->peak_bytes)
        s->peak_bytes = live;
}

/* A block of size bytes became live. */
static inline void mb__stats_live(mb__stats *s, size_t size)
{
    s->blocks_in++;
    mb__stats_bytes_in(s, size);
}

/* A live block of size bytes was freed (or moved away by a realloc: then frees is not counted). */
static inline void mb__stats_dead(mb__stats *s, size_t size)
{
    s->blocks_out++;
    s->bytes_out += size;
}

static inline void mb__stats_free(mb__stats *s, size_t size)
{
    s->frees++;
    mb__stats_dead(s, size);
}

static inline size_t mb__stats_live_bytes(const mb__stats *s) { return s->bytes_in - s->bytes_out; }

/* The common head of every instance; each family's struct embeds it as its first member. */
struct mb_alloc {
    const mb__family *fam;
    char *name;            /* owned, exact size: "pool", "guard(system)", ... */
    unsigned long id;      /* process-wide instance number, for reports: "pool#3" */
    mb__stats stats;
    uint64_t fail_countdown; /* requests that still succeed before the injected failure */
    enum mb__fail_state fail_state;
    uintptr_t reg_next, reg_prev; /* the registry of live instances (registry.c): mb__hide'd, so
                                   * an instance the program lost is still a leak to LSan */
    atomic_flag lock;      /* the state that query() reads: see mb__lock */
};

/* Fills the head: copies name (exact size), assigns the next id. false on ENOMEM (head untouched
 * apart from being zeroed; nothing to free). The instance is not yet in the registry. */
bool mb__alloc_init(mb_alloc *a, const mb__family *fam, const char *name);
/* Frees what mb__alloc_init allocated. Families call it from destroy before freeing themselves. */
void mb__alloc_fini(mb_alloc *a);
/* Live blocks of a, inline paths included. */
size_t mb__alloc_live_blocks(const mb_alloc *a);

/* mb_malloc and mb_free once a pool's inline path has declined the request (dispatch.c): fault
 * injection, statistics, the family's vtable, the reporting brackets. a may be NULL. */
void *mb__malloc_generic(mb_alloc *a, size_t size);
void mb__free_generic(mb_alloc *a, void *p);

/* ---- the registry of instances and cross-instance attribution (registry.c) ---------------- */

/* Adds a fully built instance to the registry (then other instances may query it); takes it
 * out before it is destroyed. */
void mb__registry_add(mb_alloc *a);
void mb__registry_remove(mb_alloc *a);

/* An instance is used by one thread at a time, but another instance, maybe in another thread,
 * queries it when it attributes a bad pointer. Every change to the state query() reads is made
 * under the instance's lock, and every query holds it; the owner reads its own state without
 * it. The lock is a spin lock (one atomic exchange uncontended): only an attribution ever
 * contends for it, briefly. Never held while reporting or while calling out of the family. */
void mb__lock_slow(mb_alloc *a);
static inline void mb__lock(mb_alloc *a)
{
    if (MB__UNLIKELY(atomic_flag_test_and_set_explicit(&a->lock, memory_order_acquire)))
        mb__lock_slow(a);
}
static inline void mb__unlock(mb_alloc *a) { atomic_flag_clear_explicit(&a->lock, memory_order_release); }

/* a was handed p (by mb_free or mb_realloc: what names the call) and p is not one of its live
 * blocks. own says what p is to a itself: MB__CLAIM_NONE, MB__CLAIM_INSIDE (inside a's memory,
 * not a block), or MB__CLAIM_FREED (a remembers freeing it; own_size its size) when that memory
 * is not exact (an address ring: the address may since belong to someone else). Asks every
 * other instance and reports exactly one violation: MB_MISMATCHED_FREE if another instance
 * holds p live (naming both), else MB_DOUBLE_FREE if a or another freed it, else
 * MB_FOREIGN_FREE (saying whose memory p lies in, if anyone's).
 * Call it with none of a's locks held. */
void mb__bad_pointer(mb_alloc *a, const void *p, const char *what, mb__claim own, size_t own_size);

/* ---- violation reports (report.c) --------------------------------------------------------- */

/* Reports are queued per thread and delivered to the handler when the outermost membuf call on
 * the thread returns, so that no handler ever runs while an instance is half-way through an
 * operation: every public entry point that can report brackets its work with enter/leave. */
void mb__report_enter(void);
void mb__report_leave(void);

/* Queues a violation report (delivered at once outside any enter/leave). The formatted message
 * is made one line: control characters are escaped, so names cannot break it. */
void mb__report(mb_violation v, const char *fmt, ...) MB__PRINTF(2, 3);
/* Test hook: while on, no report can be queued (as if libc had no memory for the entry). */
void mb__report_queue_fail(bool on);

/* Internal C library access. Every allocation membuf makes for its own use (instances, tables,
 * arenas, the pool's large blocks) goes through these, so tests can make them fail. */
void *mb__sys_malloc(size_t size);
void *mb__sys_calloc(size_t n, size_t size);
void *mb__sys_realloc(void *p, size_t size);
void mb__sys_free(void *p);
/* size bytes of zeroed, page-backed memory aligned to align (a power of two >= page size).
 * NULL on failure. */
void *mb__sys_map_aligned(size_t size, size_t align);
void mb__sys_unmap(void *p, size_t size);
/* Gives back memory from mb__sys_map_aligned of which only the first `dirty` bytes were ever
 * written, for mb__sys_map_aligned to hand out again (zeroed) before mapping new memory: a
 * process-wide cache of a few mappings, off limits to the memory tools meanwhile; unmapped when
 * the cache is full. For an instance being deleted: its memory is nobody's once cached. */
void mb__sys_unmap_cached(void *p, size_t size, size_t dirty);
/* The test hook behind the public mb_internal_fail_after / mb_internal_fail_never (sys.c). */

/* Fills d[0..n) with mean + sd * mb_rng_normal(r), drawing exactly as n calls would (rng.c). */
void mb__rng_fill_normal(mb_rng *r, double *d, size_t n, double mean, double sd);

/* No object may be larger than PTRDIFF_MAX (pointer differences must be representable); requests
 * above it fail before reaching any allocator. */
#define MB__MAX_OBJECT ((size_t)PTRDIFF_MAX)

/* Checked size arithmetic: false on overflow, *out untouched then. */
static inline bool mb__add(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool mb__mul(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }

/* A pointer kept where a leak checker's conservative scan (LeakSanitizer, Valgrind) must not take
 * it for a reference: its bits inverted, so that what membuf remembers about a block (that it is
 * live, or was freed) never makes a block the program lost look reachable. */
static inline uintptr_t mb__hide(const void *p) { return ~(uintptr_t)p; }
static inline void *mb__unhide(uintptr_t h) { return (void *)~h; }

/* An open-addressing map from non-NULL pointers to uintptr_t, for ownership tests without
 * touching the memory the pointer names. Not thread-safe. A zeroed struct is an empty map with
 * the default load factor. Keys are stored hidden (mb__hide); values are not. */
typedef struct mb__ptrmap_entry {
    uintptr_t key; /* mb__hide(pointer); 0: empty slot */
    uintptr_t val;
} mb__ptrmap_entry;
typedef struct mb__ptrmap {
    mb__ptrmap_entry *e;
    size_t cap;        /* power of two, or 0 */
    size_t count;
    size_t limit;      /* keys that fit before the table grows: cap >> load_shift */
    unsigned load_shift; /* at most 1 / 2^load_shift of the slots hold keys; 0: the default, 2 */
} mb__ptrmap;
/* The default load factor, 1/4 (the reason: ptrmap.c). */
#define MB__PTRMAP_LOAD_SHIFT 2
/* mb__ptrmap_reserve's out-of-line half: grows the table so that extra more keys fit. */
bool mb__ptrmap_grow(mb__ptrmap *m, size_t extra);
/* Whether extra more keys fit without growing the table. */
static inline bool mb__ptrmap_has_room(const mb__ptrmap *m, size_t extra)
{
    return extra <= m->limit && m->count <= m->limit - extra;
}
/* Ensures room for `extra` more keys, so the next puts of new keys do not allocate. false on
 * ENOMEM (map unchanged). */
static inline bool mb__ptrmap_reserve(mb__ptrmap *m, size_t extra)
{
    return mb__ptrmap_has_room(m, extra) || mb__ptrmap_grow(m, extra);
}
/* Inserts or overwrites. Needs a prior successful reserve for a new key. */
void mb__ptrmap_put(mb__ptrmap *m, const void *key, uintptr_t val);
bool mb__ptrmap_get(const mb__ptrmap *m, const void *key, uintptr_t *val);
/* The value slot of key, to read or overwrite in place; NULL if absent. Valid until the next
 * put of a new key, del or reserve. */
uintptr_t *mb__ptrmap_find(const mb__ptrmap *m, const void *key);
/* Removes key; returns whether it was present (and its value in *val if val != NULL). */
bool mb__ptrmap_del(mb__ptrmap *m, const void *key, uintptr_t *val);
/* Removes the entry whose value slot is val (from mb__ptrmap_find, still valid). */
void mb__ptrmap_del_at(mb__ptrmap *m, uintptr_t *val);
/* Iteration: start with i = 0; returns the next slot index + 1 after a filled slot, 0 at end. */
size_t mb__ptrmap_next(const mb__ptrmap *m, size_t i, void **key, uintptr_t *val);
void mb__ptrmap_free(mb__ptrmap *m);

/* A ring of recently freed addresses with their sizes, so that a second free of one is told
 * from a foreign pointer. Addresses are not exact: one may since have been handed out again
 * (by anyone), so a live block is always looked for first. A zeroed struct is empty. */
#define MB__FREED_RING 256
typedef struct mb__freed_ring {
    uintptr_t addr[MB__FREED_RING]; /* mb__hide(address); 0 (no address hides to it): empty */
    size_t size[MB__FREED_RING];
    unsigned pos;
} mb__freed_ring;
static inline void mb__freed_push(mb__freed_ring *r, const void *p, size_t size)
{
    r->addr[r->pos] = mb__hide(p);
    r->size[r->pos] = size;
    r->pos = (r->pos + 1) % MB__FREED_RING;
}
/* Whether p is in the ring, and its size then. Newest first: an address freed, reused and freed
 * again names the size it had last. Out of line (ptrmap.c): only bad pointers and other
 * instances' queries look. */
bool mb__freed_find(const mb__freed_ring *r, const void *p, size_t *size);

/* The family that calls a malloc/realloc/free vtable and keeps a map of its live blocks: used
 * by the system family (libc vtable) and by mb_alloc_custom_new. */
mb_alloc *mb__sized_new(const mb_alloc_vtable *vt, void *ctx, const char *name);

/* Test hook for the pool: cap on arenas an instance may map (0 = unlimited). */
void mb__pool_set_max_arenas(mb_alloc *pool, size_t n);

#endif /* MEMBUF_INTERNAL_H */
