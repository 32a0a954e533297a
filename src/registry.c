/* The registry of live instances, and the attribution of a pointer that an instance was handed
 * but does not hold: whose block is it?
 *
 * Every instance is in one process-wide list (under g_reg_lock) from creation to deletion. An
 * instance handed a pointer that is not one of its live blocks asks every other instance what
 * the pointer is to it (mb__family.query: LIVE, FREED, INSIDE or nothing), each under that
 * instance's own lock, and reports one violation from the strongest answer. Nothing reads the
 * memory the pointer names: each family answers from its own bookkeeping (a map of live
 * blocks, the pool's arena map, a ring of recent frees). Lock order: g_reg_lock, then one
 * instance lock at a time; an instance holding its own lock never takes another. The list's
 * links are hidden from leak checkers (mb__hide): an instance the program lost is a leak. */
#if !defined(_POSIX_C_SOURCE)
/* pthread mutexes and sched_yield under -std=c11; a feature-test macro is reserved by design. */
#define _POSIX_C_SOURCE 200809L // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
#endif
#include "internal.h"

#include <pthread.h>
#include <sched.h>

static pthread_mutex_t g_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t g_reg = ~(uintptr_t)0; /* mb__hide(first instance): the list's links are hidden */

void mb__lock_slow(mb_alloc *a)
{
    while (atomic_flag_test_and_set_explicit(&a->lock, memory_order_acquire))
        (void)sched_yield();
}

static mb_alloc *at(uintptr_t link) { return mb__unhide(link); }

void mb__registry_add(mb_alloc *a)
{
    pthread_mutex_lock(&g_reg_lock);
    a->reg_prev = mb__hide(NULL);
    a->reg_next = g_reg;
    if (at(g_reg))
        at(g_reg)->reg_prev = mb__hide(a);
    g_reg = mb__hide(a);
    pthread_mutex_unlock(&g_reg_lock);
}

void mb__registry_remove(mb_alloc *a)
{
    pthread_mutex_lock(&g_reg_lock);
    if (at(a->reg_prev))
        at(a->reg_prev)->reg_next = a->reg_next;
    else if (at(g_reg) == a)
        g_reg = a->reg_next;
    if (at(a->reg_next))
        at(a->reg_next)->reg_prev = a->reg_prev;
    a->reg_next = a->reg_prev = mb__hide(NULL);
    pthread_mutex_unlock(&g_reg_lock);
}

/* The instance other than a with the strongest claim on p (the first LIVE one ends the
 * search), or NULL; *claim and *size say what it claims. Runs under g_reg_lock. */
static mb_alloc *strongest_other(const mb_alloc *a, const void *p, mb__claim *claim, size_t *size)
{
    mb_alloc *best = NULL;
    *claim = MB__CLAIM_NONE;
    *size = 0;
    for (mb_alloc *o = at(g_reg); o && *claim != MB__CLAIM_LIVE; o = at(o->reg_next)) {
        if (o == a || !o->fam->query)
            continue;
        size_t sz = 0;
        mb__lock(o);
        mb__claim c = o->fam->query(o, p, &sz);
        mb__unlock(o);
        if (c > *claim) {
            best = o;
            *claim = c;
            *size = sz;
        }
    }
    return best;
}

void mb__bad_pointer(mb_alloc *a, const void *p, const char *what, mb__claim own, size_t own_size)
{
    mb__report_enter(); /* the report is delivered after the lock is released */
    pthread_mutex_lock(&g_reg_lock);
    mb__claim claim;
    size_t size;
    const mb_alloc *o = strongest_other(a, p, &claim, &size);
    /* o's name and id are read under g_reg_lock: o cannot be deleted meanwhile. */
    if (claim == MB__CLAIM_LIVE)
        mb__report(MB_MISMATCHED_FREE, "block %p (%zu bytes) allocated by %s#%lu, freed by %s#%lu (%s)",
                   p, size, o->name, o->id, a->name, a->id, what);
    else if (own == MB__CLAIM_FREED)
        mb__report(MB_DOUBLE_FREE, "block %p (%zu bytes) allocated by %s#%lu was already freed (%s)",
                   p, own_size, a->name, a->id, what);
    else if (claim == MB__CLAIM_FREED)
        mb__report(MB_DOUBLE_FREE,
                   "block %p (%zu bytes) allocated by %s#%lu was already freed (%s through %s#%lu)",
                   p, size, o->name, o->id, what, a->name, a->id);
    else if (own == MB__CLAIM_INSIDE)
        mb__report(MB_FOREIGN_FREE, "%p is inside the memory of %s#%lu but not one of its blocks (%s)",
                   p, a->name, a->id, what);
    else if (claim == MB__CLAIM_INSIDE)
        mb__report(MB_FOREIGN_FREE, "%p is not a block of %s#%lu; it lies inside the memory of %s#%lu "
                   "but is not one of its blocks either (%s)", p, a->name, a->id, o->name, o->id, what);
    else
        mb__report(MB_FOREIGN_FREE, "%p is not a block of %s#%lu nor of any other membuf instance (%s)",
                   p, a->name, a->id, what);
    pthread_mutex_unlock(&g_reg_lock);
    mb__report_leave();
}
