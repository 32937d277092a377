"""Side-by-side numba rates of two checkouts of simlab (e.g. main and a branch), alternating.

    git worktree add /tmp/main-bench main
    python benchmarks/ab_engines.py /tmp/main-bench . [--pairs 6] [--repeats 3] [--cold]

Each measurement is a fresh process with that checkout first on ``PYTHONPATH``; the two alternate
``--pairs`` times (the machine is shared, so load drifts) and the best rate of each counts. The
cases are those of ``benchmarks/simulate.py`` for the numba backend: Adam (β1 = β2 = 0.95, no bias
correction) on the 9-d toy with B = 1, 8, 64 (R = 1000, T = 2000) and on the d = 256 data
quadratic with B = 64 (R = 64, T = 1000), in run-steps per second. ``--cold`` instead times the
first call of a fresh process with an empty numba cache (compilation) for each checkout.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

MEASURE = r'''
import importlib.util, json, os, sys, time
import numpy as np
import simlab
root = os.path.dirname(os.path.dirname(simlab.__file__))
spec_ = importlib.util.spec_from_file_location("bench", os.path.join(root, "benchmarks",
                                                                    "simulate.py"))
bench = importlib.util.module_from_spec(spec_)
spec_.loader.exec_module(bench)
from simlab.backends import numba_backend
out = {"root": root}
t0 = time.perf_counter()
numba_backend.run(bench.spec_for(bench.toy_problem(), [1e-2], 2, 1, 10))
out["first call (s)"] = time.perf_counter() - t0
repeats = int(sys.argv[1])
if repeats:
    lrs = [1e-3, 3e-3, 1e-2, 3e-2]
    cases = [("toy B=1", bench.toy_problem(), 250, 1, 2000),
             ("toy B=8", bench.toy_problem(), 250, 8, 2000),
             ("toy B=64", bench.toy_problem(), 250, 64, 2000),
             ("d=256 B=64", bench.big_problem(), 16, 64, 1000)]
    for label, problem, seeds, batch, steps in cases:
        spec = bench.spec_for(problem, lrs, seeds, batch, steps)
        numba_backend.run(bench.spec_for(problem, lrs, 2, batch, 3))
        best = np.inf
        for _ in range(repeats):
            t = time.perf_counter()
            numba_backend.run(spec)
            best = min(best, time.perf_counter() - t)
        out[label] = len(lrs) * seeds * steps / best
out["load"] = os.getloadavg()[0]
print(json.dumps(out))
'''


def measure(root: str, repeats: int, cold: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(root))
    if cold:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="simlab-ab-cache-")
    out = subprocess.run([sys.executable, "-c", MEASURE, str(repeats)], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args(argv)
    roots = {"before": args.before, "after": args.after}
    for name, root in roots.items():                      # warm the caches
        measure(root, 0, False)
    rows = {name: [] for name in roots}
    for _ in range(args.pairs):
        for name, root in roots.items():
            rows[name].append(measure(root, 0 if args.cold else args.repeats, args.cold))
    keys = ["first call (s)"] if args.cold else ["toy B=1", "toy B=8", "toy B=64", "d=256 B=64"]
    best = {name: {k: (min if args.cold else max)(r[k] for r in rows[name]) for k in keys}
            for name in roots}
    print("| case | before | after | after / before |")
    print("|---|---|---|---|")
    for k in keys:
        print(f"| {k} | {best['before'][k]:.3g} | {best['after'][k]:.3g} | "
              f"{best['after'][k] / best['before'][k]:.2f} |")
    loads = [r["load"] for rs in rows.values() for r in rs]
    print(f"({'seconds, least' if args.cold else 'run-steps/s, best'} of {args.pairs} alternating "
          f"processes each; load average {min(loads):.1f}–{max(loads):.1f} on "
          f"{os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
