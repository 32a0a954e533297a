/* The operation language: decoding, encoding and the text form, all derived from the rows of
 * ops_table.h. See ops.h for the format. */
#include "ops.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const mbf_family_names[MBF_FAMILIES] = {"system", "pool", "guard(system)",
                                                    "guard(pool)", "custom"};
const char *const mbf_under_names[MBF_UNDERS] = {"custom", "guard(system)", "guard(pool)"};
const char *const mbf_violation_names[MBF_NMISUSE] = {
    "double-free", "double-free-late", "mismatched-free", "foreign-free", "overflow",
    "underflow", "write-after-free", "leak", "misaligned"};
const char *const mbf_fill_values[8] = {"0", "-0", "1", "-1.5", "3.25", "1e+300", "-inf", "nan"};
const char *const mbf_means[8] = {"0", "1", "-2.5", "1e+06", "0.5", "nan", "inf", "-inf"};
const char *const mbf_sds[8] = {"1", "0", "0.5", "3", "0.001", "-1", "nan", "inf"};
const char *const mbf_mode_names[3] = {"once", "always", "never"};
const char *const mbf_unit_names[MBF_NUNITS] = {"byte", "step", "pool", "arena", "inner", "stack"};
const char *const mbf_path_names[2] = {"free", "realloc"};
const char *const mbf_region_names[MBF_NREGIONS] = {"header", "front", "rear", "freed"};
const char *const mbf_finder_names[MBF_NFINDERS] = {"free", "realloc", "check", "evict", "delete"};

/* Every pool class boundary region (a class of 16k bytes holds requests up to 16k - 2, less the
 * redzone where a tool is watching: 16k - 18 -- either way 14 mod 16), the small/large switch
 * (510 plain, 494 with a redzone), and large sizes. */
const size_t mbf_edge_sizes[64] = {
    0,    1,    8,    14,   15,   16,   30,   31,   32,   46,    47,    48,    62,     63,
    64,   126,  127,  128,  254,  255,  256,  478,  479,  480,   494,   495,   496,    510,
    511,  512,  513,  528,  24,   40,   80,   160,  200,  300,   400,   600,   1000,   1023,
    1024, 1025, 2048, 4095, 4096, 4097, 8192, 16384, 16385, 32768, 65535, 65536, 65537, 131072,
    262144, 262145, 524288, 1048576, 1048577, 2097152, 4194304, 4194305};

/* ---- the table ------------------------------------------------------------------------- */

#define MBF_ARG(id, kind_, mod_, scale_, names_, prefix_, label_)                                \
    [MBF_A_##id] = {.kind = MBF_K_##kind_, .mod = (mod_), .scale = (scale_), .names = (names_),   \
                    .prefix = (prefix_), .label = (label_)},
const mbf_argspec mbf_args[MBF_NARGIDS] = {
#include "ops_table.h"
};
#undef MBF_ARG

/* An op row's argument list: each name prefixed (SLOT -> MBF_A_SLOT), and counted. */
#define MBF_PICK_(a1, a2, a3, a4, a5, a6, n, ...) n
#define MBF_P1_(a) MBF_A_##a
#define MBF_P2_(a, ...) MBF_A_##a, MBF_P1_(__VA_ARGS__)
#define MBF_P3_(a, ...) MBF_A_##a, MBF_P2_(__VA_ARGS__)
#define MBF_P4_(a, ...) MBF_A_##a, MBF_P3_(__VA_ARGS__)
#define MBF_P5_(a, ...) MBF_A_##a, MBF_P4_(__VA_ARGS__)
#define MBF_P6_(a, ...) MBF_A_##a, MBF_P5_(__VA_ARGS__)
#define MBF_ARGLIST_(...)                                                                        \
    MBF_PICK_(__VA_ARGS__, MBF_P6_, MBF_P5_, MBF_P4_, MBF_P3_, MBF_P2_, MBF_P1_, 0)(__VA_ARGS__)
#define MBF_NARGS_(...) MBF_PICK_(__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)
#define B MBF_T_BUF
#define A MBF_T_ALLOC
#define G MBF_T_GUARD
#define MBF_OP(id, text, fn, targets_, ...)                                                      \
    [MBF_##id] = {.name = (text), .targets = (targets_), .nargs = MBF_NARGS_(__VA_ARGS__),         \
                  .args = {MBF_ARGLIST_(__VA_ARGS__)}},
const mbf_opspec mbf_ops[MBF_NKINDS] = {
#include "ops_table.h"
};
#undef MBF_OP
#undef B
#undef A
#undef G

static const char *const dialect_names[MBF_NDIALECTS] = {"fuzz_buf", "fuzz_alloc", "fuzz_guard"};

const char *mbf_dialect_name(mbf_dialect d) { return d < MBF_NDIALECTS ? dialect_names[d] : "?"; }

int mbf_dialect_of(const char *target)
{
    for (int d = 0; d < MBF_NDIALECTS; d++)
        if (strcmp(target, dialect_names[d]) == 0)
            return d;
    return -1;
}

bool mbf_in_dialect(mbf_dialect d, unsigned k)
{
    return d < MBF_NDIALECTS && k < MBF_NKINDS && (mbf_ops[k].targets & (1u << d));
}

/* Each dialect's rows in table order, and each kind's index among them (-1: not in it). */
typedef struct dialect {
    uint8_t kinds[MBF_NKINDS];
    int index[MBF_NKINDS];
    unsigned n;
} dialect;

MBF_NO_COVERAGE static const dialect *dialect_of(mbf_dialect d)
{
    static dialect tab[MBF_NDIALECTS];
    static bool ready;
    if (!ready) {
        for (unsigned t = 0; t < MBF_NDIALECTS; t++)
            for (unsigned k = 0; k < MBF_NKINDS; k++) {
                tab[t].index[k] = -1;
                if (mbf_in_dialect((mbf_dialect)t, k)) {
                    tab[t].index[k] = (int)tab[t].n;
                    tab[t].kinds[tab[t].n++] = (uint8_t)k;
                }
            }
        ready = true;
    }
    return &tab[d];
}

/* ---- arguments ------------------------------------------------------------------------- */

/* Where argument i of a kind's ops lives: NUM, INT, NAME and FLAG arguments take a, b, c, d in
 * order (offsets into mbf_op, worked out once from the table). */
static size_t field_offset[MBF_NKINDS][MBF_MAX_ARGS];

MBF_NO_COVERAGE static void fields_init(void)
{
    static bool ready;
    if (ready)
        return;
    static const size_t rest[4] = {offsetof(mbf_op, a), offsetof(mbf_op, b), offsetof(mbf_op, c),
                                   offsetof(mbf_op, d)};
    for (unsigned k = 0; k < MBF_NKINDS; k++) {
        unsigned next_rest = 0;
        for (unsigned i = 0; i < mbf_ops[k].nargs; i++) {
            switch (mbf_args[mbf_ops[k].args[i]].kind) {
            case MBF_K_SLOT: field_offset[k][i] = offsetof(mbf_op, slot); break;
            case MBF_K_FAM: field_offset[k][i] = offsetof(mbf_op, fam); break;
            case MBF_K_SIZE: field_offset[k][i] = offsetof(mbf_op, size_code); break;
            default: field_offset[k][i] = rest[next_rest++ % 4]; break;
            }
        }
    }
    ready = true;
}

MBF_NO_COVERAGE static uint8_t *arg_field(mbf_op *op, unsigned i)
{
    fields_init();
    return (uint8_t *)op + field_offset[op->kind][i];
}

MBF_NO_COVERAGE uint8_t mbf_get_arg(const mbf_op *op, unsigned i) { return *arg_field((mbf_op *)op, i); }

MBF_NO_COVERAGE void mbf_set_arg(mbf_op *op, unsigned i, uint8_t byte)
{
    const mbf_argspec *a = &mbf_args[mbf_ops[op->kind].args[i]];
    uint8_t *f = arg_field(op, i);
    switch (a->kind) {
    case MBF_K_SIZE:
        *f = byte;
        if (byte < 192 || byte > 253)
            op->size16 = 0;
        break;
    case MBF_K_INT: *f = byte; break;
    case MBF_K_FLAG: *f = byte & 1; break;
    default: *f = (uint8_t)(byte % a->mod); break;
    }
}

int mbf_op_slot(const mbf_op *op)
{
    const mbf_opspec *s = &mbf_ops[op->kind];
    for (unsigned i = 0; i < s->nargs; i++)
        if (s->args[i] == MBF_A_SLOT)
            return op->slot;
    return -1;
}

MBF_NO_COVERAGE static bool has_size16(uint8_t code) { return code >= 192 && code <= 253; }

/* ---- binary form ----------------------------------------------------------------------- */

typedef struct reader {
    const uint8_t *p, *end;
} reader;

MBF_NO_COVERAGE static uint8_t next(reader *r) { return r->p < r->end ? *r->p++ : 0; }

MBF_NO_COVERAGE static mbf_op read_op(mbf_dialect d, reader *r)
{
    const dialect *dl = dialect_of(d);
    mbf_op op;
    memset(&op, 0, sizeof op);
    op.kind = dl->kinds[next(r) % dl->n];
    const mbf_opspec *s = &mbf_ops[op.kind];
    for (unsigned i = 0; i < s->nargs; i++) {
        mbf_set_arg(&op, i, next(r));
        if (mbf_args[s->args[i]].kind == MBF_K_SIZE && has_size16(op.size_code)) {
            uint16_t lo = next(r), hi = next(r);
            op.size16 = (uint16_t)(lo | hi << 8);
        }
    }
    return op;
}

MBF_NO_COVERAGE void mbf_decode(mbf_dialect d, const uint8_t *data, size_t size, mbf_prog *out)
{
    reader r = {data, data + size};
    out->n = 0;
    while (r.p < r.end && out->n < MBF_MAX_OPS)
        out->ops[out->n++] = read_op(d, &r);
}

mbf_op mbf_decode_op(mbf_dialect d, const uint8_t *bytes, size_t n)
{
    reader r = {bytes, bytes + n};
    return read_op(d, &r);
}

size_t mbf_op_bytes(const mbf_op *op)
{
    const mbf_opspec *s = &mbf_ops[op->kind];
    size_t n = 1 + s->nargs;
    for (unsigned i = 0; i < s->nargs; i++)
        if (mbf_args[s->args[i]].kind == MBF_K_SIZE && has_size16(op->size_code))
            n += 2;
    return n;
}

size_t mbf_encode(mbf_dialect d, const mbf_prog *p, uint8_t *buf, size_t cap)
{
    size_t n = 0;
#define PUT(x)                                                                                   \
    do {                                                                                         \
        if (n < cap)                                                                             \
            buf[n] = (uint8_t)(x);                                                               \
        n++;                                                                                     \
    } while (0)
    for (size_t i = 0; i < p->n; i++) {
        const mbf_op *op = &p->ops[i];
        int k = op->kind < MBF_NKINDS ? dialect_of(d)->index[op->kind] : -1;
        if (k < 0)
            return SIZE_MAX;
        PUT(k);
        const mbf_opspec *s = &mbf_ops[op->kind];
        for (unsigned j = 0; j < s->nargs; j++) {
            PUT(mbf_get_arg(op, j));
            if (mbf_args[s->args[j]].kind == MBF_K_SIZE && has_size16(op->size_code)) {
                PUT(op->size16 & 0xff);
                PUT(op->size16 >> 8);
            }
        }
    }
#undef PUT
    return n;
}

MBF_NO_COVERAGE size_t mbf_size(const mbf_op *op)
{
    uint8_t z = op->size_code;
    if (z < 128)
        return z;
    if (z < 192)
        return mbf_edge_sizes[z - 128];
    if (z < 254)
        return op->size16;
    return z == 254 ? SIZE_MAX / sizeof(double) + 1 : SIZE_MAX;
}

bool mbf_set_size(mbf_op *op, uint64_t v)
{
    uint8_t code;
    uint16_t v16 = 0;
    size_t e = 0;
    while (e < 64 && mbf_edge_sizes[e] != v)
        e++;
    if (v < 128)
        code = (uint8_t)v;
    else if (e < 64)
        code = (uint8_t)(128 + e);
    else if (v <= 0xffff)
        code = 192, v16 = (uint16_t)v;
    else if (v == SIZE_MAX / sizeof(double) + 1)
        code = 254;
    else if (v == SIZE_MAX)
        code = 255;
    else
        return false;
    op->size_code = code;
    op->size16 = v16;
    return true;
}

void mbf_bulk_order(const mbf_op *op, size_t count, size_t *order)
{
    for (size_t i = 0; i < count; i++)
        order[i] = op->slot == 1 ? count - 1 - i : i;
    if (op->slot == 2)
        for (size_t i = 0, k = 0; k < 2; k++)
            for (size_t j = k; j < count; j += 2)
                order[i++] = j;
    if (op->slot >= 3 && count > 1) {
        uint64_t x = (uint64_t)op->slot * 0x9E3779B97F4A7C15u + mbf_size(op) + 1;
        for (size_t i = count - 1; i > 0; i--) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t j = (size_t)(x % (i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
}

double mbf_value(const char *const table[8], uint8_t idx) { return strtod(table[idx % 8], NULL); }

/* ---- text form ------------------------------------------------------------------------- */

void mbf_print_op(FILE *f, const mbf_op *op)
{
    const mbf_opspec *s = &mbf_ops[op->kind];
    fputs(s->name, f);
    for (unsigned i = 0; i < s->nargs; i++) {
        const mbf_argspec *a = &mbf_args[s->args[i]];
        uint8_t v = mbf_get_arg(op, i);
        if (a->kind == MBF_K_FLAG) {
            if (v)
                fprintf(f, " %s", a->label);
            continue;
        }
        fprintf(f, " %s", a->prefix);
        switch (a->kind) {
        case MBF_K_SIZE: fprintf(f, "%zu", mbf_size(op)); break;
        case MBF_K_FAM:
        case MBF_K_NAME: fputs(a->names[v % a->mod], f); break;
        case MBF_K_INT: fprintf(f, "%d", (int)(int8_t)v); break;
        default: fprintf(f, "%u", v * a->scale); break;
        }
    }
    fputc('\n', f);
}

void mbf_print(FILE *f, const mbf_prog *p)
{
    for (size_t i = 0; i < p->n; i++)
        mbf_print_op(f, &p->ops[i]);
}

static int lookup(const char *const *table, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i], word) == 0)
            return (int)i;
    return -1;
}

static bool parse_num(const char *w, bool sign, long long lo, long long hi, long long *out)
{
    const char *digits = sign && w[0] == '-' ? w + 1 : w;
    if (!isdigit((unsigned char)digits[0]))
        return false;
    errno = 0;
    char *end;
    long long v;
    if (sign) {
        v = strtoll(w, &end, 10);
    } else {
        unsigned long long u = strtoull(w, &end, 10);
        if (u > (unsigned long long)hi)
            return false;
        v = (long long)u;
    }
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

#define ERR(...)                                                                                 \
    do {                                                                                         \
        char m_[200];                                                                            \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                    \
        snprintf(err, errlen, "line %zu: %s", lineno, m_);                                      \
        return false;                                                                            \
    } while (0)

/* One argument word into op; false with the message in err. */
static bool parse_arg(const char *w, mbf_op *op, unsigned i, size_t lineno, char *err,
                      size_t errlen)
{
    const mbf_argspec *a = &mbf_args[mbf_ops[op->kind].args[i]];
    size_t plen = strlen(a->prefix);
    if (strncmp(w, a->prefix, plen) != 0)
        ERR("expected %s<%s>, got '%s'", a->prefix, a->label, w);
    const char *v = w + plen;
    long long n;
    switch (a->kind) {
    case MBF_K_SIZE: {
        char *end = NULL;
        unsigned long long u = 0;
        errno = 0;
        if (isdigit((unsigned char)v[0]))
            u = strtoull(v, &end, 10);
        if (!end || errno || *end || !mbf_set_size(op, u))
            ERR("size '%s' is not encodable (0..65535, an edge size, %zu or %zu)", v,
                SIZE_MAX / sizeof(double) + 1, (size_t)SIZE_MAX);
        return true;
    }
    case MBF_K_FAM:
    case MBF_K_NAME: {
        int k = lookup(a->names, a->mod, v);
        if (k < 0) {
            char all[160] = "";
            for (unsigned j = 0; j < a->mod; j++)
                snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", j ? " " : "", a->names[j]);
            ERR("bad %s '%s' (one of: %s)", a->label, v, all);
        }
        mbf_set_arg(op, i, (uint8_t)k);
        return true;
    }
    case MBF_K_INT:
        if (!parse_num(v, true, -128, 127, &n))
            ERR("bad %s '%s' (-128..127)", a->label, v);
        mbf_set_arg(op, i, (uint8_t)(int8_t)n);
        return true;
    default:
        if (!parse_num(v, false, 0, (long long)(a->mod - 1) * a->scale, &n) || n % a->scale)
            ERR("bad %s '%s' (0..%u%s)", a->label, v, (a->mod - 1) * a->scale,
                a->scale > 1 ? ", a multiple of 4" : "");
        mbf_set_arg(op, i, (uint8_t)(n / a->scale));
        return true;
    }
}

static bool parse_line(char *line, size_t lineno, mbf_op *op, char *err, size_t errlen)
{
    char *w[MBF_MAX_ARGS + 2] = {0};
    size_t nw = 0;
    for (char *tok = strtok(line, " \t\r"); tok; tok = strtok(NULL, " \t\r")) {
        if (nw == MBF_MAX_ARGS + 1)
            ERR("too many words");
        w[nw++] = tok;
    }
    memset(op, 0, sizeof *op);
    if (nw == 0)
        ERR("empty op");
    unsigned k = 0;
    while (k < MBF_NKINDS && strcmp(mbf_ops[k].name, w[0]) != 0)
        k++;
    if (k == MBF_NKINDS)
        ERR("unknown op '%s'", w[0]);
    op->kind = (uint8_t)k;
    const mbf_opspec *s = &mbf_ops[k];
    unsigned required = 0;
    while (required < s->nargs && mbf_args[s->args[required]].kind != MBF_K_FLAG)
        required++;
    if (nw - 1 < required || nw - 1 > s->nargs)
        ERR("'%s' takes %u argument(s), got %zu", w[0], required, nw - 1);
    for (unsigned i = 0; i < required; i++)
        if (!parse_arg(w[i + 1], op, i, lineno, err, errlen))
            return false;
    for (unsigned i = required, j = required + 1; j < nw; i++) {
        /* flags: trailing keywords, in the row's order, each present or left out */
        if (i == s->nargs)
            ERR("unexpected '%s'", w[j]);
        if (strcmp(w[j], mbf_args[s->args[i]].label) == 0) {
            mbf_set_arg(op, i, 1);
            j++;
        }
    }
    return true;
}

bool mbf_parse(const char *text, mbf_prog *out, char *err, size_t errlen)
{
    out->n = 0;
    size_t lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        char line[256];
        if (len >= sizeof line) {
            snprintf(err, errlen, "line %zu: too long", lineno);
            return false;
        }
        memcpy(line, p, len);
        line[len] = 0;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (*s) {
            if (out->n == MBF_MAX_OPS) {
                snprintf(err, errlen, "line %zu: more than %d ops", lineno, MBF_MAX_OPS);
                return false;
            }
            if (!parse_line(s, lineno, &out->ops[out->n], err, errlen))
                return false;
            out->n++;
        }
        p += len + (nl ? 1 : 0);
    }
    return true;
}
