/* The operation language shared by the fuzz targets, the replay driver, membuf-ops and tests.
 * The ops and their arguments are the rows of ops_table.h; this header describes the format
 * they share and the functions derived from the table.
 *
 * Binary form (what the fuzzers mutate). Decoding is total: every byte string is a valid
 * sequence; missing argument bytes read as 0; at most MBF_MAX_OPS ops are decoded and the rest
 * is ignored. Each op is a kind byte (the op is the target's row number kind % rows, counting
 * only the rows the target has, in table order), then one byte per argument in the row's order,
 * except a size:
 *   size   first byte z:  0..127 the value itself; 128..191 an edge value from mbf_edge_sizes
 *          (every pool class boundary 16k-2, 16k-1, 16k up to 513, then large sizes); 192..253 a
 *          16-bit little-endian value in the next two bytes; 254 SIZE_MAX/8+1 (an element count
 *          whose byte size overflows); 255 SIZE_MAX. Buffer ops read it as an element count,
 *          raw ops as bytes.
 *   other arguments: one byte, read as the table's argument role says (a number modulo the
 *          role's range, a name from the role's table, a signed byte, a flag in bit 0).
 *
 * Text form: one op per line, its name and then its arguments in the row's order, separated by
 * spaces: a number, a name from the argument's table, or either after the argument's prefix; a
 * flag is its keyword, present or left out. '#' starts a comment; blank lines are ignored. */
#ifndef MEMBUF_FUZZ_OPS_H
#define MEMBUF_FUZZ_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Code that runs for every input whatever it does (decoding, the oracles' loops): kept out of
 * libFuzzer's coverage and comparison tracing, which would cost more than it tells. */
#if defined(__clang__)
#define MBF_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define MBF_NO_COVERAGE
#endif

#define MBF_SLOTS 8
#define MBF_FAMILIES 5
/* Ops decoded per input: each op is a few library calls, some of them hundreds (a churn, a
 * bulk); past a few dozen, a longer input reaches little that several shorter ones do not, and
 * costs its whole length on every run (the .options files keep max_len near it). */
#define MBF_MAX_OPS 64
#define MBF_MAX_ARGS 6

/* Families: system pool guard(system) guard(pool) custom. */
enum { MBF_F_SYSTEM, MBF_F_POOL, MBF_F_GUARD_SYS, MBF_F_GUARD_POOL, MBF_F_CUSTOM };

/* Violations the misuse op commits. */
typedef enum mbf_misuse {
    MBF_DOUBLE_FREE, MBF_DOUBLE_FREE_LATE, MBF_MISMATCHED_FREE, MBF_FOREIGN_FREE, MBF_OVERFLOW,
    MBF_UNDERFLOW, MBF_WRITE_AFTER_FREE, MBF_LEAK, MBF_MISALIGNED_BLOCK, MBF_NMISUSE
} mbf_misuse;

/* under-fail-after: the allocators below a family (custom's vtable, a guard's inner). */
enum { MBF_U_CUSTOM, MBF_U_GUARD_SYS, MBF_U_GUARD_POOL, MBF_UNDERS };
/* bad-free: what delta counts. */
enum { MBF_UNIT_BYTE, MBF_UNIT_STEP, MBF_UNIT_POOL, MBF_UNIT_ARENA, MBF_UNIT_INNER, MBF_UNIT_STACK,
       MBF_NUNITS };
/* bad-free: the call the pointer is handed to. */
enum { MBF_PATH_FREE, MBF_PATH_REALLOC };
/* corrupt: what is damaged, and what finds it. */
enum { MBF_REGION_HEADER, MBF_REGION_FRONT, MBF_REGION_REAR, MBF_REGION_FREED, MBF_NREGIONS };
enum { MBF_FIND_FREE, MBF_FIND_REALLOC, MBF_FIND_CHECK, MBF_FIND_EVICT, MBF_FIND_DELETE,
       MBF_NFINDERS };

extern const char *const mbf_family_names[MBF_FAMILIES];
extern const char *const mbf_under_names[MBF_UNDERS];
extern const char *const mbf_violation_names[MBF_NMISUSE];
extern const char *const mbf_fill_values[8];
extern const char *const mbf_means[8];
extern const char *const mbf_sds[8];
extern const char *const mbf_mode_names[3]; /* once always never */
extern const char *const mbf_unit_names[MBF_NUNITS];
extern const char *const mbf_path_names[2];
extern const char *const mbf_region_names[MBF_NREGIONS];
extern const char *const mbf_finder_names[MBF_NFINDERS];
extern const size_t mbf_edge_sizes[64];

/* Argument roles and ops, numbered from the table. */
typedef enum mbf_argkind {
    MBF_K_SLOT, MBF_K_FAM, MBF_K_SIZE, MBF_K_NUM, MBF_K_INT, MBF_K_NAME, MBF_K_FLAG
} mbf_argkind;
#define MBF_ARG(id, kind, mod, scale, names, prefix, label) MBF_A_##id,
typedef enum mbf_argid {
    MBF_A_NONE_,
#include "ops_table.h"
    MBF_NARGIDS
} mbf_argid;
#undef MBF_ARG
#define MBF_OP(id, text, fn, targets, ...) MBF_##id,
typedef enum mbf_kind {
#include "ops_table.h"
    MBF_NKINDS
} mbf_kind;
#undef MBF_OP

typedef struct mbf_argspec {
    mbf_argkind kind;
    unsigned mod;              /* values: byte % mod (NUM, NAME, SLOT, FAM) */
    unsigned scale;            /* NUM: the text value is the byte times this */
    const char *const *names;  /* NAME, FAM: the text spelling of each value */
    const char *prefix;        /* text written before the value */
    const char *label;         /* in messages; a FLAG's keyword */
} mbf_argspec;

typedef struct mbf_opspec {
    const char *name;
    unsigned targets;          /* MBF_T_* bits */
    unsigned nargs;
    mbf_argid args[MBF_MAX_ARGS];
} mbf_opspec;
enum { MBF_T_BUF = 1, MBF_T_ALLOC = 2, MBF_T_GUARD = 4 };

extern const mbf_argspec mbf_args[MBF_NARGIDS];
extern const mbf_opspec mbf_ops[MBF_NKINDS];

typedef struct mbf_op {
    uint8_t kind;      /* mbf_kind */
    uint8_t slot;      /* SLOT role */
    uint8_t fam;       /* FAM role */
    uint8_t a, b, c, d; /* the other arguments, in the row's order (INT: the byte as int8_t) */
    uint8_t size_code; /* SIZE role */
    uint16_t size16;   /* with size_code 192..253 */
} mbf_op;

typedef struct mbf_prog {
    mbf_op ops[MBF_MAX_OPS];
    size_t n;
} mbf_prog;

/* The targets' dialects: which rows the kind byte selects among. */
typedef enum mbf_dialect { MBF_D_BUF, MBF_D_ALLOC, MBF_D_GUARD, MBF_NDIALECTS } mbf_dialect;

/* The target names, "fuzz_buf" ...; and the dialect for a name (-1 if unknown). */
const char *mbf_dialect_name(mbf_dialect d);
int mbf_dialect_of(const char *target);
/* Whether op kind k is part of dialect d. */
bool mbf_in_dialect(mbf_dialect d, unsigned k);

/* Decodes data (total; never fails). */
void mbf_decode(mbf_dialect d, const uint8_t *data, size_t size, mbf_prog *out);
/* Decodes one op from at most MBF_OP_MAX_BYTES bytes (missing ones read as 0). */
mbf_op mbf_decode_op(mbf_dialect d, const uint8_t *bytes, size_t n);
/* Encodes p; returns the byte count (at most cap written). 0 ops: 0. Returns SIZE_MAX if an op is
 * not in dialect d. Ops cost at most MBF_OP_MAX_BYTES each. */
#define MBF_OP_MAX_BYTES (1 + MBF_MAX_ARGS + 2)
size_t mbf_encode(mbf_dialect d, const mbf_prog *p, uint8_t *buf, size_t cap);
/* Bytes one op takes in the binary form. */
size_t mbf_op_bytes(const mbf_op *op);

/* The argument of op in position i (< its row's nargs): where it is kept, and its byte value as
 * it would be encoded; set_arg stores a byte as decoding would (modulo the role's range). */
uint8_t mbf_get_arg(const mbf_op *op, unsigned i);
void mbf_set_arg(mbf_op *op, unsigned i, uint8_t byte);
/* The slot op names (its SLOT argument), or -1 if it names none (an order, a violation ...). */
int mbf_op_slot(const mbf_op *op);

/* The order a bulk op frees its count blocks in: order[k] is the index freed k-th. */
void mbf_bulk_order(const mbf_op *op, size_t count, size_t *order);

/* The size an op's size argument stands for. */
size_t mbf_size(const mbf_op *op);
/* Sets op's size to v; false if v has no encoding (then op is unchanged). */
bool mbf_set_size(mbf_op *op, uint64_t v);
double mbf_value(const char *const table[8], uint8_t idx);

/* Text form. print: one line per op. parse: false with a one-line message in err (naming the
 * line) on bad input. */
void mbf_print_op(FILE *f, const mbf_op *op);
void mbf_print(FILE *f, const mbf_prog *p);
bool mbf_parse(const char *text, mbf_prog *out, char *err, size_t errlen);

#endif /* MEMBUF_FUZZ_OPS_H */
