"""The experiment harness: every experiment is  config → compute (Dataset) → report → plot.

An experiment module declares one ``Experiment`` and the one entry-point idiom::

    EXPERIMENT = Experiment(name="surge", description=__doc__, resolve=resolve,
                            compute=compute, report=report, plot=plot, headline=headline,
                            seeds=(300, 64), backend="numpy")

    def main(argv=None) -> int:
        return EXPERIMENT.main(argv)

    if __name__ == "__main__":
        raise SystemExit(main())

* ``resolve(args) -> dict``: every setting that determines the results, validated (a ValueError
  naming the argument). Cheap: it runs before anything is computed.
* ``compute(config, cells) -> xarray.Dataset``: the results. All expensive work goes through
  ``cells.map(function, cells)`` / ``cells.sweep(sweep)``, which cache every cell (content key =
  cell configuration + code hash), resume after an interruption and fan out to Dask.
* ``report(ds) -> str`` and ``plot(ds, out_dir) -> [paths]``: read only the Dataset — the one
  read back from the bytes written to ``OUT/<stem>.nc`` — so every number printed or drawn is in
  that file (and a second run writing into the same ``--out`` cannot swap its results in).
* ``headline(ds) -> str``: the few numbers that ``python -m experiments.all`` puts in its table.

``Experiment.run(argv)`` does, in order: parse the flags (usage error → one line, exit 2);
resolve the config; check that the output and cache folders are writable (one-line error, exit 2,
before any work); connect to Dask if asked; compute (cells reused/computed are counted); save
``OUT/<stem>.nc`` atomically; read back the bytes it wrote; print one status line, the report and
the figure paths.
A full default run writes ``results/<stem>.nc`` and its figures to ``figures/`` (each PNG records
the checksum of the results it was drawn from); ``--out DIR`` puts both in DIR; ``--quick`` writes
both to ``figures/_quick/`` by default and refuses the committed ``figures/``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import xarray as xr

from experiments import _timing
from experiments._cli import (FIGURES, QUICK_FIGURES, RESULTS, Parser, checked_scheduler,
                             resolved_seeds, standard_parser)
from simlab.backends import require_backend
from simlab.cache import CellStore, check_writable, config_key, export_dataset
from simlab.cells import CellStats, run_cells
from simlab.plotting import results_stamp

REPO_FIGURES = Path(__file__).resolve().parents[1] / "figures"


@dataclass
class Cells:
    """What ``compute`` runs its expensive work through (see ``simlab.cells.run_cells``)."""
    store: CellStore | None
    executor: Any = None
    reuse: bool = True
    progress: bool = True
    label: str = "cells"
    stats: CellStats = field(default_factory=CellStats)

    def map(self, function: Callable, cells: Sequence, warmups: Sequence = (),
            label: str | None = None) -> list:
        """``[function(c) for c in cells]``, each cell cached, resumable and maybe on Dask."""
        return run_cells(function, cells, store=self.store, executor=self.executor,
                         reuse=self.reuse, warmups=warmups, progress=self.progress,
                         label=f"{self.label}: {label}" if label else self.label,
                         stats=self.stats)

    def sweep(self, sweep) -> xr.Dataset:
        """``sweep.run`` with this store, executor and counters."""
        return sweep.run(executor=self.executor, store=self.store, reuse=self.reuse,
                         progress=self.progress, stats=self.stats,
                         label=f"{self.label}: sweep cells")


@dataclass
class RunResult:
    """One experiment run: its Dataset (as read back from the bytes written), config and cost."""
    name: str
    config: dict
    dataset: xr.Dataset
    stats: CellStats
    wall_s: float
    results_path: Path
    figures: list
    headline: str

    @property
    def cached(self) -> bool:
        """Every cell came from the cache (nothing was computed)."""
        return not self.stats.computed


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    resolve: Callable[[argparse.Namespace], dict]
    compute: Callable[[dict, Cells], xr.Dataset]
    report: Callable[[xr.Dataset], str]
    plot: Callable[[xr.Dataset, Path], list]
    headline: Callable[[xr.Dataset], str]
    seeds: tuple[int, int] | None = None          # (full default, --quick default); None: no flag
    backend: str | None = None                    # default backend; None: no --backend flag
    arguments: Callable[[Parser], None] | None = None
    stem: Callable[[dict], str] | None = None     # results/figure name from the config

    # -- command line ---------------------------------------------------------------------------

    def parser(self) -> Parser:
        parser = standard_parser(self.name, self.description, seeds=self.seeds,
                                 backend=self.backend)
        if self.arguments is not None:
            self.arguments(parser)
        return parser

    def parse(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        """Flags → Namespace with ``seeds`` and ``out`` resolved to their real defaults."""
        args = self.parser().parse_args(argv)
        checked_scheduler(args.scheduler, args.allow_remote)          # before any work
        if self.seeds is not None:
            args.seeds = resolved_seeds(args)
        args.results = results_folder(args.out, args.quick)
        args.out = out_folder(args.out, args.quick)
        args.cache_dir = args.cache_dir if args.cache_dir is not None else args.out / ".cache"
        return args

    def main(self, argv: Sequence[str] | None = None) -> int:
        """The entry point: 0 on success, 2 (one line on stderr) on a bad input. Draws with Agg
        (files only), whatever backend matplotlib would pick."""
        import matplotlib
        matplotlib.use("Agg")
        try:
            self.run(argv)
        except ValueError as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"python -m experiments.{self.name}: error: {message}", file=sys.stderr)
            return 2
        return 0

    # -- running --------------------------------------------------------------------------------

    def run(self, argv: Sequence[str] | None = None, executor=None,
            progress: bool = True) -> RunResult:
        """Parse, resolve, check, compute (cached per cell), save, reload, report and plot.
        ``executor`` overrides --scheduler/--workers (``experiments.all`` shares one)."""
        start, started, load_start = time.perf_counter(), time.time(), _timing.load_average()
        cpu_start = _timing.cpu_seconds()          # experiments.all runs several in one process
        args = self.parse(argv)
        config = self.resolve(args)
        stem = self.stem(config) if self.stem else self.name
        if self.backend is not None and getattr(args, "backend", None) is not None:
            require_backend(args.backend)
        check_writable(args.out, "out")
        check_writable(args.results, "results")
        store = CellStore(args.cache_dir)
        store.prepare()
        jobs = getattr(args, "jobs", None) or config.get("jobs")     # before compute takes it out
        with dask_executor(args, executor) as chosen:
            cells = Cells(store=store, executor=chosen, reuse=not args.no_cache,
                          progress=progress, label=self.name)
            ds = self.compute(config, cells)
        ds.attrs.update({"experiment": self.name, "stem": stem, "quick": int(bool(args.quick)),
                         "config": json.dumps(config, sort_keys=True)})
        path, stored = export_dataset(ds, args.results / f"{stem}.nc",
                                      key=config_key({"experiment": self.name, "config": config,
                                                      "cells": sorted(cells.stats.computed
                                                                      + cells.stats.reused)}))
        print(status_line(cells.stats, path))
        print(self.report(stored))
        figures = self.draw(stored, args.out)
        print("figures: " + ", ".join(str(p) for p in figures))
        wall = time.perf_counter() - start
        if not args.quick:
            _timing.record(args.results, stem, wall_s=wall, compute_s=cells.stats.compute_s,
                           computed=len(cells.stats.computed), reused=len(cells.stats.reused),
                           jobs=jobs, cpu_s=_timing.cpu_seconds() - cpu_start,
                           load_start=load_start, started=started)
        return RunResult(self.name, config, stored, cells.stats, wall,
                         path, list(figures), self.headline(stored))

    def draw(self, ds: xr.Dataset, out: Path) -> list:
        """``plot(ds, out)`` with every PNG stamped with the results file it is drawn from
        (``simlab.plotting.results_stamp``: its stem and checksum)."""
        with results_stamp(ds.attrs.get("stem", self.name), ds.attrs.get("checksum", "")):
            return list(self.plot(ds, out))


def out_folder(out: Path | None, quick: bool) -> Path:
    """The output folder: as given, else figures/ (full) or figures/_quick/ (--quick); a quick
    run may not write over the committed full-run figures."""
    if out is None:
        return QUICK_FIGURES if quick else FIGURES
    if quick and Path(out).resolve() == REPO_FIGURES:
        raise ValueError(f"out={str(out)!r} holds the committed full-run figures; --quick writes "
                         f"to a scratch folder (default {QUICK_FIGURES}/)")
    return Path(out)


def results_folder(out: Path | None, quick: bool) -> Path:
    """Where the results file goes: results/ for a full default run (shipped, read by
    ``experiments.verdicts`` and ``experiments.all --redraw``), else the output folder."""
    return RESULTS if out is None and not quick else out_folder(out, quick)


def status_line(stats: CellStats, path: Path) -> str:
    """One line: cells computed / reused and where the time went."""
    if stats.total and not stats.computed:
        return (f"cache hit: all {stats.total} cells loaded from cache (cached), 0 computed; "
                f"results in {path}")
    parts = [f"computed {len(stats.computed)} cells in {stats.compute_s:.1f} s"]
    if stats.warmup_s:
        parts.append(f"warm-up {stats.warmup_s:.1f} s")
    if stats.reused:
        parts.append(f"{len(stats.reused)} loaded from cache (resumed)")
    if stats.stale_removed:
        parts.append(f"{stats.stale_removed} stale temporary files removed")
    return "; ".join(parts) + f"; results in {path}"


@contextmanager
def dask_executor(args, given=None):
    """The executor for ``--scheduler ADDRESS`` / ``--workers N`` (a Dask client, closed on exit),
    ``given`` if not None, else None (serial)."""
    if given is not None:
        yield given
        return
    scheduler = checked_scheduler(getattr(args, "scheduler", None),
                                  getattr(args, "allow_remote", False))
    workers = getattr(args, "workers", None)
    if scheduler is None and workers is None:
        yield None
        return
    if scheduler is not None and workers is not None:
        raise ValueError(f"scheduler={scheduler!r} and workers={workers} exclude each other: "
                         "use --scheduler for an existing cluster or --workers for a local one")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("--scheduler/--workers need dask.distributed, which is not installed: "
                         "pip install 'simlab[dist]'") from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ValueError(f"scheduler={scheduler!r} cannot be reached: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                             ) from None
        cluster = None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                               silence_logs=40)
        client = Client(cluster)
    try:
        yield client
    except ValueError:
        raise
    except Exception as exc:        # a worker that fails, runs other code or replies nonsense
        where = f"scheduler={scheduler!r}" if scheduler is not None else f"workers={workers}"
        raise ValueError(f"{where}: the run on the Dask cluster failed: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
