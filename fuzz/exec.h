/* The executor: runs an op sequence against instances of every family and checks, after every
 * op, the model oracles (see exec_int.h for the files). Any oracle failure or unexpected violation
 * report prints one line "membuf-fuzz: <target>: op N (<op text>): <what>" to stderr and aborts,
 * which is what libFuzzer, the replay driver and membuf-ops detect. */
#ifndef MEMBUF_FUZZ_EXEC_H
#define MEMBUF_FUZZ_EXEC_H

#include "ops.h"

/* What the executor did with each op, for membuf-ops emit-c: whether it made any call (an op
 * can be skipped: an empty slot, a size over the limits, a second misuse), and for ops that
 * commit violations the reports it demanded (bit per mb_violation; count: how many). */
typedef struct mbf_trace {
    uint8_t acted[MBF_MAX_OPS];
    uint16_t allowed[MBF_MAX_OPS];
    uint8_t count[MBF_MAX_OPS];
} mbf_trace;

/* Runs p (decoded in dialect d), filling *trace if not NULL. Returns the number of ops executed;
 * aborts on failure. */
size_t mbf_run(mbf_dialect d, const mbf_prog *p, mbf_trace *trace);

/* Decode + run: the body of every LLVMFuzzerTestOneInput. */
int mbf_fuzz_one(mbf_dialect d, const uint8_t *data, size_t size);

#endif /* MEMBUF_FUZZ_EXEC_H */
