"""The numba backend's lockstep layout: ``lockstep.run_block`` compiled for the CPU, L runs per block.

``numba_layouts.run(spec, layout=…)`` chooses between this layout and the per-run one
(``resolve_layout``; where ``auto`` takes the lockstep layout was measured: ``AUTO_REGION``).
The engine source is ``lockstep.py``; what is added here is compile-time dispatch for its generic
functions (``lockstep.GENERIC``), in the manner of ``numba_backend``'s overloads of ``kernel_ops``:

* ``lanes_step`` → ``lanes_optimizer_step`` for an optimizer's record (``per_run.Discrete``),
  ``lanes_each_step`` for every other dynamics;
* ``lane_chain_update`` → the chain unrolled for its tuple of record types (``lockstep.lane_chain``);
* ``store_scalars`` / ``load_scalars`` → straight-line code for the *type* of a chain's nested
  tuple of per-step scalars (which numbers go to which row of the flat (n_scalars, L) table).

Every scalar function is compiled by ``numba_backend.compiled`` (inlined, no reference counting),
so the lane loop of the chain is one loop LLVM vectorizes (checked by the tests: the assembly has
packed ``vsqrtpd``/``vdivpd``).
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba.core import types as nbtypes
from numba.core.errors import TypingError
from numba.extending import overload

from .. import _checks, transforms
from . import _numba_cache, lockstep
from .kernel_inputs import kernel_records
from .lockstep import Lanes
from .numba_backend import (INLINED, JIT, _chain, _problem, _record_class, compiled, inputs,
                            new_scratch, result, spread)
from .per_run import BATCH_EPOCH, Discrete

LAYOUTS = ("auto", "per_run", "lockstep")

#: ``layout="auto"``: the (d, B) where the lockstep layout (L = ``DEFAULT_LANES``, the lane fast
#: path) runs faster than per run — (largest d, largest B) pairs. Measured for Adam on data
#: quadratics with ``benchmarks/lockstep_region.py`` (results/benchmarks/lockstep_region.md, shown
#: in docs/backends.md): lockstep wins at d ≤ 8 for every B < n, at d ≤ 12 up to B = 8 and at
#: d = 16 at B = 1; elsewhere the per-run layout vectorizes its own coordinate loops (d ≥ 16) or
#: the rows dominate, and lockstep is slower.
AUTO_REGION = ((8, math.inf), (12, 8), (16, 1))
#: The lane fast path (each sampled row copied once per lane into a lane-minor buffer, the dot
#: products and the update with the lanes innermost) computes the gradients where B = 1, d ≤
#: ``TOGETHER_MAX_DIM`` or B·d ≤ ``TOGETHER_MAX_ROW_FLOATS``; every lane computes its own elsewhere
#: (``run``'s ``together``). Measured in the same table: the fast path is the faster of the two
#: at every (d, B) it covers and the slower at every one it leaves out (d = 12, B = 64 a tie).
TOGETHER_MAX_DIM = 12
TOGETHER_MAX_ROW_FLOATS = 128
#: ``layout="auto"`` takes the lockstep layout only for a call of at least this many run-steps
#: (runs × steps): a lockstep kernel is a second compile of its specialization (≈ 10 s on a quiet
#: core, once per code version: numba's disk cache keeps it), and at the measured ≈ 2× (toy,
#: B = 1; per run ≈ 1.5e7 run-steps/s on a quiet core) it saves run-steps/(2·rate) seconds, so it
#: pays for its first compile from ≈ 3e8 run-steps. 1e8 is a call of ≥ 7 s per run: below it the
#: per-run kernel, which every numba call compiles anyway, is the faster first answer. (The
#: experiments' sweep cells are 1e4–1e6 run-steps each and the benchmarks' calls 2e6: they stay
#: per run; a user's million-run ensembles take the lanes.)
AUTO_MIN_RUN_STEPS = 10 ** 8
#: The lanes a block holds when the lockstep layout is asked for without ``lanes`` or chosen by
#: ``auto`` (in the region table L = 32 is the fastest of 16, 32, 64 or within a few percent of
#: it wherever lockstep wins; L = 16 is slower at B ≥ 8).
DEFAULT_LANES = 32
MAX_LANES = 1024


def rows_together(dim: int, batch_size: int) -> bool:
    """Whether the lane fast path computes the gradients at this (d, B) (``TOGETHER_MAX_DIM``)."""
    return (batch_size == 1 or dim <= TOGETHER_MAX_DIM
            or batch_size * dim <= TOGETHER_MAX_ROW_FLOATS)


def in_auto_region(dim: int, batch_size: int) -> bool:
    """Whether (d, B) lies in ``AUTO_REGION``."""
    return any(dim <= d_max and batch_size <= b_max for d_max, b_max in AUTO_REGION)


def auto_lanes(spec, min_run_steps: int | None = None) -> int:
    """L for ``spec`` under ``layout="auto"`` (1: per run): ``DEFAULT_LANES`` for an optimizer
    whose gradients the lane fast path computes (``lockstep.lane_path_applies``, the kernel's own
    test, on the spec's records) at a (d, B) of
    ``AUTO_REGION``, with at least as many runs as lanes, in a call of at least ``min_run_steps``
    run-steps (default ``AUTO_MIN_RUN_STEPS``: below it the extra compile would not pay); per run
    otherwise — adaptive momentum clipping and the SDE models have nothing to vectorize, and
    lane-by-lane gradients (Gaussian-noise problems, micro-batches, counted rows) vectorize only
    the chain: the region table's "each" columns, within a few percent of per run at d ≤ 9 and
    slower from d = 12 on."""
    if min_run_steps is None:
        min_run_steps = AUTO_MIN_RUN_STEPS
    dynamics = spec.dynamics
    if not hasattr(dynamics, "chain") or getattr(dynamics, "clip_fraction", 0.0) > 0.0:
        return 1
    if not in_auto_region(spec.dim, spec.batch_size):
        return 1
    P, D, _, batching, _ = kernel_records(spec)
    if not lockstep.lane_path_applies(P, D, batching):
        return 1
    n_runs = spec.shape[0] * spec.shape[1]
    if n_runs * spec.steps < min_run_steps or n_runs < DEFAULT_LANES:
        return 1
    return DEFAULT_LANES


def resolve_layout(spec, layout: str, lanes) -> int:
    """The lanes per block for ``layout`` ("auto", "per_run" or "lockstep") and ``lanes``; 1 means
    the per-run layout. ValueError for a layout or lane count outside the allowed ones."""
    _checks.choice("layout", layout, LAYOUTS)
    if lanes is not None:
        if layout != "lockstep":
            raise ValueError(f"lanes={lanes!r} applies to layout='lockstep' only, got "
                             f"layout={layout!r}")
        return _checks.integer("lanes", lanes, lo=1, hi=MAX_LANES)
    if layout == "per_run":
        return 1
    if layout == "lockstep":
        return DEFAULT_LANES
    return auto_lanes(spec)


# ------------------------------------------------------------------------------------------------
# Dispatch on record types (compile time)
# ------------------------------------------------------------------------------------------------

@overload(lockstep.lanes_step, jit_options=INLINED)
def _ov_lanes_step(D, P, batching, plan, k, lanes, scratch):
    cls = _record_class(D, "dynamics")
    fn = compiled(lockstep.lanes_optimizer_step if cls is Discrete else lockstep.lanes_each_step)
    return (lambda D, P, batching, plan, k, lanes, scratch:
            fn(D, P, batching, plan, k, lanes, scratch))


@overload(lockstep.lane_chain_update, jit_options=INLINED)
def _ov_lane_chain_update(chain, s, u, gsq, w, state, i, l, live):
    _chain(chain)                           # the same checks of the chain's record types
    fn = compiled(lockstep.lane_chain(tuple(_record_class(ty, "transform")
                                            for ty in chain.types)))
    return (lambda chain, s, u, gsq, w, state, i, l, live:
            fn(chain, s, u, gsq, w, state, i, l, live))


@overload(lockstep.problem_has_lane_gradients, jit_options=INLINED)
def _ov_problem_has_lane_gradients(P):
    if _problem(P).add_lane_sample_gradients is not None:
        return lambda P: True
    return lambda P: False


@overload(lockstep.problem_add_lane_sample_gradients, jit_options=INLINED)
def _ov_problem_add_lane_sample_gradients(P, w, idx, start, stop, out, dots, rows):
    fn = _problem(P).add_lane_sample_gradients
    if fn is None:
        return lambda P, w, idx, start, stop, out, dots, rows: None     # never called (the flag)
    fn = compiled(fn)
    return (lambda P, w, idx, start, stop, out, dots, rows:
            fn(P, w, idx, start, stop, out, dots, rows))


def _leaves(ty, path):
    """The access paths (``s[0][1]`` …) of the numbers of a nested tuple type, depth first."""
    if isinstance(ty, nbtypes.BaseTuple):
        return [leaf for j, item in enumerate(ty.types) for leaf in _leaves(item, f"{path}[{j}]")]
    if not isinstance(ty, nbtypes.Float):
        raise TypingError(f"a per-step scalar of a transform must be a float, got {ty}")
    return [path]


def _shape(ty, counter):
    """Source of a nested tuple of type ``ty`` whose numbers are scalars[c, l], c counting up."""
    if isinstance(ty, nbtypes.BaseTuple):
        items = [_shape(item, counter) for item in ty.types]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    counter[0] += 1
    return f"scalars[{counter[0] - 1}, l]"


def _generated(name, args, body):
    scope: dict = {}
    exec(compile(f"def {name}({args}):\n{body}\n", f"<simlab lockstep {name}>", "exec"), scope)
    return scope[name]


_SCALAR_CODE: dict = {}


@overload(lockstep.store_scalars, jit_options=INLINED)
def _ov_store_scalars(s, scalars, l):
    key = ("store", s)
    if key not in _SCALAR_CODE:
        lines = [f"    scalars[{j}, l] = {path}" for j, path in enumerate(_leaves(s, "s"))]
        _SCALAR_CODE[key] = _generated("store_scalars", "s, scalars, l",
                                       "\n".join(lines) or "    pass")
    return _SCALAR_CODE[key]


@overload(lockstep.load_scalars, jit_options=INLINED)
def _ov_load_scalars(like, scalars, l):
    key = ("load", like)
    if key not in _SCALAR_CODE:
        _leaves(like, "like")
        _SCALAR_CODE[key] = _generated("load_scalars", "like, scalars, l",
                                       f"    return {_shape(like, [0])}")
    return _SCALAR_CODE[key]


# ------------------------------------------------------------------------------------------------
# The kernel
# ------------------------------------------------------------------------------------------------

_run_block = numba.njit(compiled(lockstep.run_block).py_func, _nrt=False, **JIT)


@_numba_cache.cache_kernel
@numba.njit(nogil=True, **JIT)
def simulate_lanes(first, last, width, P, D, plan, batching, out, batch_capacity,
                   sample_capacity, n_scalars, epoch_capacity, together):
    """Blocks b = first .. last − 1 of ``width`` lanes each, one after the other, sharing one set
    of buffers (each block overwrites them before reading); fills ``out``. Releases the GIL."""
    d = out.w.shape[2]
    n_slots = out.state.shape[2]
    dtype = out.w.dtype
    scratch = new_scratch(d, dtype, batch_capacity, sample_capacity)
    lanes = Lanes(np.empty(width, dtype=np.int64), np.empty(width, dtype=np.int64),
                  np.zeros(width, dtype=np.bool_), np.zeros((d, width), dtype),
                  np.zeros((n_slots, d, width), dtype), np.zeros((d, width), dtype),
                  np.zeros((d, width), dtype), np.zeros((max(n_scalars, 1), width)),
                  np.empty(d, dtype), np.empty((n_slots, d), dtype),
                  np.empty((width, epoch_capacity), dtype=np.int64),
                  np.empty(width, dtype=np.int64), np.empty(width, dtype=np.uint64),
                  np.zeros((batch_capacity, width), dtype=np.int64), np.zeros((4, width)),
                  np.zeros((4, d, width), dtype), together)
    for block in range(first, last):
        _run_block(block, P, D, plan, batching, out, lanes, scratch)


def scalar_count(dynamics_record) -> int:
    """The number of per-step scalars of an optimizer's chain (0 for other dynamics)."""
    if not isinstance(dynamics_record, Discrete):
        return 0
    return len(lockstep.flatten_scalars(transforms.per_step_arrays(dynamics_record.chain, 1.0,
                                                                   1.0)))


def run(spec, width: int, dtype: str = "float64", together=None):
    """Simulate every run of ``spec`` in blocks of ``width`` lanes (semantics: ``spec.py``; the
    bits of the per-run layout, storage in ``dtype`` as ``numba_backend.inputs``); ``together``:
    whether a problem's lane fast path computes the gradients where it applies (True), or every
    lane its own (False); None: by ``rows_together`` (measured: see ``AUTO_REGION``). Blocks are
    spread over ``numba.get_num_threads()`` threads by ``numba_backend.spread``, as runs are; each
    run depends on its own key only."""
    P, D, plan, batching, out, capacities = inputs(spec, dtype)
    n_runs = out.w.shape[0] * out.w.shape[1]
    n_blocks = -(-n_runs // width)
    epoch_capacity = capacities[1] if batching.mode == BATCH_EPOCH else 1
    if together is None:
        together = rows_together(spec.dim, spec.batch_size)
    args = (width, P, D, plan, batching, out) + tuple(capacities) + (scalar_count(D),
                                                                     epoch_capacity,
                                                                     bool(together))
    spread(simulate_lanes, n_blocks, args)
    return result(out)
