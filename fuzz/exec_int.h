/* The executor's shared state and helpers, for the exec_*.c files only:
 *   exec_model.c   the model and its oracles (slots, statistics, the memory tools' view, what a
 *                  wrong pointer is, the failure message)
 *   exec_buf.c     buffer ops        exec_raw.c   raw block ops (and bulk)
 *   exec_misuse.c  ops that commit violations (misuse, bad-free, corrupt) and the reentering
 *                  handler
 *   exec_driver.c  instances, fault injection, api-edge, the run loop */
#ifndef MEMBUF_FUZZ_EXEC_INT_H
#define MEMBUF_FUZZ_EXEC_INT_H

#include "bounds.h"
#include "exec.h"
#include "scenario.h"

#include <membuf.h>

#include <stdbool.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define MBF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MBF_PRINTF(f, a)
#endif

enum { SLOT_EMPTY, SLOT_BUF, SLOT_RAW };
#define NINST MBF_I_TEMP /* families and inner instances the run keeps */

typedef struct slot {
    int kind;
    int fam;
    mb_buf buf;
    double *expect; /* model of buf.data[0 .. known) */
    size_t known, cap;
    unsigned char *raw;
    size_t size;
    uint32_t gen;
    unsigned char *last; /* the last block freed from this slot: bad-free's anchor when empty */
    bool reported; /* a guard block whose damage was reported: the guard never reports it again */
} slot;

/* A fail-after countdown, as mb_alloc_fail_after documents it (and the custom vtable's own). */
typedef struct sched {
    int state; /* 0 off, 1 armed once, 2 armed always, 3 failing */
    uint64_t countdown;
} sched;

/* What an instance's statistics and fault injection must be, per the model. */
typedef struct inst_model {
    mb_alloc_stats st;
    sched inject;
    bool injecting; /* fail-after since the last fail-never (or renew): call_back_in keeps off */
    size_t freed;   /* bytes freed or moved away so far: what a guard's quarantine may hold */
    uint64_t gone;  /* blocks that left the instance (freed, or moved by a realloc) */
} inst_model;

/* The custom family's vtable (libc) with a schedule of its own: the underlying allocator that
 * under-fail-after makes fail. */
typedef struct under_vt {
    sched s;
    uint64_t calls; /* malloc and realloc calls */
} under_vt;

/* Every block start an instance handed out in this input, and what became of it: what the
 * harness knows when it hands over a wrong pointer (exec_model.c, expect_bad). */
enum { REC_LIVE, REC_FREED, REC_UNKNOWN };
typedef struct record {
    uintptr_t addr;
    uint8_t owner;  /* instance index */
    uint8_t state;
    uint32_t serial; /* of the owner instance */
    uint32_t req_at, gone_at; /* run requests and the owner's departures when it was freed */
    uint32_t size;   /* REC_FREED: the block's size when it was freed (blocks are < 4 GiB) */
} record;
_Static_assert(sizeof(record) <= 32, "a record is half a cache line");
/* The records of an input lie in order in an array of HIST_LIMIT (then hist_full); a hash table
 * of HIST_CAP 32-bit slots finds them by address: a slot holds the input's tag (HIST_TAG_BITS of
 * its epoch) above the record's index + 1, and a slot with another tag is free. Under 3/8 full,
 * a probe for an address not in it is short; the table (64 KiB) and the records an input
 * touches stay in cache, where the 512 KiB table of records they replace did not. */
#define HIST_BITS 14
#define HIST_CAP ((size_t)1 << HIST_BITS)
#define HIST_INDEX_BITS 13
#define HIST_TAG_BITS (32 - HIST_INDEX_BITS)
#define HIST_LIMIT 6144
_Static_assert(HIST_LIMIT < (1 << HIST_INDEX_BITS), "a record index fits a slot");

typedef struct run {
    mbf_dialect d;
    const mbf_prog *prog;
    size_t op_index;
    mb_alloc *inst[NINST]; /* created when first used */
    uint32_t serial[MBF_NINST_ALL]; /* bumped by renew and delete */
    inst_model m[MBF_FAMILIES];
    sched under[MBF_UNDERS]; /* the model's copy of each underlying allocator's schedule */
    under_vt vt;
    uint64_t requests; /* requests made to any instance in this input */
    size_t work;       /* bytes requested, filled or written (MBF_INPUT_BUDGET) */
    size_t bulk_blocks, bulk_other; /* blocks made by bulk ops (MBF_BULK_BLOCKS), not pool's */
    size_t draws;       /* normal values drawn by fill-normal ops (MBF_NORMAL_DRAWS) */
    bool sys_armed;    /* sys-fail-after: any request may fail (see may_fail_anyway) */
    slot s[MBF_SLOTS];
    uint32_t gen;
    unsigned touched; /* slots the current op touched: checked after it */
    unsigned fams;    /* families whose model the current op changed: statistics checked after it */
    bool sweep;       /* check every slot after the current op */
    /* freed blocks the memory tool must now keep off limits (checked after the op) */
    struct {
        unsigned char *p;
        size_t n;
    } dead[16];
    size_t ndead;
    /* reports */
    int reports;
    mb_violation kinds[8]; /* the first eight since the last expect */
    char last_msg[1024];
    bool reenter, reentering, misused;
    int deleting; /* a family whose instance is being deleted, or -1 */
    int busy;     /* a slot whose block is being resized (a handler leaves it alone), or -1 */
    /* history */
    uint32_t epoch; /* this input's tag in hslot (mbf_run) */
    size_t hist_n;
    bool hist_full; /* some block starts were not recorded: no address is known never used */
    record *hist;    /* HIST_LIMIT records: this input's, in order */
    uint32_t *hslot; /* HIST_CAP slots, kept across inputs (tagged with the epoch) */
    mbf_trace *trace;
} run;

/* exec_model.c */
_Noreturn void fail(const run *r, const char *fmt, ...) MBF_PRINTF(2, 3);
mb_alloc *inst_of(run *r, int i); /* the instance, created if need be (exec_driver.c) */
int fam_of(const run *r, int i);
bool is_guard(int f);
void paint_bytes(unsigned char *p, size_t n, uint32_t gen);
void paint(slot *sl, uint32_t gen);
bool intact(const unsigned char *p, size_t n, uint32_t gen);
void verify_raw(const run *r, int i, size_t n);
bool raw_realloc(run *r, int i, size_t n);
void verify_slot(run *r, int i);
void check_stats(run *r, int f);
void after_op(run *r);
void verify_all(run *r);
/* Requests and blocks in the model. */
bool model_request(run *r, int f, bool is_realloc);
bool model_under(run *r, int f, size_t n, uint64_t calls_before, bool injected);
void model_failed(run *r, int f);
bool may_fail_anyway(run *r, int f);
void block_in(run *r, int f, void *p, size_t n);
void block_out(run *r, int f, void *p, size_t n, bool counted_free);
void stats_in(run *r, int f, size_t n);
void stats_out(run *r, int f, size_t n, bool counted_free);
void hist_in(run *r, int f, void *p);
void hist_out(run *r, int f, void *p, size_t n);
uint64_t under_calls(run *r, int f);
bool worth_touching(run *r, size_t bytes);
bool affordable(run *r, size_t bytes, size_t old);
void touch(run *r, int i);
void release(run *r, slot *sl);
void ensure_cap(const run *r, slot *sl, size_t n);
/* The memory tools' view. */
void check_block_tools(const run *r, int f, const unsigned char *p, size_t n, const char *what);
/* A block a harness allocator keeps: off limits to the tool (hide), usable again (show). */
void tool_hide(const void *p, size_t n);
void tool_show(const void *p, size_t n);
/* What a pointer handed to family x is: the violations allowed (bit per mb_violation), 0 if it
 * is one of x's live blocks. */
unsigned expect_bad(run *r, int x, const unsigned char *q, size_t *named);
record *hist_put(run *r, int owner, const void *p, int state);
/* Reports. */
void expect_reports(run *r, unsigned allowed, int count, const char *what);
void sched_arm(sched *s, uint64_t n, int mode);
bool sched_next(sched *s);

/* exec_driver.c */
void disarm_all(run *r);
void forget_instance(run *r, int i);

/* exec_misuse.c */
void call_back_in(run *r);

/* The executors, one per op (exec_<fn> of ops_table.h): each returns whether it made any call
 * (false: skipped, nothing done). */
#define MBF_OP(id, text, fn, targets, ...) bool exec_##fn(run *r, const mbf_op *op);
#include "ops_table.h"
#undef MBF_OP

#endif /* MEMBUF_FUZZ_EXEC_INT_H */
