#!/usr/bin/env python3
"""numpy's standard normal generator timed on the same sample count as bench_fill's
mb_buf_fill_normal, printed as bench_report records (bench/bench.h) for the same table.

usage: numpy_normal.py [--tsv] N FILLS [REPS]
  N      samples per call (bench_fill --normal)
  FILLS  calls per run (bench_fill runs max(3, samples / N) fills)
  REPS   runs, each printed as one record per row (default 1; ci/bench.sh interleaves
         single runs of this script with bench_fill)
Rows: np.random.default_rng(1).standard_normal(n) (a new array every call, as usually written),
and standard_normal(out=buf) into an existing array (what mb_buf_fill_normal does).
"""
import sys
import time

import numpy as np


def per_sample_ns(fn, n, fills):
    t0 = time.perf_counter_ns()
    for _ in range(fills):
        fn()
    return (time.perf_counter_ns() - t0) / (n * fills)


def main(argv):
    args = [a for a in argv[1:] if a != "--tsv"]
    if len(args) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    n, fills = int(args[0]), int(args[1])
    reps = int(args[2]) if len(args) == 3 else 1
    rng = np.random.default_rng(1)
    out = np.empty(n)
    rows = {
        "numpy standard_normal(n)": lambda: rng.standard_normal(n),
        "numpy standard_normal(out=)": lambda: rng.standard_normal(out=out),
    }
    for fn in rows.values():  # warm up: first-call costs, pages of out
        fn()
    print("T\tnormal\tNormal samples: mb_buf_fill_normal vs Box–Muller and numpy\tgenerator\t"
          "ns/sample\ttime\t2\tBox–Muller (C),numpy standard_normal(n)")
    print(f"N\tnormal\tnumpy {np.__version__} (PCG64, ziggurat), one python3 process per run "
          f"(timed with perf_counter_ns around {fills} calls of {n} samples; import and start-up "
          f"not timed).")
    for r in range(reps):
        names = list(rows)
        k = r % len(names)
        for name in names[k:] + names[:k]:
            print(f"R\tnormal\t{name}\t{per_sample_ns(rows[name], n, fills):.9g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
