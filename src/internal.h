/* Internal interface shared by the families. Nothing here is installed. Prefix mb__ / MB__. */
#ifndef MEMBUF_INTERNAL_H
#define MEMBUF_INTERNAL_H

#include "membuf.h"

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

/* One family's implementation. The generic layer (alloc.c) handles NULL pointers, fault
 * injection and statistics; the family only sees real requests.
 *   malloc:  size may be 0 (return a unique block). NULL on failure.
 *   realloc: p != NULL. On success returns the block and sets *old_size to p's requested size.
 *            On failure (or a violation already reported) returns NULL, p untouched.
 *   free:    p != NULL. Returns true and sets *size if a block was released; false if a
 *            violation was reported and nothing was freed.
 *   check:   optional (NULL): sweep live blocks and report corruption.
 *   destroy: release everything the instance holds, then the instance itself. The generic layer
 *            has already reported MB_LEAK for live blocks. */
typedef struct mb__family {
    void *(*malloc)(mb_alloc *a, size_t size);
    void *(*realloc)(mb_alloc *a, void *p, size_t size, size_t *old_size);
    bool (*free)(mb_alloc *a, void *p, size_t *size);
    void (*check)(mb_alloc *a);
    void (*destroy)(mb_alloc *a);
} mb__family;

enum mb__fail_state { MB__FAIL_OFF, MB__FAIL_ARMED_ONCE, MB__FAIL_ARMED_ALWAYS, MB__FAIL_FAILING };

/* An instance's counters as kept: what becomes live and what stops being live are counted
 * separately (live = in - out, in modular arithmetic), so a malloc and the free after it do not
 * both update one counter -- a chain of read-modify-writes through memory that would bound the
 * throughput of a churn loop. The pool's inline paths count a malloc or free once, in fast_in
 * or fast_out, for both the call and the block. mb_alloc_get_stats assembles mb_alloc_stats. */
typedef struct mb__stats {
    uint64_t mallocs, reallocs, frees, failures;
    size_t blocks_in, blocks_out;
    size_t bytes_in, bytes_out;
    size_t peak_bytes;
    size_t fast_in, fast_out; /* successful inline mallocs and frees */
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

static inline size_t mb__stats_live_blocks(const mb__stats *s)
{
    return (s->blocks_in + s->fast_in) - (s->blocks_out + s->fast_out);
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
};


/* Fills the head: copies name (exact size), assigns the next id. false on ENOMEM (head untouched
 * apart from being zeroed; nothing to free). */
bool mb__alloc_init(mb_alloc *a, const mb__family *fam, const char *name);
/* Frees what mb__alloc_init allocated. Families call it from destroy before freeing themselves. */
void mb__alloc_fini(mb_alloc *a);

/* Reports a violation through the process-wide handler. The default handler prints
 * "membuf: <message>" and aborts. */
void mb__report(mb_violation v, const char *fmt, ...) MB__PRINTF(2, 3);

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
/* Test hook, not thread-safe: the next n internal allocations succeed, then all fail until
 * mb__sys_fail_never(). */
void mb__sys_fail_after(uint64_t n);
void mb__sys_fail_never(void);

/* Fills d[0..n) with mean + sd * mb_rng_normal(r), drawing exactly as n calls would (rng.c). */
void mb__rng_fill_normal(mb_rng *r, double *d, size_t n, double mean, double sd);

/* No object may be larger than PTRDIFF_MAX (pointer differences must be representable); requests
 * above it fail before reaching any allocator. */
#define MB__MAX_OBJECT ((size_t)PTRDIFF_MAX)

/* Checked size arithmetic: false on overflow, *out untouched then. */
static inline bool mb__add(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool mb__mul(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }

/* An open-addressing map from non-NULL pointers to uintptr_t, for ownership tests without
 * touching the memory the pointer names. Not thread-safe. A zeroed struct is an empty map. */
typedef struct mb__ptrmap_entry {
    uintptr_t key; /* 0: empty slot */
    uintptr_t val;
} mb__ptrmap_entry;
typedef struct mb__ptrmap {
    mb__ptrmap_entry *e;
    size_t cap; /* power of two, or 0 */
    size_t count;
} mb__ptrmap;
/* At most 1 / MB__PTRMAP_LOAD_DIV of a map's slots hold keys (the reason: ptrmap.c). */
#define MB__PTRMAP_LOAD_DIV 4
/* mb__ptrmap_reserve's out-of-line half: grows the table so that extra more keys fit. */
bool mb__ptrmap_grow(mb__ptrmap *m, size_t extra);
/* Ensures room for `extra` more keys, so the next puts of new keys do not allocate. false on
 * ENOMEM (map unchanged). */
static inline bool mb__ptrmap_reserve(mb__ptrmap *m, size_t extra)
{
    return (m->count + extra >= m->count && m->count + extra <= m->cap / MB__PTRMAP_LOAD_DIV) ||
           mb__ptrmap_grow(m, extra);
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

/* The family that stores a small size header in front of each block and calls a vtable:
 * used by the system family (libc vtable) and by mb_alloc_custom_new. */
mb_alloc *mb__sized_new(const mb_alloc_vtable *vt, void *ctx, const char *name);

/* Test hook for the pool: cap on arenas an instance may map (0 = unlimited). */
void mb__pool_set_max_arenas(mb_alloc *pool, size_t n);

#endif /* MEMBUF_INTERNAL_H */
