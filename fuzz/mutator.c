/* Structure-aware mutator, linked into every target (compiled with MBF_DIALECT set). It edits
 * the decoded op list — insert, delete, duplicate or swap ops, re-roll one argument — and
 * splices two inputs at op boundaries; one time in eight it lets libFuzzer mutate the raw bytes.
 * MEMBUF_MUTATOR=0 (or off) in the environment turns it off at run time (plain
 * LLVMFuzzerMutate); 1, on, empty or unset leave it on; any other value stops the fuzzer as it
 * starts (LLVMFuzzerInitialize) with one line on stderr and exit status 2, so a typo never runs
 * a campaign in the wrong mode. The CMake option MEMBUF_FUZZ_MUTATOR=OFF compiles it out (the
 * variable is then not read), so its effect can be measured. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
                                 size_t size2, uint8_t *out, size_t max_out_size,
                                 unsigned int seed);

static uint64_t next_rand(uint64_t *x)
{
    *x += UINT64_C(0x9e3779b97f4a7c15);
    uint64_t z = *x;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* MEMBUF_MUTATOR: 1 on, 0 off; exits 2 on a value that is neither. */
static int setting(void)
{
    const char *e = getenv("MEMBUF_MUTATOR");
    if (!e || !*e || strcmp(e, "1") == 0 || strcmp(e, "on") == 0)
        return 1;
    if (strcmp(e, "0") == 0 || strcmp(e, "off") == 0)
        return 0;
    size_t n = strlen(e), k = 0;
    while (k < n && e[k] >= 0x20 && e[k] < 0x7f)
        k++;
    fprintf(stderr, "membuf-fuzz: MEMBUF_MUTATOR must be 0, 1, off or on (unset: on), not '%.*s%s'\n",
            (int)(k < 40 ? k : 40), e, k < n || n > 40 ? "..." : "");
    exit(2);
}

static int enabled(void)
{
    static int on = -1;
    if (on < 0)
        on = setting();
    return on;
}

/* libFuzzer calls this first, before it prints or runs anything. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)enabled();
    return 0;
}

static mbf_op random_op(uint64_t *x)
{
    uint8_t raw[MBF_OP_MAX_BYTES];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)next_rand(x);
    return mbf_decode_op(MBF_DIALECT, raw, sizeof raw);
}

/* One argument of op (from its row in ops_table.h) takes a new random value. */
static void reroll_arg(mbf_op *op, uint64_t *x)
{
    unsigned nargs = mbf_ops[op->kind].nargs;
    uint64_t r = next_rand(x);
    unsigned i = (unsigned)(r % nargs);
    mbf_set_arg(op, i, (uint8_t)(r >> 8));
    if (op->size_code >= 192 && op->size_code <= 253 &&
        mbf_args[mbf_ops[op->kind].args[i]].kind == MBF_K_SIZE)
        op->size16 = (uint16_t)(r >> 16);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint64_t x = seed;
    if (!enabled() || next_rand(&x) % 8 == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    static mbf_prog p;
    mbf_decode(MBF_DIALECT, data, size, &p);
    unsigned rounds = 1 + (unsigned)(next_rand(&x) % 3);
    for (unsigned k = 0; k < rounds; k++) {
        size_t i = p.n ? (size_t)(next_rand(&x) % p.n) : 0;
        switch (p.n ? next_rand(&x) % 5 : 0) {
        case 0: /* insert */
            if (p.n < MBF_MAX_OPS) {
                memmove(&p.ops[i + 1], &p.ops[i], (p.n - i) * sizeof p.ops[0]);
                p.ops[i] = random_op(&x);
                p.n++;
            }
            break;
        case 1: /* delete */
            memmove(&p.ops[i], &p.ops[i + 1], (p.n - i - 1) * sizeof p.ops[0]);
            p.n--;
            break;
        case 2: /* duplicate */
            if (p.n < MBF_MAX_OPS) {
                size_t j = (size_t)(next_rand(&x) % (p.n + 1));
                mbf_op dup = p.ops[i];
                memmove(&p.ops[j + 1], &p.ops[j], (p.n - j) * sizeof p.ops[0]);
                p.ops[j] = dup;
                p.n++;
            }
            break;
        case 3: { /* swap */
            size_t j = (size_t)(next_rand(&x) % p.n);
            mbf_op t = p.ops[i];
            p.ops[i] = p.ops[j];
            p.ops[j] = t;
            break;
        }
        default: reroll_arg(&p.ops[i], &x); break;
        }
    }
    /* Drop ops from the end until it fits. */
    size_t n = mbf_encode(MBF_DIALECT, &p, data, max_size);
    while (n > max_size && p.n > 0) {
        p.n--;
        n = mbf_encode(MBF_DIALECT, &p, data, max_size);
    }
    return n > max_size ? 0 : n;
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
                                 size_t size2, uint8_t *out, size_t max_out_size,
                                 unsigned int seed)
{
    static mbf_prog a, b;
    uint64_t x = seed;
    mbf_decode(MBF_DIALECT, data1, size1, &a);
    mbf_decode(MBF_DIALECT, data2, size2, &b);
    /* Splice: a prefix of the first input, then a suffix of the second. */
    size_t cut_a = a.n ? (size_t)(next_rand(&x) % (a.n + 1)) : 0;
    size_t cut_b = b.n ? (size_t)(next_rand(&x) % (b.n + 1)) : 0;
    for (size_t i = cut_b; i < b.n && cut_a < MBF_MAX_OPS; i++)
        a.ops[cut_a++] = b.ops[i];
    a.n = cut_a;
    size_t n = mbf_encode(MBF_DIALECT, &a, out, max_out_size);
    while (n > max_out_size && a.n > 0) {
        a.n--;
        n = mbf_encode(MBF_DIALECT, &a, out, max_out_size);
    }
    return n > max_out_size ? 0 : n;
}
