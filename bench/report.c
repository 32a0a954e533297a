/* bench_report: reads the T/N/R records (bench.h) that the benchmark programs and scripts print,
 * possibly from many processes and repetitions, and prints one Markdown table per table id, in
 * order of first appearance: the median and min–max of each row over its runs, and ratios of
 * medians to the baseline rows of the same run. Other lines are ignored.
 * Usage: bench_report [FILE] (default stdin) */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TABLES = 48, MAX_FIELDS = 8, LINE = 4096 };

static bench_table tables[MAX_TABLES];
static int ntables;

static bench_table *find(const char *id)
{
    for (int i = 0; i < ntables; i++)
        if (strcmp(tables[i].id, id) == 0)
            return &tables[i];
    return NULL;
}

/* Splits line at tabs in place; returns the field count. */
static int split(char *line, char **f)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < MAX_FIELDS;) {
        f[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

int main(int argc, char **argv)
{
    FILE *in = stdin;
    if (argc > 2 || (argc == 2 && !(in = fopen(argv[1], "r")))) {
        fprintf(stderr, "bench_report: usage: bench_report [FILE]\n");
        return 2;
    }
    static char line[LINE];
    long lineno = 0, bad = 0;
    while (fgets(line, sizeof line, in)) {
        lineno++;
        char *f[MAX_FIELDS];
        int n = split(line, f);
        if (strcmp(f[0], "T") == 0 && n >= 8) {
            if (find(f[1]))
                continue;
            if (ntables == MAX_TABLES) {
                fprintf(stderr, "bench_report: more than %d tables\n", MAX_TABLES);
                return 1;
            }
            bench_kind k = strcmp(f[5], "rate") == 0   ? BENCH_RATE
                           : strcmp(f[5], "size") == 0 ? BENCH_SIZE
                                                       : BENCH_TIME;
            bench_table_init(&tables[ntables++], f[1], f[2], f[3], f[4], k, atoi(f[6]), f[7]);
        } else if (strcmp(f[0], "N") == 0 && n >= 3) {
            bench_table *t = find(f[1]);
            int dup = 0;
            for (int i = 0; t && i < t->nnotes; i++)
                dup |= strcmp(t->notes[i], f[2]) == 0;
            if (t && !dup)
                bench_table_note(t, "%s", f[2]);
        } else if (strcmp(f[0], "R") == 0 && n >= 4) {
            bench_table *t = find(f[1]);
            char *end;
            double v = strtod(f[3], &end);
            if (!t || end == f[3] || bench_table_add(t, f[2], v) != 0) {
                fprintf(stderr, "bench_report: line %ld: record dropped (unknown table, bad value "
                                "or table full)\n", lineno);
                bad++;
            }
        }
    }
    if (in != stdin)
        fclose(in);
    for (int i = 0; i < ntables; i++) {
        bench_table *t = &tables[i];
        int lo = BENCH_MAX_REPS, hi = 0;
        for (int r = 0; r < t->nrows; r++) {
            lo = t->rows[r].n < lo ? t->rows[r].n : lo;
            hi = t->rows[r].n > hi ? t->rows[r].n : hi;
        }
        if (t->nrows == 0)
            continue;
        if (lo == hi)
            bench_table_note(t, "Median and min–max of %d interleaved runs; ratios are of medians "
                                "from the same run.", lo);
        else
            bench_table_note(t, "Median and min–max of %d to %d interleaved runs per row; ratios "
                                "are of medians from the same run.", lo, hi);
        bench_table_print(t, stdout, 1);
        printf("\n");
    }
    return bad ? 1 : 0;
}
