/* Open-addressing pointer map: linear probing, load factor <= 1/2^load_shift (default 1/4),
 * backward-shift deletion (no tombstones), Fibonacci hashing. Keys are block addresses, so the
 * low 4 bits carry no entropy. Key and value sit side by side, so a lookup touches one cache
 * line, not two. At 1/2 a deletion shifted about 3.3 entries of its probe run on the guard's
 * churn (cachegrind); at 1/4 the runs are short enough that the guard's free costs 4% fewer
 * instructions, for 16 more bytes per key. */
#include "internal.h"

#include <string.h>

static size_t slot_of(uintptr_t key, size_t cap)
{
    uint64_t h = (uint64_t)(key >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (cap - 1);
}

static unsigned load_shift(const mb__ptrmap *m)
{
    return m->load_shift ? m->load_shift : MB__PTRMAP_LOAD_SHIFT;
}

static bool grow(mb__ptrmap *m, size_t want)
{
    unsigned shift = load_shift(m);
    size_t cap = m->cap ? m->cap : 16;
    while ((cap >> shift) < want) {
        if (cap > SIZE_MAX / 4 / sizeof(mb__ptrmap_entry))
            return false;
        cap *= 2;
    }
    if (cap == m->cap)
        return true;
    mb__ptrmap_entry *e = mb__sys_calloc(cap, sizeof *e);
    if (!e)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        uintptr_t k = m->e[i].key;
        if (!k)
            continue;
        size_t s = slot_of(k, cap);
        while (e[s].key)
            s = (s + 1) & (cap - 1);
        e[s] = m->e[i];
    }
    mb__sys_free(m->e);
    m->e = e;
    m->cap = cap;
    m->limit = cap >> shift;
    MB__ASSERT(m->count <= m->limit);
    return true;
}

bool mb__ptrmap_grow(mb__ptrmap *m, size_t extra)
{
    size_t want;
    return mb__add(m->count, extra, &want) && grow(m, want); /* grow keeps a table big enough */
}

void mb__ptrmap_put(mb__ptrmap *m, const void *key, uintptr_t val)
{
    uintptr_t k = mb__hide(key);
    size_t s = slot_of(k, m->cap);
    while (m->e[s].key && m->e[s].key != k)
        s = (s + 1) & (m->cap - 1);
    if (!m->e[s].key) {
        MB__ASSERT(m->count < m->limit); /* reserved */
        m->e[s].key = k;
        m->count++;
    }
    m->e[s].val = val;
}

/* The slot holding k, or false. */
static bool find_slot(const mb__ptrmap *m, uintptr_t k, size_t *slot)
{
    if (!m->cap)
        return false;
    for (size_t s = slot_of(k, m->cap);; s = (s + 1) & (m->cap - 1)) {
        uintptr_t cur = m->e[s].key;
        if (cur == k) {
            *slot = s;
            return true;
        }
        if (!cur)
            return false;
    }
}

uintptr_t *mb__ptrmap_find(const mb__ptrmap *m, const void *key)
{
    size_t s;
    return find_slot(m, mb__hide(key), &s) ? &m->e[s].val : NULL;
}

bool mb__ptrmap_get(const mb__ptrmap *m, const void *key, uintptr_t *val)
{
    const uintptr_t *v = mb__ptrmap_find(m, key);
    if (!v)
        return false;
    if (val)
        *val = *v;
    return true;
}

/* Empties slot s, shifting later members of its probe run back so no lookup crosses an empty
 * slot. */
static void del_slot(mb__ptrmap *m, size_t s)
{
    size_t mask = m->cap - 1;
    for (size_t j = (s + 1) & mask; m->e[j].key; j = (j + 1) & mask) {
        size_t home = slot_of(m->e[j].key, m->cap);
        /* Move j into the hole s unless home lies cyclically in (s, j]. */
        bool stays = s <= j ? (s < home && home <= j) : (s < home || home <= j);
        if (stays)
            continue;
        m->e[s] = m->e[j];
        s = j;
    }
    m->e[s].key = 0;
    m->count--;
}

bool mb__ptrmap_del(mb__ptrmap *m, const void *key, uintptr_t *val)
{
    size_t s;
    if (!find_slot(m, mb__hide(key), &s))
        return false;
    if (val)
        *val = m->e[s].val;
    del_slot(m, s);
    return true;
}

void mb__ptrmap_del_at(mb__ptrmap *m, uintptr_t *val)
{
    del_slot(m, (size_t)((mb__ptrmap_entry *)(void *)((char *)val - offsetof(mb__ptrmap_entry, val)) - m->e));
}

size_t mb__ptrmap_next(const mb__ptrmap *m, size_t i, void **key, uintptr_t *val)
{
    for (; i < m->cap; i++) {
        if (m->e[i].key) {
            if (key)
                *key = mb__unhide(m->e[i].key);
            if (val)
                *val = m->e[i].val;
            return i + 1;
        }
    }
    return 0;
}

void mb__ptrmap_free(mb__ptrmap *m)
{
    unsigned shift = m->load_shift;
    mb__sys_free(m->e);
    memset(m, 0, sizeof *m);
    m->load_shift = shift;
}

bool mb__freed_find(const mb__freed_ring *r, const void *p, size_t *size)
{
    const uintptr_t h = mb__hide(p);
    for (unsigned k = 1; k <= MB__FREED_RING; k++) {
        unsigned i = (r->pos + MB__FREED_RING - k) % MB__FREED_RING;
        if (r->addr[i] == h) {
            *size = r->size[i];
            return true;
        }
    }
    return false;
}
