/* membuf-ops: the op language on the command line.
 *
 *   membuf-ops [-t TARGET] print FILE              FILE as text, one op per line, on stdout
 *   membuf-ops [-t TARGET] encode TEXT.ops -o OUT  text -> OUT (binary; text if OUT is *.ops)
 *   membuf-ops [-t TARGET] run FILE...             execute with every oracle; exit 1 on a failure
 *   membuf-ops [-t TARGET] shrink FILE -o OUT      delta debugging: drop ops, then simplify
 *                                                  arguments, keeping the same failure
 *   membuf-ops [-t TARGET] emit-c FILE [-o OUT.c]  a standalone C regression test (public API only)
 *
 * TARGET is fuzz_buf, fuzz_alloc or fuzz_guard; without -t it is taken from a text file's first
 * line "# target: T", else from the path (corpus/fuzz_buf/...), else for text from the ops used.
 * Files ending in .ops are text, others binary, inputs and outputs alike.
 *
 * The user's files are precious: an input is read up to MBF_INPUT_CAP bytes (fuzz/input_cap.h;
 * a larger one is refused); -o never names an input (same path or same file: device and inode);
 * -o OUT is written to a temporary file next to OUT, synced and closed with every step checked,
 * and renamed over OUT only when complete (on failure the temporary is removed and OUT is left
 * as it was); standard output is flushed and closed with errors checked.
 *
 * Exit status: 0 done; 1 `run`: an input failed; 2 anything else that went wrong (bad usage, an
 * input that cannot be read or is too large, an output refused or not written completely, to
 * -o OUT or to standard output), always with one line on stderr. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, realpath, fsync */
#include "emit_c.h"
#include "exec.h"
#include "input_cap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char help_text[] =
    "usage: membuf-ops [-t TARGET] COMMAND ARGS...\n"
    "\n"
    "  print FILE               FILE as text, one op per line, on standard output\n"
    "  encode TEXT.ops -o OUT   TEXT's ops as a binary input (as canonical text if OUT is *.ops)\n"
    "  run FILE...              run each FILE with every oracle; one line each on standard output\n"
    "  shrink FILE -o OUT       the smallest program found that fails with FILE's signature: to\n"
    "                           OUT (text if OUT is *.ops, else binary) and as text on stdout\n"
    "  emit-c FILE [-o OUT.c]   a standalone C regression test (public API only), to OUT.c or to\n"
    "                           standard output\n"
    "\n"
    "  -t TARGET   fuzz_buf, fuzz_alloc or fuzz_guard (before or after COMMAND). Without it: a\n"
    "              text file's first line '# target: TARGET', else the path (corpus/fuzz_buf/...),\n"
    "              else the first target whose language has every op of a text file\n"
    "  -o OUT      written to a temporary file next to OUT and renamed over it only when complete;\n"
    "              never the same file as an input (same path, or same device and inode)\n"
    "  --          ends the options: what follows are file names\n"
    "  -h, --help  this text\n"
    "\n"
    "Files named *.ops are text, others binary (inputs and outputs alike). An input larger\n"
    "than " MBF_INPUT_CAP_TEXT " is refused (decoding never uses more than a few KB).\n"
    "Exit status: 0 done; 1 run: an input failed; 2 bad usage, an input that cannot be read or\n"
    "is too large, an output refused or not written completely (to -o OUT or to standard\n"
    "output), with one line on stderr.\n";

/* The temporary file of an output being written (removed on failure and on a fatal signal). */
static char *g_tmp;
static volatile sig_atomic_t g_tmp_live;

static void remove_tmp(void)
{
    if (g_tmp_live) {
        g_tmp_live = 0;
        unlink(g_tmp);
    }
}

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    remove_tmp();
    va_start(ap, fmt);
    fputs("membuf-ops: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* Why a write to standard output failed, seen right after it (stdio keeps only the flag). */
static int g_stdout_errno;

static void note_stdout(void)
{
    if (ferror(stdout) && !g_stdout_errno)
        g_stdout_errno = errno ? errno : EIO;
}

/* Flushes and closes standard output; a write error there is an error like any other. */
static int finish(int status)
{
    errno = 0;
    int flushed = fflush(stdout) == 0;
    int e = flushed ? g_stdout_errno : errno;
    int bad = !flushed || ferror(stdout);
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad)
        die("cannot write standard output: %s", e ? strerror(e) : "write error");
    return status;
}

static bool is_text(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".ops") == 0;
}

/* ---- input ------------------------------------------------------------------------------- */

/* FILE's bytes (NUL-terminated), read up to MBF_INPUT_CAP; *id: what fstat says of it. */
static uint8_t *slurp(const char *path, size_t *size, struct stat *id)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    if (fstat(fileno(f), id) != 0)
        die("cannot stat %s: %s", path, strerror(errno));
    if (S_ISDIR(id->st_mode))
        die("%s is a directory, not an input", path);
    uint8_t *buf;
    switch (mbf_read_capped(f, &buf, size)) {
    case MBF_READ_OK: break;
    case MBF_READ_TOO_BIG: die("%s: larger than %s, the most an input may be", path, MBF_INPUT_CAP_TEXT);
    case MBF_READ_NOMEM: die("%s: out of memory", path);
    default: die("cannot read %s: %s", path, strerror(errno));
    }
    fclose(f); /* read-only: nothing to lose */
    return buf;
}

static int target_from_path(const char *path)
{
    static const char *const names[] = {"fuzz_alloc", "fuzz_guard", "fuzz_buf"};
    for (int i = 0; i < 3; i++)
        if (strstr(path, names[i]))
            return mbf_dialect_of(names[i]);
    return -1;
}

/* A text file's first line "# target: NAME" (as text outputs start), or -1 if it has none. */
static int target_from_header(const char *path, const char *text)
{
    static const char key[] = "# target:";
    if (strncmp(text, key, sizeof key - 1) != 0)
        return -1;
    const char *w = text + sizeof key - 1;
    w += strspn(w, " \t");
    int len = (int)strcspn(w, " \t\r\n#");
    char name[32];
    snprintf(name, sizeof name, "%.*s", len, w);
    int d = mbf_dialect_of(name);
    if (d < 0)
        die("%s: line 1: unknown target '%.*s' (fuzz_buf, fuzz_alloc or fuzz_guard)", path,
            len > 40 ? 40 : len, w);
    return d;
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

/* Loads FILE as a program; *d is the dialect (given with -t, or inferred); *id identifies the
 * file (device and inode) for the check that no output overwrites it. */
static void load(const char *path, int *d, mbf_prog *p, struct stat *id)
{
    size_t size;
    uint8_t *data = slurp(path, &size, id);
    if (is_text(path)) {
        if (memchr(data, 0, size))
            die("%s: not a text file (NUL byte)", path);
        if (*d < 0)
            *d = target_from_header(path, (const char *)data);
        if (*d < 0)
            *d = target_from_path(path);
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
            *d = target_from_path(path);
        if (*d < 0)
            die("%s: cannot tell the target from the path; pass -t fuzz_buf|fuzz_alloc|fuzz_guard", path);
        mbf_decode((mbf_dialect)*d, data, size, p);
    }
    free(data);
}

/* ---- output ------------------------------------------------------------------------------ */

/* Refuses an output that is one of the inputs: the same path, or the same file (device and
 * inode: another spelling of the path, a hard link, a symbolic link to it). */
static void refuse_input_as_output(const char *out, const char *in, const struct stat *in_id)
{
    struct stat st;
    if (strcmp(out, in) == 0 ||
        (stat(out, &st) == 0 && st.st_dev == in_id->st_dev && st.st_ino == in_id->st_ino))
        die("refusing to write %s: it is the input %s (choose another -o)", out, in);
}

typedef struct output {
    int d;
    const mbf_prog *p;
    const mbf_trace *trace; /* emit-c */
    const char *name;       /* emit-c: the input's name for the test's comment */
    enum { OUT_BINARY, OUT_TEXT, OUT_C } form;
} output;

static void fill(FILE *f, const output *o)
{
    static uint8_t buf[MBF_MAX_OPS * MBF_OP_MAX_BYTES];
    switch (o->form) {
    case OUT_BINARY: {
        size_t n = mbf_encode((mbf_dialect)o->d, o->p, buf, sizeof buf);
        if (n == SIZE_MAX)
            die("an op is not part of %s's language", mbf_dialect_name((mbf_dialect)o->d));
        fwrite(buf, 1, n, f); /* checked with ferror by the caller */
        break;
    }
    case OUT_TEXT:
        fprintf(f, "# target: %s\n", mbf_dialect_name((mbf_dialect)o->d));
        mbf_print(f, o->p);
        break;
    case OUT_C: mbf_emit_c(f, (mbf_dialect)o->d, o->p, o->trace, o->name); break;
    }
}

/* An existing output that is not a regular file (/dev/null, a terminal, a pipe): nothing to
 * replace, so it is written in place, every write and the close checked. */
static void write_in_place(const char *dest, const output *o)
{
    FILE *f = fopen(dest, "wb");
    if (!f)
        die("cannot open %s: %s", dest, strerror(errno));
    errno = 0;
    fill(f, o);
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad)
        die("cannot write %s: %s", dest, e ? strerror(e) : "write error");
}

static const int fatal_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};

static void on_fatal_signal(int sig)
{
    if (g_tmp_live)
        unlink(g_tmp);
    raise(sig); /* SA_RESETHAND: the default action, once this handler returns */
}

/* Writes o to dest through a temporary file in dest's directory, renamed over dest only once
 * it is complete, synced and closed; on any failure the temporary is removed, dest is left as
 * it was, and the tool exits 2. A dest that is a symbolic link has its target replaced. */
static void write_output(const char *dest, const output *o)
{
    struct stat st;
    char *target;
    mode_t mode;
    bool existed = stat(dest, &st) == 0;
    if (existed) {
        if (S_ISDIR(st.st_mode))
            die("cannot write %s: it is a directory", dest);
        if (!S_ISREG(st.st_mode)) {
            write_in_place(dest, o);
            return;
        }
        mode = st.st_mode & 0777;
        if (!(target = realpath(dest, NULL)))
            die("cannot resolve %s: %s", dest, strerror(errno));
    } else {
        struct stat lst;
        if (errno != ENOENT)
            die("cannot write %s: %s", dest, strerror(errno));
        if (lstat(dest, &lst) == 0)
            die("cannot write %s: it is a symbolic link to a missing file", dest);
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
        if (!(target = strdup(dest)))
            die("out of memory");
    }
    /* DIR/.BASE.XXXXXX, BASE cut short enough for any file system's name limit. */
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    int dirlen = slash ? (slash == target ? 1 : (int)(slash - target)) : 1;
    char *dir = malloc((size_t)dirlen + 1);
    size_t len = strlen(target) + 16;
    if (!dir || !(g_tmp = malloc(len)))
        die("out of memory");
    snprintf(dir, (size_t)dirlen + 1, "%.*s", dirlen, slash ? target : ".");
    snprintf(g_tmp, len, "%s/.%.200s.XXXXXX", dir, base);

    /* Fatal signals remove the temporary; a file size limit is a write error, not a signal. */
    struct sigaction act, old[sizeof fatal_signals / sizeof fatal_signals[0]], old_xfsz;
    memset(&act, 0, sizeof act);
    memset(old, 0, sizeof old);
    memset(&old_xfsz, 0, sizeof old_xfsz);
    sigemptyset(&act.sa_mask);
    act.sa_handler = on_fatal_signal;
    act.sa_flags = (int)SA_RESETHAND;
    for (size_t k = 0; k < sizeof fatal_signals / sizeof fatal_signals[0]; k++)
        if (sigaction(fatal_signals[k], NULL, &old[k]) == 0 && old[k].sa_handler != SIG_IGN)
            sigaction(fatal_signals[k], &act, NULL);
    act.sa_handler = SIG_IGN;
    act.sa_flags = 0;
    sigaction(SIGXFSZ, &act, &old_xfsz);

    int fd = mkstemp(g_tmp);
    if (fd < 0)
        die("cannot write %s: cannot create a temporary file in %s: %s (%s)", dest, dir, strerror(errno),
            existed ? "left as it was" : "not created");
    g_tmp_live = 1;
    FILE *f = fdopen(fd, "wb");
    int e = 0;
    const char *step = "write";
    if (!f) {
        e = errno;
        close(fd);
    } else {
        errno = 0;
        if (fchmod(fd, mode) != 0)
            e = errno, step = "chmod";
        if (!e) {
            fill(f, o);
            if (fflush(f) != 0 || ferror(f))
                e = errno ? errno : EIO;
        }
        if (!e && fsync(fd) != 0)
            e = errno, step = "sync";
        if (fclose(f) != 0 && !e)
            e = errno, step = "close";
    }
    if (!e && rename(g_tmp, target) != 0)
        e = errno, step = "rename";
    if (e) {
        errno = e;
        die("cannot %s %s: %s (%s)", step, dest, strerror(e), existed ? "left as it was" : "not created");
    }
    g_tmp_live = 0;
    for (size_t k = 0; k < sizeof fatal_signals / sizeof fatal_signals[0]; k++)
        if (old[k].sa_handler != SIG_IGN)
            sigaction(fatal_signals[k], &old[k], NULL);
    sigaction(SIGXFSZ, &old_xfsz, NULL);
    /* The rename is durable once the directory is synced (where directories can be). */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS)
            die("wrote %s, but cannot sync its directory: %s", dest, strerror(errno));
        close(dfd);
    }
    free(g_tmp);
    g_tmp = NULL;
    free(dir);
    free(target);
}

/* ---- running ----------------------------------------------------------------------------- */

/* Runs p in a child. Returns 0 if clean; else 1 with the failure's signature in sig. trace, if
 * not NULL, must be shared memory (MAP_SHARED): the child fills it as it goes. */
static int run_child(int d, const mbf_prog *p, char *sig, size_t siglen, bool quiet, mbf_trace *trace)
{
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    fflush(NULL); /* a standard output error stays flagged: finish() reports it */
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
    /* The child's stderr: the first 64 KB kept, the rest drained (a child blocked on a full
     * pipe would never exit). */
    static char out[65536];
    size_t n = 0;
    for (;;) {
        char drop[4096];
        char *to = n < sizeof out - 1 ? out + n : drop;
        size_t room = n < sizeof out - 1 ? sizeof out - 1 - n : sizeof drop;
        ssize_t got = read(fds[0], to, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (to == out + n)
            n += (size_t)got;
    }
    out[n] = 0;
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
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

static const struct command {
    const char *name, *usage;
    int min_files, max_files; /* max -1: no limit */
    int out;                  /* 0: no -o; 1: -o required; 2: optional */
} commands[] = {
    {"print", "print FILE", 1, 1, 0},
    {"encode", "encode TEXT.ops -o OUT", 1, 1, 1},
    {"run", "run FILE...", 1, -1, 0},
    {"shrink", "shrink FILE -o OUT", 1, 1, 1},
    {"emit-c", "emit-c FILE [-o OUT.c]", 1, 1, 2},
};

static void set_target(int *d, const char *name)
{
    if (*d >= 0)
        die("-t given twice");
    if (!name)
        die("-t needs a target (fuzz_buf, fuzz_alloc or fuzz_guard)");
    if ((*d = mbf_dialect_of(name)) < 0)
        die("unknown target '%s' (fuzz_buf, fuzz_alloc or fuzz_guard)", name);
}

int main(int argc, char **argv)
{
    for (int k = 1; k < argc && strcmp(argv[k], "--") != 0; k++)
        if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0) {
            fputs(help_text, stdout);
            return finish(0);
        }
    int d = -1, i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-t") != 0)
            die("unknown option '%s' (see membuf-ops --help)", argv[i]);
        set_target(&d, i + 1 < argc ? argv[i + 1] : NULL);
        i += 2;
    }
    if (i >= argc)
        die("no command: print, encode, run, shrink or emit-c (see membuf-ops --help)");
    const char *cmdname = argv[i++];
    const struct command *cmd = NULL;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(cmdname, commands[k].name) == 0)
            cmd = &commands[k];
    if (!cmd)
        die("unknown command '%s': print, encode, run, shrink or emit-c (see membuf-ops --help)", cmdname);

    /* The command's files, -o OUT and -t TARGET, in any order; after --, only files. */
    /* static: reachable until exit (the commands end in exit(), never back here) */
    static const char **files;
    files = malloc((size_t)argc * sizeof *files);
    const char *out = NULL;
    int nfiles = 0;
    if (!files)
        die("out of memory");
    for (bool opts = true; i < argc;) {
        const char *a = argv[i++];
        if (opts && strcmp(a, "--") == 0)
            opts = false;
        else if (opts && strcmp(a, "-o") == 0 && cmd->out) {
            if (out)
                die("-o given twice");
            if (i >= argc || !argv[i][0])
                die("-o needs a file name");
            out = argv[i++];
        } else if (opts && strcmp(a, "-t") == 0) {
            set_target(&d, i < argc ? argv[i] : NULL);
            i++;
        } else if (opts && a[0] == '-' && a[1])
            die("unknown option '%s' for %s (usage: membuf-ops [-t TARGET] %s)", a, cmd->name, cmd->usage);
        else
            files[nfiles++] = a;
    }
    if (nfiles < cmd->min_files || (cmd->max_files >= 0 && nfiles > cmd->max_files) ||
        (cmd->out == 1 && !out))
        die("usage: membuf-ops [-t TARGET] %s", cmd->usage);

    static mbf_prog p;
    struct stat id;
    output o = {0};
    if (strcmp(cmd->name, "print") == 0) {
        load(files[0], &d, &p, &id);
        errno = 0;
        mbf_print(stdout, &p);
        note_stdout();
        return finish(0);
    }
    if (strcmp(cmd->name, "encode") == 0) {
        if (!is_text(files[0]))
            die("%s: encode takes a text file (*.ops)", files[0]);
        load(files[0], &d, &p, &id);
        refuse_input_as_output(out, files[0], &id);
        o = (output){.d = d, .p = &p, .form = is_text(out) ? OUT_TEXT : OUT_BINARY};
        write_output(out, &o);
        return finish(0);
    }
    if (strcmp(cmd->name, "run") == 0) {
        int failed = 0;
        for (int k = 0; k < nfiles; k++) {
            int dd = d;
            load(files[k], &dd, &p, &id);
            char sig[256];
            errno = 0;
            if (run_child(dd, &p, sig, sizeof sig, false, NULL)) {
                printf("FAILED %s (%s): %s\n", files[k], mbf_dialect_name((mbf_dialect)dd), sig);
                failed++;
            } else {
                printf("ok     %s (%s, %zu ops)\n", files[k], mbf_dialect_name((mbf_dialect)dd), p.n);
            }
            note_stdout();
        }
        return finish(failed ? 1 : 0);
    }
    if (strcmp(cmd->name, "shrink") == 0) {
        load(files[0], &d, &p, &id);
        refuse_input_as_output(out, files[0], &id);
        char want[256];
        if (!run_child(d, &p, want, sizeof want, true, NULL))
            die("%s does not fail; nothing to shrink", files[0]);
        size_t before = p.n;
        shrink(d, &p, want);
        o = (output){.d = d, .p = &p, .form = is_text(out) ? OUT_TEXT : OUT_BINARY};
        write_output(out, &o);
        fprintf(stderr, "membuf-ops: shrunk %zu ops to %zu, still failing with: %s\n", before, p.n, want);
        errno = 0;
        mbf_print(stdout, &p);
        note_stdout();
        return finish(0);
    }
    /* emit-c */
    if (out && is_text(out))
        die("refusing to write C to %s: *.ops names the text form (name it *.c)", out);
    load(files[0], &d, &p, &id);
    if (out)
        refuse_input_as_output(out, files[0], &id);
    /* What the executor did with each op, up to a failure: the test replays exactly that. */
    mbf_trace *trace = mmap(NULL, sizeof *trace, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (trace == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    char sig[256];
    run_child(d, &p, sig, sizeof sig, true, trace);
    o = (output){.d = d, .p = &p, .trace = trace, .name = files[0], .form = OUT_C};
    if (out)
        write_output(out, &o);
    else {
        errno = 0;
        fill(stdout, &o);
        note_stdout();
    }
    return finish(0);
}
