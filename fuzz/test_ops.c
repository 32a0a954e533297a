#define _POSIX_C_SOURCE 200809L /* fmemopen */
/* The op language: decoding is total, encoding and the text form round-trip, bad text is
 * rejected with the line named, and every op kind of every dialect can be produced. */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                 \
    do {                                                                                         \
        if (!(c)) {                                                                              \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);               \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static bool same_meaning(const mbf_op *a, const mbf_op *b)
{
    if (a->kind != b->kind || a->slot != b->slot || a->fam != b->fam || a->a != b->a ||
        a->b != b->b || a->c != b->c || a->d != b->d)
        return false;
    return mbf_size(a) == mbf_size(b);
}

static char text[1 << 16];

static void test_round_trips(void)
{
    static uint8_t data[2048], enc[4096];
    static mbf_prog p, q, t;
    uint64_t x = 88172645463325252u;
    int kinds_seen[MBF_NKINDS] = {0};
    for (int iter = 0; iter < 3000; iter++) {
        mbf_dialect d = (mbf_dialect)(iter % MBF_NDIALECTS);
        size_t n = rnd(&x) % sizeof data;
        for (size_t i = 0; i < n; i++)
            data[i] = (uint8_t)rnd(&x);
        mbf_decode(d, data, n, &p); /* total: never fails */
        CHECK(p.n <= MBF_MAX_OPS);
        for (size_t i = 0; i < p.n; i++) {
            CHECK(p.ops[i].kind < MBF_NKINDS);
            kinds_seen[p.ops[i].kind]++;
        }
        /* bytes -> ops -> bytes -> ops */
        size_t m = mbf_encode(d, &p, enc, sizeof enc);
        CHECK(m <= sizeof enc);
        mbf_decode(d, enc, m, &q);
        CHECK(q.n == p.n);
        for (size_t i = 0; i < p.n; i++)
            CHECK(same_meaning(&p.ops[i], &q.ops[i]));
        /* ops -> text -> ops */
        text[0] = 0; /* fmemopen does not terminate an empty stream */
        FILE *f = fmemopen(text, sizeof text, "w");
        CHECK(f);
        mbf_print(f, &p);
        CHECK(!ferror(f));
        fclose(f);
        char err[200];
        if (!mbf_parse(text, &t, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            CHECK(0);
        }
        CHECK(t.n == p.n);
        for (size_t i = 0; i < p.n; i++)
            CHECK(same_meaning(&p.ops[i], &t.ops[i]));
    }
    for (int k = 0; k < MBF_NKINDS; k++)
        CHECK(kinds_seen[k] > 0);
}

static void test_truncation(void)
{
    /* A lone kind byte: every argument defaults to 0. */
    static mbf_prog p;
    uint8_t one[1] = {0};
    mbf_decode(MBF_D_BUF, one, 1, &p);
    CHECK(p.n == 1 && p.ops[0].kind == MBF_INIT && p.ops[0].slot == 0 && mbf_size(&p.ops[0]) == 0);
    mbf_decode(MBF_D_BUF, one, 0, &p);
    CHECK(p.n == 0);
    /* More ops than the cap: the rest is ignored. */
    static uint8_t many[MBF_MAX_OPS * 3];
    memset(many, 4, sizeof many); /* "free 4" in the buf dialect, two bytes each */
    mbf_decode(MBF_D_BUF, many, sizeof many, &p);
    CHECK(p.n == MBF_MAX_OPS);
    /* Size codes. */
    uint8_t big[] = {0, 1, 0, 254, 0, 1, 0, 255, 0, 1, 0, 192, 0x34, 0x12};
    mbf_decode(MBF_D_BUF, big, sizeof big, &p);
    CHECK(p.n == 3);
    CHECK(mbf_size(&p.ops[0]) == SIZE_MAX / 8 + 1);
    CHECK(mbf_size(&p.ops[1]) == SIZE_MAX);
    CHECK(mbf_size(&p.ops[2]) == 0x1234);
}

static void test_text_errors(void)
{
    static mbf_prog p;
    char err[200];
    const char *bad[][2] = {
        {"init 3 pool 17\nbogus 1\n", "line 2: unknown op 'bogus'"},
        {"init 9 pool 17\n", "line 1: bad slot '9'"},
        {"init 3 heap 17\n", "line 1: bad family 'heap'"},
        {"init 3 pool\n", "line 1: 'init' takes 3 argument(s), got 2"},
        {"resize 1 70000\n", "line 1: size '70000' is not encodable"},
        {"fill 1 2.5\n", "line 1: bad fill value '2.5'"},
        {"fail-after 1 3 sometimes\n", "line 1: bad mode 'sometimes' (one of: once always)"},
        {"fill-normal 1 seed=300 mean=0 sd=1\n", "line 1: bad seed '300'"},
        {"fill-normal 1 7 mean=0 sd=1\n", "line 1: expected seed=<seed>, got '7'"},
        {"misuse double-fee 1\n", "line 1: bad violation 'double-fee'"},
        {"misuse double-free 1 again\n", "line 1: unexpected 'again'"},
        {"bulk 2 pool 100 6\n", "line 1: bad block count '6' (0..1020, a multiple of 4)"},
        {"bad-free 2 pool step -129 free\n", "line 1: bad delta '-129' (-128..127)"},
        {"under-fail-after system 1 once\n", "line 1: bad underlying allocator 'system'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(!mbf_parse(bad[i][0], &p, err, sizeof err));
        if (strncmp(err, bad[i][1], strlen(bad[i][1])) != 0) {
            fprintf(stderr, "got \"%s\", want \"%s...\"\n", err, bad[i][1]);
            CHECK(0);
        }
    }
    CHECK(mbf_parse("# comment\n\ninit 3 pool 17   # trailing\nfill-normal 3 seed=7 mean=0 sd=1\n", &p, err, sizeof err));
    CHECK(p.n == 2 && p.ops[1].kind == MBF_FILL_NORMAL && p.ops[1].a == 7);
    /* Encoding an op outside the dialect is refused. */
    uint8_t buf[64];
    CHECK(mbf_encode(MBF_D_BUF, &p, buf, sizeof buf) != SIZE_MAX);
    CHECK(mbf_encode(MBF_D_ALLOC, &p, buf, sizeof buf) == SIZE_MAX);
    /* Flags: a trailing keyword, present or not; signed arguments. */
    CHECK(mbf_parse("misuse double-free 17 reenter\nmisuse leak 3\nbad-free 2 pool step -3 realloc reenter\n",
                    &p, err, sizeof err));
    CHECK(p.n == 3 && p.ops[0].kind == MBF_MISUSE && p.ops[0].b == 17 && p.ops[0].c == 1);
    CHECK(p.ops[1].c == 0 && p.ops[2].kind == MBF_BAD_FREE && (int8_t)p.ops[2].b == -3);
    CHECK(p.ops[2].c == MBF_PATH_REALLOC && p.ops[2].d == 1 && mbf_op_slot(&p.ops[2]) == 2);
    CHECK(mbf_op_slot(&p.ops[0]) == -1);
}

/* The table's rows fit the op struct: at most four arguments besides slot, family and size, one
 * of each of those, flags last. */
static void test_table(void)
{
    for (unsigned k = 0; k < MBF_NKINDS; k++) {
        const mbf_opspec *s = &mbf_ops[k];
        unsigned rest = 0, slots = 0, fams = 0, sizes = 0;
        CHECK(s->nargs <= MBF_MAX_ARGS && s->targets != 0);
        for (unsigned i = 0; i < s->nargs; i++) {
            mbf_argkind kind = mbf_args[s->args[i]].kind;
            slots += kind == MBF_K_SLOT;
            fams += kind == MBF_K_FAM;
            sizes += kind == MBF_K_SIZE;
            rest += kind != MBF_K_SLOT && kind != MBF_K_FAM && kind != MBF_K_SIZE;
            if (kind == MBF_K_FLAG)
                for (unsigned j = i + 1; j < s->nargs; j++)
                    CHECK(mbf_args[s->args[j]].kind == MBF_K_FLAG);
        }
        CHECK(rest <= 4 && slots <= 1 && fams <= 1 && sizes <= 1);
    }
}

int main(void)
{
    test_table();
    test_round_trips();
    test_truncation();
    test_text_errors();
    puts("test_ops: all passed");
    return 0;
}
