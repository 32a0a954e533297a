/* The operation language shared by the fuzz targets, the replay driver, membuf-ops and tests.
 *
 * Binary form (what the fuzzers mutate). Decoding is total: every byte string is a valid
 * sequence; missing argument bytes read as 0; at most MBF_MAX_OPS ops are decoded and the rest
 * is ignored. Each op is
 *
 *     kind byte    the op is dialect[kind % dialect_size] (each target has its own dialect)
 *     arguments    per op, below; one byte each unless noted
 *
 *   op           args                          text form
 *   init         slot fam size                 init 3 pool 17
 *   resize       slot size                     resize 3 40
 *   fill         slot value                    fill 3 1.5
 *   fill-normal  slot seed mean sd             fill-normal 3 seed=7 mean=0 sd=1
 *   free         slot                          free 3
 *   malloc       slot fam size                 malloc 2 guard(pool) 513
 *   realloc      slot size                     realloc 2 0
 *   write        slot                          write 2   (new pattern / values)
 *   fail-after   slot n mode                   fail-after 2 3 once      (mode byte odd: always)
 *   fail-never   slot                          fail-never 2
 *   check        slot                          check 2
 *   misuse       violation arg                 misuse double-free 17 [reenter]  (fuzz_guard)
 *   bulk         order fam size count          bulk 2 pool 100 64       (fuzz_alloc, fuzz_guard)
 *   sys-fail-after  n                          sys-fail-after 3
 *   renew        fam                           renew guard(pool)
 *   api-edge     slot check                    api-edge 2 5
 *
 *   slot   byte % 8.  fam  byte % 5: system pool guard(system) guard(pool) custom.
 *   size   first byte z:  0..127 the value itself; 128..191 an edge value from mbf_edge_sizes
 *          (every pool class boundary 16k-2, 16k-1, 16k up to 513, then large sizes); 192..253 a
 *          16-bit little-endian value in the next two bytes; 254 SIZE_MAX/8+1 (an element count
 *          whose byte size overflows); 255 SIZE_MAX. Buffer ops read it as an element count,
 *          raw ops as bytes.
 *   value, mean, sd    byte % 8 into mbf_fill_values / mbf_means / mbf_sds (text: the same
 *          spelling; invalid means and sds are deliberate: MB_EINVAL is expected).
 *   seed   one byte.   n   one byte.   violation  byte % 8 into mbf_violation_names; bit 3 of
 *          the byte: reenter (the violation handler calls back into every instance on each
 *          report: allocates, resizes, frees and checks through each, and frees a live raw
 *          slot's block; see membuf.h on what a handler may do).
 *   misuse arg: bit 0 picks the guard (guard(pool) if set); bit 7 aims double-free,
 *          double-free-late, mismatched-free and foreign-free at the plain pool instead (bit 6:
 *          a large pool block), where the pool's own checks must report them.
 *   bulk   allocates count blocks of size bytes at once (count byte * 4, so 0..1020; sizes above
 *          4096 are skipped), paints and checks them, then frees them all in an order: 0 first
 *          in first out, 1 last in first out, 2 even indices first, 3..7 shuffled (seeded by the
 *          order and the size). This fills pools, empties them and maps and returns arenas,
 *          which eight slots never do. The slot byte carries the order.
 *   sys-fail-after  arms membuf's internal fault hook (mb_internal_fail_after): the next n
 *          internal allocations (descriptors, maps, quarantine, names, libc blocks behind the
 *          pool's large blocks) succeed, then all fail until the input ends or a misuse op
 *          (which disarms it). While armed any request may fail, but a failed call must still
 *          leave everything unchanged and statistics exact. The slot byte is ignored.
 *   renew  replaces the family's instance with a new one (a guard over the same inner) when
 *          nothing of it is live; under sys-fail-after the creation may fail, and then the old
 *          instance stays. Exercises creation, deletion and their failure paths.
 *   api-edge  one of eight groups of calls with NULL or invalid arguments, or on the slot's
 *          instance, that the contract in membuf.h defines (NULL results, MB_EINVAL, no-ops,
 *          strings for every status and violation); nothing may change.
 *
 * Text form: one op per line as in the table; '#' starts a comment; blank lines are ignored. */
#ifndef MEMBUF_FUZZ_OPS_H
#define MEMBUF_FUZZ_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MBF_SLOTS 8
#define MBF_FAMILIES 5
#define MBF_MAX_OPS 256

typedef enum mbf_kind {
    MBF_INIT, MBF_RESIZE, MBF_FILL, MBF_FILL_NORMAL, MBF_FREE, MBF_MALLOC, MBF_REALLOC, MBF_WRITE,
    MBF_FAIL_AFTER, MBF_FAIL_NEVER, MBF_CHECK, MBF_MISUSE, MBF_BULK, MBF_SYS_FAIL, MBF_RENEW,
    MBF_API_EDGE, MBF_NKINDS
} mbf_kind;

/* Violations the misuse op commits; MBF_MISUSE_NONE_ is never produced by decoding. */
typedef enum mbf_misuse {
    MBF_DOUBLE_FREE, MBF_DOUBLE_FREE_LATE, MBF_MISMATCHED_FREE, MBF_FOREIGN_FREE, MBF_OVERFLOW,
    MBF_UNDERFLOW, MBF_WRITE_AFTER_FREE, MBF_LEAK, MBF_NMISUSE
} mbf_misuse;

typedef struct mbf_op {
    uint8_t kind;   /* mbf_kind */
    uint8_t slot;   /* < MBF_SLOTS, or the violation for MBF_MISUSE */
    uint8_t fam;    /* < MBF_FAMILIES */
    uint8_t a, b, c; /* value / seed,mean,sd / n,mode / misuse arg,reenter / bulk count/4 / sys n */
    uint8_t size_code;
    uint16_t size16; /* with size_code 192..253 */
} mbf_op;

typedef struct mbf_prog {
    mbf_op ops[MBF_MAX_OPS];
    size_t n;
} mbf_prog;

/* The targets' dialects: which kinds the kind byte selects among. */
typedef enum mbf_dialect { MBF_D_BUF, MBF_D_ALLOC, MBF_D_GUARD, MBF_NDIALECTS } mbf_dialect;

extern const char *const mbf_family_names[MBF_FAMILIES];
extern const char *const mbf_kind_names[MBF_NKINDS];
extern const char *const mbf_violation_names[MBF_NMISUSE];
extern const char *const mbf_fill_values[8];
extern const char *const mbf_means[8];
extern const char *const mbf_sds[8];
extern const size_t mbf_edge_sizes[64];

/* The target names, "fuzz_buf" ...; and the dialect for a name (-1 if unknown). */
const char *mbf_dialect_name(mbf_dialect d);
int mbf_dialect_of(const char *target);

/* Decodes data (total; never fails). */
void mbf_decode(mbf_dialect d, const uint8_t *data, size_t size, mbf_prog *out);
/* Encodes p; returns the byte count (at most cap written). 0 ops: 0. Returns SIZE_MAX if an op is
 * not in dialect d. Ops cost at most MBF_OP_MAX_BYTES each. */
#define MBF_OP_MAX_BYTES 7
size_t mbf_encode(mbf_dialect d, const mbf_prog *p, uint8_t *buf, size_t cap);
/* Bytes one op takes in the binary form. */
size_t mbf_op_bytes(const mbf_op *op);

/* The order a bulk op frees its count blocks in: order[k] is the index freed k-th. */
void mbf_bulk_order(const mbf_op *op, size_t count, size_t *order);

/* The size an op's size argument stands for. */
size_t mbf_size(const mbf_op *op);
double mbf_value(const char *const table[8], uint8_t idx);

/* Text form. print: one line per op. parse: false with a one-line message in err (naming the
 * line) on bad input. */
void mbf_print_op(FILE *f, const mbf_op *op);
void mbf_print(FILE *f, const mbf_prog *p);
bool mbf_parse(const char *text, mbf_prog *out, char *err, size_t errlen);

#endif /* MEMBUF_FUZZ_OPS_H */
