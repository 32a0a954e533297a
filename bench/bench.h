/* Shared benchmark helpers: a monotonic clock, median/min/max, command-line basics, and
 * Markdown tables whose comparison columns are ratios to baseline rows measured in the same run.
 *
 * A table is built in memory (rows of repeated measurements) and either printed as Markdown, or
 * emitted as tab-separated records that bench_report (bench/report.c) reads back from several
 * processes and prints with the same code:
 *   T <id> <title> <row header> <metric> <kind> <precision> <baseline[,baseline...]>
 *   N <id> <note>
 *   R <id> <row> <value>
 * Tables and rows keep the order of their first appearance; repeated T/N lines are ignored. */
#ifndef MEMBUF_BENCH_H
#define MEMBUF_BENCH_H

#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define BENCH_INLINE static inline __attribute__((always_inline))
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_INLINE static inline
#define BENCH_NOINLINE
#endif

enum {
    BENCH_MAX_REPS = 101,
    BENCH_MAX_ROWS = 32,
    BENCH_MAX_BASES = 3,
    BENCH_MAX_NOTES = 8,
    BENCH_NAME = 64,
    BENCH_TEXT = 512
};

/* CLOCK_MONOTONIC, in nanoseconds. */
double bench_now_ns(void);

/* Median (mean of the two middle values for an even count), min and max of n values. */
typedef struct bench_summary {
    double median, min, max;
    int n;
} bench_summary;
bench_summary bench_summarize(const double *v, int n);

/* How a metric compares: time (lower is better; ratio baseline/value printed "N× faster", < 1
 * meaning slower), rate (higher is better; value/baseline "N× faster"), size (lower is better;
 * value/baseline printed "N×"). */
typedef enum bench_kind { BENCH_TIME, BENCH_RATE, BENCH_SIZE } bench_kind;

typedef struct bench_row {
    char name[BENCH_NAME];
    double v[BENCH_MAX_REPS];
    int n;
} bench_row;

typedef struct bench_table {
    char id[BENCH_NAME], title[BENCH_TEXT], rowhdr[BENCH_NAME], metric[BENCH_NAME];
    bench_kind kind;
    int prec; /* decimals printed */
    char base[BENCH_MAX_BASES][BENCH_NAME];
    int nbase;
    bench_row rows[BENCH_MAX_ROWS];
    int nrows;
    char notes[BENCH_MAX_NOTES][BENCH_TEXT];
    int nnotes;
} bench_table;

/* baselines: comma-separated row names, one ratio column each ("" for none). */
void bench_table_init(bench_table *t, const char *id, const char *title, const char *rowhdr,
                      const char *metric, bench_kind kind, int prec, const char *baselines);
/* Adds one measurement to row (created on first use). Returns 0, or -1 when full. */
int bench_table_add(bench_table *t, const char *row, double v);
/* Puts the rows named in names[0..n) first, in that order (others keep theirs, after them). */
void bench_table_order(bench_table *t, const char *const *names, int n);
void bench_table_note(bench_table *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Markdown: "### title" (when with_title), the table, then the notes. */
void bench_table_print(const bench_table *t, FILE *f, int with_title);
/* The T and N records of t, then one R record per measurement. */
void bench_table_emit(const bench_table *t, FILE *f);

/* Options every program accepts: --tsv (emit records instead of a table), --rep=K (rotates the
 * order in which variants run, so that no variant always goes first). Recognised arguments are
 * removed from argv; returns the new argc, or -1 on a malformed one (message printed). */
typedef struct bench_common {
    int tsv, rep;
} bench_common;
int bench_parse_common(int argc, char **argv, bench_common *c, const char *prog);

/* Parses a positive integer ("20000000", "4M", "64Mi" style suffixes k/M/G = 1e3.., Ki/Mi/Gi =
 * 2^10..). Returns 0 on success. */
int bench_parse_count(const char *s, long *out);

/* Resident set size of this process in bytes (/proc/self/statm), or -1. */
long bench_rss_bytes(void);

/* A small fast PRNG for the workloads (xorshift64). */
static inline uint64_t bench_xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

#endif /* MEMBUF_BENCH_H */
