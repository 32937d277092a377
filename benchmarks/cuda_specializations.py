"""The CUDA kernel specializations the experiments launch, found by running them (not by hand).

    python benchmarks/cuda_specializations.py [--quick] [--only NAME ...]

A kernel is compiled per type signature of its arguments — the problem record, the dynamics record
(an optimizer's chain of transform records, or an SDE's), the plan and batching records — and per
layout (``cuda_backend.resolve_layout``: a block per run for data problems from d = 32 on). To know
which of them ``--backend cuda`` launches, every toy experiment of ``experiments.all.RUNS`` is
resolved with ``--backend cuda`` (its default, full-size configuration; ``--quick`` its quick one)
and its ``compute`` is run with ``cuda_backend.run`` replaced by a recorder: each ``RunSpec``
is noted under its (signature, layout) and answered with a placeholder result — every run still
at its start point, its loss falling from L(w0) to 10⁻⁶ L(w0) over the steps, none diverged —
so nothing is simulated. ``--seeds`` runs fewer seeds than the experiment's default (the same
kernels; less analysis of placeholder results, which dominates the time). The LM experiments run
torch, not these kernels.

``launched()`` returns one small representative spec per specialization (one lr, one seed, two
records: the types, not the sizes, decide what is compiled); ``tests/test_cuda_compile.py``
compiles each of them for sm_80 and sm_90 in float64 and float32.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclasses.dataclass
class Specialization:
    label: str              # "problem record / dynamics record [chain] / layout"
    layout: str
    spec: object            # a small RunSpec of this signature
    experiments: set        # which experiments launch it
    launches: int = 0       # how many RunSpecs of it the experiments asked for


def _signature(spec, layout):
    from numba import typeof

    from simlab.backends.kernel_inputs import kernel_records
    P, D, plan, batching, _ = kernel_records(spec)
    return (typeof(P), typeof(D), typeof(plan), typeof(batching), layout)


def _label(spec, layout) -> str:
    from simlab.backends.cuda_compile import kernel_key
    from simlab.backends.kernel_inputs import kernel_records
    P, D, *_ = kernel_records(spec)
    problem, dynamics, chain = kernel_key(P, D)
    rule = f"[{'+'.join(c.__name__ for c in chain)}]" if chain is not None else ""
    return f"{problem.__name__} / {dynamics.__name__}{rule} / {layout}"


def small(spec):
    """``spec`` cut to one lr, one seed and two records (the same kernel signature)."""
    one = (slice(0, 1), slice(0, 1))
    given = None if spec.batch_indices is None else spec.batch_indices[:, :1]
    return dataclasses.replace(spec, lrs=spec.lrs[:1], keys=spec.keys[:1], batch_indices=given,
                               init_w=spec.init_w[one], init_state=spec.init_state[one],
                               init_diverged_step=spec.init_diverged_step[one],
                               record_steps=spec.record_steps[:2])


def _placeholder(spec):
    from simlab.backends.spec import RawResult
    n_lr, n_seed = spec.shape
    start = float(spec.problem.loss(np.asarray(spec.problem.w0, dtype=float)))
    progress = (spec.record_steps - spec.start_step) / max(spec.steps, 1)
    loss = start * 10.0 ** (-6.0 * progress)                 # 10⁻⁶ L(w0) at the last step
    return RawResult(np.broadcast_to(loss, (n_lr, n_seed, loss.shape[0])).copy(),
                     np.full((n_lr, n_seed), -1, dtype=np.int64),
                     np.array(spec.init_w, dtype=float), np.array(spec.init_state, dtype=float))


def toy_runs(only=None) -> list:
    """(label, module, flags) of the toy experiments (``experiments.all.RUNS``)."""
    from experiments.all import RUNS
    return [run for run in RUNS if not only or run[1] in only]


def launched(quick: bool = False, seeds: int | None = None, only=None,
             verbose: bool = False) -> list[Specialization]:
    """The specializations ``--backend cuda`` launches in the toy experiments (module doc);
    ``seeds``: run each experiment with ``--seeds`` this many (fewer seeds, the same kernels,
    less analysis of the placeholder results)."""
    from experiments._harness import Cells
    from simlab.backends import cuda_backend
    found: dict = {}
    current = {"name": ""}

    def record(spec, dtype="float64", layout="auto"):
        layout = cuda_backend.resolve_layout(spec, layout)
        key = _signature(spec, layout)
        if key not in found:
            found[key] = Specialization(_label(spec, layout), layout, small(spec), set())
        found[key].experiments.add(current["name"])
        found[key].launches += 1
        return _placeholder(spec)

    original = cuda_backend.run
    cuda_backend.run = record
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for label, module_name, flags in toy_runs(only):
                module = importlib.import_module(f"experiments.{module_name}")
                experiment = module.EXPERIMENT
                if experiment.backend is None:
                    continue
                current["name"] = label
                argv = ["--backend", "cuda", "--no-cache", "--out", scratch] + list(flags)
                argv += ["--quick"] if quick else []
                argv += ["--seeds", str(seeds)] if seeds and experiment.seeds else []
                args = experiment.parse(argv)
                config = experiment.resolve(args)
                cells = Cells(store=None, reuse=False, progress=False, label=label)
                sink = io.StringIO()
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    experiment.compute(config, cells)
                if verbose:
                    print(f"{label}: {sum(label in s.experiments for s in found.values())} "
                          "specializations", flush=True)
    finally:
        cuda_backend.run = original
    return sorted(found.values(), key=lambda s: s.label)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the experiments' quick configs")
    parser.add_argument("--seeds", type=int, help="seeds per experiment (default: its own)")
    parser.add_argument("--only", nargs="*", help="experiment modules (default: every toy)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    specs = launched(args.quick, args.seeds, args.only, verbose=True)
    print(f"| specialization | d | launches | experiments |\n|---|---|---|---|")
    for s in specs:
        print(f"| {s.label} | {s.spec.dim} | {s.launches} | {', '.join(sorted(s.experiments))} |")
    print(f"{len(specs)} specializations, {sum(s.launches for s in specs)} launches; derived in "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
