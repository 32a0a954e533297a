/* The operation language: decoding, encoding, text form. See ops.h for the format. */
#include "ops.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const mbf_family_names[MBF_FAMILIES] = {"system", "pool", "guard(system)",
                                                    "guard(pool)", "custom"};
const char *const mbf_kind_names[MBF_NKINDS] = {
    "init", "resize", "fill", "fill-normal", "free", "malloc", "realloc", "write",
    "fail-after", "fail-never", "check", "misuse", "bulk", "sys-fail-after", "renew", "api-edge"};
const char *const mbf_violation_names[MBF_NMISUSE] = {
    "double-free", "double-free-late", "mismatched-free", "foreign-free", "overflow",
    "underflow", "write-after-free", "leak"};
const char *const mbf_fill_values[8] = {"0", "-0", "1", "-1.5", "3.25", "1e+300", "-inf", "nan"};
const char *const mbf_means[8] = {"0", "1", "-2.5", "1e+06", "0.5", "nan", "inf", "-inf"};
const char *const mbf_sds[8] = {"1", "0", "0.5", "3", "0.001", "-1", "nan", "inf"};

/* Every pool class boundary region (a class of 16k bytes holds requests up to 16k - 2, less the
 * redzone where a tool is watching: 16k - 18 -- either way 14 mod 16), the small/large switch
 * (510 plain, 494 with a redzone), and large sizes. */
const size_t mbf_edge_sizes[64] = {
    0,    1,    8,    14,   15,   16,   30,   31,   32,   46,    47,    48,    62,     63,
    64,   126,  127,  128,  254,  255,  256,  478,  479,  480,   494,   495,   496,    510,
    511,  512,  513,  528,  24,   40,   80,   160,  200,  300,   400,   600,   1000,   1023,
    1024, 1025, 2048, 4095, 4096, 4097, 8192, 16384, 16385, 32768, 65535, 65536, 65537, 131072,
    262144, 262145, 524288, 1048576, 1048577, 2097152, 4194304, 4194305};

static const uint8_t dialect_kinds[MBF_NDIALECTS][MBF_NKINDS] = {
    [MBF_D_BUF] = {MBF_INIT, MBF_RESIZE, MBF_FILL, MBF_FILL_NORMAL, MBF_FREE, MBF_WRITE,
                   MBF_FAIL_AFTER, MBF_FAIL_NEVER, MBF_CHECK, MBF_SYS_FAIL, MBF_RENEW, MBF_API_EDGE},
    [MBF_D_ALLOC] = {MBF_MALLOC, MBF_REALLOC, MBF_FREE, MBF_WRITE, MBF_FAIL_AFTER, MBF_FAIL_NEVER,
                     MBF_CHECK, MBF_BULK, MBF_SYS_FAIL, MBF_RENEW, MBF_API_EDGE},
    [MBF_D_GUARD] = {MBF_MALLOC, MBF_REALLOC, MBF_FREE, MBF_WRITE, MBF_CHECK, MBF_MISUSE,
                     MBF_BULK, MBF_SYS_FAIL, MBF_RENEW, MBF_API_EDGE},
};
static const size_t dialect_size[MBF_NDIALECTS] = {12, 11, 10};
static const char *const dialect_names[MBF_NDIALECTS] = {"fuzz_buf", "fuzz_alloc", "fuzz_guard"};

const char *mbf_dialect_name(mbf_dialect d) { return d < MBF_NDIALECTS ? dialect_names[d] : "?"; }

int mbf_dialect_of(const char *target)
{
    for (int d = 0; d < MBF_NDIALECTS; d++)
        if (strcmp(target, dialect_names[d]) == 0)
            return d;
    return -1;
}

static int dialect_index(mbf_dialect d, uint8_t kind)
{
    for (size_t i = 0; i < dialect_size[d]; i++)
        if (dialect_kinds[d][i] == kind)
            return (int)i;
    return -1;
}

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static uint8_t next(reader *r) { return r->p < r->end ? *r->p++ : 0; }

static void read_size(reader *r, mbf_op *op)
{
    op->size_code = next(r);
    if (op->size_code >= 192 && op->size_code <= 253) {
        uint16_t lo = next(r), hi = next(r);
        op->size16 = (uint16_t)(lo | hi << 8);
    }
}

static bool has_fam(uint8_t k) { return k == MBF_INIT || k == MBF_MALLOC || k == MBF_BULK; }
static bool has_size(uint8_t k)
{
    return k == MBF_INIT || k == MBF_RESIZE || k == MBF_MALLOC || k == MBF_REALLOC || k == MBF_BULK;
}
/* Kinds with one trailing argument byte in op.a. */
static bool has_a(uint8_t k)
{
    return k == MBF_FILL || k == MBF_BULK || k == MBF_SYS_FAIL || k == MBF_API_EDGE;
}

void mbf_decode(mbf_dialect d, const uint8_t *data, size_t size, mbf_prog *out)
{
    reader r = {data, data + size};
    out->n = 0;
    while (r.p < r.end && out->n < MBF_MAX_OPS) {
        mbf_op op;
        memset(&op, 0, sizeof op);
        op.kind = dialect_kinds[d][next(&r) % dialect_size[d]];
        if (op.kind == MBF_MISUSE) {
            uint8_t v = next(&r);
            op.slot = v % MBF_NMISUSE;
            op.b = (v / MBF_NMISUSE) & 1; /* reenter */
            op.a = next(&r);
        } else {
            op.slot = next(&r) % MBF_SLOTS;
            if (has_fam(op.kind))
                op.fam = next(&r) % MBF_FAMILIES;
            if (has_size(op.kind))
                read_size(&r, &op);
            switch (op.kind) {
            case MBF_FILL: op.a = next(&r) % 8; break;
            case MBF_BULK: op.a = next(&r); break;
            case MBF_SYS_FAIL:
                op.slot = 0; /* ignored: canonical */
                op.a = next(&r);
                break;
            case MBF_RENEW:
                op.fam = op.slot % MBF_FAMILIES; /* the slot byte names the family */
                op.slot = op.fam;
                break;
            case MBF_API_EDGE: op.a = next(&r) % 8; break;
            case MBF_FILL_NORMAL:
                op.a = next(&r);
                op.b = next(&r) % 8;
                op.c = next(&r) % 8;
                break;
            case MBF_FAIL_AFTER:
                op.a = next(&r);
                op.b = next(&r) & 1;
                break;
            default: break;
            }
        }
        out->ops[out->n++] = op;
    }
}

size_t mbf_op_bytes(const mbf_op *op)
{
    size_t n = 2; /* kind, slot */
    if (op->kind == MBF_MISUSE)
        return 3;
    if (has_fam(op->kind))
        n++;
    if (has_size(op->kind))
        n += (op->size_code >= 192 && op->size_code <= 253) ? 3 : 1;
    if (has_a(op->kind))
        n += 1;
    if (op->kind == MBF_FILL_NORMAL)
        n += 3;
    if (op->kind == MBF_FAIL_AFTER)
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
        int k = dialect_index(d, op->kind);
        if (k < 0)
            return SIZE_MAX;
        PUT(k);
        if (op->kind == MBF_MISUSE) {
            PUT(op->slot + (op->b ? MBF_NMISUSE : 0)); /* the violation byte carries reenter */
            PUT(op->a);
            continue;
        }
        PUT(op->slot);
        if (has_fam(op->kind))
            PUT(op->fam);
        if (has_size(op->kind)) {
            PUT(op->size_code);
            if (op->size_code >= 192 && op->size_code <= 253) {
                PUT(op->size16 & 0xff);
                PUT(op->size16 >> 8);
            }
        }
        if (has_a(op->kind))
            PUT(op->a);
        if (op->kind == MBF_FILL_NORMAL) {
            PUT(op->a);
            PUT(op->b);
            PUT(op->c);
        }
        if (op->kind == MBF_FAIL_AFTER) {
            PUT(op->a);
            PUT(op->b);
        }
    }
#undef PUT
    return n;
}

size_t mbf_size(const mbf_op *op)
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

void mbf_print_op(FILE *f, const mbf_op *op)
{
    const char *k = mbf_kind_names[op->kind];
    switch (op->kind) {
    case MBF_INIT:
    case MBF_MALLOC:
        fprintf(f, "%s %u %s %zu\n", k, op->slot, mbf_family_names[op->fam], mbf_size(op));
        break;
    case MBF_RESIZE:
    case MBF_REALLOC: fprintf(f, "%s %u %zu\n", k, op->slot, mbf_size(op)); break;
    case MBF_FILL: fprintf(f, "%s %u %s\n", k, op->slot, mbf_fill_values[op->a % 8]); break;
    case MBF_FILL_NORMAL:
        fprintf(f, "%s %u seed=%u mean=%s sd=%s\n", k, op->slot, op->a, mbf_means[op->b % 8],
                mbf_sds[op->c % 8]);
        break;
    case MBF_FAIL_AFTER:
        fprintf(f, "%s %u %u %s\n", k, op->slot, op->a, op->b ? "always" : "once");
        break;
    case MBF_MISUSE:
        fprintf(f, "%s %s %u%s\n", k, mbf_violation_names[op->slot], op->a, op->b ? " reenter" : "");
        break;
    case MBF_BULK:
        fprintf(f, "%s %u %s %zu %u\n", k, op->slot, mbf_family_names[op->fam], mbf_size(op),
                op->a * 4u);
        break;
    case MBF_SYS_FAIL: fprintf(f, "%s %u\n", k, op->a); break;
    case MBF_RENEW: fprintf(f, "%s %s\n", k, mbf_family_names[op->fam]); break;
    case MBF_API_EDGE: fprintf(f, "%s %u %u\n", k, op->slot, op->a); break;
    default: fprintf(f, "%s %u\n", k, op->slot); break;
    }
}

void mbf_print(FILE *f, const mbf_prog *p)
{
    for (size_t i = 0; i < p->n; i++)
        mbf_print_op(f, &p->ops[i]);
}

/* ---- text parsing ---------------------------------------------------------------------- */

static int lookup(const char *const *table, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i], word) == 0)
            return (int)i;
    return -1;
}

static bool parse_uint(const char *w, uint64_t max, uint64_t *out)
{
    if (!isdigit((unsigned char)w[0]))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(w, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool encode_size(uint64_t v, mbf_op *op)
{
    if (v < 128) {
        op->size_code = (uint8_t)v;
        return true;
    }
    for (size_t i = 0; i < 64; i++)
        if (mbf_edge_sizes[i] == v) {
            op->size_code = (uint8_t)(128 + i);
            return true;
        }
    if (v <= 0xffff) {
        op->size_code = 192;
        op->size16 = (uint16_t)v;
        return true;
    }
    if (v == SIZE_MAX / sizeof(double) + 1) {
        op->size_code = 254;
        return true;
    }
    if (v == SIZE_MAX) {
        op->size_code = 255;
        return true;
    }
    return false;
}

#define ERR(...)                                                                                 \
    do {                                                                                         \
        char m_[200];                                                                            \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                    \
        snprintf(err, errlen, "line %zu: %s", lineno, m_);                                      \
        return false;                                                                            \
    } while (0)

static bool parse_line(char *line, size_t lineno, mbf_op *op, char *err, size_t errlen)
{
    char *w[8] = {0};
    size_t nw = 0;
    for (char *tok = strtok(line, " \t\r"); tok; tok = strtok(NULL, " \t\r")) {
        if (nw == 8)
            ERR("too many words");
        w[nw++] = tok;
    }
    memset(op, 0, sizeof *op);
    if (nw == 0)
        ERR("empty op");
    int k = lookup(mbf_kind_names, MBF_NKINDS, w[0]);
    if (k < 0)
        ERR("unknown op '%s'", w[0]);
    op->kind = (uint8_t)k;
    static const size_t want[MBF_NKINDS] = {4, 3, 3, 5, 2, 4, 3, 2, 4, 2, 2, 3, 5, 2, 2, 3};
    bool reenter = k == MBF_MISUSE && nw == want[k] + 1 && strcmp(w[nw - 1], "reenter") == 0;
    if (nw != want[k] + reenter)
        ERR("'%s' takes %zu argument(s), got %zu", w[0], want[k] - 1, nw - 1);
    uint64_t v;
    if (k == MBF_MISUSE) {
        int m = lookup(mbf_violation_names, MBF_NMISUSE, w[1]);
        if (m < 0)
            ERR("unknown violation '%s'", w[1]);
        if (!parse_uint(w[2], 255, &v))
            ERR("bad misuse argument '%s' (0..255)", w[2]);
        op->slot = (uint8_t)m;
        op->a = (uint8_t)v;
        op->b = reenter;
        return true;
    }
    if (k == MBF_RENEW) {
        int f = lookup(mbf_family_names, MBF_FAMILIES, w[1]);
        if (f < 0)
            ERR("unknown family '%s'", w[1]);
        op->fam = op->slot = (uint8_t)f;
        return true;
    }
    if (k == MBF_SYS_FAIL) {
        if (!parse_uint(w[1], 255, &v))
            ERR("bad internal allocation count '%s' (0..255)", w[1]);
        op->a = (uint8_t)v;
        return true;
    }
    if (!parse_uint(w[1], MBF_SLOTS - 1, &v))
        ERR("bad %s '%s' (0..%d)", k == MBF_BULK ? "order" : "slot", w[1], MBF_SLOTS - 1);
    op->slot = (uint8_t)v;
    const char *sz = NULL;
    switch (k) {
    case MBF_INIT:
    case MBF_MALLOC:
    case MBF_BULK: {
        int f = lookup(mbf_family_names, MBF_FAMILIES, w[2]);
        if (f < 0)
            ERR("unknown family '%s'", w[2]);
        op->fam = (uint8_t)f;
        sz = w[3];
        if (k == MBF_BULK) {
            if (!parse_uint(w[4], 1020, &v) || v % 4)
                ERR("bad block count '%s' (a multiple of 4, 0..1020)", w[4]);
            op->a = (uint8_t)(v / 4);
        }
        break;
    }
    case MBF_RESIZE:
    case MBF_REALLOC: sz = w[2]; break;
    case MBF_FILL: {
        int i = lookup(mbf_fill_values, 8, w[2]);
        if (i < 0)
            ERR("fill value '%s' is not one of the encodable values", w[2]);
        op->a = (uint8_t)i;
        break;
    }
    case MBF_FILL_NORMAL: {
        if (strncmp(w[2], "seed=", 5) || !parse_uint(w[2] + 5, 255, &v))
            ERR("expected seed=0..255, got '%s'", w[2]);
        op->a = (uint8_t)v;
        int m = strncmp(w[3], "mean=", 5) ? -1 : lookup(mbf_means, 8, w[3] + 5);
        int s = strncmp(w[4], "sd=", 3) ? -1 : lookup(mbf_sds, 8, w[4] + 3);
        if (m < 0)
            ERR("expected mean=<encodable mean>, got '%s'", w[3]);
        if (s < 0)
            ERR("expected sd=<encodable sd>, got '%s'", w[4]);
        op->b = (uint8_t)m;
        op->c = (uint8_t)s;
        break;
    }
    case MBF_API_EDGE:
        if (!parse_uint(w[2], 7, &v))
            ERR("bad api-edge group '%s' (0..7)", w[2]);
        op->a = (uint8_t)v;
        break;
    case MBF_FAIL_AFTER:
        if (!parse_uint(w[2], 255, &v))
            ERR("bad request count '%s' (0..255)", w[2]);
        op->a = (uint8_t)v;
        if (strcmp(w[3], "once") == 0)
            op->b = 0;
        else if (strcmp(w[3], "always") == 0)
            op->b = 1;
        else
            ERR("expected once or always, got '%s'", w[3]);
        break;
    default: break;
    }
    if (sz && (!parse_uint(sz, UINT64_MAX, &v) || !encode_size(v, op)))
        ERR("size '%s' is not encodable (0..65535, an edge size, %zu or %zu)", sz,
            SIZE_MAX / sizeof(double) + 1, (size_t)SIZE_MAX);
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
