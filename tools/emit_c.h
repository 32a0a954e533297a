/* membuf-ops emit-c: an op sequence as a standalone C regression test (public API only). */
#ifndef MEMBUF_TOOLS_EMIT_C_H
#define MEMBUF_TOOLS_EMIT_C_H

#include "exec.h"

#include <stdio.h>

/* Writes the test for p (dialect d) to out. trace says what the executor did with each op (ops
 * it skipped are left out) and which reports it demanded. path names the input in a comment:
 * its base name only, escaped so that no name can end the comment. Write errors are left to the
 * caller (ferror(out)). */
void mbf_emit_c(FILE *out, mbf_dialect d, const mbf_prog *p, const mbf_trace *trace,
                const char *path);

#endif /* MEMBUF_TOOLS_EMIT_C_H */
