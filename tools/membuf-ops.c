/* membuf-ops: the op language on the command line.
 *
 *   membuf-ops [-t TARGET] print FILE            binary input -> text, one op per line
 *   membuf-ops [-t TARGET] encode TEXT -o FILE   text -> binary input
 *   membuf-ops [-t TARGET] run FILE...           execute with every oracle; exit 1 on a failure
 *   membuf-ops [-t TARGET] shrink FILE -o FILE   delta debugging: drop ops, then simplify
 *                                                arguments, keeping the same failure
 *   membuf-ops [-t TARGET] emit-c FILE           a standalone C regression test (public API only)
 *
 * TARGET is fuzz_buf, fuzz_alloc or fuzz_guard; without -t it is taken from the path (corpus/
 * fuzz_buf/...), or for text from the ops used. Files ending in .ops are text, others binary.
 * Bad usage or unreadable input: one line on stderr, exit 2. */
#define _POSIX_C_SOURCE 200809L
#include "exec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("membuf-ops: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *b = realloc(buf, cap * 2 + 1);
            if (!b)
                free(buf);
            buf = b;
            cap *= 2;
        }
    }
    if (!buf || ferror(f))
        die("cannot read %s", path);
    fclose(f);
    buf[n] = 0;
    *size = n;
    return buf;
}

static bool is_text(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".ops") == 0;
}

static int target_from_path(const char *path)
{
    static const char *const names[] = {"fuzz_alloc", "fuzz_guard", "fuzz_buf"};
    for (int i = 0; i < 3; i++)
        if (strstr(path, names[i]))
            return mbf_dialect_of(names[i]);
    return -1;
}

static int target_from_ops(const mbf_prog *p)
{
    int buf = 0, raw = 0;
    for (size_t i = 0; i < p->n; i++) {
        uint8_t k = p->ops[i].kind;
        if (k == MBF_MISUSE)
            return MBF_D_GUARD;
        buf |= k == MBF_INIT || k == MBF_RESIZE || k == MBF_FILL || k == MBF_FILL_NORMAL;
        raw |= k == MBF_MALLOC || k == MBF_REALLOC || k == MBF_WRITE;
    }
    return buf && !raw ? MBF_D_BUF : raw && !buf ? MBF_D_ALLOC : -1;
}

/* Loads FILE as a program; *d is the dialect (given with -t, or inferred). */
static void load(const char *path, int *d, mbf_prog *p)
{
    size_t size;
    uint8_t *data = slurp(path, &size);
    if (*d < 0)
        *d = target_from_path(path);
    if (is_text(path)) {
        if (memchr(data, 0, size))
            die("%s: not a text file (NUL byte)", path);
        char err[256];
        if (!mbf_parse((const char *)data, p, err, sizeof err))
            die("%s: %s", path, err);
        if (*d < 0)
            *d = target_from_ops(p);
        if (*d < 0)
            die("%s: cannot tell the target from the ops; pass -t fuzz_buf|fuzz_alloc|fuzz_guard", path);
        uint8_t tmp[MBF_MAX_OPS * MBF_OP_MAX_BYTES];
        if (mbf_encode((mbf_dialect)*d, p, tmp, sizeof tmp) == SIZE_MAX)
            die("%s: an op is not part of %s's language", path, mbf_dialect_name((mbf_dialect)*d));
    } else {
        if (*d < 0)
            die("%s: cannot tell the target from the path; pass -t fuzz_buf|fuzz_alloc|fuzz_guard", path);
        mbf_decode((mbf_dialect)*d, data, size, p);
    }
    free(data);
}

/* Runs p in a child. Returns 0 if clean; else 1 with the failure's signature in sig. */
static int run_child(int d, const mbf_prog *p, char *sig, size_t siglen, bool quiet)
{
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        mbf_run((mbf_dialect)d, p);
        _exit(0);
    }
    close(fds[1]);
    char out[65536];
    size_t n = 0;
    for (ssize_t got; (got = read(fds[0], out + n, sizeof out - 1 - n)) > 0;)
        n += (size_t)got;
    out[n] = 0;
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (!quiet)
        fputs(out, stderr);
    /* Signature: the oracle's complaint without op position and addresses, or the tool's kind. */
    const char *m = strstr(out, "membuf-fuzz: ");
    const char *a = strstr(out, "ERROR: AddressSanitizer: ");
    const char *u = strstr(out, "runtime error: ");
    if (m && (m = strstr(m, "): "))) {
        size_t k = strcspn(m + 3, ":0123456789\n");
        snprintf(sig, siglen, "%.*s", (int)k, m + 3);
    } else if (a) {
        /* The error type and the first stack frame in membuf's own sources. */
        const char *type = a + strlen("ERROR: AddressSanitizer: ");
        int tlen = (int)strcspn(type, " \n");
        const char *fr = a, *fn = "?";
        int flen = 1;
        while ((fr = strstr(fr, " in ")) != NULL) {
            fr += 4;
            const char *eol = fr + strcspn(fr, "\n");
            const char *src = strstr(fr, "/src/");
            if (src && src < eol) {
                fn = fr;
                flen = (int)strcspn(fr, " \n");
                break;
            }
        }
        snprintf(sig, siglen, "AddressSanitizer %.*s in %.*s", tlen, type, flen, fn);
    } else if (u) {
        snprintf(sig, siglen, "%.*s", (int)strcspn(u, "\n"), u);
    } else {
        snprintf(sig, siglen, "status %d", status);
    }
    return 1;
}

static void write_binary(int d, const mbf_prog *p, const char *out)
{
    static uint8_t buf[MBF_MAX_OPS * MBF_OP_MAX_BYTES];
    size_t n = mbf_encode((mbf_dialect)d, p, buf, sizeof buf);
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0)
        die("cannot write %s: %s", out, strerror(errno));
}

/* ---- emit-c ---------------------------------------------------------------------------- */

static const char prelude[] =
    "#include <membuf.h>\n\n#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n"
    "#define CHECK(c) do { if (!(c)) { fprintf(stderr, \"line %d: CHECK(%s) failed\\n\", __LINE__, #c); abort(); } } while (0)\n\n"
    "static mb_alloc *fam[5];\n"
    "static mb_buf buf[8];\nstatic unsigned char *raw[8];\nstatic size_t size[8];\n"
    "static int famof[8] = {0, 1, 2, 3, 4, 0, 1, 2}, kind[8]; /* 0 empty, 1 buffer, 2 raw */\n"
    "static unsigned armed; /* families with fault injection set */\n"
    "static int expected = -1, reports, reenter, reentering;\n\n"
    "/* A misuse marked reenter: on each report, every family without fault injection allocates,\n"
    " * resizes, frees and is checked, and the first such raw slot is freed; none of it may report. */\n"
    "static void call_back_in(void)\n{\n"
    "    for (int f = 0; f < 5; f++) {\n        if (armed & (1u << f))\n            continue;\n"
    "        unsigned char *p = mb_malloc(fam[f], 24);\n        CHECK(p != NULL);\n        memset(p, 7, 24);\n"
    "        p = mb_realloc(fam[f], p, 600);\n        CHECK(p != NULL && p[23] == 7);\n"
    "        mb_free(fam[f], p);\n        mb_alloc_check(fam[f]);\n    }\n"
    "    for (int s = 0; s < 8; s++) {\n        if (kind[s] == 2 && !(armed & (1u << famof[s]))) {\n"
    "            mb_free(fam[famof[s]], raw[s]);\n            kind[s] = 0;\n            break;\n        }\n    }\n}\n\n"
    "static void on_violation(mb_violation v, const char *msg, void *user)\n{\n"
    "    (void)user;\n    if ((int)v != expected || reentering) {\n"
    "        fprintf(stderr, \"unexpected violation: %s\\n\", msg);\n        abort();\n    }\n"
    "    reports++;\n    if (reenter) {\n        reentering = 1;\n        call_back_in();\n        reentering = 0;\n    }\n}\n\n"
    "static void *c_malloc(void *c, size_t n) { (void)c; return malloc(n); }\n"
    "static void *c_realloc(void *c, void *p, size_t n) { (void)c; return realloc(p, n); }\n"
    "static void c_free(void *c, void *p) { (void)c; free(p); }\n\n"
    "int main(void)\n{\n"
    "    static const mb_alloc_vtable vt = {c_malloc, c_realloc, c_free};\n"
    "    mb_set_violation_handler(on_violation, NULL);\n"
    "    mb_alloc *inner_sys = mb_alloc_system_new(), *inner_pool = mb_alloc_pool_new();\n"
    "    fam[0] = mb_alloc_system_new();\n    fam[1] = mb_alloc_pool_new();\n"
    "    fam[2] = mb_alloc_guard_new(inner_sys);\n    fam[3] = mb_alloc_guard_new(inner_pool);\n"
    "    fam[4] = mb_alloc_custom_new(&vt, NULL, \"custom\");\n"
    "    for (int f = 0; f < 5; f++)\n        CHECK(fam[f] != NULL);\n"
    "    mb_rng rng;\n    mb_status st;\n    (void)st;\n    (void)rng;\n\n";

static void emit_release(int s)
{
    printf("    if (kind[%d] == 1) mb_buf_free(&buf[%d]);\n", s, s);
    printf("    if (kind[%d] == 2) mb_free(fam[famof[%d]], raw[%d]);\n", s, s, s);
    printf("    kind[%d] = 0;\n", s);
}

/* The same steps as op_misuse in fuzz/exec.c, expecting exactly one report of the kind. */
/* exec.c's misuse_pool: the plain pool's own checks (fam[1]; inner_pool is another pool). */
static void emit_misuse_pool(const mbf_op *op)
{
    unsigned a = op->a;
    bool large = (a & 0x40) && op->slot != MBF_MISMATCHED_FREE;
    unsigned n = large ? 600 + a % 61 : a % 61 + 1;
    printf("    {\n        expected = %s;\n        reports = 0;\n", op->slot == MBF_MISMATCHED_FREE ? "MB_MISMATCHED_FREE" : op->slot == MBF_FOREIGN_FREE ? "MB_FOREIGN_FREE" : "MB_DOUBLE_FREE");
    printf("        unsigned char *p = mb_malloc(fam[1], %u);\n        CHECK(p != NULL);\n", n);
    switch ((mbf_misuse)op->slot) {
    case MBF_DOUBLE_FREE: printf("        mb_free(fam[1], p);\n        mb_free(fam[1], p);\n"); break;
    case MBF_DOUBLE_FREE_LATE: printf("        mb_free(fam[1], p);\n        CHECK(mb_realloc(fam[1], p, %u) == NULL);\n", n + 1); break;
    case MBF_MISMATCHED_FREE: printf("        mb_free(inner_pool, p);\n        CHECK(reports == 1);\n        mb_free(fam[1], p);\n"); break;
    default:
        if (a & 2)
            printf("        unsigned char local[64];\n        mb_free(fam[1], local + %u);\n", (a >> 2) % 32);
        else
            printf("        mb_free(fam[1], p + 8);\n");
        printf("        CHECK(reports == 1);\n        mb_free(fam[1], p);\n");
        break;
    }
    printf("        CHECK(reports == 1);\n        expected = -1;\n    }\n");
}

static void emit_misuse(const mbf_op *op)
{
    if ((op->a & 0x80) && op->slot <= MBF_FOREIGN_FREE) {
        emit_misuse_pool(op);
        return;
    }
    static const char *const kinds[MBF_NMISUSE] = {
        "MB_DOUBLE_FREE", "MB_DOUBLE_FREE", "MB_MISMATCHED_FREE", "MB_FOREIGN_FREE", "MB_OVERFLOW",
        "MB_UNDERFLOW", "MB_USE_AFTER_FREE", "MB_LEAK"};
    unsigned a = op->a, n = a % 61 + 1;
    int g = (a & 1) ? 3 : 2, o = (a & 1) ? 2 : 3;
    printf("    {\n        expected = %s;\n        reports = 0;\n        unsigned char *p;\n", kinds[op->slot]);
    switch ((mbf_misuse)op->slot) {
    case MBF_DOUBLE_FREE: printf("        p = mb_malloc(fam[%d], %u);\n        mb_free(fam[%d], p);\n        mb_free(fam[%d], p);\n", g, n, g, g); break;
    case MBF_DOUBLE_FREE_LATE:
        printf("        p = mb_malloc(fam[%d], %u);\n        mb_free(fam[%d], p);\n", g, n, g);
        printf("        for (int i = 0; i < 80; i++)\n            mb_free(fam[%d], mb_malloc(fam[%d], %u));\n        mb_free(fam[%d], p);\n", g, g, n, g);
        break;
    case MBF_MISMATCHED_FREE: printf("        p = mb_malloc(fam[%d], %u);\n        mb_free(fam[%d], p);\n        CHECK(reports == 1);\n        mb_free(fam[%d], p);\n", g, n, o, g); break;
    case MBF_FOREIGN_FREE:
        if (a & 2)
            printf("        unsigned char local[64];\n        mb_free(fam[%d], local + %u);\n        (void)p;\n", g, (a >> 2) % 32);
        else
            printf("        p = mb_malloc(fam[0], %u);\n        mb_free(fam[%d], p + 8);\n        CHECK(reports == 1);\n        mb_free(fam[0], p);\n", n, g);
        break;
    case MBF_OVERFLOW:
        printf("        p = mb_malloc(fam[%d], %u);\n        p[%u] ^= 0xA5;\n", g, n, n + (a >> 4) % 16);
        if (a & 2)
            printf("        mb_alloc_check(fam[%d]);\n        CHECK(reports == 1);\n", g);
        printf("        mb_free(fam[%d], p);\n", g);
        break;
    case MBF_UNDERFLOW: printf("        p = mb_malloc(fam[%d], %u);\n        p[-%u] ^= 0x5A;\n        mb_free(fam[%d], p);\n", g, n, 1 + (a >> 4) % 16, g); break;
    case MBF_WRITE_AFTER_FREE: printf("        p = mb_malloc(fam[%d], %u);\n        mb_free(fam[%d], p);\n        p[%u] = 0x11;\n        mb_alloc_check(fam[%d]);\n", g, n, g, (a >> 2) % n, g); break;
    case MBF_LEAK:
        printf("        mb_alloc *t = mb_alloc_guard_new(fam[%d]);\n        CHECK(t && mb_malloc(t, %u));\n        mb_alloc_delete(t);\n        (void)p;\n", (a & 1) ? 1 : 0, n);
        break;
    case MBF_NMISUSE: break;
    }
    printf("        CHECK(reports == 1);\n        expected = -1;\n    }\n");
}

static void emit_c(int d, const mbf_prog *p, const char *path)
{
    printf("/* Regression test emitted by membuf-ops from %s (%s). Replays the sequence through the\n"
           " * public API; a violation other than the one a misuse op commits, a wrong status, a\n"
           " * lost byte or a leak at the end aborts. Build: cc -std=c11 t.c -lmembuf -lm */\n",
           path, mbf_dialect_name((mbf_dialect)d));
    fputs(prelude, stdout);
    int misused = 0, sys_fail = 0;
    for (size_t i = 0; i < p->n; i++) {
        const mbf_op *op = &p->ops[i];
        int s = op->slot;
        size_t n = mbf_size(op);
        printf("    /* ");
        mbf_print_op(stdout, op);
        printf("     */\n");
        switch ((mbf_kind)op->kind) {
        case MBF_INIT:
            if (n <= SIZE_MAX / 8 && n > ((size_t)1 << 18))
                break;
            emit_release(s);
            printf("    st = mb_buf_init(&buf[%d], fam[%d], (size_t)%zuu);\n", s, op->fam, n);
            printf("    CHECK(st == %s);\n", n > SIZE_MAX / 8 ? "MB_EOVERFLOW" : "MB_OK || st == MB_ENOMEM");
            printf("    famof[%d] = %d;\n    kind[%d] = st == MB_OK ? 1 : 0;\n", s, op->fam, s);
            break;
        case MBF_RESIZE:
            if (n <= SIZE_MAX / 8 && n > ((size_t)1 << 18))
                break;
            printf("    if (kind[%d] == 1) {\n        double *old = buf[%d].data;\n", s, s);
            printf("        st = mb_buf_resize(&buf[%d], (size_t)%zuu);\n", s, n);
            printf("        CHECK(st == MB_OK || ((st == MB_ENOMEM || st == MB_EOVERFLOW) && buf[%d].data == old));\n    }\n", s);
            break;
        case MBF_FILL:
            printf("    if (kind[%d] == 1) {\n        CHECK(mb_buf_fill(&buf[%d], %s) == MB_OK);\n    }\n", s,
                   s, strcmp(mbf_fill_values[op->a % 8], "nan") == 0 ? "NAN" :
                      strcmp(mbf_fill_values[op->a % 8], "-inf") == 0 ? "-INFINITY" : mbf_fill_values[op->a % 8]);
            break;
        case MBF_FILL_NORMAL:
            printf("    if (kind[%d] == 1) {\n        mb_rng_seed(&rng, %u);\n", s, op->a);
            printf("        st = mb_buf_fill_normal(&buf[%d], &rng, strtod(\"%s\", NULL), strtod(\"%s\", NULL));\n",
                   s, mbf_means[op->b % 8], mbf_sds[op->c % 8]);
            printf("        CHECK(st == MB_OK || st == MB_EINVAL);\n    }\n");
            break;
        case MBF_FREE: emit_release(s); break;
        case MBF_MALLOC:
            if (n > ((size_t)4 << 20) && n < ((size_t)1 << 60))
                break;
            emit_release(s);
            printf("    raw[%d] = mb_malloc(fam[%d], (size_t)%zuu);\n", s, op->fam, n);
            printf("    famof[%d] = %d;\n    size[%d] = (size_t)%zuu;\n    kind[%d] = raw[%d] ? 2 : 0;\n", s,
                   op->fam, s, n, s, s);
            printf("    if (raw[%d]) memset(raw[%d], %zu, size[%d]);\n", s, s, (i * 7 + 1) % 256, s);
            break;
        case MBF_REALLOC:
            if (n > ((size_t)4 << 20) && n < ((size_t)1 << 60))
                break;
            printf("    if (kind[%d] != 1) {\n", s);
            printf("        unsigned char *q = mb_realloc(fam[famof[%d]], kind[%d] ? raw[%d] : NULL, (size_t)%zuu);\n", s, s, s, n);
            printf("        if (q) {\n            raw[%d] = q;\n            size[%d] = (size_t)%zuu;\n            kind[%d] = 2;\n", s, s, n, s);
            printf("            memset(q, %zu, size[%d]);\n        }\n    }\n", (i * 7 + 1) % 256, s);
            break;
        case MBF_WRITE:
            printf("    if (kind[%d] == 2) memset(raw[%d], %zu, size[%d]);\n", s, s, (i * 5 + 3) % 256, s);
            break;
        case MBF_FAIL_AFTER:
            printf("    mb_alloc_fail_after(fam[famof[%d]], %u, %s);\n", s, op->a, op->b ? "MB_FAIL_ALWAYS" : "MB_FAIL_ONCE");
            printf("    armed |= 1u << famof[%d];\n", s);
            break;
        case MBF_FAIL_NEVER:
            printf("    mb_alloc_fail_never(fam[famof[%d]]);\n    armed &= ~(1u << famof[%d]);\n", s, s);
            break;
        case MBF_CHECK: printf("    mb_alloc_check(fam[famof[%d]]);\n", s); break;
        case MBF_MISUSE:
            if (d != MBF_D_GUARD || misused++)
                break;
            if (sys_fail) /* as in exec.c: the misuse needs its allocations */
                printf("    mb_internal_fail_never();\n");
            sys_fail = 0;
            if (op->b)
                printf("    reenter = 1;\n");
            emit_misuse(op);
            if (op->b)
                printf("    reenter = 0;\n");
            break;
        case MBF_BULK: {
            size_t count = (size_t)op->a * 4;
            if (n > 4096 || count == 0)
                break;
            static size_t order[1020];
            mbf_bulk_order(op, count, order);
            printf("    {\n        static unsigned char *b[%zu];\n        static const unsigned short order[%zu] = {", count, count);
            for (size_t k = 0; k < count; k++)
                printf("%s%zu", k ? (k % 16 ? ", " : ",\n            ") : "", order[k]);
            printf("};\n        for (int i = 0; i < %zu; i++)\n", count);
            printf("            if ((b[i] = mb_malloc(fam[%d], %zu)) != NULL) memset(b[i], i & 0xff, %zu);\n", op->fam, n, n);
            printf("        for (int k = 0; k < %zu; k++) {\n            int i = order[k];\n", count);
            printf("            if (b[i]) {\n                for (size_t j = 0; j < %zu; j++) CHECK(b[i][j] == (i & 0xff));\n", n);
            printf("                mb_free(fam[%d], b[i]);\n            }\n        }\n    }\n", op->fam);
            break;
        }
        case MBF_RENEW: {
            static const char *const ctor[MBF_FAMILIES] = {
                "mb_alloc_system_new()", "mb_alloc_pool_new()", "mb_alloc_guard_new(inner_sys)",
                "mb_alloc_guard_new(inner_pool)", "mb_alloc_custom_new(&vt, NULL, \"custom\")"};
            printf("    {\n        int busy = 0;\n        for (int s = 0; s < 8; s++)\n");
            printf("            busy |= kind[s] && famof[s] == %d;\n", op->fam);
            printf("        mb_alloc_stats st_;\n        mb_alloc_get_stats(fam[%d], &st_);\n", op->fam);
            printf("        mb_alloc *n = busy || st_.live_blocks ? NULL : %s;\n", ctor[op->fam]);
            printf("        if (n) {\n            mb_alloc_delete(fam[%d]);\n            fam[%d] = n;\n"
                   "            armed &= ~(1u << %d);\n        }\n    }\n", op->fam, op->fam, op->fam);
            break;
        }
        case MBF_API_EDGE: printf("    /* argument checks only: nothing to replay */\n"); break;
        case MBF_SYS_FAIL:
            printf("    mb_internal_fail_after(%u); /* membuf's own allocations */\n", op->a);
            sys_fail = 1;
            break;
        case MBF_NKINDS: break;
        }
    }
    if (sys_fail)
        printf("    mb_internal_fail_never();\n");
    printf("    for (int s = 0; s < 8; s++) {\n        if (kind[s] == 1) mb_buf_free(&buf[s]);\n"
           "        if (kind[s] == 2) mb_free(fam[famof[s]], raw[s]);\n    }\n");
    printf("    for (int f = 0; f < 5; f++) {\n        mb_alloc_stats st_;\n        mb_alloc_get_stats(fam[f], &st_);\n"
           "        CHECK(st_.live_blocks == 0); /* the leak oracle */\n    }\n");
    printf("    for (int f = 4; f >= 0; f--)\n        mb_alloc_delete(fam[f]);\n"
           "    mb_alloc_delete(inner_sys);\n    mb_alloc_delete(inner_pool);\n"
           "    puts(\"regression: ok\");\n    return 0;\n}\n");
}

/* ---- shrink ----------------------------------------------------------------------------- */

static mbf_prog cand;

/* Whether cand fails the same way as want (then it replaces p). */
static bool keep_if_same(int d, mbf_prog *p, const char *want)
{
    char got[256];
    if (run_child(d, &cand, got, sizeof got, true) && strcmp(got, want) == 0) {
        *p = cand;
        return true;
    }
    return false;
}

/* Whether op names a slot (misuse, sys-fail-after and renew use the byte for something else). */
static bool has_slot(const mbf_op *op)
{
    return op->kind != MBF_MISUSE && op->kind != MBF_SYS_FAIL && op->kind != MBF_RENEW;
}

/* Other versions of one op to try, simplest first: sizes toward small ones, every other slot,
 * families toward system, arguments toward 0. Returns how many were written to out. */
static size_t simpler(const mbf_op *op, mbf_op out[24])
{
    size_t n = 0;
    size_t size = mbf_size(op);
    if (op->size_code != 0 && size != 0) {
        static const uint8_t codes[] = {0, 1, 16, 64, 127};
        for (size_t i = 0; i < sizeof codes && n < 4; i++)
            if (codes[i] < size && codes[i] != op->size_code) {
                out[n] = *op;
                out[n].size_code = codes[i];
                out[n++].size16 = 0;
            }
    }
    /* Lower slots and families: each accepted change moves toward 0, so this terminates. */
    if (has_slot(op))
        for (uint8_t sl = 0; sl < op->slot; sl++) {
            out[n] = *op;
            out[n++].slot = sl;
        }
    if (op->kind == MBF_INIT || op->kind == MBF_MALLOC || op->kind == MBF_BULK)
        for (uint8_t f = 0; f < op->fam; f++) {
            out[n] = *op;
            out[n++].fam = f;
        }
    if (op->a != 0 && op->kind != MBF_BULK) {
        out[n] = *op;
        out[n++].a = 0;
    } else if (op->kind == MBF_BULK && op->a > 1) {
        out[n] = *op;
        out[n++].a = (uint8_t)(op->a / 2); /* half the blocks */
    }
    return n;
}

/* Sideways moves for small programs: op k moved to a higher slot, kept only if some other op
 * can then be dropped (an op that needed an earlier one to give its slot the right family may
 * find that family as the default of another slot). Every accepted move removes an op. */
static bool slot_move_then_drop(int d, mbf_prog *p, const char *want)
{
    static mbf_prog moved;
    for (size_t k = 0; k < p->n; k++) {
        const mbf_op *op = &p->ops[k];
        if (!has_slot(op))
            continue;
        for (uint8_t sl = (uint8_t)(op->slot + 1); sl < MBF_SLOTS; sl++) {
            moved = *p;
            /* The op and every later op on the same slot move together. */
            for (size_t j = k; j < moved.n; j++)
                if (moved.ops[j].slot == op->slot && has_slot(&moved.ops[j]))
                    moved.ops[j].slot = sl;
            for (size_t drop = 0; drop < moved.n; drop++) {
                cand.n = 0;
                for (size_t j = 0; j < moved.n; j++)
                    if (j != drop)
                        cand.ops[cand.n++] = moved.ops[j];
                if (keep_if_same(d, p, want))
                    return true;
            }
        }
    }
    return false;
}

/* Folds: an init (malloc) followed, next on its slot, by a resize (realloc) becomes one init
 * (malloc) of the resized size, which deleting either op alone cannot reach. Every accepted fold
 * removes an op. */
static bool fold_resize(int d, mbf_prog *p, const char *want)
{
    for (size_t k = 0; k < p->n; k++) {
        const mbf_op *op = &p->ops[k];
        if (op->kind != MBF_INIT && op->kind != MBF_MALLOC)
            continue;
        uint8_t follow = op->kind == MBF_INIT ? MBF_RESIZE : MBF_REALLOC;
        size_t j = k + 1;
        while (j < p->n && (p->ops[j].slot != op->slot || !has_slot(&p->ops[j])))
            j++;
        if (j == p->n || p->ops[j].kind != follow)
            continue;
        cand.n = 0;
        for (size_t i = 0; i < p->n; i++) {
            if (i == j)
                continue;
            cand.ops[cand.n] = p->ops[i];
            if (i == k) {
                cand.ops[cand.n].size_code = p->ops[j].size_code;
                cand.ops[cand.n].size16 = p->ops[j].size16;
            }
            cand.n++;
        }
        if (keep_if_same(d, p, want))
            return true;
    }
    return false;
}

/* Delta debugging over ops: drop chunks of ops (halving the chunk size down to single ops),
 * then simplify arguments one op at a time, then fold a resize into the init before it, then
 * (for 16 ops or fewer) move a slot's ops to another slot where that lets an op go; repeat until
 * nothing changes. Every candidate kept fails with the same signature as the original. */
static void shrink(int d, mbf_prog *p, const char *want)
{
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t chunk = p->n / 2 ? p->n / 2 : 1; chunk > 0; chunk /= 2) {
            for (size_t at = 0; at + chunk <= p->n;) {
                cand.n = 0;
                for (size_t k = 0; k < p->n; k++)
                    if (k < at || k >= at + chunk)
                        cand.ops[cand.n++] = p->ops[k];
                if (keep_if_same(d, p, want))
                    changed = true;
                else
                    at += chunk;
            }
        }
        for (size_t k = 0; k < p->n; k++) {
            mbf_op alt[24];
            size_t na = simpler(&p->ops[k], alt);
            for (size_t j = 0; j < na; j++) {
                cand = *p;
                cand.ops[k] = alt[j];
                if (keep_if_same(d, p, want)) {
                    changed = true;
                    break; /* the op changed: its own simpler forms are recomputed next round */
                }
            }
        }
        if (!changed && fold_resize(d, p, want))
            changed = true;
        if (!changed && p->n <= 16 && slot_move_then_drop(d, p, want))
            changed = true;
    }
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(void)
{
    die("usage: membuf-ops [-t fuzz_buf|fuzz_alloc|fuzz_guard] print FILE | encode TEXT -o FILE | "
        "run FILE... | shrink FILE -o FILE | emit-c FILE");
}

int main(int argc, char **argv)
{
    int d = -1, i = 1;
    if (i + 1 < argc && strcmp(argv[i], "-t") == 0) {
        d = mbf_dialect_of(argv[i + 1]);
        if (d < 0)
            die("unknown target '%s' (fuzz_buf, fuzz_alloc or fuzz_guard)", argv[i + 1]);
        i += 2;
    }
    if (i >= argc)
        usage();
    const char *cmd = argv[i++];
    static mbf_prog p;
    if (strcmp(cmd, "print") == 0 && i + 1 == argc) {
        load(argv[i], &d, &p);
        mbf_print(stdout, &p);
        return 0;
    }
    if (strcmp(cmd, "encode") == 0 && i + 3 == argc && strcmp(argv[i + 1], "-o") == 0) {
        if (!is_text(argv[i]))
            die("%s: encode takes a text file (*.ops)", argv[i]);
        load(argv[i], &d, &p);
        write_binary(d, &p, argv[i + 2]);
        return 0;
    }
    if (strcmp(cmd, "run") == 0 && i < argc) {
        int failed = 0;
        for (; i < argc; i++) {
            int dd = d;
            load(argv[i], &dd, &p);
            char sig[256];
            if (run_child(dd, &p, sig, sizeof sig, false)) {
                printf("FAILED %s (%s): %s\n", argv[i], mbf_dialect_name((mbf_dialect)dd), sig);
                failed++;
            } else {
                printf("ok     %s (%s, %zu ops)\n", argv[i], mbf_dialect_name((mbf_dialect)dd), p.n);
            }
        }
        return failed ? 1 : 0;
    }
    if (strcmp(cmd, "shrink") == 0 && i + 3 == argc && strcmp(argv[i + 1], "-o") == 0) {
        load(argv[i], &d, &p);
        char want[256];
        if (!run_child(d, &p, want, sizeof want, true))
            die("%s does not fail; nothing to shrink", argv[i]);
        size_t before = p.n;
        shrink(d, &p, want);
        write_binary(d, &p, argv[i + 2]);
        fprintf(stderr, "membuf-ops: shrunk %zu ops to %zu, still failing with: %s\n", before, p.n, want);
        mbf_print(stdout, &p);
        return 0;
    }
    if (strcmp(cmd, "emit-c") == 0 && i + 1 == argc) {
        load(argv[i], &d, &p);
        emit_c(d, &p, argv[i]);
        return 0;
    }
    usage();
    return 2;
}
