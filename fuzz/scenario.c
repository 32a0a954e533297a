/* The misuse scenarios (see scenario.h). The argument byte a picks the variant:
 *   bit 0      which guard: guard(pool) if set, else guard(system) (the other one is the
 *              mismatched free's wrong instance); for leak, the new guard's inner: pool or system
 *   bit 1      overflow: found by mb_alloc_check instead of mb_free; foreign-free: a stack address
 *              instead of an address inside a system block
 *   bits 2..7  offsets: foreign-free (a >> 2) % 32 into the local array; write-after-free the
 *              byte (a >> 2) % n of the freed block
 *   bits 4..7  overflow / underflow: (a >> 4) % 16 bytes into the rear / front canary
 *   bit 7      double-free, double-free-late, mismatched-free and foreign-free aimed at the plain
 *              pool, whose own checks must report them (double-free-late: a realloc of the freed
 *              block; mismatched: freed through the guards' inner pool); bit 6 then makes the
 *              block a large one (not for mismatched-free). leak: a block left in a new plain
 *              pool that is deleted (bit 6: a large block with it), then a second new pool used
 *              and deleted with nothing live: it may be built on the memory the first gave back
 *   bit 6      mismatched-free (bit 7 clear): an address reused across instances instead of the
 *              guards: the skewed allocator recycling (scenario.h), a custom instance frees a
 *              block and the allocator hands the address out again; bit 1 clear, to the twin,
 *              and the first instance frees the address once more: its own memory of the free
 *              must not outweigh the twin's live block; bit 1 set, to the same instance, and the
 *              address is freed through the system family: the live block outweighs the old free
 *   misaligned: a custom allocator returns a block off the 16-byte alignment: bit 0 set, from
 *              malloc (the request fails); else from realloc, and bit 1 set, the malloc that
 *              should move it is off too (the block is handed out as it is); resized to
 *              (a >> 2) % 200 + 1 bytes
 * Block size: a % 61 + 1 bytes (large: 600 + a % 61). */
#include "scenario.h"

#include "bounds.h"

#include <membuf.h>

static void add(mbf_scenario *s, mbf_step st)
{
    if (s->n < MBF_MAX_STEPS)
        s->steps[s->n++] = st;
}

static mbf_step step(mbf_step_kind k, int inst, int var, long off, size_t n)
{
    return (mbf_step){.kind = k, .inst = inst, .var = var, .off = off, .n = n, .expect = -1};
}

static mbf_step expect(int kind)
{
    mbf_step st = step(MBF_S_EXPECT, 0, 0, 0, 0);
    st.expect = kind;
    return st;
}

static mbf_step poke(mbf_step_kind k, long off, uint8_t x)
{
    mbf_step st = step(k, 0, MBF_V_P, off, 0);
    st.x = x;
    return st;
}

/* A mismatched free of an address reused across instances (bit 6). */
static void reused_scenario(unsigned a, size_t n, mbf_scenario *s)
{
    const int T = MBF_I_TEMP, owner = (a & 2) ? MBF_I_TEMP : MBF_I_TWIN;
    mbf_step recycle = step(MBF_S_SKEW, 0, 0, 0, 0);
    recycle.x = MBF_SKEW_RECYCLE;
    add(s, step(MBF_S_NEW_SKEWED, T, 0, 0, 0));
    add(s, recycle);
    add(s, step(MBF_S_NEW_TWIN, MBF_I_TWIN, 0, 0, 0));
    add(s, step(MBF_S_MALLOC, T, MBF_V_P, 0, n));
    add(s, step(MBF_S_FREE, T, MBF_V_P, 0, 0));
    add(s, step(MBF_S_MALLOC_AGAIN, owner, MBF_V_Q, 0, n));
    add(s, step(MBF_S_BAD_FREE, (a & 2) ? MBF_F_SYSTEM : T, MBF_V_Q, 0, 0));
    add(s, expect(MB_MISMATCHED_FREE));
    add(s, step(MBF_S_FREE, owner, MBF_V_Q, 0, 0));
    add(s, step(MBF_S_DELETE, T, 0, 0, 0));
    add(s, expect(-1));
}

/* Aimed at the plain pool (bit 7). */
static void pool_scenario(unsigned v, unsigned a, mbf_scenario *s)
{
    bool large = (a & 0x40) && v != MBF_MISMATCHED_FREE;
    size_t n = large ? MBF_MISUSE_LARGE + a % MBF_MISUSE_SIZES : a % MBF_MISUSE_SIZES + 1;
    const int P = MBF_F_POOL;
    add(s, step(MBF_S_MALLOC, P, MBF_V_P, 0, n));
    switch (v) {
    case MBF_DOUBLE_FREE:
        add(s, step(MBF_S_FREE, P, MBF_V_P, 0, 0));
        add(s, step(MBF_S_BAD_FREE, P, MBF_V_P, 0, 0));
        add(s, expect(MB_DOUBLE_FREE));
        break;
    case MBF_DOUBLE_FREE_LATE:
        add(s, step(MBF_S_FREE, P, MBF_V_P, 0, 0));
        add(s, step(MBF_S_BAD_REALLOC, P, MBF_V_P, 0, n + 1));
        add(s, expect(MB_DOUBLE_FREE));
        break;
    case MBF_MISMATCHED_FREE: /* another pool instance: the registry names the owner */
        add(s, step(MBF_S_BAD_FREE, MBF_I_INNER_POOL, MBF_V_P, 0, 0));
        add(s, expect(MB_MISMATCHED_FREE));
        add(s, step(MBF_S_FREE, P, MBF_V_P, 0, 0));
        break;
    default: /* foreign: a stack address, or inside the block (never a block start) */
        if (a & 2)
            add(s, step(MBF_S_BAD_FREE, P, MBF_V_LOCAL, (long)((a >> 2) % 32), 0));
        else
            add(s, step(MBF_S_BAD_FREE, P, MBF_V_P, 8, 0));
        add(s, expect(MB_FOREIGN_FREE));
        add(s, step(MBF_S_FREE, P, MBF_V_P, 0, 0));
        break;
    }
}

/* A leak in a plain pool (leak, bit 7): the pool reports it and gives back what it held; a
 * second pool then maps its arena (mb__sys_unmap_cached may hand it the first one's), and must
 * work as a new one: no report. */
static void pool_leak_scenario(unsigned a, size_t n, mbf_scenario *s)
{
    const int T = MBF_I_TEMP;
    add(s, step(MBF_S_NEW_POOL, T, 0, 0, 0));
    add(s, step(MBF_S_MALLOC, T, MBF_V_P, 0, n));
    if (a & 0x40)
        add(s, step(MBF_S_MALLOC, T, MBF_V_Q, 0, MBF_MISUSE_LARGE + n));
    add(s, step(MBF_S_DELETE, T, 0, 0, 0));
    add(s, expect(MB_LEAK));
    add(s, step(MBF_S_NEW_POOL, T, 0, 0, 0));
    add(s, step(MBF_S_MALLOC, T, MBF_V_P, 0, n));
    add(s, step(MBF_S_FREE, T, MBF_V_P, 0, 0));
    add(s, step(MBF_S_DELETE, T, 0, 0, 0));
    add(s, expect(-1));
}

void mbf_misuse_scenario(const mbf_op *op, mbf_scenario *s)
{
    unsigned v = op->a % MBF_NMISUSE, a = op->b;
    s->n = 0;
    if ((a & 0x80) && v <= MBF_FOREIGN_FREE) {
        pool_scenario(v, a, s);
        return;
    }
    const int g = (a & 1) ? MBF_F_GUARD_POOL : MBF_F_GUARD_SYS;
    const int o = (a & 1) ? MBF_F_GUARD_SYS : MBF_F_GUARD_POOL;
    size_t n = a % MBF_MISUSE_SIZES + 1;
    mbf_step churn;
    switch (v) {
    case MBF_DOUBLE_FREE:
        add(s, step(MBF_S_MALLOC, g, MBF_V_P, 0, n));
        add(s, step(MBF_S_FREE, g, MBF_V_P, 0, 0));
        add(s, step(MBF_S_BAD_FREE, g, MBF_V_P, 0, 0));
        add(s, expect(MB_DOUBLE_FREE));
        break;
    case MBF_DOUBLE_FREE_LATE: /* out of the quarantine first; inner may reuse the memory */
        add(s, step(MBF_S_MALLOC, g, MBF_V_P, 0, n));
        add(s, step(MBF_S_FREE, g, MBF_V_P, 0, 0));
        churn = step(MBF_S_CHURN, g, 0, 0, MBF_CHURN);
        churn.size = n;
        add(s, churn);
        add(s, step(MBF_S_BAD_FREE, g, MBF_V_P, 0, 0));
        add(s, expect(MB_DOUBLE_FREE));
        break;
    case MBF_MISMATCHED_FREE:
        if (a & 0x40) {
            reused_scenario(a, n, s);
            break;
        }
        add(s, step(MBF_S_MALLOC, g, MBF_V_P, 0, n));
        add(s, step(MBF_S_BAD_FREE, o, MBF_V_P, 0, 0));
        add(s, expect(MB_MISMATCHED_FREE));
        add(s, step(MBF_S_FREE, g, MBF_V_P, 0, 0));
        break;
    case MBF_FOREIGN_FREE:
        if (a & 2) {
            add(s, step(MBF_S_BAD_FREE, g, MBF_V_LOCAL, (long)((a >> 2) % 32), 0));
            add(s, expect(MB_FOREIGN_FREE));
        } else { /* inside a system block: no instance's block */
            add(s, step(MBF_S_MALLOC, MBF_F_SYSTEM, MBF_V_Q, 0, n));
            add(s, step(MBF_S_BAD_FREE, g, MBF_V_Q, 8, 0));
            add(s, expect(MB_FOREIGN_FREE));
            add(s, step(MBF_S_FREE, MBF_F_SYSTEM, MBF_V_Q, 0, 0));
        }
        break;
    case MBF_OVERFLOW: /* inside the rear canary */
        add(s, step(MBF_S_MALLOC, g, MBF_V_P, 0, n));
        add(s, poke(MBF_S_POKE, (long)(n + (a >> 4) % 16), 0xA5));
        if (a & 2) {
            add(s, step(MBF_S_CHECK, g, 0, 0, 0));
            add(s, expect(MB_OVERFLOW));
            add(s, step(MBF_S_FREE, g, MBF_V_P, 0, 0));
            add(s, expect(-1)); /* reported once per block */
        } else {
            add(s, step(MBF_S_FREE, g, MBF_V_P, 0, 0));
            add(s, expect(MB_OVERFLOW));
        }
        break;
    case MBF_UNDERFLOW: /* inside the front canary */
        add(s, step(MBF_S_MALLOC, g, MBF_V_P, 0, n));
        add(s, poke(MBF_S_POKE, -1 - (long)((a >> 4) % 16), 0x5A));
        add(s, step(MBF_S_FREE, g, MBF_V_P, 0, 0));
        add(s, expect(MB_UNDERFLOW));
        break;
    case MBF_WRITE_AFTER_FREE: /* the block is quarantined: still allocated in the inner */
        add(s, step(MBF_S_MALLOC, g, MBF_V_P, 0, n));
        add(s, step(MBF_S_FREE, g, MBF_V_P, 0, 0));
        add(s, poke(MBF_S_SET, (long)((a >> 2) % n), 0x11));
        add(s, step(MBF_S_CHECK, g, 0, 0, 0));
        add(s, expect(MB_USE_AFTER_FREE));
        break;
    case MBF_MISALIGNED_BLOCK:
        add(s, step(MBF_S_NEW_SKEWED, MBF_I_TEMP, 0, 0, 0));
        if (a & 1) {
            add(s, poke(MBF_S_SKEW, 0, 1));
            add(s, step(MBF_S_MALLOC_NULL, MBF_I_TEMP, MBF_V_P, 0, n));
            add(s, expect(MB_MISALIGNED));
        } else {
            add(s, step(MBF_S_MALLOC, MBF_I_TEMP, MBF_V_P, 0, n));
            add(s, poke(MBF_S_SKEW, 0, (a & 2) ? 3 : 2));
            add(s, step(MBF_S_REALLOC, MBF_I_TEMP, MBF_V_P, 0, (a >> 2) % 200 + 1));
            add(s, expect(MB_MISALIGNED));
            add(s, step(MBF_S_FREE, MBF_I_TEMP, MBF_V_P, 0, 0));
        }
        add(s, step(MBF_S_DELETE, MBF_I_TEMP, 0, 0, 0));
        add(s, expect(-1));
        break;
    default: /* MBF_LEAK: a block left in a guard that is deleted */
        if (a & 0x80) {
            pool_leak_scenario(a, n, s);
            break;
        }
        add(s, step(MBF_S_NEW_GUARD, (a & 1) ? MBF_F_POOL : MBF_F_SYSTEM, 0, 0, 0));
        add(s, step(MBF_S_MALLOC, MBF_I_TEMP, MBF_V_P, 0, n));
        add(s, step(MBF_S_DELETE, MBF_I_TEMP, 0, 0, 0));
        add(s, expect(MB_LEAK));
        break;
    }
}

long mbf_bad_free_delta(const mbf_op *op)
{
    static const long units[MBF_NUNITS] = {1, 16, 16 << 10, 256 << 10, 1, 1};
    return (long)(int8_t)op->b * units[op->a % MBF_NUNITS];
}

long mbf_corrupt_at(const mbf_op *op, size_t n, mb_violation *kind)
{
    switch (op->a) {
    case MBF_REGION_HEADER: *kind = MB_UNDERFLOW; return -MBF_GUARD_FRONT + op->b % MBF_GUARD_HEADER;
    case MBF_REGION_FRONT: *kind = MB_UNDERFLOW; return -MBF_GUARD_CANARY + op->b % MBF_GUARD_CANARY;
    case MBF_REGION_REAR: *kind = MB_OVERFLOW; return (long)n + op->b % MBF_GUARD_CANARY;
    default: *kind = MB_USE_AFTER_FREE; return (long)(op->b * n / 256); /* anywhere in the block */
    }
}

int mbf_corrupt_finder(const mbf_op *op)
{
    int f = op->c;
    if (op->a == MBF_REGION_FREED)
        return f == MBF_FIND_FREE || f == MBF_FIND_REALLOC ? MBF_FIND_EVICT : f;
    return f;
}
