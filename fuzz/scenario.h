/* Misuse scenarios as data: a misuse op (violation, argument byte) expands into a short list of
 * steps with every size and offset worked out. The executor (exec_misuse.c) runs the steps with
 * every oracle on; membuf-ops emit-c prints the same steps as C. Sizes come from bounds.h. */
#ifndef MEMBUF_FUZZ_SCENARIO_H
#define MEMBUF_FUZZ_SCENARIO_H

#include "ops.h"

#include <membuf.h>
#include <stddef.h>
#include <stdint.h>

/* The instances a step names: the five families, the guards' inner instances, the scenario's
 * own instance (a guard made by NEW_GUARD over a family, a custom instance made by NEW_SKEWED,
 * or a plain pool made by NEW_POOL) and its twin (NEW_TWIN: a second custom instance over the
 * same skewed allocator); both gone after DELETE. */
enum { MBF_I_INNER_SYS = MBF_FAMILIES, MBF_I_INNER_POOL, MBF_I_TEMP, MBF_I_TWIN, MBF_NINST_ALL };

/* What a step's pointer is: the block the scenario allocated (P), its second one (Q), or a local
 * array of MBF_LOCAL_BYTES on the stack; plus the step's offset. */
enum { MBF_V_P, MBF_V_Q, MBF_V_LOCAL };
#define MBF_LOCAL_BYTES 64

typedef enum mbf_step_kind {
    MBF_S_MALLOC,      /* var = mb_malloc(inst, n); must succeed */
    MBF_S_FREE,        /* mb_free(inst, ptr): frees the block (it may report damage) */
    MBF_S_BAD_FREE,    /* mb_free(inst, ptr): a violation, nothing is freed */
    MBF_S_BAD_REALLOC, /* mb_realloc(inst, ptr, n) must return NULL: a violation */
    MBF_S_POKE,        /* ptr[off] ^= x: damage */
    MBF_S_SET,         /* ptr[off] = x: a write (after free) */
    MBF_S_CHECK,       /* mb_alloc_check(inst) */
    MBF_S_CHURN,       /* n times mb_free(inst, mb_malloc(inst, size)) */
    MBF_S_NEW_GUARD,   /* the scenario's guard over inst; must succeed */
    MBF_S_NEW_SKEWED,  /* the scenario's custom instance over a skewed allocator (below) */
    MBF_S_SKEW,        /* the skewed allocator's mode becomes x */
    MBF_S_MALLOC_NULL, /* mb_malloc(inst, n) must return NULL */
    MBF_S_REALLOC,     /* var = mb_realloc(inst, var, n); must succeed */
    MBF_S_DELETE,      /* mb_alloc_delete(the scenario's instance) */
    MBF_S_EXPECT,      /* exactly one report since the last EXPECT, of kind (-1: none) */
    MBF_S_NEW_TWIN,    /* the twin: a second custom instance over the skewed allocator */
    MBF_S_MALLOC_AGAIN, /* var = mb_malloc(inst, n); must succeed and return the address P
                           had (the skewed allocator hands out the block it kept) */
    MBF_S_NEW_POOL,    /* the scenario's own instance: a new plain pool; must succeed */
} mbf_step_kind;

typedef struct mbf_step {
    mbf_step_kind kind;
    int inst;      /* an instance above */
    int var;       /* MBF_V_* */
    long off;      /* pointer offset (FREE, BAD_*), byte offset (POKE, SET) */
    size_t n;      /* size, or churn count */
    size_t size;   /* churn block size */
    uint8_t x;     /* POKE / SET byte */
    int expect;    /* EXPECT: an mb_violation, or -1 */
} mbf_step;

/* The skewed allocator: libc, but with x's bit 0 set its malloc and with bit 1 its realloc
 * return blocks 8 bytes off the 16-byte alignment. Each block has 16 bytes before it for the
 * allocator's own use: its size at block - 16, the offset from libc's block at block - 1. Its
 * instance's name has control characters and is longer than a report (escaped, cut). With bit 2
 * set it recycles: its free keeps the block (off limits to the memory tool; a block it kept
 * before is then given back to libc) and its next malloc of the same size and offset hands the
 * kept block out again, to whichever instance over it asks: one address, reused across
 * instances. The kept block goes back to libc when the scenario ends. */
#define MBF_SKEW_RECYCLE 4
#define MBF_SKEW_NAME_HEAD "skewed\t\x01\n"
#define MBF_SKEW_NAME_LEN 1110

#define MBF_MAX_STEPS 12
typedef struct mbf_scenario {
    mbf_step steps[MBF_MAX_STEPS];
    size_t n;
} mbf_scenario;

/* The steps of misuse op (kind MBF_MISUSE). */
void mbf_misuse_scenario(const mbf_op *op, mbf_scenario *out);

/* bad-free: the pointer is base + mbf_bad_free_delta(op), base being the slot's block (live, or
 * the last one freed from it), its guard header (unit inner: the block - MBF_GUARD_FRONT), or
 * the middle of a local array of MBF_BAD_LOCAL bytes (unit stack). */
#define MBF_BAD_LOCAL 256
long mbf_bad_free_delta(const mbf_op *op);

/* corrupt, on a guard block of n bytes: the offset from the block of the byte damaged, and the
 * violation that is (*kind); and what finds it: a freed block (region freed, n > 0) by a check,
 * an eviction or a delete (free and realloc become eviction), a live one by a free, a realloc,
 * a check, a delete, or (evict) a free that also pushes a block written after its free out of
 * the quarantine: two reports from one call, the block's damage first. */
long mbf_corrupt_at(const mbf_op *op, size_t n, mb_violation *kind);
int mbf_corrupt_finder(const mbf_op *op);

#endif /* MEMBUF_FUZZ_SCENARIO_H */
