/* membuf — allocator families and a dynamic buffer of doubles.
 *
 * Every allocator is an instance created by one of the mb_alloc_*_new functions and deleted with
 * mb_alloc_delete. An instance is not thread-safe: use one per thread or lock around it.
 * A block belongs to the instance that allocated it and must be resized and freed through that
 * same instance. Every family checks this: a block of another instance is reported as
 * MB_MISMATCHED_FREE (naming both), a pointer of no instance as MB_FOREIGN_FREE, and left alone
 * (see mb_violation). Deciding never reads the memory the pointer names. */
#ifndef MEMBUF_H
#define MEMBUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMBUF_VERSION_MAJOR 0
#define MEMBUF_VERSION_MINOR 1
#define MEMBUF_VERSION_PATCH 0

/* Marks the exported API. The shared library is built with hidden visibility: it exports these
 * names and nothing else. */
#if defined(_WIN32) || defined(__CYGWIN__)
#define MB_API
#elif defined(__GNUC__) || defined(__clang__)
#define MB_API __attribute__((visibility("default")))
#else
#define MB_API
#endif

typedef enum mb_status { MB_OK = 0, MB_ENOMEM, MB_EINVAL, MB_EOVERFLOW } mb_status;

/* A static, human-readable description of s ("out of memory", ...); never NULL. */
MB_API const char *mb_strerror(mb_status s);

typedef struct mb_alloc mb_alloc; /* opaque */

/* C library malloc/realloc/free, with statistics and fault injection around them, and a map of
 * the instance's live blocks (the blocks themselves carry no header): a second free, a foreign
 * pointer and another instance's block are reported and never reach free(). Returns NULL if the
 * instance itself cannot be allocated. */
MB_API mb_alloc *mb_alloc_system_new(void);

/* Small-block pool (pymalloc-style): requests up to 512 bytes come from size classes 16 bytes
 * apart inside aligned pools; larger requests go to libc but stay owned, counted and
 * leak-checked by the instance. A second free of a block reports MB_DOUBLE_FREE (in O(1), in
 * every build). Returns NULL on allocation failure. */
MB_API mb_alloc *mb_alloc_pool_new(void);

/* Checked wrapper around inner: header with checksum, front and rear canaries, 0xCD fill on
 * allocation, 0xDD on free, a bounded quarantine of freed blocks. Reports double, mismatched and
 * foreign frees, overflows, underflows, writes after free and leaks. The guard does not own inner:
 * inner must outlive it (delete the guard first). Returns NULL if inner is NULL or on failure. */
MB_API mb_alloc *mb_alloc_guard_new(mb_alloc *inner);

/* A user-supplied allocator. ctx is passed first to every call. realloc must keep the old block
 * intact when it returns NULL. Every call must return (no longjmp out of it); a call may use
 * other membuf instances. The vtable and name are copied; ctx is borrowed and must outlive the
 * instance. name NULL means "custom". Returns NULL if vt or one of its functions is NULL.
 * Blocks must be aligned to 16 bytes (max_align_t); requests below 16 bytes are passed on as 16.
 * A misaligned block is reported (MB_MISALIGNED): from malloc it is given back to free and the
 * request fails; from realloc (the old block is gone by then) it is moved into an aligned block
 * from malloc if one can be had, and otherwise handed out as it is. */
typedef struct mb_alloc_vtable {
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
} mb_alloc_vtable;
MB_API mb_alloc *mb_alloc_custom_new(const mb_alloc_vtable *vt, void *ctx, const char *name);

/* Deletes the instance. If blocks are still live, reports one MB_LEAK (count and bytes) first,
 * while the instance is whole (a handler may free them; one that does not return leaves the
 * instance undeleted). pool and guard then release every block they still hold; system and
 * custom leave theirs allocated in the underlying allocator (where LeakSanitizer and Valgrind
 * report them, unreachable). NULL: no-op. Every pointer from a pool or guard instance becomes
 * invalid. Deleting an instance that another still uses (a guard's inner) is the caller's error.
 * membuf keeps what it knows of blocks and instances out of sight of leak checkers' scans, so a
 * block or an instance the program lost is still reported by them. */
MB_API void mb_alloc_delete(mb_alloc *a);

/* The family name: "system", "pool", "guard(pool)", "guard(guard(system))", a custom name.
 * Valid until the instance is deleted. */
MB_API const char *mb_alloc_name(const mb_alloc *a);

/* size bytes, aligned for any object type; contents unspecified. size 0 returns a unique,
 * freeable pointer. NULL on failure (including injected failures and sizes too large). */
MB_API void *mb_malloc(mb_alloc *a, size_t size);

/* Resizes p keeping min(old, new) bytes; the block may move. p NULL: mb_malloc. size 0 shrinks
 * to an empty but still live block (never frees). On failure returns NULL and p is untouched
 * and still owned by the caller. */
MB_API void *mb_realloc(mb_alloc *a, void *p, size_t size);

/* Frees p, which must come from a. p NULL: no-op. p becomes invalid. */
MB_API void mb_free(mb_alloc *a, void *p);

/* Counters since creation. live_bytes and peak_bytes count requested bytes, not overhead.
 * mallocs and reallocs count calls (mb_realloc with p NULL counts as a realloc); frees counts
 * blocks released by mb_free; failures counts calls that returned NULL. */
typedef struct mb_alloc_stats {
    size_t live_blocks, live_bytes, peak_bytes;
    uint64_t mallocs, reallocs, frees, failures; /* failures: requests that returned NULL */
} mb_alloc_stats;
MB_API void mb_alloc_get_stats(const mb_alloc *a, mb_alloc_stats *out);

/* Sweeps every live block (and guard's quarantine) now, reporting what is corrupted; a cheap
 * no-op for families with nothing to check (system, custom). */
MB_API void mb_alloc_check(mb_alloc *a);

/* Fault injection: the next n requests (mb_malloc / mb_realloc calls) succeed, then the next one
 * fails (MB_FAIL_ONCE, after which requests succeed again) or every later one (MB_FAIL_ALWAYS)
 * until mb_alloc_fail_never. An injected failure behaves exactly like a real one. */
typedef enum mb_fail_mode { MB_FAIL_ONCE, MB_FAIL_ALWAYS } mb_fail_mode;
MB_API void mb_alloc_fail_after(mb_alloc *a, uint64_t n, mb_fail_mode mode);
MB_API void mb_alloc_fail_never(mb_alloc *a);

typedef enum mb_violation {
    MB_DOUBLE_FREE,
    MB_MISMATCHED_FREE,
    MB_FOREIGN_FREE,
    MB_OVERFLOW,
    MB_UNDERFLOW,
    MB_USE_AFTER_FREE,
    MB_LEAK,
    MB_MISALIGNED /* a custom allocator returned memory not aligned to 16 bytes */
} mb_violation;
/* message: one line without newline or other control characters (names are escaped), e.g.
 * "double-free: block 0x... (24 bytes) allocated by pool#3"; valid only during the call. The
 * library leaves the offending block alone (a bad free is not passed on) and carries on.
 *
 * When the handler runs: a violation is queued where it is found and delivered when the
 * outermost membuf call on that thread returns, with every instance consistent again (an
 * mb_alloc_delete's leak report comes before anything is released, what its release finds
 * after the instance is gone). Several found by one call are
 * delivered in order, one handler call each. So the handler may call any membuf function on any
 * instance, the reporting one included (allocate, free, check, delete other instances); a report
 * that such a call makes is delivered when that call returns, so the handler is then entered
 * again from within itself (it must be reentrant). It may also not return
 * (longjmp, exit): the state stays consistent, and reports still queued are delivered by the next
 * mb_free, mb_realloc, mb_alloc_check or mb_alloc_delete on the thread (any of them, even of
 * NULL). It runs on the thread that made the call. */
typedef void (*mb_violation_fn)(mb_violation v, const char *message, void *user);
/* Process-wide. Returns the old handler; NULL restores the default: one line
 * "membuf: <message>" to stderr, then abort(). */
MB_API mb_violation_fn mb_set_violation_handler(mb_violation_fn fn, void *user);
/* The current handler (NULL for the default) and, if user is not NULL, its user pointer in
 * *user: what a temporary handler saves to put back exactly. */
MB_API mb_violation_fn mb_get_violation_handler(void **user);
MB_API const char *mb_violation_name(mb_violation v); /* "double-free", "mismatched-free", ... */

/* Fault injection for membuf's own allocations (instance structures, maps, arenas, the pool's
 * large blocks), for testing what a failure there leaves: the next n succeed, then every one
 * fails until mb_internal_fail_never(). Process-wide and meant for tests: set it while no other
 * thread uses membuf. */
MB_API void mb_internal_fail_after(uint64_t n);
MB_API void mb_internal_fail_never(void);

/* xoshiro256**, seeded through splitmix64: deterministic for a given seed. r must not be NULL;
 * if it is, nothing is read or written: seed does nothing, u64 returns 0, double and normal
 * return NaN. */
typedef struct mb_rng { uint64_t s[4]; } mb_rng;
MB_API void mb_rng_seed(mb_rng *r, uint64_t seed);
MB_API uint64_t mb_rng_u64(mb_rng *r);
MB_API double mb_rng_double(mb_rng *r); /* [0, 1), 53 random bits */
MB_API double mb_rng_normal(mb_rng *r); /* standard normal (ziggurat, exact tail) */

/* A buffer of len doubles owned through alloc. Fields are read-only for callers. */
typedef struct mb_buf { double *data; size_t len; mb_alloc *alloc; } mb_buf;

/* n doubles, contents unspecified; n 0: data NULL, nothing allocated. *b is always set first to
 * an empty buffer of a, so mb_buf_free(b) is safe after any result. Errors: MB_EINVAL (b or a
 * NULL), MB_EOVERFLOW (n * sizeof(double) overflows; the allocator is not called), MB_ENOMEM. */
MB_API mb_status mb_buf_init(mb_buf *b, mb_alloc *a, size_t n);

/* Keeps min(old, new) elements; new elements are unspecified; n 0 frees the block. On error b is
 * unchanged and still owns its old block. */
MB_API mb_status mb_buf_resize(mb_buf *b, size_t n);

/* Sets every element to v. MB_EINVAL if b is NULL. */
MB_API mb_status mb_buf_fill(mb_buf *b, double v);

/* Sets every element to mean + stddev * mb_rng_normal(rng), in index order. MB_EINVAL if b or
 * rng is NULL, or stddev is negative or not finite, or mean is not finite; b is then untouched. */
MB_API mb_status mb_buf_fill_normal(mb_buf *b, mb_rng *rng, double mean, double stddev);

/* Frees the block through b->alloc and leaves b empty; idempotent (data NULL: no-op). */
MB_API void mb_buf_free(mb_buf *b);

#ifdef __cplusplus
}
#endif
#endif /* MEMBUF_H */
