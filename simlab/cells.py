"""Evaluate cells of work — serially, on a process pool or on a Dask cluster — persisting each
finished cell as it completes, so that an interrupted run resumes with only the unfinished ones.

``run_cells(function, cells, store=..., executor=...)`` returns ``[function(c) for c in cells]``
(each an ``xarray.Dataset``), with three additions:

* **cache**: with a ``simlab.cache.CellStore``, a cell whose key (function name + the cell's
  resolved configuration + the hash of the code the cell can run, ``simlab.cache.code_hash_for``)
  is stored and passes its checksum (and fits the sizes the cell declares, ``cell.sizes()``) is
  loaded instead of computed; every computed cell is saved the moment its result arrives. Killing the process loses
  at most the cells in flight.
* **executors**: ``None`` or any ``map``-like callable ``executor(function, cells)`` returning
  results in order (the builtin ``map``: a serial loop); a ``concurrent.futures.Executor``; or a
  ``dask.distributed.Client`` (cells are submitted under their content keys and saved as they
  complete, in any order). The cell function must be a module-level function and the cells
  picklable for the last two; each worker reports the code hash it computed with, and a worker
  running other source code than this process is an error (its results would be stored under
  this code's keys).
* **honest progress**: warm-up calls (e.g. numba compiling its kernels, or loading them from its
  disk cache) run first, on their own progress bar and with their own timing — on every Dask
  worker via ``Client.run`` — so the per-cell bar's rate and ETA measure cells only.

The configuration of a cell is ``cell.config()`` if it has one, else the cell itself (plain data
such as a dict of arguments; objects inside with a ``config()`` method are resolved by it).
"""
from __future__ import annotations

import concurrent.futures
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from tqdm.auto import tqdm

from .cache import CellStore, code_hash_for, function_name


@dataclass
class CellStats:
    """What a run did: keys of the cells computed and reused, and where the time went (s)."""
    computed: list = field(default_factory=list)
    reused: list = field(default_factory=list)
    warmup_s: float = 0.0
    compute_s: float = 0.0
    stale_removed: int = 0

    @property
    def total(self) -> int:
        return len(self.computed) + len(self.reused)


def cell_config(cell) -> Any:
    """The configuration that identifies ``cell`` (its ``config()`` or the cell itself)."""
    config = getattr(cell, "config", None)
    return config() if callable(config) else cell


def cell_sizes(cell) -> dict | None:
    """The dims the result of ``cell`` must have (its ``sizes()``), or None if it declares none."""
    sizes = getattr(cell, "sizes", None)
    return sizes() if callable(sizes) else None


def is_dask_client(executor) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "submit")


def run_warmups(warmups: Sequence[tuple[Callable, tuple]]) -> int:
    """Call every ``(function, args)`` pair; returns how many ran (used on Dask workers too)."""
    for function, args in warmups:
        function(*args)
    return len(warmups)


def _warm_up(warmups, executor, progress: bool, label: str) -> float:
    """Run the warm-up calls (once per process that will compute cells) and time them."""
    start = time.perf_counter()
    if is_dask_client(executor):
        if progress:
            print(f"{label}: warm-up on every Dask worker ({len(warmups)} call(s))…",
                  file=sys.stderr, flush=True)
        executor.run(run_warmups, list(warmups))
    else:
        bar = tqdm(warmups, desc=f"{label}: warm-up (compile/load kernels)", unit="kernel",
                   file=sys.stderr, disable=not progress, leave=False)
        for function, args in bar:
            function(*args)
    elapsed = time.perf_counter() - start
    if progress:
        print(f"{label}: warm-up done in {elapsed:.1f} s", file=sys.stderr, flush=True)
    return elapsed


def remote_call(function: Callable, cell) -> tuple[Any, str]:
    """``(function(cell), the code hash of function where it ran)``: a worker on another machine
    or another checkout would otherwise store results of its code under this code's keys."""
    return function(cell), code_hash_for(function, cell)


def _checked(function, cell, pair) -> Any:
    result, remote = pair
    local = code_hash_for(function, cell)
    if remote != local:
        raise RuntimeError(f"a worker computed {function_name(function)} with different source "
                           f"code (hash {remote[:12]}…) than this process ({local[:12]}…); "
                           "install the same simlab checkout on every worker")
    return result


def _completed(function, todo: list[tuple[int, Any, str]], executor) -> Iterable[tuple[int, Any]]:
    """Yield (index, result) for every (index, cell, key) in ``todo`` as it finishes."""
    if executor is None:
        executor = map
    if is_dask_client(executor):
        from distributed import as_completed

        futures = executor.map(remote_call, [function] * len(todo), [cell for _, cell, _ in todo],
                               key=[f"simlab-cell-{key}" for _, _, key in todo], pure=False)
        where = {future.key: (index, cell) for future, (index, cell, _) in zip(futures, todo)}
        try:
            for future in as_completed(futures):
                index, cell = where[future.key]
                yield index, _checked(function, cell, future.result())
                future.release()
        finally:
            for future in futures:
                future.cancel()
    elif isinstance(executor, concurrent.futures.Executor):
        futures = {executor.submit(remote_call, function, cell): (index, cell)
                   for index, cell, _ in todo}
        try:
            for future in concurrent.futures.as_completed(futures):
                index, cell = futures[future]
                yield index, _checked(function, cell, future.result())
        finally:
            for future in futures:
                future.cancel()
    elif callable(executor):
        results = executor(function, (cell for _, cell, _ in todo))
        for (index, _, _), result in zip(todo, results):
            yield index, result
    else:
        raise TypeError(f"executor={executor!r} must be None, a map-like callable, a "
                        "concurrent.futures.Executor or a dask.distributed.Client")


def run_cells(function: Callable, cells: Sequence, *, store: CellStore | None = None,
              executor=None, reuse: bool = True, warmups: Sequence[tuple[Callable, tuple]] = (),
              progress: bool = True, label: str = "cells",
              stats: CellStats | None = None) -> list:
    """``[function(c) for c in cells]``, each loaded from / saved to ``store`` (see module doc).

    reuse: False recomputes every cell (and overwrites its stored copy).
    warmups: ``(function, args)`` calls run before the first computed cell (skipped when every
    cell is reused). stats: a ``CellStats`` to add this call's counts and timings to.
    """
    if executor is not None and not (callable(executor) or is_dask_client(executor)
                                     or isinstance(executor, concurrent.futures.Executor)):
        raise TypeError(f"executor={executor!r} must be None, a map-like callable, a "
                        "concurrent.futures.Executor or a dask.distributed.Client")
    stats = CellStats() if stats is None else stats
    cells = list(cells)
    name = function_name(function)
    configs = [cell_config(c) for c in cells]
    keys = [store.key(function, cfg, cell) if store is not None else None
            for cfg, cell in zip(configs, cells)]
    results: list = [None] * len(cells)
    todo = []
    if store is not None:
        stats.stale_removed += len(store.prepare())
    for i, (cell, key) in enumerate(zip(cells, keys)):
        found = store.load(key, cell_sizes(cell)) if (store is not None and reuse) else None
        if found is not None:
            results[i] = found
            stats.reused.append(key)
        else:
            todo.append((i, cell, key or f"{name}-{i}"))
    if not todo:
        return results
    if warmups:
        stats.warmup_s += _warm_up(warmups, executor, progress, label)
    todo_keys = {index: key for index, _, key in todo}
    start = time.perf_counter()
    bar = tqdm(total=len(todo), desc=label, unit="cell", file=sys.stderr, disable=not progress,
               leave=False, postfix=f"{len(cells) - len(todo)} reused" if store else None)
    try:
        for index, result in _completed(function, todo, executor):
            if store is not None:       # hand back what was stored: a computed cell and a
                store.save(keys[index], result, configs[index])         # reused one are alike
                result = store.load(keys[index])
            stats.computed.append(todo_keys[index])
            results[index] = result
            bar.update()
    finally:
        bar.close()
        stats.compute_s += time.perf_counter() - start
    return results
