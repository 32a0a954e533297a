/* Open-addressing pointer map: linear probing, load factor <= 1/2, backward-shift deletion (no
 * tombstones), Fibonacci hashing. Keys are block addresses, so the low 4 bits carry no entropy. */
#include "internal.h"

#include <string.h>

static size_t slot_of(uintptr_t key, size_t cap)
{
    uint64_t h = (uint64_t)(key >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (cap - 1);
}

static bool grow(mb__ptrmap *m, size_t want)
{
    size_t cap = m->cap ? m->cap : 16;
    while (cap / 2 < want) {
        if (cap > SIZE_MAX / 4)
            return false;
        cap *= 2;
    }
    if (cap == m->cap)
        return true;
    uintptr_t *keys = mb__sys_calloc(cap, sizeof *keys);
    uintptr_t *vals = keys ? mb__sys_malloc(cap * sizeof *vals) : NULL;
    if (!vals) {
        mb__sys_free(keys);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        uintptr_t k = m->keys[i];
        if (!k)
            continue;
        size_t s = slot_of(k, cap);
        while (keys[s])
            s = (s + 1) & (cap - 1);
        keys[s] = k;
        vals[s] = m->vals[i];
    }
    mb__sys_free(m->keys);
    mb__sys_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return true;
}

bool mb__ptrmap_reserve(mb__ptrmap *m, size_t extra)
{
    size_t want;
    if (!mb__add(m->count, extra, &want))
        return false;
    if (m->cap && want <= m->cap / 2)
        return true;
    return grow(m, want);
}

void mb__ptrmap_put(mb__ptrmap *m, const void *key, uintptr_t val)
{
    uintptr_t k = (uintptr_t)key;
    size_t s = slot_of(k, m->cap);
    while (m->keys[s] && m->keys[s] != k)
        s = (s + 1) & (m->cap - 1);
    if (!m->keys[s]) {
        m->keys[s] = k;
        m->count++;
    }
    m->vals[s] = val;
}

static bool find(const mb__ptrmap *m, uintptr_t k, size_t *slot)
{
    if (!m->cap)
        return false;
    size_t s = slot_of(k, m->cap);
    for (;;) {
        uintptr_t cur = m->keys[s];
        if (cur == k) {
            *slot = s;
            return true;
        }
        if (!cur)
            return false;
        s = (s + 1) & (m->cap - 1);
    }
}

bool mb__ptrmap_get(const mb__ptrmap *m, const void *key, uintptr_t *val)
{
    size_t s;
    if (!find(m, (uintptr_t)key, &s))
        return false;
    if (val)
        *val = m->vals[s];
    return true;
}

bool mb__ptrmap_del(mb__ptrmap *m, const void *key, uintptr_t *val)
{
    size_t s;
    if (!find(m, (uintptr_t)key, &s))
        return false;
    if (val)
        *val = m->vals[s];
    size_t mask = m->cap - 1;
    /* Shift later members of the probe run back so no lookup crosses an empty slot. */
    for (size_t j = (s + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t home = slot_of(m->keys[j], m->cap);
        /* Move j into the hole s unless home lies cyclically in (s, j]. */
        bool stays = s <= j ? (s < home && home <= j) : (s < home || home <= j);
        if (stays)
            continue;
        m->keys[s] = m->keys[j];
        m->vals[s] = m->vals[j];
        s = j;
    }
    m->keys[s] = 0;
    m->count--;
    return true;
}

size_t mb__ptrmap_next(const mb__ptrmap *m, size_t i, void **key, uintptr_t *val)
{
    for (; i < m->cap; i++) {
        if (m->keys[i]) {
            if (key)
                *key = (void *)m->keys[i];
            if (val)
                *val = m->vals[i];
            return i + 1;
        }
    }
    return 0;
}

void mb__ptrmap_free(mb__ptrmap *m)
{
    mb__sys_free(m->keys);
    mb__sys_free(m->vals);
    memset(m, 0, sizeof *m);
}
