/* The executor: runs an op sequence against fresh instances of every family and checks, after
 * every op, the model oracles (see exec.c). Any oracle failure or unexpected violation report
 * prints one line "membuf-fuzz: <target>: op N (<op text>): <what>" to stderr and aborts, which is
 * what libFuzzer, the replay driver and membuf-ops detect. */
#ifndef MEMBUF_FUZZ_EXEC_H
#define MEMBUF_FUZZ_EXEC_H

#include "ops.h"

/* Runs p (decoded in dialect d). Returns the number of ops executed; aborts on failure. */
size_t mbf_run(mbf_dialect d, const mbf_prog *p);

/* Decode + run: the body of every LLVMFuzzerTestOneInput. */
int mbf_fuzz_one(mbf_dialect d, const uint8_t *data, size_t size);

#endif /* MEMBUF_FUZZ_EXEC_H */
