/* emit-c: each op the executor acted on, as the public API calls it made; misuse ops as the
 * steps of their scenario (fuzz/scenario.c), bad-free and corrupt with the reports the executor
 * demanded (from the trace). Sizes and offsets come from the same functions as the executor's. */
#include "emit_c.h"

#include "bounds.h"
#include "scenario.h"

#include <membuf.h>
#include <string.h>

static const char prelude[] =
    "#include <membuf.h>\n\n#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n"
    "#include <stdlib.h>\n#include <string.h>\n\n"
    "#define CHECK(c) do { if (!(c)) { fprintf(stderr, \"line %d: CHECK(%s) failed\\n\", __LINE__, #c); abort(); } } while (0)\n"
    "/* exactly n reports since the last one of these, each of a kind allowed */\n"
    "#define EXPECT_DONE(n) do { CHECK(reports == (n)); reports = 0; expected = 0; } while (0)\n\n"
    "static mb_alloc *fam[5], *inner_sys, *inner_pool;\n"
    "static mb_buf buf[8];\nstatic unsigned char *raw[8], *last[8];\nstatic size_t size[8];\n"
    "static int famof[8], kind[8]; /* kind: 0 empty, 1 buffer, 2 raw */\n"
    "static unsigned expected; /* violations allowed now, a bit per mb_violation */\n"
    "static int reports, reenter, reentering;\nstatic int deleting = -1, busy = -1; /* a family being deleted, a slot being resized */\n"
    "static struct { int state; unsigned long long countdown; } vs; /* custom's vtable: its own schedule */\n\n"
    "/* A slot's family: its block's, else slot % 5. */\n"
    "static inline int FAM(int s) { return kind[s] ? famof[s] : s % 5; }\n\n"
    "static int vt_fails(void)\n{\n    if (vs.state == 0) return 0;\n    if (vs.state == 3) return 1;\n"
    "    if (vs.countdown > 0) { vs.countdown--; return 0; }\n    vs.state = vs.state == 1 ? 0 : 3;\n    return 1;\n}\n"
    "static void *u_malloc(void *c, size_t n) { (void)c; return vt_fails() ? NULL : malloc(n); }\n"
    "static void *u_realloc(void *c, void *p, size_t n) { (void)c; return vt_fails() ? NULL : realloc(p, n); }\n"
    "static void u_free(void *c, void *p) { (void)c; free(p); }\n\n";

/* The second half (one string literal would be longer than C compilers must take). */
static const char prelude_more[] =
    "/* A skewed allocator: libc, but with mode bit 0 its malloc, with bit 1 its realloc return\n"
    " * blocks 8 bytes off the 16-byte alignment (size at block - 16, offset at block - 1); with\n"
    " * bit 2 its free keeps the block and its next malloc of the same size and offset hands it\n"
    " * out again, to whichever instance over it asks. */\n"
    "static unsigned skew;\nstatic unsigned char *kept;\n"
    "static size_t skew_size(const unsigned char *u)\n{\n    size_t n;\n    memcpy(&n, u - 16, sizeof n);\n    return n;\n}\n"
    "static void skew_flush(void)\n{\n    if (kept)\n        free(kept - kept[-1]);\n    kept = NULL;\n}\n"
    "static void *skew_block(size_t n, int off)\n{\n    unsigned char *u = kept;\n"
    "    if ((skew & 4) && u && skew_size(u) == n && u[-1] == (off ? 24 : 16)) {\n"
    "        kept = NULL;\n        return u;\n    }\n"
    "    unsigned char *base = malloc(n + 32);\n"
    "    if (!base) return NULL;\n    u = base + (off ? 24 : 16);\n"
    "    memcpy(u - 16, &n, sizeof n);\n    u[-1] = (unsigned char)(u - base);\n    return u;\n}\n"
    "static void *skew_malloc(void *c, size_t n) { (void)c; return skew_block(n, skew & 1); }\n"
    "static void skew_free(void *c, void *p)\n{\n    unsigned char *u = p;\n    (void)c;\n"
    "    if (!(skew & 4)) {\n        free(u - u[-1]);\n        return;\n    }\n"
    "    skew_flush();\n    kept = u;\n}\n"
    "static void *skew_realloc(void *c, void *p, size_t n)\n{\n"
    "    unsigned char *u = p, *q = skew_block(n, skew & 2);\n    size_t old = skew_size(u);\n"
    "    if (!q) return NULL;\n"
    "    memcpy(q, u, old < n ? old : n);\n    skew_free(c, p);\n    return q;\n}\n"
    "static const mb_alloc_vtable skew_vt = {skew_malloc, skew_realloc, skew_free};\n\n"
    "/* Empties the slot first: a handler that calls back in must not free it again. */\n"
    "static void release(int s)\n{\n    int k = kind[s];\n    kind[s] = 0;\n"
    "    if (k == 1 && buf[s].data) { last[s] = (unsigned char *)buf[s].data; mb_buf_free(&buf[s]); }\n"
    "    if (k == 2) { last[s] = raw[s]; mb_free(fam[famof[s]], raw[s]); }\n}\n\n"
    "/* A violation marked reenter: on each report every family allocates, resizes, frees and is\n"
    " * checked, and the first raw slot is freed; none of it may report. */\n"
    "static void call_back_in(void)\n{\n"
    "    for (int f = 0; f < 5; f++) {\n        if (f == deleting)\n            continue;\n"
    "        unsigned char *p = mb_malloc(fam[f], 24);\n        CHECK(p != NULL);\n        memset(p, 7, 24);\n"
    "        p = mb_realloc(fam[f], p, 600);\n        CHECK(p != NULL && p[23] == 7);\n"
    "        mb_free(fam[f], p);\n        mb_alloc_check(fam[f]);\n    }\n"
    "    for (int s = 0; s < 8; s++)\n        if (kind[s] == 2 && famof[s] != deleting && s != busy) {\n            release(s);\n            break;\n        }\n}\n\n"
    "static void on_violation(mb_violation v, const char *msg, void *user)\n{\n"
    "    (void)user;\n    for (const char *c = msg; *c; c++)\n        CHECK((unsigned char)*c >= 0x20 && *c != 0x7f); /* one line, names escaped */\n"
    "    if (!((expected >> v) & 1)) {\n"
    "        fprintf(stderr, \"unexpected violation: %s\\n\", msg);\n        abort();\n    }\n"
    "    reports++; /* reentering: one the call still had queued (the handler's calls report none) */\n    if (reenter && !reentering) {\n        reentering = 1;\n        call_back_in();\n        reentering = 0;\n    }\n}\n\n"
    "/* Before a violation: no fault injection of any kind. */\n"
    "static void disarm(void)\n{\n    mb_internal_fail_never();\n    for (int f = 0; f < 5; f++)\n"
    "        mb_alloc_fail_never(fam[f]);\n    mb_alloc_fail_never(inner_sys);\n"
    "    mb_alloc_fail_never(inner_pool);\n    vs.state = 0;\n}\n\n"
    "int main(void)\n{\n"
    "    static const mb_alloc_vtable vt = {u_malloc, u_realloc, u_free};\n"
    "    mb_set_violation_handler(on_violation, NULL);\n"
    "    inner_sys = mb_alloc_system_new();\n    inner_pool = mb_alloc_pool_new();\n"
    "    fam[0] = mb_alloc_system_new();\n    fam[1] = mb_alloc_pool_new();\n"
    "    fam[2] = mb_alloc_guard_new(inner_sys);\n    fam[3] = mb_alloc_guard_new(inner_pool);\n"
    "    fam[4] = mb_alloc_custom_new(&vt, NULL, \"custom\");\n"
    "    for (int f = 0; f < 5; f++)\n        CHECK(fam[f] != NULL);\n"
    "    mb_rng rng;\n    mb_status st;\n    unsigned char *p = NULL, *q = NULL;\n"
    "    mb_alloc *t = NULL, *t2 = NULL;\n    (void)st, (void)rng, (void)p, (void)q, (void)t, (void)t2, (void)size, (void)last;\n";

static const char *const inner_of[MBF_FAMILIES] = {"", "", "inner_sys", "inner_pool", ""};
static const char *const ctor[MBF_FAMILIES] = {
    "mb_alloc_system_new()", "mb_alloc_pool_new()", "mb_alloc_guard_new(inner_sys)",
    "mb_alloc_guard_new(inner_pool)", "mb_alloc_custom_new(&vt, NULL, \"custom\")"};

static void instance(FILE *o, int i)
{
    if (i < MBF_FAMILIES)
        fprintf(o, "fam[%d]", i);
    else
        fputs(i == MBF_I_INNER_SYS ? "inner_sys" : i == MBF_I_INNER_POOL ? "inner_pool" : i == MBF_I_TWIN ? "t2" : "t", o);
}

static void pointer(FILE *o, const mbf_step *s)
{
    fprintf(o, "%s + %ld", s->var == MBF_V_LOCAL ? "sc_local" : s->var == MBF_V_Q ? "q" : "p", s->off);
}

static void mask(FILE *o, unsigned m)
{
    fputs("expected = 0", o);
    for (int k = 0; k <= MB_MISALIGNED; k++)
        if (m & (1u << k))
            fprintf(o, " | 1u << %d", k);
    fputs(";\n", o);
}

/* The scenario's steps; before each run of steps, the violation its EXPECT allows. */
static void emit_misuse(FILE *o, const mbf_op *op)
{
    mbf_scenario sc;
    mbf_misuse_scenario(op, &sc);
    bool open = false;
    for (size_t k = 0; k < sc.n; k++) {
        const mbf_step *s = &sc.steps[k];
        if (!open) {
            size_t e = k;
            while (e < sc.n && sc.steps[e].kind != MBF_S_EXPECT)
                e++;
            fputs("    ", o);
            mask(o, e < sc.n && sc.steps[e].expect >= 0 ? 1u << sc.steps[e].expect : 0);
            open = true;
        }
        const char *v = s->var == MBF_V_Q ? "q" : "p";
        fputs("    ", o);
        switch (s->kind) {
        case MBF_S_MALLOC:
        case MBF_S_MALLOC_AGAIN:
            fprintf(o, "%s = mb_malloc(", v);
            instance(o, s->inst);
            fprintf(o, ", %zu);\n    CHECK(%s != NULL);\n", s->n, v);
            if (s->inst >= MBF_I_TEMP)
                fprintf(o, "    memset(%s, 0xA5, %zu);\n", v, s->n);
            if (s->kind == MBF_S_MALLOC_AGAIN)
                fprintf(o, "    CHECK(%s == p); /* the block the skewed allocator kept */\n", v);
            break;
        case MBF_S_FREE:
        case MBF_S_BAD_FREE:
            fputs("mb_free(", o);
            instance(o, s->inst);
            fputs(", ", o);
            pointer(o, s);
            fprintf(o, ");%s\n", s->kind == MBF_S_BAD_FREE ? " /* a violation */" : "");
            break;
        case MBF_S_BAD_REALLOC:
            fputs("CHECK(mb_realloc(", o);
            instance(o, s->inst);
            fputs(", ", o);
            pointer(o, s);
            fprintf(o, ", %zu) == NULL);\n", s->n);
            break;
        case MBF_S_POKE: fprintf(o, "p[%ld] ^= 0x%02X;\n", s->off, s->x); break;
        case MBF_S_SET: fprintf(o, "p[%ld] = 0x%02X;\n", s->off, s->x); break;
        case MBF_S_CHECK:
            fputs("mb_alloc_check(", o);
            instance(o, s->inst);
            fputs(");\n", o);
            break;
        case MBF_S_CHURN:
            fprintf(o, "for (int i = 0; i < %zu; i++)\n        mb_free(", s->n);
            instance(o, s->inst);
            fputs(", mb_malloc(", o);
            instance(o, s->inst);
            fprintf(o, ", %zu));\n", s->size);
            break;
        case MBF_S_NEW_GUARD:
            fprintf(o, "t = mb_alloc_guard_new(fam[%d]);\n    CHECK(t != NULL);\n", s->inst);
            break;
        case MBF_S_NEW_SKEWED:
            fprintf(o, "{\n        char name[%d + 1];\n        memset(name, 'x', %d);\n", MBF_SKEW_NAME_LEN, MBF_SKEW_NAME_LEN);
            fputs("        memcpy(name, \"", o);
            for (const char *c = MBF_SKEW_NAME_HEAD; *c; c++)
                fprintf(o, (unsigned char)*c < 0x20 ? "\\x%02x\"\"" : "%c", *c);
            fprintf(o, "\", %zu);\n        name[%d] = 0;\n", strlen(MBF_SKEW_NAME_HEAD), MBF_SKEW_NAME_LEN);
            fputs("        t = mb_alloc_custom_new(&skew_vt, NULL, name);\n        CHECK(t != NULL);\n        skew = 0;\n    }\n", o);
            break;
        case MBF_S_NEW_POOL: fputs("t = mb_alloc_pool_new();\n    CHECK(t != NULL);\n", o); break;
        case MBF_S_NEW_TWIN: fputs("t2 = mb_alloc_custom_new(&skew_vt, NULL, \"twin\");\n    CHECK(t2 != NULL);\n", o); break;
        case MBF_S_SKEW: fprintf(o, "skew = %u;\n", s->x); break;
        case MBF_S_MALLOC_NULL:
            fputs("CHECK(mb_malloc(", o);
            instance(o, s->inst);
            fprintf(o, ", %zu) == NULL);\n", s->n);
            break;
        case MBF_S_REALLOC:
            fprintf(o, "%s = mb_realloc(", v);
            instance(o, s->inst);
            fprintf(o, ", %s, %zu);\n    CHECK(%s != NULL);\n", v, s->n, v);
            break;
        case MBF_S_DELETE: fputs("mb_alloc_delete(t);\n    mb_alloc_delete(t2);\n    t2 = NULL;\n", o); break;
        case MBF_S_EXPECT:
            fprintf(o, "EXPECT_DONE(%d);\n", s->expect >= 0);
            open = false;
            break;
        }
    }
    fputs("    skew_flush(); /* the block the skewed allocator kept goes back to libc */\n", o);
}

static void emit_bad_free(FILE *o, const mbf_op *op, const mbf_trace *t, size_t i)
{
    int s = op->slot;
    fprintf(o, "    {\n        disarm();\n        reenter = %d;\n", op->d);
    if (op->a == MBF_UNIT_STACK)
        fputs("        unsigned char *a = local + sizeof local / 2;\n", o);
    else
        fprintf(o, "        unsigned char *a = kind[%d] == 2 ? raw[%d] : kind[%d] == 1 ? "
                   "(unsigned char *)buf[%d].data : last[%d];\n", s, s, s, s, s);
    fprintf(o, "        unsigned char *bad = (unsigned char *)((uintptr_t)a - %d + (uintptr_t)(intptr_t)%ld);\n",
            op->a == MBF_UNIT_INNER ? MBF_GUARD_FRONT : 0, mbf_bad_free_delta(op));
    fputs("        ", o);
    mask(o, t->allowed[i]);
    if (op->c == MBF_PATH_FREE)
        fprintf(o, "        mb_free(fam[%d], bad);\n", op->fam);
    else
        fprintf(o, "        CHECK(mb_realloc(fam[%d], bad, 1) == NULL);\n", op->fam);
    fprintf(o, "        reenter = 0;\n        EXPECT_DONE(%d);\n    }\n", t->count[i]);
}

/* n 1-byte blocks made and freed through guard g (the executor's churn, exec_misuse.c). */
static void emit_churn(FILE *o, int n)
{
    fprintf(o, "        for (int i = 0; i < %d; i++)\n            mb_free(fam[g], mb_malloc(fam[g], 1));\n", n);
}

static void emit_corrupt(FILE *o, const mbf_op *op, const mbf_trace *t, size_t i)
{
    int s = op->slot, finder = mbf_corrupt_finder(op);
    mb_violation kind;
    fprintf(o, "    {\n        disarm();\n        reenter = %d;\n        int g = famof[%d];\n        (void)g;\n", op->d, s);
    fprintf(o, "        unsigned char *b = raw[%d];\n        size_t n = size[%d];\n        (void)n;\n", s, s);
    fputs("        ", o);
    mask(o, t->allowed[i]);
    if (op->a == MBF_REGION_FREED)
        fprintf(o, "        release(%d);\n", s);
    long at = mbf_corrupt_at(op, 0, &kind);
    if (op->a == MBF_REGION_REAR)
        fprintf(o, "        b[n + %ld] ^= 0x5A;\n", at);
    else if (op->a == MBF_REGION_FREED)
        fprintf(o, "        b[%u %% n] ^= 0x5A;\n", op->b);
    else
        fprintf(o, "        b[%ld] ^= 0x5A;\n", at);
    switch (finder) {
    case MBF_FIND_FREE: fprintf(o, "        release(%d);\n", s); break;
    case MBF_FIND_REALLOC:
        fprintf(o, "        busy = %d;\n        b = mb_realloc(fam[g], raw[%d], n);\n        busy = -1;\n"
                   "        CHECK(b != NULL);\n        raw[%d] = b;\n        memset(b, 1, n);\n", s, s, s);
        break;
    case MBF_FIND_CHECK: fputs("        mb_alloc_check(fam[g]);\n", o); break;
    case MBF_FIND_EVICT:
        if (op->a == MBF_REGION_FREED) {
            emit_churn(o, MBF_CHURN);
            break;
        }
        /* a block written after its free, left the oldest in the quarantine; the free evicts it */
        fputs("        unsigned char *w = mb_malloc(fam[g], 1);\n        CHECK(w != NULL);\n"
              "        mb_free(fam[g], w);\n        w[0] ^= 0x5A;\n", o);
        emit_churn(o, MBF_GUARD_QUARANTINE - 1);
        fprintf(o, "        release(%d);\n", s);
        break;
    default:
        fputs("        deleting = g;\n        mb_alloc_delete(fam[g]);\n        deleting = -1;\n        fam[g] = mb_alloc_guard_new(g == 2 ? inner_sys : inner_pool);\n"
              "        CHECK(fam[g] != NULL);\n        for (int k = 0; k < 8; k++)\n"
              "            if (kind[k] == 2 && famof[k] == g) {\n                last[k] = raw[k];\n"
              "                kind[k] = 0;\n            }\n", o);
        break;
    }
    fprintf(o, "        reenter = 0;\n        EXPECT_DONE(%d);\n    }\n", t->count[i]);
}

static void emit_bulk(FILE *o, const mbf_op *op, size_t n)
{
    size_t count = (size_t)op->a * 4;
    static size_t order[1020];
    mbf_bulk_order(op, count, order);
    fprintf(o, "    {\n        size_t n = %zu;\n        static unsigned char *b[%zu];\n        static const unsigned short order[%zu] = {", n, count, count);
    for (size_t k = 0; k < count; k++)
        fprintf(o, "%s%zu", k ? (k % 16 ? ", " : ",\n            ") : "", order[k]);
    fprintf(o, "};\n        for (int i = 0; i < %zu; i++)\n", count);
    fprintf(o, "            if ((b[i] = mb_malloc(fam[%d], n)) != NULL) memset(b[i], i & 0xff, n);\n", op->fam);
    fprintf(o, "        for (int k = 0; k < %zu; k++) {\n            int i = order[k];\n", count);
    fprintf(o, "            if (b[i]) {\n                for (size_t j = 0; j < n; j++) CHECK(b[i][j] == (i & 0xff));\n");
    fprintf(o, "                mb_free(fam[%d], b[i]);\n            }\n        }\n    }\n", op->fam);
}

static const char *fill_literal(const char *v)
{
    return strcmp(v, "nan") == 0 ? "NAN" : strcmp(v, "-inf") == 0 ? "-INFINITY" : v;
}

static void emit_op(FILE *o, const mbf_op *op, size_t i, const mbf_trace *t)
{
    int s = op->slot;
    size_t n = mbf_size(op);
    const char *fail_mode[3] = {"MB_FAIL_ONCE", "MB_FAIL_ALWAYS", ""};
    switch ((mbf_kind)op->kind) {
    case MBF_INIT:
        fprintf(o, "    release(%d);\n    st = mb_buf_init(&buf[%d], fam[%d], (size_t)%zuu);\n", s, s, op->fam, n);
        fprintf(o, "    CHECK(st == %s);\n", n > SIZE_MAX / 8 ? "MB_EOVERFLOW" : "MB_OK || st == MB_ENOMEM");
        fprintf(o, "    famof[%d] = %d;\n    kind[%d] = st == MB_OK ? 1 : 0;\n", s, op->fam, s);
        break;
    case MBF_RESIZE:
        fprintf(o, "    {\n        double *old = buf[%d].data;\n        st = mb_buf_resize(&buf[%d], (size_t)%zuu);\n", s, s, n);
        fprintf(o, "        CHECK(st == MB_OK || ((st == MB_ENOMEM || st == MB_EOVERFLOW) && buf[%d].data == old));\n", s);
        fprintf(o, "        if (old && !buf[%d].data)\n            last[%d] = (unsigned char *)old;\n    }\n", s, s);
        break;
    case MBF_FILL:
        fprintf(o, "    CHECK(mb_buf_fill(&buf[%d], %s) == MB_OK);\n", s, fill_literal(mbf_fill_values[op->a % 8]));
        break;
    case MBF_FILL_NORMAL:
        fprintf(o, "    mb_rng_seed(&rng, %u);\n", op->a);
        fprintf(o, "    st = mb_buf_fill_normal(&buf[%d], &rng, strtod(\"%s\", NULL), strtod(\"%s\", NULL));\n",
                s, mbf_means[op->b % 8], mbf_sds[op->c % 8]);
        fputs("    CHECK(st == MB_OK || st == MB_EINVAL);\n", o);
        break;
    case MBF_FREE: fprintf(o, "    release(%d);\n", s); break;
    case MBF_MALLOC:
        fprintf(o, "    release(%d);\n    raw[%d] = mb_malloc(fam[%d], (size_t)%zuu);\n", s, s, op->fam, n);
        fprintf(o, "    famof[%d] = %d;\n    size[%d] = (size_t)%zuu;\n    kind[%d] = raw[%d] ? 2 : 0;\n", s,
                op->fam, s, n, s, s);
        fprintf(o, "    if (raw[%d]) memset(raw[%d], %zu, size[%d]);\n", s, s, (i * 7 + 1) % 256, s);
        break;
    case MBF_REALLOC:
        fprintf(o, "    {\n        int f = FAM(%d);\n", s);
        fprintf(o, "        unsigned char *r = mb_realloc(fam[f], kind[%d] ? raw[%d] : NULL, (size_t)%zuu);\n", s, s, n);
        fprintf(o, "        if (r) {\n            raw[%d] = r;\n            famof[%d] = f;\n            size[%d] = (size_t)%zuu;\n"
                   "            kind[%d] = 2;\n", s, s, s, n, s);
        fprintf(o, "            memset(r, %zu, size[%d]);\n        }\n    }\n", (i * 7 + 1) % 256, s);
        break;
    case MBF_WRITE:
        fprintf(o, "    if (kind[%d] == 2) memset(raw[%d], %zu, size[%d]);\n", s, s, (i * 5 + 3) % 256, s);
        fprintf(o, "    if (kind[%d] == 1) memset(buf[%d].data, 0, buf[%d].len * sizeof(double));\n", s, s, s);
        break;
    case MBF_FAIL_AFTER: fprintf(o, "    mb_alloc_fail_after(fam[FAM(%d)], %u, %s);\n", s, op->a, fail_mode[op->b & 1]); break;
    case MBF_FAIL_NEVER: fprintf(o, "    mb_alloc_fail_never(fam[FAM(%d)]);\n", s); break;
    case MBF_CHECK: fprintf(o, "    mb_alloc_check(fam[FAM(%d)]);\n", s); break;
    case MBF_MISUSE:
        fprintf(o, "    disarm();\n    reenter = %d;\n", op->c);
        emit_misuse(o, op);
        fputs("    reenter = 0;\n", o);
        break;
    case MBF_BULK: emit_bulk(o, op, n); break;
    case MBF_SYS_FAIL: fprintf(o, "    mb_internal_fail_after(%u); /* membuf's own allocations */\n", op->a); break;
    case MBF_RENEW:
        fprintf(o, "    {\n        int in_use = 0;\n        for (int s = 0; s < 8; s++)\n");
        fprintf(o, "            in_use |= kind[s] && famof[s] == %d;\n", op->fam);
        fprintf(o, "        mb_alloc_stats st_;\n        mb_alloc_get_stats(fam[%d], &st_);\n", op->fam);
        fprintf(o, "        mb_alloc *n = in_use || st_.live_blocks ? NULL : %s;\n", ctor[op->fam]);
        fprintf(o, "        if (n) {\n            mb_alloc_delete(fam[%d]);\n            fam[%d] = n;\n        }\n    }\n",
                op->fam, op->fam);
        break;
    case MBF_API_EDGE: fputs("    /* argument checks only: nothing to replay */\n", o); break;
    case MBF_UNDER_FAIL:
        if (op->fam == MBF_U_CUSTOM)
            fprintf(o, "    vs.state = %d;\n    vs.countdown = %u;\n", op->b == 2 ? 0 : op->b == 1 ? 2 : 1, op->a);
        else if (op->b == 2)
            fprintf(o, "    mb_alloc_fail_never(%s);\n", inner_of[op->fam + 1]);
        else
            fprintf(o, "    mb_alloc_fail_after(%s, %u, %s);\n", inner_of[op->fam + 1], op->a, fail_mode[op->b]);
        break;
    case MBF_BAD_FREE: emit_bad_free(o, op, t, i); break;
    case MBF_CORRUPT: emit_corrupt(o, op, t, i); break;
    case MBF_NKINDS: break;
    }
}

/* The input's base name (no directories: no machine paths in a test that gets checked in), with
 * every byte but letters, digits and . _ - + = , @ % ~ written as \xHH: nothing in a name (a
 * star-slash, a newline, a backslash, a question mark of a trigraph, a byte that is not ASCII)
 * can end the comment it is written in or change how the file reads. */
static void comment_name(FILE *o, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!*base)
        base = "(unnamed)";
    for (const unsigned char *c = (const unsigned char *)base; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            (*c && strchr("._-+=,@%~", *c)))
            fputc(*c, o);
        else
            fprintf(o, "\\x%02X", *c);
    }
}

void mbf_emit_c(FILE *o, mbf_dialect d, const mbf_prog *p, const mbf_trace *t, const char *path)
{
    fputs("/* Regression test emitted by membuf-ops from ", o);
    comment_name(o, path);
    fprintf(o, " (%s). Replays the calls the harness\n"
               " * made through the public API; a violation other than the ones demanded, a wrong\n"
               " * status, a lost byte or a leak at the end aborts. Build: cc -std=c11 t.c -lmembuf -lm */\n",
            mbf_dialect_name(d));
    fputs(prelude, o);
    fputs(prelude_more, o);
    fprintf(o, "    unsigned char local[%d], sc_local[%d];\n    (void)local, (void)sc_local, (void)skew_vt;\n\n",
            MBF_BAD_LOCAL, MBF_LOCAL_BYTES);
    for (size_t i = 0; i < p->n; i++) {
        fputs("    /* ", o);
        mbf_print_op(o, &p->ops[i]);
        if (!t->acted[i]) {
            fputs("       (the harness skipped it) */\n", o);
            continue;
        }
        fputs("     */\n", o);
        emit_op(o, &p->ops[i], i, t);
    }
    fputs("    disarm();\n    for (int s = 0; s < 8; s++)\n        release(s);\n", o);
    fputs("    for (int f = 0; f < 5; f++) {\n        mb_alloc_stats st_;\n        mb_alloc_get_stats(fam[f], &st_);\n"
          "        CHECK(st_.live_blocks == 0); /* the leak oracle */\n    }\n", o);
    fputs("    for (int f = 4; f >= 0; f--)\n        mb_alloc_delete(fam[f]);\n"
          "    mb_alloc_delete(inner_sys);\n    mb_alloc_delete(inner_pool);\n"
          "    puts(\"regression: ok\");\n    return 0;\n}\n", o);
}
