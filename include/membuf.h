/* membuf — allocator families and a dynamic buffer of doubles.
 *
 * Every allocator is an instance created by one of the mb_alloc_*_new functions and deleted with
 * mb_alloc_delete. An instance is not thread-safe: use one per thread or lock around it.
 * A block belongs to the instance that allocated it and must be resized and freed through that
 * same instance; the pool and guard families report a violation otherwise (see mb_violation). */
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

typedef enum mb_status { MB_OK = 0, MB_ENOMEM, MB_EINVAL, MB_EOVERFLOW } mb_status;

/* A static, human-readable description of s ("out of memory", ...); never NULL. */
const char *mb_strerror(mb_status s);

typedef struct mb_alloc mb_alloc; /* opaque */

/* C library malloc/realloc/free, with statistics and fault injection around them.
 * Returns NULL if the instance itself cannot be allocated. */
mb_alloc *mb_alloc_system_new(void);

/* Small-block pool (pymalloc-style): requests up to 512 bytes come from size classes 16 bytes
 * apart inside aligned pools; larger requests go to libc but stay owned, counted and
 * leak-checked by the instance. Freeing a pointer it does not own reports MB_FOREIGN_FREE; a
 * second free of the same block reports MB_DOUBLE_FREE. Returns NULL on allocation failure. */
mb_alloc *mb_alloc_pool_new(void);

/* Checked wrapper around inner: header with checksum, front and rear canaries, 0xCD fill on
 * allocation, 0xDD on free, a bounded quarantine of freed blocks. Reports double, mismatched and
 * foreign frees, overflows, underflows, writes after free and leaks. The guard does not own inner:
 * inner must outlive it (delete the guard first). Returns NULL if inner is NULL or on failure. */
mb_alloc *mb_alloc_guard_new(mb_alloc *inner);

/* A user-supplied allocator. ctx is passed first to every call. realloc must keep the old block
 * intact when it returns NULL. The vtable and name are copied; ctx is borrowed and must outlive
 * the instance. name NULL means "custom". Returns NULL if vt or one of its functions is NULL. */
typedef struct mb_alloc_vtable {
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
} mb_alloc_vtable;
mb_alloc *mb_alloc_custom_new(const mb_alloc_vtable *vt, void *ctx, const char *name);

/* Deletes the instance. If blocks are still live, reports one MB_LEAK (count and bytes) first.
 * pool and guard then release every block they still hold; system and custom keep no registry of
 * blocks, so theirs stay allocated in the underlying allocator (where LeakSanitizer and Valgrind
 * report them). NULL: no-op. Every pointer from a pool or guard instance becomes invalid. */
void mb_alloc_delete(mb_alloc *a);

/* The family name: "system", "pool", "guard(pool)", "guard(guard(system))", a custom name.
 * Valid until the instance is deleted. */
const char *mb_alloc_name(const mb_alloc *a);

/* size bytes, aligned for any object type; contents unspecified. size 0 returns a unique,
 * freeable pointer. NULL on failure (including injected failures and sizes too large). */
void *mb_malloc(mb_alloc *a, size_t size);

/* Resizes p keeping min(old, new) bytes; the block may move. p NULL: mb_malloc. size 0 shrinks
 * to an empty but still live block (never frees). On failure returns NULL and p is untouched
 * and still owned by the caller. */
void *mb_realloc(mb_alloc *a, void *p, size_t size);

/* Frees p, which must come from a. p NULL: no-op. p becomes invalid. */
void mb_free(mb_alloc *a, void *p);

/* Counters since creation. live_bytes and peak_bytes count requested bytes, not overhead.
 * mallocs and reallocs count calls (mb_realloc with p NULL counts as a realloc); frees counts
 * blocks released by mb_free; failures counts calls that returned NULL. */
typedef struct mb_alloc_stats {
    size_t live_blocks, live_bytes, peak_bytes;
    uint64_t mallocs, reallocs, frees, failures; /* failures: requests that returned NULL */
} mb_alloc_stats;
void mb_alloc_get_stats(const mb_alloc *a, mb_alloc_stats *out);

/* Sweeps every live block (and guard's quarantine) now, reporting what is corrupted; a cheap
 * no-op for families with nothing to check (system, custom). */
void mb_alloc_check(mb_alloc *a);

/* Fault injection: the next n requests (mb_malloc / mb_realloc calls) succeed, then the next one
 * fails (MB_FAIL_ONCE, after which requests succeed again) or every later one (MB_FAIL_ALWAYS)
 * until mb_alloc_fail_never. An injected failure behaves exactly like a real one. */
typedef enum mb_fail_mode { MB_FAIL_ONCE, MB_FAIL_ALWAYS } mb_fail_mode;
void mb_alloc_fail_after(mb_alloc *a, uint64_t n, mb_fail_mode mode);
void mb_alloc_fail_never(mb_alloc *a);

typedef enum mb_violation {
    MB_DOUBLE_FREE,
    MB_MISMATCHED_FREE,
    MB_FOREIGN_FREE,
    MB_OVERFLOW,
    MB_UNDERFLOW,
    MB_USE_AFTER_FREE,
    MB_LEAK
} mb_violation;
/* message: one line without newline, e.g. "double-free: block 0x... (24 bytes) allocated by
 * pool#3"; valid only during the call. If the handler returns, the library leaves the offending
 * block alone (a bad free is not passed on) and carries on. */
typedef void (*mb_violation_fn)(mb_violation v, const char *message, void *user);
/* Process-wide. Returns the old handler; NULL restores the default: one line
 * "membuf: <message>" to stderr, then abort(). */
mb_violation_fn mb_set_violation_handler(mb_violation_fn fn, void *user);
const char *mb_violation_name(mb_violation v); /* "double-free", "mismatched-free", ... */

/* xoshiro256**, seeded through splitmix64: deterministic for a given seed. */
typedef struct mb_rng { uint64_t s[4]; } mb_rng;
void mb_rng_seed(mb_rng *r, uint64_t seed);
uint64_t mb_rng_u64(mb_rng *r);
double mb_rng_double(mb_rng *r); /* [0, 1), 53 random bits */
double mb_rng_normal(mb_rng *r); /* standard normal (ziggurat, exact tail) */

/* A buffer of len doubles owned through alloc. Fields are read-only for callers. */
typedef struct mb_buf { double *data; size_t len; mb_alloc *alloc; } mb_buf;

/* n doubles, contents unspecified; n 0: data NULL, nothing allocated. *b is always set first to
 * an empty buffer of a, so mb_buf_free(b) is safe after any result. Errors: MB_EINVAL (b or a
 * NULL), MB_EOVERFLOW (n * sizeof(double) overflows; the allocator is not called), MB_ENOMEM. */
mb_status mb_buf_init(mb_buf *b, mb_alloc *a, size_t n);

/* Keeps min(old, new) elements; new elements are unspecified; n 0 frees the block. On error b is
 * unchanged and still owns its old block. */
mb_status mb_buf_resize(mb_buf *b, size_t n);

/* Sets every element to v. MB_EINVAL if b is NULL. */
mb_status mb_buf_fill(mb_buf *b, double v);

/* Sets every element to mean + stddev * mb_rng_normal(rng), in index order. MB_EINVAL if b or
 * rng is NULL, or stddev is negative or not finite, or mean is not finite; b is then untouched. */
mb_status mb_buf_fill_normal(mb_buf *b, mb_rng *rng, double mean, double stddev);

/* Frees the block through b->alloc and leaves b empty; idempotent (data NULL: no-op). */
void mb_buf_free(mb_buf *b);

#ifdef __cplusplus
}
#endif
#endif /* MEMBUF_H */
