/* The guard family: a checking decorator over any instance (the "inner" one).
 *
 * Each guarded block is one inner block:
 *
 *   +---------------------------------+--------------+-----------------+-------------+
 *   | header (32 bytes)               | front canary | user bytes      | rear canary |
 *   | owner size state gen checksum   |   16 bytes   | 0xCD when new,  |  16 bytes   |
 *   |                                 |              | 0xDD when freed |             |
 *   +---------------------------------+--------------+-----------------+-------------+
 *                                                          ^ pointer handed out (16-aligned)
 *
 * The checksum covers the header fields and the user address; the canaries are derived from the
 * address, so a block copied elsewhere does not validate. Whether a pointer is ours is decided by
 * a per-guard map of live blocks (user pointer -> size) and the quarantine ring, never by reading
 * the memory first, so a foreign or stale pointer is never dereferenced. The process-wide registry
 * of instances (registry.c) attributes a block freed through the wrong instance: "mismatched-free:
 * block 0x.. (24 bytes) allocated by guard(pool)#2, freed by guard(system)#1"; other instances ask
 * us in turn (guard_query) about our map, quarantine and evicted ring, which change under the
 * instance's lock.
 *
 * Freed blocks are filled with 0xDD and move from the map to a FIFO quarantine ring (at most
 * QUAR_BLOCKS blocks and QUAR_BYTES bytes) before going back to inner; a block leaving the
 * quarantine, every block at mb_alloc_check and at delete is verified, so a write after free is
 * reported. A free therefore costs one map lookup and one deletion at the slot found, an
 * allocation one insertion; only a pointer that is not live is searched for in the ring (a double
 * free). Addresses that left the quarantine are remembered in a ring, so a late second free is
 * still a double free.
 *
 * Reports are queued and reach the handler only when the outermost membuf call returns
 * (report.c), so a handler that calls back into this guard never finds it half way through an
 * operation.
 *
 * Failure policy: a bad free (double, mismatched, foreign) is reported and not passed on; the
 * block stays where it was. A damaged canary or header of one of our blocks is reported once per
 * block (at free, realloc, check or delete) and the block is then handled normally, since its
 * size and state come from the map or the ring, not from the damaged memory. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define MAGIC UINT64_C(0x314452415547424d) /* "MBGUARD1": salts the checksum */
#define CANARY 16
#define FILL_NEW 0xCD
#define FILL_FREED 0xDD
#define STATE_LIVE 0x4556494cu  /* "LIVE" */
#define STATE_FREED 0x45455246u /* "FREE" */
#define QUAR_BLOCKS 64
#define QUAR_BYTES ((size_t)1 << 20)

/* Map values: size << 1 | F_REPORTED. Only live blocks are in the map; freed ones are in the
 * quarantine ring. */
#define F_REPORTED 1u
#define MAX_USER (MB__MAX_OBJECT >> 1)
#define FILL_CHUNK 256 /* bytes of FILL_FREED compared per memcmp */

typedef struct ghdr {
    const void *owner;
    size_t size;
    uint32_t state;
    uint32_t gen;
    uint64_t checksum;
} ghdr;
_Static_assert(sizeof(ghdr) % MB__ALIGN == 0, "header keeps user alignment");
#define OVERHEAD (sizeof(ghdr) + (size_t)2 * CANARY)

typedef struct qent {
    uint8_t *user;
    size_t size;
    bool reported; /* damage found since the free was reported already */
} qent;

typedef struct guard guard;
struct guard {
    mb_alloc base;
    mb_alloc *inner;
    /* What other instances may query (guard_query), changed under the instance's lock (glock;
     * the guard reads its own without it): */
    mb__ptrmap blocks;          /* live user pointer -> size << 1 | F_REPORTED */
    qent *quar;                 /* FIFO ring of QUAR_BLOCKS freed blocks */
    size_t quar_head, quar_count, quar_bytes;
    mb__freed_ring evicted;     /* blocks that left the quarantine */
    uint32_t gen;
    uint8_t freed_fill[FILL_CHUNK]; /* FILL_FREED: what a quarantined block must still hold */
};

static inline void glock(guard *g) { mb__lock(&g->base); }
static inline void gunlock(guard *g) { mb__unlock(&g->base); }

/* The header of our block user (the pointer handed out). */
static inline ghdr *hdr_of(void *user) { return (ghdr *)((uint8_t *)user - CANARY - sizeof(ghdr)); }

/* Both halves of the 128-bit product a * b, folded (wyhash's "mum"): each output bit depends on
 * every input bit of either factor, in two instructions where 64-bit targets have them. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    u128 p = (u128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
#else
    uint64_t x = (a ^ (b >> 32 | b << 32)) * UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31) ^ b;
#endif
}

/* The fields in two words, each scaled by its own odd constant so that a change of any one field
 * changes its word, then folded together: one wide multiply for the whole header. */
static inline uint64_t checksum(const ghdr *h, const uint8_t *user)
{
    uint64_t a = MAGIC ^ (uint64_t)(uintptr_t)user ^
                 ((uint64_t)h->state << 32 | h->gen) * UINT64_C(0xd6e8feb86659fd93);
    uint64_t b = (uint64_t)(uintptr_t)h->owner * UINT64_C(0xc2b2ae3d27d4eb4f) ^
                 (uint64_t)h->size * UINT64_C(0x165667b19e3779f9);
    return fold_mul(a ^ UINT64_C(0xa0761d6478bd642f), b ^ UINT64_C(0xe7037ed1a0b428db));
}

/* The canary of the block at user: 16 bytes derived from its address. */
static void canary_bytes(const uint8_t *user, uint8_t out[CANARY])
{
    uint64_t k0 = fold_mul((uint64_t)(uintptr_t)user ^ UINT64_C(0x5bd1e9955bd1e995),
                           UINT64_C(0x8ebc6af09c88c6e3));
    uint64_t k1 = (k0 << 29 | k0 >> 35) ^ UINT64_C(0xa0761d6478bd642f);
    memcpy(out, &k0, 8);
    memcpy(out + 8, &k1, 8);
}

/* Whether n bytes at p are all FILL_FREED: libc's vectorised memcmp, a chunk at a time. */
static bool all_freed_fill(const guard *g, const uint8_t *p, size_t n)
{
    for (; n > FILL_CHUNK; p += FILL_CHUNK, n -= FILL_CHUNK)
        if (memcmp(p, g->freed_fill, FILL_CHUNK) != 0)
            return false;
    return memcmp(p, g->freed_fill, n) == 0;
}

/* Whether the 16 bytes at p equal the canary c. */
static inline bool canary_intact(const uint8_t *p, const uint8_t c[CANARY])
{
    uint64_t a0, a1, c0, c1;
    memcpy(&a0, p, 8);
    memcpy(&a1, p + 8, 8);
    memcpy(&c0, c, 8);
    memcpy(&c1, c + 8, 8);
    return ((a0 ^ c0) | (a1 ^ c1)) == 0;
}

static void write_header(guard *g, uint8_t *user, size_t size, uint32_t state, uint32_t gen)
{
    ghdr *h = hdr_of(user);
    h->owner = g;
    h->size = size;
    h->state = state;
    h->gen = gen;
    h->checksum = checksum(h, user);
}

static void write_canaries(uint8_t *user, size_t size)
{
    uint8_t can[CANARY];
    canary_bytes(user, can);
    memcpy(user - CANARY, can, CANARY);
    memcpy(user + size, can, CANARY);
}

/* ---- verification ---------------------------------------------------------------------- */

/* Whether the header of our block of size bytes (quar: in the quarantine) is as we wrote it. */
static inline bool header_intact(const guard *g, const uint8_t *user, size_t size, bool quar)
{
    const ghdr *h = hdr_of((void *)(uintptr_t)user);
    return h->owner == g && h->size == size && h->state == (quar ? STATE_FREED : STATE_LIVE) &&
           h->checksum == checksum(h, user);
}

/* Whether header, canaries and (quar: a quarantined block) fill of our block of size bytes are
 * intact: the whole check on the common path, inline, without locating the damage. */
static inline bool block_intact(const guard *g, const uint8_t *user, size_t size, bool quar)
{
    if (!header_intact(g, user, size, quar))
        return false;
    uint8_t can[CANARY];
    canary_bytes(user, can);
    return canary_intact(user - CANARY, can) && canary_intact(user + size, can) &&
           (!quar || all_freed_fill(g, user, size));
}

/* verify_block() once block_intact() said no: finds the first damage and reports it. */
static MB__NOINLINE bool report_damage(guard *g, uint8_t *user, size_t size, bool quar,
                                       const char *where)
{
    uint8_t can[CANARY];
    canary_bytes(user, can);
    const char *what = NULL;
    mb_violation kind = MB_UNDERFLOW;
    size_t off = 0, off_before = 0; /* off_before: bytes before user of the first damaged one */
    bool header = false;
    if (!header_intact(g, user, size, quar)) {
        what = "header overwritten";
        header = true;
    } else if (!canary_intact(user - CANARY, can)) {
        what = "front canary overwritten";
        for (off = 0; off < CANARY && user[(ptrdiff_t)off - CANARY] == can[off]; off++)
            ;
        off_before = CANARY - off;
    } else if (!canary_intact(user + size, can)) {
        what = "rear canary overwritten";
        kind = MB_OVERFLOW;
        for (off = 0; off < CANARY && user[size + off] == can[off]; off++)
            ;
    } else if (quar && !all_freed_fill(g, user, size)) {
        for (off = 0; off < size && user[off] == FILL_FREED; off++)
            ;
        what = "written after free";
        kind = MB_USE_AFTER_FREE;
    }
    if (!what)
        return false;
    if (quar)
        kind = MB_USE_AFTER_FREE; /* the block was already freed: any write is after free */
    if (off_before)
        mb__report(kind, "block %p (%zu bytes) allocated by %s#%lu: %s at offset -%zu (found at %s)",
                   (void *)user, size, g->base.name, g->base.id, what, off_before, where);
    else if (header)
        mb__report(kind, "block %p (%zu bytes) allocated by %s#%lu: %s (found at %s)",
                   (void *)user, size, g->base.name, g->base.id, what, where);
    else
        mb__report(kind, "block %p (%zu bytes) allocated by %s#%lu: %s at offset %zu (found at %s)",
                   (void *)user, size, g->base.name, g->base.id, what,
                   kind == MB_OVERFLOW ? size + off : off, where);
    return true;
}

/* Checks header and canaries of our block of size bytes, live or (quar) in the quarantine, and
 * a quarantined block's fill. Returns whether it reported damage. where: "mb_free",
 * "mb_alloc_check", ... for the message. */
static inline bool verify_block(guard *g, uint8_t *user, size_t size, bool quar, const char *where)
{
    return !block_intact(g, user, size, quar) && report_damage(g, user, size, quar, where);
}

/* Verifies the live block user, whose map value slot is vp, unless damage was reported before
 * (reported once per block). Returns its value, F_REPORTED set if it reported now or before. */
static uintptr_t verify_live(guard *g, uint8_t *user, uintptr_t *vp, const char *where)
{
    uintptr_t v = *vp;
    if (!(v & F_REPORTED) && verify_block(g, user, v >> 1, false, where)) {
        v |= F_REPORTED;
        glock(g);
        *vp = v; /* a value overwritten in place: the slot stays valid */
        gunlock(g);
    }
    return v;
}

/* Verifies a quarantined block, once per free. */
static void verify_quar(guard *g, qent *e, const char *where)
{
    if (!e->reported && verify_block(g, e->user, e->size, true, where))
        e->reported = true;
}

/* ---- quarantine ------------------------------------------------------------------------ */

/* The quarantine's i-th oldest entry. */
static qent *quar_at(const guard *g, size_t i)
{
    return &g->quar[(g->quar_head + i) % QUAR_BLOCKS];
}

/* The quarantine entry of user, or NULL. */
static const qent *quar_find(const guard *g, const void *user)
{
    for (size_t i = 0; i < g->quar_count; i++)
        if (quar_at(g, i)->user == user)
            return quar_at(g, i);
    return NULL;
}


/* ---- lookup of a pointer passed to free/realloc ---------------------------------------- */

/* Returns our map's value slot for user if it is one of our live blocks (valid until the map
 * gains a key or loses one); otherwise reports what it is and returns NULL. */
static uintptr_t *vet(guard *g, uint8_t *user, const char *what)
{
    uintptr_t *vp = mb__ptrmap_find(&g->blocks, user); /* our own map: no lock to read it */
    if (MB__LIKELY(vp != NULL))
        return vp;
    const qent *q = quar_find(g, user);
    if (q) {
        mb__report(MB_DOUBLE_FREE,
                   "block %p (%zu bytes) allocated by %s#%lu was already freed (%s, block in quarantine)",
                   (void *)user, q->size, g->base.name, g->base.id, what);
        return NULL;
    }
    /* Another instance's block, or one that left our quarantine (whose address may have been
     * handed out again since): the registry decides. */
    size_t size = 0;
    bool evicted = mb__freed_find(&g->evicted, user, &size);
    mb__bad_pointer(&g->base, user, what, evicted ? MB__CLAIM_FREED : MB__CLAIM_NONE, size);
    return NULL;
}

/* ---- family ---------------------------------------------------------------------------- */

static void *guard_malloc(mb_alloc *a, size_t size)
{
    guard *g = (guard *)a;
    size_t total;
    if (size > MAX_USER || !mb__add(size, OVERHEAD, &total))
        return NULL;
    uint8_t *raw = mb_malloc(g->inner, total);
    if (!raw)
        return NULL;
    uint8_t *user = raw + sizeof(ghdr) + CANARY;
    /* Room in the map and the entry, under one hold of the lock (other guards read our map). */
    glock(g);
    bool ok = mb__ptrmap_reserve(&g->blocks, 1);
    if (ok)
        mb__ptrmap_put(&g->blocks, user, (uintptr_t)size << 1);
    gunlock(g);
    if (!ok) {
        mb_free(g->inner, raw);
        return NULL;
    }
    write_header(g, user, size, STATE_LIVE, ++g->gen);
    write_canaries(user, size);
    memset(user, FILL_NEW, size);
    return user;
}

/* Moves the live, vetted block user, whose map value slot is vp, into the quarantine: verified
 * first unless already_verified (or damage was reported before), then marked freed and filled.
 * The blocks it pushes out are verified and, with this block's move from the map to the ring
 * (one hold of the lock), leave the quarantine; they go back to inner afterwards. A block too big
 * to keep is released at once. */
static void quarantine(guard *g, uint8_t *user, uintptr_t *vp, bool already_verified)
{
    uintptr_t v = *vp;
    size_t size = v >> 1;
    /* Inline here rather than through verify_live: the map slot is about to go. */
    if (!already_verified && !(v & F_REPORTED) && verify_block(g, user, size, false, "mb_free"))
        v |= F_REPORTED;
    write_header(g, user, size, STATE_FREED, hdr_of(user)->gen);
    if (v & F_REPORTED) /* damage was reported once; re-arm the canaries for the quarantine */
        write_canaries(user, size);
    memset(user, FILL_FREED, size);
    bool keep = size <= QUAR_BYTES;
    size_t nout = 0, out_bytes = 0;
    while (keep && nout < g->quar_count &&
           (g->quar_count - nout == QUAR_BLOCKS || g->quar_bytes - out_bytes + size > QUAR_BYTES)) {
        qent *e = quar_at(g, nout++);
        verify_quar(g, e, "quarantine eviction");
        out_bytes += e->size;
    }
    /* The push below can only overwrite the first entry popped (when the ring is full): the others
     * stay in the ring's memory, outside its live window, until they are released. */
    qent first = nout ? *quar_at(g, 0) : (qent){NULL, 0, false};
    size_t old_head = g->quar_head;
    glock(g);
    mb__ptrmap_del_at(&g->blocks, vp);
    /* Their addresses are remembered, so a late second free is still called a double free. */
    for (size_t i = 0; i < nout; i++)
        mb__freed_push(&g->evicted, quar_at(g, i)->user, quar_at(g, i)->size);
    if (!keep)
        mb__freed_push(&g->evicted, user, size);
    g->quar_head = (g->quar_head + nout) % QUAR_BLOCKS;
    g->quar_count -= nout;
    g->quar_bytes -= out_bytes;
    if (keep) {
        /* A new episode: damage before the free was reported; writes from now on are after free. */
        *quar_at(g, g->quar_count) = (qent){user, size, false};
        g->quar_count++;
        g->quar_bytes += size;
    }
    gunlock(g);
    MB__ASSERT(g->quar_count <= QUAR_BLOCKS && g->quar_bytes <= QUAR_BYTES);
    for (size_t i = 0; i < nout; i++) {
        const qent *e = i ? &g->quar[(old_head + i) % QUAR_BLOCKS] : &first;
        mb_free(g->inner, hdr_of(e->user));
    }
    if (!keep) /* verified and filled, released at once */
        mb_free(g->inner, hdr_of(user));
}

static bool guard_free(mb_alloc *a, void *p, size_t *size)
{
    guard *g = (guard *)a;
    uintptr_t *vp = vet(g, p, "mb_free");
    if (!vp)
        return false;
    *size = *vp >> 1;
    quarantine(g, p, vp, false);
    return true;
}

static void *guard_realloc(mb_alloc *a, void *p, size_t size, size_t *old_size)
{
    guard *g = (guard *)a;
    uintptr_t *vp = vet(g, p, "mb_realloc");
    if (!vp)
        return NULL;
    size_t old = verify_live(g, p, vp, "mb_realloc") >> 1;
    /* Always move, so a caller that keeps using the old pointer is caught. */
    uint8_t *q = guard_malloc(a, size);
    if (!q)
        return NULL;
    memcpy(q, p, old < size ? old : size);
    /* guard_malloc added a key, so the slot is looked up again. */
    quarantine(g, p, mb__ptrmap_find(&g->blocks, p), true);
    *old_size = old;
    return q;
}

static void guard_check(mb_alloc *a)
{
    guard *g = (guard *)a;
    size_t i = 0;
    void *key;
    /* verify_live may update values in place, which never moves a key. */
    while ((i = mb__ptrmap_next(&g->blocks, i, &key, NULL)) != 0)
        verify_live(g, key, mb__ptrmap_find(&g->blocks, key), "mb_alloc_check");
    for (i = 0; i < g->quar_count; i++)
        verify_quar(g, quar_at(g, i), "mb_alloc_check");
}

static void guard_destroy(mb_alloc *a)
{
    guard *g = (guard *)a;
    /* Every block is checked one last time (live ones were reported as a leak) and goes back. */
    size_t i = 0;
    void *key;
    while ((i = mb__ptrmap_next(&g->blocks, i, &key, NULL)) != 0) {
        verify_live(g, key, mb__ptrmap_find(&g->blocks, key), "mb_alloc_delete");
        mb_free(g->inner, hdr_of(key));
    }
    for (i = 0; i < g->quar_count; i++) {
        qent *e = quar_at(g, i);
        verify_quar(g, e, "mb_alloc_delete");
        mb_free(g->inner, hdr_of(e->user));
    }
    mb__ptrmap_free(&g->blocks);
    mb__sys_free(g->quar);
    mb__alloc_fini(a);
    mb__sys_free(g);
}

/* For another instance, under our lock. */
static mb__claim guard_query(mb_alloc *a, const void *p, size_t *size)
{
    guard *g = (guard *)a;
    uintptr_t v;
    if (mb__ptrmap_get(&g->blocks, p, &v)) {
        *size = (size_t)(v >> 1);
        return MB__CLAIM_LIVE;
    }
    const qent *q = quar_find(g, p);
    if (q) {
        *size = q->size;
        return MB__CLAIM_FREED;
    }
    return mb__freed_find(&g->evicted, p, size) ? MB__CLAIM_FREED : MB__CLAIM_NONE;
}

static const mb__family guard_family = {
    .malloc = guard_malloc,
    .realloc = guard_realloc,
    .free = guard_free,
    .check = guard_check,
    .destroy = guard_destroy,
    .query = guard_query,
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
    memset(g->freed_fill, FILL_FREED, sizeof g->freed_fill);
    mb__registry_add(&g->base);
    return &g->base;
}
