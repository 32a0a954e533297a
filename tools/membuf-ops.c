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
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "emit_c.h"
#include "exec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* The first target whose language has every op of p, or -1. */
static int target_from_ops(const mbf_prog *p)
{
    for (int d = 0; d < MBF_NDIALECTS; d++) {
        size_t i = 0;
        while (i < p->n && mbf_in_dialect((mbf_dialect)d, p->ops[i].kind))
            i++;
        if (i == p->n)
            return d;
    }
    return -1;
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

/* Runs p in a child. Returns 0 if clean; else 1 with the failure's signature in sig. trace, if
 * not NULL, must be shared memory (MAP_SHARED): the child fills it as it goes. */
static int run_child(int d, const mbf_prog *p, char *sig, size_t siglen, bool quiet, mbf_trace *trace)
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
        mbf_run((mbf_dialect)d, p, trace);
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

/* ---- shrink ----------------------------------------------------------------------------- */

static mbf_prog cand;

/* Whether cand fails the same way as want (then it replaces p). */
static bool keep_if_same(int d, mbf_prog *p, const char *want)
{
    char got[256];
    if (run_child(d, &cand, got, sizeof got, true, NULL) && strcmp(got, want) == 0) {
        *p = cand;
        return true;
    }
    return false;
}

/* Whether op names a slot (its row has a slot argument). */
static bool has_slot(const mbf_op *op) { return mbf_op_slot(op) >= 0; }

/* Other versions of one op to try, simplest first, argument by argument as its row in
 * fuzz/ops_table.h has them: sizes toward small ones, slots, orders and families toward 0, a
 * block count halved, any other argument 0. Returns how many were written to out. */
static size_t simpler(const mbf_op *op, mbf_op out[32])
{
    size_t n = 0;
    const mbf_opspec *s = &mbf_ops[op->kind];
    for (unsigned i = 0; i < s->nargs; i++) {
        const mbf_argspec *a = &mbf_args[s->args[i]];
        uint8_t v = mbf_get_arg(op, i);
        if (a->kind == MBF_K_SIZE) {
            static const uint8_t codes[] = {0, 1, 16, 64, 127};
            size_t size = mbf_size(op), k = 0;
            for (size_t c = 0; c < sizeof codes && size != 0 && k < 4; c++)
                if (codes[c] < size && codes[c] != op->size_code) {
                    out[n] = *op;
                    mbf_set_arg(&out[n++], i, codes[c]);
                    k++;
                }
        } else if (a->kind == MBF_K_SLOT || a->kind == MBF_K_FAM) {
            /* each accepted change moves toward 0, so shrinking terminates */
            for (uint8_t lower = 0; lower < v; lower++) {
                out[n] = *op;
                mbf_set_arg(&out[n++], i, lower);
            }
        } else if (v > (a->scale > 1 ? 1 : 0)) {
            out[n] = *op;
            mbf_set_arg(&out[n++], i, a->scale > 1 ? (uint8_t)(v / 2) : 0);
        }
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
            mbf_op alt[32];
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
            if (run_child(dd, &p, sig, sizeof sig, false, NULL)) {
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
        if (!run_child(d, &p, want, sizeof want, true, NULL))
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
        /* What the executor did with each op, up to a failure: the test replays exactly that. */
        mbf_trace *trace = mmap(NULL, sizeof *trace, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (trace == MAP_FAILED)
            die("mmap: %s", strerror(errno));
        char sig[256];
        run_child(d, &p, sig, sizeof sig, true, trace);
        mbf_emit_c(stdout, (mbf_dialect)d, &p, trace, argv[i]);
        return 0;
    }
    usage();
    return 2;
}
