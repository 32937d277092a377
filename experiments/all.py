"""Run every experiment and print one summary table.

    python -m experiments.all [--quick] [--out DIR] [--cache-dir DIR] [--no-cache]
        [--scheduler ADDRESS | --workers N] [--only NAME ...]
    python -m experiments.all --redraw [--only NAME ...]

Runs, in order, quadratic_gap (paper and retuned protocols), gap_knobs, surge, surge_target,
c_total, implicit_bias, sgdm_regularizer, sde and bsi_adam, each
with its own defaults (``--quick``: the small versions, written to figures/_quick/), sharing one
Dask cluster when ``--scheduler``/``--workers`` is given. The table lists, per experiment, the cells
computed and reused from the cache, the wall time and its headline numbers (read from its
results file). The exit code is 0 when every experiment succeeded, 1 otherwise (2 for bad flags).

A full default run (no ``--quick``, no ``--out``) ends by deciding every claim from ``results/``
(``python -m experiments.verdicts``). ``--redraw`` computes nothing: it redraws every committed figure from the shipped ``results/*.nc``
(each experiment's ``plot`` on its stored Dataset; the PNGs record the results checksum).

After the toys come the LM experiments (``LM_RUNS``: lm_gap, lm_surge, lm_betas, lm_bsi, on the CPU
at their default sizes); without torch (the ``lm`` extra) their rows say "skipped" and do not count
as failures.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from pathlib import Path

from experiments._cli import Parser, positive_int
from experiments._harness import dask_executor

#: (label, module, extra flags) in the order they run.
RUNS = (
    ("quadratic_gap", "quadratic_gap", []),
    ("quadratic_gap retuned", "quadratic_gap", ["--protocol", "retuned"]),
    ("gap_knobs", "gap_knobs", []),
    ("surge", "surge", []),
    ("surge_target", "surge_target", []),
    ("c_total", "c_total", []),
    ("implicit_bias", "implicit_bias", []),
    ("sgdm_regularizer", "sgdm_regularizer", []),
    ("sde", "sde", []),
    ("bsi_adam", "bsi_adam", []),
)

#: simlab.lm: the toy predictions on a real language model (needs the ``lm`` extra: torch).
LM_RUNS = (
    ("lm_gap", "lm_gap", []),
    ("lm_surge", "lm_surge", []),
    ("lm_betas", "lm_betas", []),
    ("lm_bsi", "lm_bsi", []),
)
RUNS = RUNS + LM_RUNS


def parser() -> Parser:
    p = Parser(prog="python -m experiments.all", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="the small version of every experiment (written to figures/_quick/)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder for all (default figures/; --quick: figures/_quick/)")
    p.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                   help="folder of the per-cell results cache (default OUT/.cache/)")
    p.add_argument("--no-cache", action="store_true", help="recompute every cell")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run all cells on this Dask scheduler (needs simlab[dist])")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="run all cells on one local Dask cluster of N worker processes")
    p.add_argument("--redraw", action="store_true",
                   help="compute nothing: redraw every figure in figures/ from results/*.nc")
    p.add_argument("--only", nargs="+", metavar="NAME", choices=sorted({m for _, m, _ in RUNS}),
                   default=None, help="run only these experiments")
    return p


def experiment_argv(args, extra: list[str]) -> list[str]:
    argv = list(extra)
    if args.quick:
        argv.append("--quick")
    if args.out is not None:
        argv += ["--out", str(args.out)]
    if args.cache_dir is not None:
        argv += ["--cache-dir", str(args.cache_dir)]
    if args.no_cache:
        argv.append("--no-cache")
    return argv


def table(rows: list[tuple]) -> str:
    """Rows of (experiment, computed, reused, wall s, headline) as an aligned text table."""
    head = ("experiment", "computed", "reused", "wall s", "headline")
    cells = [head] + [(str(a), str(b), str(c), d if isinstance(d, str) else f"{d:.1f}", str(e))
                      for a, b, c, d, e in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(4)]
    lines = []
    for i, row in enumerate(cells):
        lines.append("  ".join([row[0].ljust(widths[0])] + [row[k].rjust(widths[k])
                                                            for k in (1, 2, 3)] + [row[4]]))
        if i == 0:
            lines.append("-" * (sum(widths) + 6 + max(len(r[4]) for r in cells) + 2))
    return "\n".join(lines)


def redraw(only=None, results: Path | None = None, out: Path | None = None) -> int:
    """Redraw the figures of every results file (of the experiments in ``only``) without
    computing; 0 on success, 1 when a results file is unreadable or a plot fails."""
    from experiments._cli import FIGURES, RESULTS
    from simlab.cache import load_dataset
    results, out = Path(results or RESULTS), Path(out or FIGURES)
    failed = 0
    for path in sorted(results.glob("*.nc")):
        ds = load_dataset(path)
        if ds is None:
            print(f"{path}: unreadable or its checksum fails", file=sys.stderr)
            failed = 1
            continue
        name = ds.attrs.get("experiment", path.stem)
        if only is not None and name not in only:
            continue
        experiment = importlib.import_module(f"experiments.{name}").EXPERIMENT
        paths = experiment.draw(ds, out)
        print(f"{path} → " + ", ".join(str(p) for p in paths), flush=True)
    return failed


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.redraw:
        if args.quick or args.no_cache or args.scheduler or args.workers:
            print("python -m experiments.all: error: --redraw computes nothing: it takes only "
                  "--only and --out", file=sys.stderr)
            return 2
        return redraw(args.only, out=args.out)
    runs = [r for r in RUNS if args.only is None or r[1] in args.only]
    rows, failed = [], False
    start = time.perf_counter()
    try:
        with dask_executor(args) as executor:
            for label, module, extra in runs:
                print(f"\n=== {label} ===", flush=True)
                t0 = time.perf_counter()
                if (label, module, extra) in LM_RUNS and importlib.util.find_spec("torch") is None:
                    print("skipped: torch is not installed (pip install -e '.[lm]')", flush=True)
                    rows.append((label, "-", "-", 0.0, "skipped: needs torch (the lm extra)"))
                    continue
                experiment = importlib.import_module(f"experiments.{module}").EXPERIMENT
                try:
                    result = experiment.run(experiment_argv(args, extra), executor=executor)
                except ValueError as exc:
                    failed = True
                    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    print(f"python -m experiments.{module}: error: {message}", file=sys.stderr)
                    rows.append((label, "-", "-", time.perf_counter() - t0, f"FAILED: {message}"))
                    continue
                rows.append((label, len(result.stats.computed), len(result.stats.reused),
                             result.wall_s, result.headline))
    except ValueError as exc:                      # --scheduler unreachable, both flags, …
        print(f"python -m experiments.all: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    rows.append(("total", sum(r[1] for r in rows if isinstance(r[1], int)),
                 sum(r[2] for r in rows if isinstance(r[2], int)),
                 time.perf_counter() - start, ""))
    print("\n" + table(rows))
    if not args.quick and args.out is None:             # full default runs wrote results/
        from experiments import verdicts
        recs = verdicts.write()
        print(f"\n{verdicts.COMMAND}: {len(recs)} claims decided from results/; wrote "
              f"{verdicts.DOC}, {verdicts.JSON} and the generated blocks")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
