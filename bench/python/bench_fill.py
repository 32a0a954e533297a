#!/usr/bin/env python3
"""Fills of n doubles from Python, side by side in one process (a benchmark, not a test):

  Buffer.fill_normal(seed)   vs  numpy Generator.standard_normal(out=ndarray)   target >= 1.5x
  Buffer.fill_normal(seed)   vs  the seed's random_noise loop (random.normalvariate per element,
                                 python/examples/random_noise_fixed.pyx)        target >= 20x
  Buffer.fill(v)             vs  ndarray.fill(v)                                  target >= 0.9x

usage: PYTHONPATH=python:python/examples /usr/bin/python3 bench/python/bench_fill.py [--n N]
       [--reps R]        (after ci/python.sh, or the in-place builds of python/README.md)

Each figure is a time per call: the median over R repetitions (default 7) of a block of
consecutive calls lasting about 50 ms (timeit's way: steady-state throughput, the buffer as warm
in the caches as repeated use leaves it; the seed's loop, ~1000x slower, runs one call per block
and max(3, R // 2) blocks). The rows are interleaved block by block so load on the machine hits
every row alike. Ratios are baseline time / membuf time (above 1: membuf is faster). The Buffer
lives on a pool instance; its pages and the ndarray's are touched before timing. Exit status 0
even when a target is missed: the verdict is printed.
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

import membuf

try:
    import random_noise_fixed
except ImportError:
    sys.exit("bench_fill.py: the examples are not importable: PYTHONPATH must hold python/examples "
             "(built by ci/python.sh)")


def timed(fn, calls):
    """Seconds per call over a block of calls."""
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - t0) / 1e9 / calls


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10 ** 6, help="doubles per fill (default 10^6)")
    ap.add_argument("--reps", type=int, default=7, help="repetitions (default 7)")
    args = ap.parse_args(argv)
    n, reps = args.n, args.reps
    if n < 1 or reps < 1:
        ap.error("--n and --reps must be positive")

    alloc = membuf.pool()
    buf = membuf.Buffer(alloc, n)
    arr = np.empty(n)
    gen = np.random.default_rng(1)
    seed_alloc = membuf.system()
    rows = {
        "Buffer.fill_normal(seed)": lambda: buf.fill_normal(12345),
        "numpy standard_normal(out=)": lambda: gen.standard_normal(out=arr),
        "seed random_noise loop": lambda: random_noise_fixed.random_noise(seed_alloc, n),
        "Buffer.fill(1.5)": lambda: buf.fill(1.5),
        "ndarray.fill(1.5)": lambda: arr.fill(1.5),
    }
    slow = {"seed random_noise loop"}
    calls = {}
    for name, fn in rows.items():  # warm up (first-call costs, pages); size the blocks
        calls[name] = 1 if name in slow else max(1, int(0.05 / max(timed(fn, 3), 1e-9)))
    times = {name: [] for name in rows}
    names = list(rows)
    for r in range(reps):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            if name in slow and r >= max(3, reps // 2):
                continue
            times[name].append(timed(rows[name], calls[name]))
    med = {name: statistics.median(t) for name, t in times.items()}

    print(f"membuf {membuf.__version__}, numpy {np.__version__}, Python "
          f"{platform.python_version()} ({sys.executable}), {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; n = {n}, "
          f"median of {reps} blocks ({len(times['seed random_noise loop'])} for the seed loop)")
    print(f"{'row':30} {'ms/call':>10} {'ns/element':>11} {'calls/block':>12}")
    for name in rows:
        print(f"{name:30} {med[name] * 1e3:10.3f} {med[name] * 1e9 / n:11.3f} "
              f"{calls[name]:12d}")
    targets = [
        ("fill_normal vs numpy standard_normal(out=)", med["numpy standard_normal(out=)"],
         med["Buffer.fill_normal(seed)"], 1.5),
        ("fill_normal vs the seed's random_noise loop", med["seed random_noise loop"],
         med["Buffer.fill_normal(seed)"], 20.0),
        ("fill vs ndarray.fill", med["ndarray.fill(1.5)"], med["Buffer.fill(1.5)"], 0.9),
    ]
    print(f"{'ratio (baseline / membuf)':45} {'measured':>9} {'target':>7}")
    for label, base, ours, target in targets:
        ratio = base / ours
        verdict = "met" if ratio >= target else "MISSED"
        print(f"{label:45} {ratio:8.2f}x {target:6.1f}x  {verdict}")
    buf.free()
    alloc.close()
    seed_alloc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
