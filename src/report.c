/* Violation reports: the process-wide handler, and the per-thread queue that delivers reports
 * only when the outermost membuf call on the thread returns.
 *
 * Why a queue: a family finds a violation in the middle of an operation (a map slot in hand, a
 * block half way into the quarantine, a lock held). Calling the handler there would let it call
 * back into an instance that is not consistent, or longjmp out and leave it so. Instead the
 * message is formatted at once (so it names what is true now) and queued; every public entry
 * point that can report brackets its work with mb__report_enter / mb__report_leave, and the
 * leave that brings the thread's depth back to zero delivers the queue, oldest first. A handler
 * that calls back in runs the same machinery one level down. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mb_violation_name(mb_violation v)
{
    switch (v) {
    case MB_DOUBLE_FREE: return "double-free";
    case MB_MISMATCHED_FREE: return "mismatched-free";
    case MB_FOREIGN_FREE: return "foreign-free";
    case MB_OVERFLOW: return "overflow";
    case MB_UNDERFLOW: return "underflow";
    case MB_USE_AFTER_FREE: return "use-after-free";
    case MB_LEAK: return "leak";
    case MB_MISALIGNED: return "misaligned";
    }
    return "unknown-violation";
}

static void default_handler(mb_violation v, const char *message, void *user)
{
    (void)v;
    (void)user;
    (void)fprintf(stderr, "membuf: %s\n", message); /* nothing better to do if stderr fails */
    (void)fflush(stderr);
    abort();
}

/* Process-wide; set it before creating instances in other threads. */
static mb_violation_fn g_handler = default_handler;
static void *g_handler_user;

mb_violation_fn mb_set_violation_handler(mb_violation_fn fn, void *user)
{
    mb_violation_fn old = g_handler;
    g_handler = fn ? fn : default_handler;
    g_handler_user = fn ? user : NULL;
    return old == default_handler ? NULL : old;
}

mb_violation_fn mb_get_violation_handler(void **user)
{
    if (user)
        *user = g_handler_user;
    return g_handler == default_handler ? NULL : g_handler;
}

_Noreturn void mb__assert_fail(const char *expr, const char *file, int line)
{
    (void)fprintf(stderr, "membuf: internal check failed: %s (%s:%d)\n", expr, file, line);
    (void)fflush(stderr);
    abort();
}

/* Messages are a name, an address, a size and two instance labels; names of nested guards and
 * custom names can be long, so a message that does not fit is cut and marked "...". */
#define MSG_MAX 1024

typedef struct pending {
    struct pending *next;
    mb_violation v;
    char msg[]; /* exact size */
} pending;

/* This thread's queue. The entries come from libc directly, not from mb__sys_malloc, so that a
 * report survives a test's injected internal failures; if libc has no memory, the report is
 * counted and delivered as a summary. */
typedef struct report_queue {
    unsigned depth; /* enter/leave nesting */
    pending *head, *tail;
    size_t dropped;
    mb_violation dropped_kind; /* of the first one dropped */
} report_queue;
static _Thread_local report_queue t_queue;

/* Test hook: queue entries cannot be had, as if libc had no memory. */
static atomic_bool g_queue_fails;
void mb__report_queue_fail(bool on) { atomic_store(&g_queue_fails, on); }

/* Copies src into dst (room for cap bytes) as one printable line: control characters become
 * \n, \t or \xNN. Cut, with "..." at its end, where it does not fit (cap >= 4). */
static void one_line(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    bool cut = false;
    for (const unsigned char *c = (const unsigned char *)src; *c; c++) {
        char esc[5];
        size_t n;
        if (*c == '\n') {
            memcpy(esc, "\\n", n = 2);
        } else if (*c == '\t') {
            memcpy(esc, "\\t", n = 2);
        } else if (*c < 0x20 || *c == 0x7f) {
            (void)snprintf(esc, sizeof esc, "\\x%02x", *c);
            n = 4;
        } else {
            esc[0] = (char)*c;
            n = 1;
        }
        if (o + n + 3 >= cap) { /* keeps room for "..." */
            cut = true;
            break;
        }
        memcpy(dst + o, esc, n);
        o += n;
    }
    if (cut)
        memcpy(dst + o, "...", 4);
    else
        dst[o] = '\0';
}

/* Calls the handler for each queued report, oldest first. An entry leaves the queue before its
 * handler runs, so a handler that calls back in (and so delivers the rest itself) or does not
 * return never sees a report twice. */
static void deliver(void)
{
    report_queue *q = &t_queue;
    char msg[MSG_MAX];
    for (;;) {
        pending *e = q->head;
        mb_violation v;
        if (e) {
            q->head = e->next;
            if (!q->head)
                q->tail = NULL;
            v = e->v;
            memcpy(msg, e->msg, strlen(e->msg) + 1);
            free(e);
        } else if (q->dropped) {
            v = q->dropped_kind;
            (void)snprintf(msg, sizeof msg,
                           "%s: %zu violation%s found but not queued (out of memory; the first "
                           "was %s)", mb_violation_name(v), q->dropped, q->dropped == 1 ? "" : "s",
                           mb_violation_name(v));
            q->dropped = 0;
        } else {
            return;
        }
        g_handler(v, msg, g_handler_user);
    }
}

void mb__report_enter(void) { t_queue.depth++; }

void mb__report_leave(void)
{
    report_queue *q = &t_queue;
    MB__ASSERT(q->depth > 0);
    if (--q->depth == 0 && (q->head || q->dropped))
        deliver();
}

void mb__report(mb_violation v, const char *fmt, ...)
{
    char raw[MSG_MAX];
    int len = snprintf(raw, sizeof raw, "%s: ", mb_violation_name(v));
    size_t off = len > 0 ? (size_t)len : 0; /* names are short constants */
    va_list ap;
    va_start(ap, fmt);
    /* clang-analyzer's valist checker misses the va_start above (a known false positive). */
    int n = vsnprintf(raw + off, sizeof raw - off, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof raw - off)
        memcpy(raw + sizeof raw - 4, "...", 4); /* marked, never silently cut */
    char msg[MSG_MAX];
    one_line(msg, sizeof msg, raw);

    report_queue *q = &t_queue;
    size_t size = strlen(msg) + 1;
    pending *e = atomic_load_explicit(&g_queue_fails, memory_order_relaxed) ? NULL : malloc(sizeof *e + size);
    if (!e) {
        if (q->dropped++ == 0)
            q->dropped_kind = v;
    } else {
        e->next = NULL;
        e->v = v;
        memcpy(e->msg, msg, size);
        if (q->tail)
            q->tail->next = e;
        else
            q->head = e;
        q->tail = e;
    }
    if (q->depth == 0)
        deliver();
}
