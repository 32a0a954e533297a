#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bench_summary bench_summarize(const double *v, int n)
{
    bench_summary s = {0, 0, 0, n};
    if (n <= 0)
        return s;
    double tmp[BENCH_MAX_REPS];
    if (n > BENCH_MAX_REPS)
        n = s.n = BENCH_MAX_REPS;
    memcpy(tmp, v, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    s.min = tmp[0];
    s.max = tmp[n - 1];
    s.median = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
    return s;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void bench_table_init(bench_table *t, const char *id, const char *title, const char *rowhdr,
                      const char *metric, bench_kind kind, int prec, const char *baselines)
{
    memset(t, 0, sizeof *t);
    copy_str(t->id, sizeof t->id, id);
    copy_str(t->title, sizeof t->title, title);
    copy_str(t->rowhdr, sizeof t->rowhdr, rowhdr);
    copy_str(t->metric, sizeof t->metric, metric);
    t->kind = kind;
    t->prec = prec;
    const char *p = baselines ? baselines : "";
    while (*p && t->nbase < BENCH_MAX_BASES) {
        size_t len = strcspn(p, ",");
        if (len) {
            char name[BENCH_NAME];
            if (len >= sizeof name)
                len = sizeof name - 1;
            memcpy(name, p, len);
            name[len] = '\0';
            copy_str(t->base[t->nbase++], BENCH_NAME, name);
        }
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
}

static bench_row *find_row(const bench_table *t, const char *name)
{
    for (int i = 0; i < t->nrows; i++)
        if (strcmp(t->rows[i].name, name) == 0)
            return (bench_row *)&t->rows[i];
    return NULL;
}

int bench_table_add(bench_table *t, const char *row, double v)
{
    bench_row *r = find_row(t, row);
    if (!r) {
        if (t->nrows == BENCH_MAX_ROWS)
            return -1;
        r = &t->rows[t->nrows++];
        copy_str(r->name, sizeof r->name, row);
        r->n = 0;
    }
    if (r->n == BENCH_MAX_REPS)
        return -1;
    r->v[r->n++] = v;
    return 0;
}

void bench_table_order(bench_table *t, const char *const *names, int n)
{
    static bench_row tmp[BENCH_MAX_ROWS];
    char used[BENCH_MAX_ROWS] = {0};
    int out = 0;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < t->nrows; i++)
            if (!used[i] && strcmp(t->rows[i].name, names[k]) == 0) {
                tmp[out++] = t->rows[i];
                used[i] = 1;
            }
    for (int i = 0; i < t->nrows; i++)
        if (!used[i])
            tmp[out++] = t->rows[i];
    memcpy(t->rows, tmp, (size_t)out * sizeof *tmp);
}

void bench_table_note(bench_table *t, const char *fmt, ...)
{
    if (t->nnotes == BENCH_MAX_NOTES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->notes[t->nnotes++], BENCH_TEXT, fmt, ap);
    va_end(ap);
}

static void ratio_cell(char *out, size_t cap, bench_kind kind, double value, double base)
{
    if (!(value > 0) || !(base > 0)) {
        snprintf(out, cap, "n/a");
        return;
    }
    switch (kind) {
    case BENCH_TIME: snprintf(out, cap, "%.2f× faster", base / value); break;
    case BENCH_RATE: snprintf(out, cap, "%.2f× faster", value / base); break;
    default: snprintf(out, cap, "%.2f×", value / base); break;
    }
}

void bench_table_print(const bench_table *t, FILE *f, int with_title)
{
    if (with_title && t->title[0])
        fprintf(f, "### %s\n\n", t->title);
    fprintf(f, "| %s | %s median | min–max |", t->rowhdr, t->metric);
    for (int b = 0; b < t->nbase; b++)
        fprintf(f, " vs %s |", t->base[b]);
    fprintf(f, "\n|---|---|---|");
    for (int b = 0; b < t->nbase; b++)
        fprintf(f, "---|");
    fprintf(f, "\n");
    double base_med[BENCH_MAX_BASES];
    for (int b = 0; b < t->nbase; b++) {
        const bench_row *r = find_row(t, t->base[b]);
        base_med[b] = r ? bench_summarize(r->v, r->n).median : 0;
    }
    for (int i = 0; i < t->nrows; i++) {
        const bench_row *r = &t->rows[i];
        bench_summary s = bench_summarize(r->v, r->n);
        fprintf(f, "| %s | %.*f | %.*f–%.*f |", r->name, t->prec, s.median, t->prec, s.min,
                t->prec, s.max);
        for (int b = 0; b < t->nbase; b++) {
            char cell[64];
            ratio_cell(cell, sizeof cell, t->kind, s.median, base_med[b]);
            fprintf(f, " %s |", cell);
        }
        fprintf(f, "\n");
    }
    if (t->nnotes)
        fprintf(f, "\n");
    for (int i = 0; i < t->nnotes; i++)
        fprintf(f, "%s\n", t->notes[i]);
}

static const char *kind_name(bench_kind k)
{
    return k == BENCH_TIME ? "time" : k == BENCH_RATE ? "rate" : "size";
}

void bench_table_emit(const bench_table *t, FILE *f)
{
    fprintf(f, "T\t%s\t%s\t%s\t%s\t%s\t%d\t", t->id, t->title, t->rowhdr, t->metric,
            kind_name(t->kind), t->prec);
    for (int b = 0; b < t->nbase; b++)
        fprintf(f, "%s%s", b ? "," : "", t->base[b]);
    fprintf(f, "\n");
    for (int i = 0; i < t->nnotes; i++)
        fprintf(f, "N\t%s\t%s\n", t->id, t->notes[i]);
    for (int i = 0; i < t->nrows; i++)
        for (int k = 0; k < t->rows[i].n; k++)
            fprintf(f, "R\t%s\t%s\t%.9g\n", t->id, t->rows[i].name, t->rows[i].v[k]);
}

int bench_parse_common(int argc, char **argv, bench_common *c, const char *prog)
{
    c->tsv = 0;
    c->rep = 0;
    int out = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tsv") == 0) {
            c->tsv = 1;
        } else if (strncmp(argv[i], "--rep=", 6) == 0) {
            char *end;
            long k = strtol(argv[i] + 6, &end, 10);
            if (*end || k < 0 || k > 1000000) {
                fprintf(stderr, "%s: bad %s\n", prog, argv[i]);
                return -1;
            }
            c->rep = (int)k;
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    return out;
}

int bench_parse_count(const char *s, long *out)
{
    char *end;
    double v = strtod(s, &end);
    double mul = 1;
    if (end == s)
        return -1;
    if (*end == 'k' || *end == 'K' || *end == 'M' || *end == 'G') {
        int binary = end[1] == 'i';
        double k = binary ? 1024.0 : 1000.0;
        mul = *end == 'G' ? k * k * k : *end == 'M' ? k * k : k;
        end += 1 + binary;
    }
    if (*end || !(v > 0) || v * mul > 9e18)
        return -1;
    *out = (long)(v * mul);
    return *out > 0 ? 0 : -1;
}

long bench_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    long size, resident;
    int n = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    if (n != 2)
        return -1;
    return resident * sysconf(_SC_PAGESIZE);
}
