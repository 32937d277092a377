"""Sweeps: a declarative grid of ``simulate`` calls, gathered into one labelled Dataset.

A ``Sweep`` is the grid  optimizer × hessian × batch_size × lr × seed  (steps, schedule,
sampling, record_every and backend shared by every cell). A *cell* is one
(optimizer, hessian, batch_size); each cell is ONE ``simlab.simulate`` call that runs its whole
lr × seed ensemble at once. ``Sweep.run()`` returns a single ``xarray.Dataset`` with dims

    optimizer, hessian, batch_size, lr_index, seed, step   (and ``dim`` for ``w_final``)

Optimizers may have lr grids of different lengths, so learning rates are indexed, not labelled:
the coordinate ``lr_value`` (optimizer, lr_index) holds each optimizer's peak learning rate η, and
grids shorter than the longest are NaN-padded (``lr_value``, ``loss`` and ``w_final`` are NaN
there, ``diverged`` is False). This is ``simlab.simulate``'s layout too (dim ``lr_index``,
coordinate ``lr_value`` (lr_index)), so ``lr_scores``, ``best_lr`` and ``select_lr`` take the
result of either. The "hessian" axis is simply the problem axis (any label, any problem).

Running: ``Sweep.run(executor=..., store=...)`` evaluates the cells with ``simlab.cells.run_cells``:
serially by default, or on a ``concurrent.futures`` executor or a ``dask.distributed.Client``
(``run_cell`` is a module-level function of a picklable ``Cell``), and — given a
``simlab.cache.CellStore`` — saves each cell as it finishes and loads the cells already stored, so
an interrupted sweep resumes with only its unfinished cells. A cell's key is its resolved
``simulate`` arguments (``Cell.config()``) plus the hash of simlab's source. With a compiled backend
the kernels are warmed up first (one tiny ``simulate`` per optimizer), on a progress line of their
own.

Learning-rate selection (``best_lr``): for each cell, the score of lr index l is a statistic over
seeds of the loss at one recorded step (default the final one); diverged runs have loss +inf
there (``simulate`` freezes them and records +inf), so they count as +inf, and NaN-padded grid
entries are never chosen. The default statistic is the median over seeds, as the reference
notebook of Orvieto & Gower 2025 (used by Srećković et al. 2025, Fig. 17); with the median an lr
whose runs diverge in more than half of the seeds scores +inf. Ties (including "every lr
diverged") go to the smallest lr index; ``all_diverged`` flags the latter.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from numbers import Real
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import xarray as xr
from . import _checks
from .backends import BACKENDS
from .cache import CellStore
from .cells import CellStats, run_cells
from .optim import Optimizer, lr_array
from .problems.base import SAMPLING_SCHEMES, Problem
from .schedules import Schedule, constant, record_steps
from .simulate import make_spec, simulate

#: Names of the statistics ``best_lr`` accepts, each a reduction over the seed axis.
STATISTICS = ("median", "mean", "log_mean")


@dataclass(frozen=True, eq=False)
class Cell:
    """Everything one ``simulate`` call of a sweep needs (picklable, for remote executors)."""
    optimizer_name: str
    hessian_name: str
    batch_size: int
    problem: Problem
    optimizer: Optimizer
    lrs: tuple
    kwargs: dict

    def config(self) -> dict:
        """The resolved ``simulate`` arguments of this cell (its cache key, with the code hash)."""
        return {"problem": self.problem.config(), "optimizer": self.optimizer.config(),
                "lrs": list(self.lrs), "batch_size": self.batch_size,
                **{k: (v or constant()).config() if k == "schedule" else v
                   for k, v in self.kwargs.items()}}

    def sizes(self) -> dict:
        """The dims of the Dataset this cell computes (``run_cells`` treats a stored cell of
        other sizes as corrupt)."""
        steps = record_steps(self.kwargs["steps"], self.kwargs.get("record_every", 1))
        return {"lr_index": len(self.lrs), "seed": int(self.kwargs["seeds"]), "step": len(steps)}


def run_cell(cell: Cell) -> xr.Dataset:
    """One cell of a sweep: ``simulate`` over the cell's lr × seed ensemble."""
    return simulate(cell.problem, cell.optimizer, list(cell.lrs), cell.batch_size, **cell.kwargs)


def warm_up_cell(cell: Cell) -> None:
    """A two-step, one-seed ``simulate`` with the cell's optimizer, problem and backend: compiles
    (or loads from numba's disk cache) the kernels the cell will use."""
    kwargs = {**cell.kwargs, "steps": 2, "seeds": 1, "record_every": 1}
    simulate(cell.problem, cell.optimizer, [cell.lrs[0]], cell.batch_size, **kwargs)


@dataclass(frozen=True, eq=False)
class Sweep:
    """The grid optimizers × problems ("hessian") × batch sizes × learning rates × seeds.

    problems: label → Problem (e.g. {"homogeneous": ..., "heterogeneous": ...}).
    optimizers: label → Optimizer.
    lrs: one lr grid for every optimizer, or label → grid (each a non-empty list of η ≥ 0).
    batch_sizes: B values, each valid for every problem under ``sampling``.
    steps, seeds, schedule, sampling, record_every, backend, seed, divergence_factor: passed to
    ``simulate`` unchanged for every cell (the same ``seed`` in every cell: common random numbers
    across learning rates, as ``simulate`` already does within a cell).
    """
    problems: Mapping[str, Problem]
    optimizers: Mapping[str, Optimizer]
    lrs: Sequence[float] | Mapping[str, Sequence[float]]
    batch_sizes: Sequence[int]
    steps: int
    seeds: int = 1
    schedule: Schedule | None = None
    sampling: str = "without_replacement"
    record_every: int = 1
    backend: str = "auto"
    seed: int = 0
    divergence_factor: float = 1e4
    lr_grids: dict = field(init=False, repr=False)

    def __post_init__(self):
        _non_empty_mapping("problems", self.problems, Problem)
        _non_empty_mapping("optimizers", self.optimizers, Optimizer)
        if isinstance(self.lrs, Mapping):
            missing = set(self.optimizers) - set(self.lrs)
            if missing:
                raise ValueError(f"lrs has no grid for optimizer(s) {sorted(missing)}; "
                                 f"allowed: one grid, or one per optimizer in {list(self.optimizers)}")
            grids = {name: _lr_grid(f"lrs[{name!r}]", self.lrs[name]) for name in self.optimizers}
        else:
            grid = _lr_grid("lrs", self.lrs)
            grids = {name: grid for name in self.optimizers}
        object.__setattr__(self, "lr_grids", grids)
        if isinstance(self.batch_sizes, (str, bytes)) or not isinstance(self.batch_sizes, Sequence):
            raise ValueError(f"batch_sizes={self.batch_sizes!r} must be a sequence of batch sizes")
        if len(self.batch_sizes) == 0:
            raise ValueError("batch_sizes=[] must hold at least one batch size")
        for b in self.batch_sizes:
            _checks.integer("batch_sizes", b, lo=1)
        if len(set(int(b) for b in self.batch_sizes)) != len(self.batch_sizes):
            raise ValueError(f"batch_sizes={list(self.batch_sizes)} has repeated values")
        _checks.integer("steps", self.steps, lo=1)
        _checks.integer("seeds", self.seeds, lo=1)
        _checks.choice("sampling", self.sampling, SAMPLING_SCHEMES)
        _checks.choice("backend", self.backend, BACKENDS)

    # -- the grid ---------------------------------------------------------------------------

    def _kwargs(self) -> dict:
        return {"steps": self.steps, "seeds": self.seeds, "schedule": self.schedule,
                "sampling": self.sampling, "record_every": self.record_every,
                "backend": self.backend, "seed": self.seed,
                "divergence_factor": self.divergence_factor}

    def cells(self) -> list[Cell]:
        """Every (optimizer, hessian, batch_size) cell, in row-major order of those dims."""
        kwargs = self._kwargs()
        return [Cell(o, h, int(b), self.problems[h], self.optimizers[o],
                     tuple(float(x) for x in self.lr_grids[o]), kwargs)
                for o in self.optimizers for h in self.problems for b in self.batch_sizes]

    def validate(self) -> None:
        """Resolve every cell's ``simulate`` arguments (cheap); raises the first ValueError."""
        kwargs = {k: v for k, v in self._kwargs().items() if k != "backend"}
        for cell in self.cells():
            make_spec(cell.problem, cell.optimizer, list(cell.lrs), cell.batch_size, **kwargs)

    def config(self) -> dict:
        """The resolved sweep as plain data (for cache keys and the results' attributes)."""
        return {
            "problems": {k: p.config() for k, p in self.problems.items()},
            "optimizers": {k: o.config() for k, o in self.optimizers.items()},
            "lrs": {k: g.tolist() for k, g in self.lr_grids.items()},
            "batch_sizes": [int(b) for b in self.batch_sizes], "steps": int(self.steps),
            "seeds": int(self.seeds), "schedule": (self.schedule or constant()).config(),
            "sampling": self.sampling, "record_every": int(self.record_every),
            "backend": self.backend, "seed": int(self.seed),
            "divergence_factor": float(self.divergence_factor),
        }

    # -- running ------------------------------------------------------------------------------

    def warmups(self) -> list[tuple]:
        """One ``warm_up_cell`` call per distinct (optimizer, problem noise kind), for compiled
        backends; none for the numpy reference."""
        if self.backend == "numpy":
            return []
        seen, out = set(), []
        for cell in self.cells():
            kind = (cell.optimizer_name, cell.problem.noise)
            if kind not in seen:
                seen.add(kind)
                out.append((warm_up_cell, (cell,)))
        return out

    def run(self, executor=None, progress: bool = True, store: CellStore | None = None,
            reuse: bool = True, stats: CellStats | None = None,
            label: str = "sweep cells") -> xr.Dataset:
        """Validate every cell, evaluate them (see the module docstring) and gather one Dataset.

        executor: None (serial), a map-like callable, a ``concurrent.futures.Executor`` or a
        ``dask.distributed.Client``. store: a ``CellStore`` to resume from and save to; reuse:
        False recomputes stored cells; stats: a ``CellStats`` that receives the counts."""
        self.validate()
        cells = self.cells()
        results = run_cells(run_cell, cells, store=store, executor=executor, reuse=reuse,
                            warmups=self.warmups(), progress=progress, label=label,
                            stats=stats)
        return self._gather(cells, results)

    def _gather(self, cells: list[Cell], results: list[xr.Dataset]) -> xr.Dataset:
        opt_names, hess_names = list(self.optimizers), list(self.problems)
        batch_sizes = [int(b) for b in self.batch_sizes]
        n_lr = max(len(g) for g in self.lr_grids.values())
        first = results[0]
        n_seed, n_rec, dim = first.sizes["seed"], first.sizes["step"], first.sizes["dim"]
        shape = (len(opt_names), len(hess_names), len(batch_sizes), n_lr, n_seed)
        loss = np.full(shape + (n_rec,), np.nan)
        w_final = np.full(shape + (dim,), np.nan)
        diverged = np.zeros(shape, dtype=bool)
        diverged_step = np.full(shape, -1, dtype=np.int64)
        for cell, res in zip(cells, results):
            at = (opt_names.index(cell.optimizer_name), hess_names.index(cell.hessian_name),
                  batch_sizes.index(cell.batch_size), slice(0, len(cell.lrs)))
            loss[at] = res["loss"].values
            w_final[at] = res["w_final"].values
            diverged[at] = res["diverged"].values
            diverged_step[at] = res["diverged_step"].values
        lr_value = np.full((len(opt_names), n_lr), np.nan)
        for i, name in enumerate(opt_names):
            lr_value[i, :len(self.lr_grids[name])] = self.lr_grids[name]
        dims = ("optimizer", "hessian", "batch_size", "lr_index", "seed")
        return xr.Dataset(
            {
                "loss": (dims + ("step",), loss),
                "diverged": (dims, diverged),
                "diverged_step": (dims, diverged_step),
                "w_final": (dims + ("dim",), w_final),
            },
            coords={"optimizer": opt_names, "hessian": hess_names, "batch_size": batch_sizes,
                    "lr_index": np.arange(n_lr), "lr_value": (("optimizer", "lr_index"), lr_value),
                    "seed": first["seed"].values,
                    "step": first["step"].values},
            attrs={"sweep": json.dumps(self.config(), sort_keys=True),
                   "optimizer_labels": json.dumps({k: o.label for k, o in self.optimizers.items()})},
        )


def _lr_grid(name: str, values) -> np.ndarray:
    """A non-empty grid of real learning rates (each checked by ``optim.lr_array``)."""
    items = list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values]
    if not items:
        raise ValueError(f"{name}={values!r} must hold at least one learning rate")
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (Real, np.number)):
            raise ValueError(f"{name}={v!r} must be a real number (a learning rate η ≥ 0)")
    return lr_array(items if isinstance(values, (list, tuple, np.ndarray)) else values, name)


def _non_empty_mapping(name: str, value, kind) -> None:
    if not isinstance(value, Mapping) or len(value) == 0:
        raise ValueError(f"{name}={value!r} must be a non-empty mapping label → {kind.__name__}")
    for label, item in value.items():
        if not isinstance(item, kind):
            raise ValueError(f"{name}[{label!r}]={item!r} must be a {kind.__name__}")


# ------------------------------------------------------------------------------------------------
# Learning-rate selection
# ------------------------------------------------------------------------------------------------

def _reduce(values: np.ndarray, statistic, axis: int) -> np.ndarray:
    if callable(statistic):
        return np.asarray(statistic(values, axis=axis), dtype=float)
    if statistic == "median":
        return np.median(values, axis=axis)
    if statistic == "mean":
        return np.mean(values, axis=axis)
    with np.errstate(divide="ignore"):                 # log_mean: geometric mean, in log space
        return np.mean(np.log(np.maximum(values, 0.0)), axis=axis)


def lr_scores(ds: xr.Dataset, statistic="median", step: int = -1) -> xr.DataArray:
    """Score of every lr index: ``statistic`` over seeds of the loss at record ``step`` (position,
    default the last); diverged runs count as +inf, NaN-padded lr entries score NaN."""
    if not (callable(statistic) or statistic in STATISTICS):
        raise ValueError(f"statistic={statistic!r} is not one of {', '.join(map(repr, STATISTICS))} "
                         "or a callable(values, axis)")
    n_rec = ds.sizes["step"]
    step = _checks.integer("step", step, lo=-n_rec, hi=n_rec - 1)
    final = ds["loss"].isel(step=step)
    padded = np.isnan(ds["lr_value"].broadcast_like(final).transpose(*final.dims).values)
    diverged = ds["diverged"].broadcast_like(final).transpose(*final.dims).values
    values = np.where(diverged | np.isnan(final.values), np.inf, final.values)
    axis = final.dims.index("seed")
    with np.errstate(invalid="ignore"):
        score = _reduce(values, statistic, axis)
    score = np.where(np.take(padded, 0, axis=axis), np.nan, score)
    dims = tuple(d for d in final.dims if d != "seed")
    coords = {d: final[d] for d in dims if d in final.coords}
    return xr.DataArray(score, dims=dims, coords=coords, name="lr_score")


def best_lr(ds: xr.Dataset, statistic="median", step: int = -1) -> xr.Dataset:
    """The best learning rate of every remaining cell (see the module docstring for the rule).

    Returns a Dataset over the dims of ``ds`` other than lr_index/seed/step/dim with
    ``lr_index`` (int), ``lr`` (its value η), ``score`` and ``all_diverged`` (every lr scored +inf).
    Select a subset first to tune there only, e.g. the paper protocol of Srećković et al.:
    ``best_lr(ds.sel(hessian="homogeneous", batch_size=1))`` and then ``select_lr(ds, ...)``.
    """
    score = lr_scores(ds, statistic, step)
    axis = score.dims.index("lr_index")
    filled = np.where(np.isnan(score.values), np.inf, score.values)
    index = np.argmin(filled, axis=axis)                # first minimum: ties → smallest lr index
    all_div = np.all(np.isposinf(filled), axis=axis)
    dims = tuple(d for d in score.dims if d != "lr_index")
    coords = {d: score[d] for d in dims if d in score.coords}
    index_da = xr.DataArray(index, dims=dims, coords=coords)
    lr_value = ds["lr_value"].isel(lr_index=index_da)
    best_score = score.isel(lr_index=index_da)
    return xr.Dataset({"lr_index": index_da, "lr": lr_value.drop_vars("lr_index", errors="ignore"),
                       "score": best_score.drop_vars("lr_index", errors="ignore"),
                       "all_diverged": xr.DataArray(all_div, dims=dims, coords=coords)})


def select_lr(ds: xr.Dataset, lr_index) -> xr.Dataset:
    """``ds`` at one lr index per cell: ``lr_index`` is an int or a DataArray over some of the
    cell dims (e.g. ``best_lr(...).lr_index``), broadcast over the others. Adds ``lr`` (η)."""
    if not isinstance(lr_index, xr.DataArray):
        lr_index = xr.DataArray(_checks.integer("lr_index", lr_index, lo=0,
                                                hi=ds.sizes["lr_index"] - 1))
    index = lr_index.drop_vars([c for c in lr_index.coords if c not in lr_index.dims])
    out = ds.isel(lr_index=index)
    out = out.assign(lr=out["lr_value"]).drop_vars("lr_value")
    return out.drop_vars("lr_index", errors="ignore")
