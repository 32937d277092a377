"""Benchmark: where the lockstep layout beats the per-run layout, by problem size (d, B).

    python benchmarks/lockstep_region.py [--threads 1] [--repeats 3] [--save PATH]

Adam (the toy's: β1 = β2 = 0.95, ε = 1e-8, no bias correction), with-replacement batches, the loss
recorded every 100 steps, on the data quadratics of ``benchmarks/simulate.py`` (Gaussian data with
a decaying per-coordinate scale, N = 1024 samples; N = 4096 at d = 256) and on the 9-d toy
(N = 9), at B ∈ {1, 8, 64} (B < N: the lane fast path can apply; the toy at B = 64 ≥ N takes
counted rows, lane by lane). For each (d, B) it times, alternating, best of ``--repeats``:

* ``per-run``: the per-run layout;
* ``L=… each``: lockstep with every lane computing its own gradient (``together=False``);
* ``L=… rows``: lockstep with the problem's lane fast path (``together=True``: each sampled row
  copied once per lane into a lane-minor buffer, the dot products and the update lanes innermost);
* ``auto``: the choice of ``numba_lockstep.auto_lanes`` (ignoring ``AUTO_MIN_RUN_STEPS``, which
  only decides whether a call is large enough to pay for a second compile) with ``run``'s default
  ``together`` (``rows_together``).

The table is what ``numba_lockstep.AUTO_REGION``, ``TOGETHER_MAX_DIM`` and
``TOGETHER_MAX_ROW_FLOATS`` were read from; ``--save`` writes it for docs/backends.md's
generated block. Every lockstep run is checked bit for bit against the per-run one. A plain
script, not a test: the rates depend on the machine and its load, which it reports.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simulate import _same_runs, big_problem, spec_for, toy_problem  # noqa: E402

from simlab.backends import numba_layouts, numba_lockstep  # noqa: E402

LANES = (16, 32, 64)
BATCHES = (1, 8, 64)
DIMS = (4, 8, 12, 16, 32, 64)


def cases():
    """(label, problem, runs, steps) for every problem of the table."""
    yield "toy d=9 N=9", toy_problem(), 256, 2000
    for d in DIMS:
        yield f"d={d} N=1024", big_problem(d, 1024), 256, 2000
    yield "d=256 N=4096", big_problem(256, 4096), 64, 500


def variants():
    rows = {"per-run": lambda spec: numba_layouts.run(spec, layout="per_run")}
    for lanes in LANES:
        for name, together in (("each", False), ("rows", True)):
            rows[f"L={lanes} {name}"] = (lambda spec, lanes=lanes, together=together:
                                         numba_lockstep.run(spec, lanes, together=together))

    def auto(spec):
        width = numba_lockstep.auto_lanes(spec, min_run_steps=0)
        return (numba_lockstep.run(spec, width) if width > 1
                else numba_layouts.run(spec, layout="per_run"))
    rows["auto"] = auto
    return rows


def measure(problem, runs, steps, batch_size, repeats):
    lrs = [1e-3, 3e-3, 1e-2, 3e-2]
    spec = spec_for(problem, lrs, runs // len(lrs), batch_size, steps)
    small = spec_for(problem, lrs, 2, batch_size, 3)
    rows = variants()
    for go in rows.values():
        go(small)
    best = {name: np.inf for name in rows}
    raws = {}
    for _ in range(repeats):
        for name, go in rows.items():
            t0 = time.perf_counter()
            raws[name] = go(spec)
            best[name] = min(best[name], time.perf_counter() - t0)
    rate = {name: runs * steps / t for name, t in best.items()}
    same = min(_same_runs(raws["per-run"], raws[name]) for name in rows if name != "per-run")
    width = numba_lockstep.auto_lanes(spec, min_run_steps=0)
    choice = "per-run" if width == 1 else (
        f"L={width} " + ("rows" if numba_lockstep.rows_together(spec.dim, batch_size) else "each"))
    return rate, same, choice


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="numba threads (default 1)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="alternating repetitions; the best time counts (default 3)")
    parser.add_argument("--save", default=None, metavar="PATH",
                        help="also write the table to PATH (results/benchmarks/"
                             "lockstep_region.md is the one docs/backends.md shows)")
    args = parser.parse_args(argv)
    numba.set_num_threads(args.threads)
    load_before = os.getloadavg()
    names = list(variants())
    lines = ["| case | B | per-run | " + " | ".join(n + " / per-run" for n in names[1:])
             + " | auto's choice | bit-identical |",
             "|---|---|---|" + "---|" * (len(names) - 1) + "---|---|"]
    print("\n".join(lines), flush=True)
    for label, problem, runs, steps in cases():
        for batch_size in BATCHES:
            rate, same, choice = measure(problem, runs, steps, batch_size, args.repeats)
            base = rate["per-run"]
            top = max(names[1:-1], key=lambda n: rate[n])
            cells = [f"**{rate[n] / base:.2f}×**" if n == top else f"{rate[n] / base:.2f}×"
                     for n in names[1:]]
            lines.append(f"| {label} | {batch_size} | {base:.3g} | " + " | ".join(cells)
                         + f" | {choice} | {same:.0%} |")
            print(lines[-1], flush=True)
    load_after = os.getloadavg()
    note = (f"(per-run: run-steps per second; the other columns: rate / per-run rate, the best "
            f"lockstep variant in bold; best of {args.repeats} alternating repetitions at "
            f"{args.threads} numba thread(s); load average {load_before[0]:.2f} before, "
            f"{load_after[0]:.2f} after; bit-identical: the smallest fraction of runs any lockstep "
            "variant computes bit for bit as per-run)")
    print(note)
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        header = (f"`python benchmarks/lockstep_region.py --threads {args.threads} --repeats "
                  f"{args.repeats} --save {args.save}` "
                  f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} "
                  "cores):\n")
        Path(args.save).write_text(header + "\n" + "\n".join(lines) + "\n" + note + "\n")


if __name__ == "__main__":
    main()
