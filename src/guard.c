/* The guard family: a checking decorator over any instance (the "inner" one).
 *
 * Each guarded block is one inner block:
 *
 *   +---------------------------------------+--------------+-----------------+-------------+
 *   | header (48 bytes)                     | front canary | user bytes      | rear canary |
 *   | magic owner size state gen checksum   |   16 bytes   | 0xCD when new,  |  16 bytes   |
 *   |                                       |              | 0xDD when freed |             |
 *   +---------------------------------------+--------------+-----------------+-------------+
 *                                                          ^ pointer handed out (16-aligned)
 *
 * The checksum covers the header fields and the user address; the canaries are derived from the
 * address, so a block copied elsewhere does not validate. Whether a pointer is ours is decided by
 * a per-guard map (user pointer -> size and state), never by reading the memory first, so a
 * foreign or stale pointer is never dereferenced. A process-wide registry of guards (under a
 * mutex) attributes a block freed through the wrong guard: "mismatched-free: block 0x.. (24
 * bytes) allocated by guard(pool)#2, freed by guard(system)#1".
 *
 * Freed blocks are filled with 0xDD and kept in a FIFO quarantine (at most QUAR_BLOCKS blocks and
 * QUAR_BYTES bytes) before going back to inner; a block leaving the quarantine, every block at
 * mb_alloc_check and at delete is verified, so a write after free is reported. Addresses that
 * left the quarantine are remembered in a ring, so a late second free is still a double free.
 *
 * Failure policy: a bad free (double, mismatched, foreign) is reported and not passed on; the
 * block stays where it was. A damaged canary or header of one of our blocks is reported once per
 * block (at free, realloc, check or delete) and the block is then handled normally, since its
 * size and state come from the map, not from the damaged memory. */
#if !defined(_POSIX_C_SOURCE)
/* pthread mutexes under -std=c11; a feature-test macro is reserved by design. */
#define _POSIX_C_SOURCE 200809L // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
#endif
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAGIC UINT64_C(0x314452415547424d) /* "MBGUARD1" */
#define CANARY 16
#define FILL_NEW 0xCD
#define FILL_FREED 0xDD
#define STATE_LIVE 0x4556494cu  /* "LIVE" */
#define STATE_FREED 0x45455246u /* "FREE" */
#define QUAR_BLOCKS 64
#define QUAR_BYTES ((size_t)1 << 20)
#define EVICTED_RING 256

/* Map values: size << 3 | flags. */
#define F_LIVE 1u
#define F_QUAR 2u
#define F_REPORTED 4u
#define MAX_USER (MB__MAX_OBJECT >> 3)

typedef struct ghdr {
    uint64_t magic;
    const void *owner;
    size_t size;
    uint32_t state;
    uint32_t gen;
    uint64_t checksum;
    uint64_t pad_;
} ghdr;
_Static_assert(sizeof(ghdr) % MB__ALIGN == 0, "header keeps user alignment");
#define OVERHEAD (sizeof(ghdr) + (size_t)2 * CANARY)

typedef struct guard guard;
struct guard {
    mb_alloc base;
    mb_alloc *inner;
    guard *reg_next, *reg_prev; /* registry of all guards */
    mb__ptrmap blocks;          /* user pointer -> size << 3 | flags; live and quarantined */
    uint8_t **quar;             /* FIFO ring of QUAR_BLOCKS user pointers */
    size_t quar_head, quar_count, quar_bytes;
    uintptr_t evicted[EVICTED_RING];
    size_t evicted_size[EVICTED_RING];
    size_t evicted_pos;
    uint32_t gen;
};

static pthread_mutex_t g_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static guard *g_reg;

/* The header of our block user (the pointer handed out). */
static inline ghdr *hdr_of(void *user) { return (ghdr *)((uint8_t *)user - CANARY - sizeof(ghdr)); }

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static uint64_t checksum(const ghdr *h, const uint8_t *user)
{
    uint64_t c = mix(h->magic ^ (uint64_t)(uintptr_t)user);
    c = mix(c ^ (uint64_t)(uintptr_t)h->owner);
    c = mix(c ^ (uint64_t)h->size);
    return mix(c ^ ((uint64_t)h->state << 32 | h->gen));
}

static void canary_bytes(const uint8_t *user, uint8_t out[CANARY])
{
    uint64_t k0 = mix((uint64_t)(uintptr_t)user ^ UINT64_C(0x5bd1e9955bd1e995));
    uint64_t k1 = mix(k0);
    memcpy(out, &k0, 8);
    memcpy(out + 8, &k1, 8);
}

static void write_header(guard *g, uint8_t *user, size_t size, uint32_t state, uint32_t gen)
{
    ghdr *h = hdr_of(user);
    h->magic = MAGIC;
    h->owner = g;
    h->size = size;
    h->state = state;
    h->gen = gen;
    h->pad_ = 0;
    h->checksum = checksum(h, user);
}

/* ---- map helpers (mutations under the registry lock: other guards read our map) ---------- */

static bool map_reserve(guard *g)
{
    pthread_mutex_lock(&g_reg_lock);
    bool ok = mb__ptrmap_reserve(&g->blocks, 1);
    pthread_mutex_unlock(&g_reg_lock);
    return ok;
}

static void map_put(guard *g, const void *user, uintptr_t v)
{
    pthread_mutex_lock(&g_reg_lock);
    mb__ptrmap_put(&g->blocks, user, v);
    pthread_mutex_unlock(&g_reg_lock);
}

static void map_del(guard *g, const void *user)
{
    pthread_mutex_lock(&g_reg_lock);
    mb__ptrmap_del(&g->blocks, user, NULL);
    pthread_mutex_unlock(&g_reg_lock);
}

/* ---- verification ---------------------------------------------------------------------- */

/* Checks header and canaries of our block (v is its map value). Reports at most once per block:
 * returns v with F_REPORTED set if it reported now or before. where: "mb_free", "mb_alloc_check",
 * ... for the message. */
static uintptr_t verify_block(guard *g, uint8_t *user, uintptr_t v, const char *where)
{
    if (v & F_REPORTED)
        return v;
    size_t size = v >> 3;
    const ghdr *h = hdr_of(user);
    uint32_t want_state = (v & F_LIVE) ? STATE_LIVE : STATE_FREED;
    uint8_t can[CANARY];
    canary_bytes(user, can);
    const char *what = NULL;
    mb_violation kind = MB_UNDERFLOW;
    size_t off = 0;
    if (h->magic != MAGIC || h->owner != g || h->size != size || h->state != want_state || h->pad_ ||
        h->checksum != checksum(h, user)) {
        what = "header overwritten";
    } else if (memcmp(user - CANARY, can, CANARY) != 0) {
        what = "front canary overwritten";
        for (off = 0; off < CANARY && user[(ptrdiff_t)off - CANARY] == can[off]; off++)
            ;
    } else if (memcmp(user + size, can, CANARY) != 0) {
        what = "rear canary overwritten";
        kind = MB_OVERFLOW;
        for (off = 0; off < CANARY && user[size + off] == can[off]; off++)
            ;
    } else if (v & F_QUAR) {
        for (off = 0; off < size && user[off] == FILL_FREED; off++)
            ;
        if (off < size) {
            what = "written after free";
            kind = MB_USE_AFTER_FREE;
        }
    }
    if (!what)
        return v;
    if (kind == MB_UNDERFLOW && (v & F_QUAR))
        kind = MB_USE_AFTER_FREE; /* the block was already freed: any write is after free */
    if (kind == MB_OVERFLOW && (v & F_QUAR))
        kind = MB_USE_AFTER_FREE;
    if (kind == MB_UNDERFLOW)
        mb__report(kind, "block %p (%zu bytes) allocated by %s#%lu: %s%s%zu (found at %s)",
                   (void *)user, size, g->base.name, g->base.id, what,
                   off ? " at offset -" : "", off ? CANARY - off : 0, where);
    else
        mb__report(kind, "block %p (%zu bytes) allocated by %s#%lu: %s at offset %zu (found at %s)",
                   (void *)user, size, g->base.name, g->base.id, what,
                   kind == MB_OVERFLOW ? size + off : off, where);
    v |= F_REPORTED;
    map_put(g, user, v);
    return v;
}

/* ---- quarantine ------------------------------------------------------------------------ */

static void release_to_inner(guard *g, uint8_t *user, size_t size)
{
    map_del(g, user);
    g->evicted[g->evicted_pos] = (uintptr_t)user;
    g->evicted_size[g->evicted_pos] = size;
    g->evicted_pos = (g->evicted_pos + 1) % EVICTED_RING;
    mb_free(g->inner, hdr_of(user));
}

static void evict_oldest(guard *g, const char *where)
{
    uint8_t *user = g->quar[g->quar_head];
    g->quar_head = (g->quar_head + 1) % QUAR_BLOCKS;
    g->quar_count--;
    uintptr_t v = 0;
    mb__ptrmap_get(&g->blocks, user, &v);
    verify_block(g, user, v, where);
    g->quar_bytes -= v >> 3;
    release_to_inner(g, user, v >> 3);
}

/* ---- lookup of a pointer passed to free/realloc ---------------------------------------- */

/* Returns true with *v set if user is one of our live blocks; otherwise reports what it is and
 * returns false. */
static bool vet(guard *g, uint8_t *user, uintptr_t *v, const char *what)
{
    if (MB__LIKELY(mb__ptrmap_get(&g->blocks, user, v))) {
        if (*v & F_LIVE)
            return true;
        mb__report(MB_DOUBLE_FREE,
                   "block %p (%zu bytes) allocated by %s#%lu was already freed (%s, block in quarantine)",
                   (void *)user, (size_t)(*v >> 3), g->base.name, g->base.id, what);
        return false;
    }
    /* Another guard's block? Its map is read under the lock; its header only if it is live. */
    pthread_mutex_lock(&g_reg_lock);
    guard *other = NULL;
    uintptr_t ov = 0;
    for (guard *o = g_reg; o; o = o->reg_next) {
        if (o != g && mb__ptrmap_get(&o->blocks, user, &ov)) {
            other = o;
            break;
        }
    }
    char oname[128];
    unsigned long oid = 0;
    if (other) {
        (void)snprintf(oname, sizeof oname, "%s", other->base.name); /* truncation is harmless here */
        oid = other->base.id;
    }
    pthread_mutex_unlock(&g_reg_lock);
    if (other) {
        if (ov & F_LIVE)
            mb__report(MB_MISMATCHED_FREE, "block %p (%zu bytes) allocated by %s#%lu, freed by %s#%lu (%s)",
                       (void *)user, (size_t)(ov >> 3), oname, oid, g->base.name, g->base.id, what);
        else
            mb__report(MB_DOUBLE_FREE,
                       "block %p (%zu bytes) allocated by %s#%lu was already freed (%s through %s#%lu)",
                       (void *)user, (size_t)(ov >> 3), oname, oid, what, g->base.name, g->base.id);
        return false;
    }
    for (size_t i = 0; i < EVICTED_RING; i++) {
        if (g->evicted[i] == (uintptr_t)user) {
            mb__report(MB_DOUBLE_FREE, "block %p (%zu bytes) allocated by %s#%lu was already freed (%s)",
                       (void *)user, g->evicted_size[i], g->base.name, g->base.id, what);
            return false;
        }
    }
    mb__report(MB_FOREIGN_FREE, "%p is not a block of %s#%lu nor of any other guard (%s)",
               (void *)user, g->base.name, g->base.id, what);
    return false;
}

/* ---- family ---------------------------------------------------------------------------- */

static void *guard_malloc(mb_alloc *a, size_t size)
{
    guard *g = (guard *)a;
    size_t total;
    if (size > MAX_USER || !mb__add(size, OVERHEAD, &total) || !map_reserve(g))
        return NULL;
    uint8_t *raw = mb_malloc(g->inner, total);
    if (!raw)
        return NULL;
    uint8_t *user = raw + sizeof(ghdr) + CANARY;
    uint32_t gen = ++g->gen;
    write_header(g, user, size, STATE_LIVE, gen);
    uint8_t can[CANARY];
    canary_bytes(user, can);
    memcpy(user - CANARY, can, CANARY);
    memcpy(user + size, can, CANARY);
    memset(user, FILL_NEW, size);
    map_put(g, user, (uintptr_t)size << 3 | F_LIVE);
    return user;
}

/* Moves a live, vetted block into the quarantine (evicting the oldest if over the bounds). */
static void quarantine(guard *g, uint8_t *user, uintptr_t v)
{
    size_t size = v >> 3;
    (void)verify_block(g, user, v, "mb_free");
    write_header(g, user, size, STATE_FREED, hdr_of(user)->gen);
    uint8_t can[CANARY];
    canary_bytes(user, can);
    memcpy(user - CANARY, can, CANARY); /* damage was reported once; re-arm for the quarantine */
    memcpy(user + size, can, CANARY);
    memset(user, FILL_FREED, size);
    /* A new episode: damage before the free was reported; writes from now on are after free. */
    map_put(g, user, (uintptr_t)size << 3 | F_QUAR);
    if (size > QUAR_BYTES) { /* too big to keep: verified and filled, released at once */
        release_to_inner(g, user, size);
        return;
    }
    while (g->quar_count == QUAR_BLOCKS || (g->quar_count > 0 && g->quar_bytes + size > QUAR_BYTES))
        evict_oldest(g, "quarantine eviction");
    g->quar[(g->quar_head + g->quar_count) % QUAR_BLOCKS] = user;
    g->quar_count++;
    g->quar_bytes += size;
}

static bool guard_free(mb_alloc *a, void *p, size_t *size)
{
    guard *g = (guard *)a;
    uintptr_t v;
    if (!vet(g, p, &v, "mb_free"))
        return false;
    *size = v >> 3;
    quarantine(g, p, v);
    return true;
}

static void *guard_realloc(mb_alloc *a, void *p, size_t size, size_t *old_size)
{
    guard *g = (guard *)a;
    uintptr_t v;
    if (!vet(g, p, &v, "mb_realloc"))
        return NULL;
    v = verify_block(g, p, v, "mb_realloc");
    size_t old = v >> 3;
    /* Always move, so a caller that keeps using the old pointer is caught. */
    uint8_t *q = guard_malloc(a, size);
    if (!q)
        return NULL;
    memcpy(q, p, old < size ? old : size);
    /* Already verified: quarantine without a second report. */
    quarantine(g, p, v | F_REPORTED);
    *old_size = old;
    return q;
}

static void guard_check(mb_alloc *a)
{
    guard *g = (guard *)a;
    size_t i = 0;
    void *key;
    uintptr_t v;
    /* verify_block may update values in place (put on an existing key never rehashes). */
    while ((i = mb__ptrmap_next(&g->blocks, i, &key, &v)) != 0)
        verify_block(g, key, v, "mb_alloc_check");
}

static void guard_destroy(mb_alloc *a)
{
    guard *g = (guard *)a;
    pthread_mutex_lock(&g_reg_lock);
    if (g->reg_prev)
        g->reg_prev->reg_next = g->reg_next;
    else
        g_reg = g->reg_next;
    if (g->reg_next)
        g->reg_next->reg_prev = g->reg_prev;
    pthread_mutex_unlock(&g_reg_lock);
    /* Quarantined blocks are checked one last time; live ones were reported as a leak. */
    size_t i = 0;
    void *key;
    uintptr_t v;
    while ((i = mb__ptrmap_next(&g->blocks, i, &key, &v)) != 0) {
        verify_block(g, key, v, "mb_alloc_delete");
        mb_free(g->inner, hdr_of(key));
    }
    mb__ptrmap_free(&g->blocks);
    mb__sys_free(g->quar);
    mb__alloc_fini(a);
    mb__sys_free(g);
}

static const mb__family guard_family = {
    .malloc = guard_malloc,
    .realloc = guard_realloc,
    .free = guard_free,
    .check = guard_check,
    .destroy = guard_destroy,
};

mb_alloc *mb_alloc_guard_new(mb_alloc *inner)
{
    if (!inner)
        return NULL;
    guard *g = mb__sys_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->quar = mb__sys_calloc(QUAR_BLOCKS, sizeof *g->quar);
    size_t len = strlen(inner->name) + sizeof "guard()";
    char *name = mb__sys_malloc(len);
    if (!g->quar || !name) {
        mb__sys_free(name);
        mb__sys_free(g->quar);
        mb__sys_free(g);
        return NULL;
    }
    (void)snprintf(name, len, "guard(%s)", inner->name); /* len is exact */
    bool ok = mb__alloc_init(&g->base, &guard_family, name);
    mb__sys_free(name);
    if (!ok) {
        mb__sys_free(g->quar);
        mb__sys_free(g);
        return NULL;
    }
    g->inner = inner;
    pthread_mutex_lock(&g_reg_lock);
    g->reg_next = g_reg;
    if (g_reg)
        g_reg->reg_prev = g;
    g_reg = g;
    pthread_mutex_unlock(&g_reg_lock);
    return &g->base;
}
