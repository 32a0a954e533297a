/* main() for builds without libFuzzer (gcc, Valgrind, MSan): replays files and directories
 * (recursively; README.md and dot files skipped) through LLVMFuzzerTestOneInput. Each input is
 * copied into a heap block of exactly its size, so an overread is caught, and run in a forked
 * child, so one crashing input is counted and the rest still run (MEMBUF_REPLAY_NOFORK=1 runs
 * them in-process, for debuggers). An unreadable path is an error, and so is an input larger
 * than MBF_INPUT_CAP (fuzz/input_cap.h: 1 MiB; read up to that, never to the end, so /dev/zero
 * fails at once). Symbolic links are followed, but each directory (device and inode) is walked
 * once: a directory reached again (a link back up the tree, a loop, the same directory given
 * twice) is skipped with a note on stderr, which is not a failure, since every input in it has
 * run. Each input has a time limit,
 * as libFuzzer's -timeout gives it: MEMBUF_REPLAY_TIMEOUT seconds (default 10, and twenty times
 * that under Valgrind; 0: none); an input that runs longer is killed and counted as failed, so a
 * hang costs seconds, not the test runner's limit. Ends with "N passed, M failed"; the exit
 * status is non-zero if anything failed or could not be read. */
#define _POSIX_C_SOURCE 200809L
#include "input_cap.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(MEMBUF_VALGRIND)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND() 0
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int g_passed, g_failed, g_errors, g_nofork;
static unsigned g_timeout; /* seconds per input, 0: none */

/* Runs one input with the time limit armed (SIGALRM's default action ends the process). */
static void run_input(const uint8_t *data, size_t size)
{
    alarm(g_timeout);
    LLVMFuzzerTestOneInput(data, size);
    alarm(0);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *data;
    size_t size;
    int r = mbf_read_capped(f, &data, &size), e = errno;
    fclose(f); /* read-only: nothing to lose */
    if (r == MBF_READ_TOO_BIG) {
        fprintf(stderr, "replay: %s: larger than %s, the most an input may be\n", path, MBF_INPUT_CAP_TEXT);
        return -1;
    }
    if (r != MBF_READ_OK) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, r == MBF_READ_NOMEM ? "out of memory" : strerror(e));
        return -1;
    }
    /* Exactly size bytes: the sanitizers see any read past the end of the input. */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) {
        fprintf(stderr, "replay: out of memory for %s\n", path);
        free(data);
        return -1;
    }
    memcpy(exact, data, size);
    free(data);
    int ok;
    if (g_nofork) {
        run_input(exact, size);
        ok = 1;
    } else {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "replay: fork: %s\n", strerror(errno));
            free(exact);
            return -1;
        }
        if (pid == 0) {
            run_input(exact, size);
            free(exact);
            exit(0);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok) {
            if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
                fprintf(stderr, "replay: FAILED %s (timeout: still running after %u s)\n", path,
                        g_timeout);
            else if (WIFSIGNALED(status))
                fprintf(stderr, "replay: FAILED %s (signal %d)\n", path, WTERMSIG(status));
            else
                fprintf(stderr, "replay: FAILED %s (exit %d)\n", path, WEXITSTATUS(status));
        }
    }
    free(exact);
    return ok;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path);

static void run_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", path, strerror(errno));
        g_errors++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) {
                fprintf(stderr, "replay: out of memory listing %s\n", path);
                g_errors++;
                break;
            }
            names = nn;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            fprintf(stderr, "replay: out of memory listing %s\n", path);
            g_errors++;
            break;
        }
        snprintf(names[n++], len, "%s/%s", path, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        run_path(names[i]);
        free(names[i]);
    }
    free(names);
}

/* The directories walked so far (device, inode): each is walked once. */
static struct dir_id {
    dev_t dev;
    ino_t ino;
} *g_dirs;
static size_t g_ndirs, g_dircap;

/* Whether the directory st was walked before; if not, it is remembered (false then). */
static int seen_dir(const struct stat *st, const char *path, int *nomem)
{
    for (size_t i = 0; i < g_ndirs; i++)
        if (g_dirs[i].dev == st->st_dev && g_dirs[i].ino == st->st_ino)
            return 1;
    if (g_ndirs == g_dircap) {
        size_t cap = g_dircap ? g_dircap * 2 : 64;
        struct dir_id *d = realloc(g_dirs, cap * sizeof *d);
        if (!d) {
            fprintf(stderr, "replay: out of memory walking %s\n", path);
            *nomem = 1;
            return 1;
        }
        g_dirs = d;
        g_dircap = cap;
    }
    g_dirs[g_ndirs].dev = st->st_dev;
    g_dirs[g_ndirs++].ino = st->st_ino;
    return 0;
}

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: cannot access %s: %s\n", path, strerror(errno));
        g_errors++;
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        int nomem = 0;
        if (!seen_dir(&st, path, &nomem))
            run_dir(path);
        else if (nomem)
            g_errors++;
        else
            fprintf(stderr, "replay: note: %s is a directory already replayed (a symbolic link loop "
                            "or a repeated path); not walked again\n", path);
        return;
    }
    int r = run_file(path);
    if (r < 0)
        g_errors++;
    else if (r)
        g_passed++;
    else
        g_failed++;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    const char *nf = getenv("MEMBUF_REPLAY_NOFORK");
    g_nofork = nf && strcmp(nf, "1") == 0;
    const char *to = getenv("MEMBUF_REPLAY_TIMEOUT");
    char *end = NULL;
    unsigned long seconds = to && *to ? strtoul(to, &end, 10) : 10;
    if (to && *to && (*end || seconds > 86400)) {
        fprintf(stderr, "replay: MEMBUF_REPLAY_TIMEOUT must be a number of seconds, got '%s'\n", to);
        return 2;
    }
    g_timeout = (unsigned)seconds * (UNDER_VALGRIND() ? 20u : 1u);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            fprintf(stderr, "replay: unknown option '%s' (this is the replay driver, not libFuzzer)\n", argv[i]);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    if (g_errors)
        fprintf(stderr, "replay: %d path(s) could not be read\n", g_errors);
    if (g_passed + g_failed + g_errors == 0) {
        fprintf(stderr, "replay: no inputs found in the given paths\n");
        g_errors = 1;
    }
    free(g_dirs);
    printf("%d passed, %d failed\n", g_passed, g_failed + g_errors);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "replay: cannot write standard output: %s\n", strerror(errno));
        return 2;
    }
    return g_failed || g_errors ? 1 : 0;
}
