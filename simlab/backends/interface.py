"""The two ends every backend shares: ``simulate``'s arguments validated into one ``RunSpec``
(``make_spec``; ``resolve`` names the backend ``"auto"`` stands for), and a backend's
``RawResult`` labelled into the result Dataset (``assemble``, with the resolved configuration of
``run_config``).

They sit below the backends and ``simlab.simulate`` (which re-exports them), so that a backend
with its own entry point (``cuda_backend.simulate_on_device``) builds and labels its runs as
``simulate`` does without importing it.
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .. import _checks
from .. import random as rnd
from ..dynamics import Dynamics
from ..optim import Optimizer, lr_array
from ..problems.base import Problem
from ..schedules import Schedule, constant, record_steps
from .spec import RawResult, RunSpec

BACKENDS = ("auto", "numpy", "numba", "cuda")


def resolve(name: str) -> str:
    """The concrete backend ``name`` stands for (``auto`` → numba, or numpy without numba)."""
    if name not in BACKENDS:
        raise ValueError(f"backend={name!r} is not one of {', '.join(map(repr, BACKENDS))}")
    if name != "auto":
        return name
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numpy"
    return "numba"


#: The random counter of step k is k·2^32 + slot: steps and slots must stay below 2^32.
MAX_STEP = (1 << 32) - 1


def _initial_state(init_state, shape, dim, slots, start_step):
    """(w, state, diverged_step, start_step) from ``init_state``: a Dataset returned by
    ``simulate`` (its final iterate and slots, divergence flags and final step; the same slots as
    this dynamics) or a tuple (w, s_1, …, s_K) of arrays broadcastable to (L, S, d) — slot arrays
    may be None (zeros) or left out, and entries beyond the K = len(slots) slots must be None.
    Returns w (L, S, d) and state (L, S, K, d)."""
    full = shape + (dim,)
    diverged = np.full(shape, -1, dtype=np.int64)
    if isinstance(init_state, xr.Dataset):
        missing = {"w_final", "state_final", "diverged_step"} - set(init_state.data_vars)
        if missing:
            raise ValueError(f"init_state is a Dataset without {sorted(missing)}; pass the result "
                             "of simlab.simulate or a tuple (w, s_1, ..., s_K)")
        have = tuple(str(x) for x in init_state["slot"].values)
        if have != tuple(slots):
            raise ValueError(f"init_state holds the slots {have}; this dynamics has {tuple(slots)}")
        parts = [init_state["w_final"].values] + [init_state["state_final"].values[:, :, j]
                                                  for j in range(len(slots))]
        diverged_in = init_state["diverged_step"].values
        if diverged_in.shape != shape:
            raise ValueError(f"init_state holds {diverged_in.shape} runs (lr_index, seed); this "
                             f"simulation has {shape}")
        diverged = np.array(diverged_in, dtype=np.int64)
        if start_step is None:
            start_step = int(init_state.attrs.get("final_step", 0))
    elif isinstance(init_state, (tuple, list)) and len(init_state) >= 1:
        parts = list(init_state)
        extra = parts[1 + len(slots):]
        if any(value is not None for value in extra):
            raise ValueError(f"init_state has {len(parts) - 1} slot arrays; this dynamics has "
                             f"{len(slots)} slots {tuple(slots)} (entries beyond them must be None)")
        parts = parts[:1 + len(slots)] + [None] * (1 + len(slots) - len(parts))
    else:
        raise ValueError(f"init_state={init_state!r} must be None, a Dataset from simlab.simulate "
                         "or a tuple (w, s_1, ..., s_K)")
    names = ("w",) + tuple(f"slot {name!r}" for name in slots)
    arrays = []
    for name, value in zip(names, parts):
        if value is None:
            arrays.append(np.zeros(full))
            continue
        arr = np.asarray(value, dtype=float)
        try:
            arrays.append(np.broadcast_to(arr, full).copy())
        except ValueError:
            raise ValueError(f"init_state {name} has shape {arr.shape}, not broadcastable to "
                             f"(lr_index, seed, dim) = {full}") from None
    alive = diverged < 0
    for name, arr in zip(names, arrays):
        if not np.all(np.isfinite(arr[alive])):
            raise ValueError(f"init_state {name} has non-finite entries in runs that have not "
                             "diverged")
    for j, name in enumerate(slots):
        if name != "v":                       # v: a second moment (Adam, RMSprop, AdEMAMix)
            continue
        negative = alive[..., None] & (arrays[1 + j] < 0)
        if np.any(negative):
            raise ValueError(f"init_state v has {int(negative.sum())} negative entries (min "
                             f"{float(arrays[1 + j][negative].min()):.3g}) in runs that have not "
                             "diverged; v is a second moment, allowed range [0, inf)")
    state = np.stack(arrays[1:], axis=2) if slots else np.zeros(shape + (0, dim))
    return arrays[0], state, diverged, (0 if start_step is None else start_step)


def make_spec(problem, optimizer, lr, batch_size=None, steps=None, seeds=1, *,
              schedule: Schedule | None = None, sampling: str = "without_replacement",
              record_every: int = 1, microbatch: int | None = None, batch_indices=None,
              seed: int = 0, divergence_factor: float = 1e4, init_state=None,
              start_step: int | None = None, horizon: int | None = None,
              backend: str = "numpy") -> RunSpec:
    """Validate the arguments of ``simulate`` and resolve them into a backend ``RunSpec``."""
    dynamics = optimizer
    if not isinstance(problem, Problem):
        raise ValueError(f"problem={problem!r} must be a simlab Problem (see simlab.problems)")
    if not isinstance(dynamics, (Optimizer, Dynamics)):
        raise ValueError(f"optimizer={dynamics!r} must be an Optimizer (simlab.optim) or an SDE "
                         "model (simlab.sde)")
    is_optimizer = isinstance(dynamics, Optimizer)
    if not is_optimizer:
        if dynamics.problem is not problem:
            raise ValueError("the SDE model was built for another problem; pass model.problem")
        if batch_size is None:
            batch_size = dynamics.batch_size
        elif _checks.integer("batch_size", batch_size, lo=1) != dynamics.batch_size:
            raise ValueError(f"batch_size={batch_size} differs from the SDE model's "
                             f"batch_size={dynamics.batch_size}")
    elif batch_size is None:
        raise ValueError("batch_size is required for an optimizer (an integer >= 1)")
    lrs = lr_array(lr)
    if not is_optimizer:
        for value in lrs:
            _checks.positive("lr", value)
    if steps is None:
        raise ValueError("steps is required (an integer >= 1)")
    steps = _checks.integer("steps", steps, lo=1)
    seeds = _checks.integer("seeds", seeds, lo=1)
    seed = _checks.integer("seed", seed, lo=0)
    record_every = _checks.integer("record_every", record_every, lo=1)
    divergence_factor = _checks.in_range("divergence_factor", divergence_factor, 1.0, np.inf,
                                         lo_closed=False)
    if start_step is not None:
        start_step = _checks.integer("start_step", start_step, lo=0)
    schedule = constant() if schedule is None else schedule
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule={schedule!r} must be a simlab.schedules.Schedule")
    batch_size = problem.check_batch_size(batch_size, sampling)
    microbatch = batch_size if microbatch is None else _checks.integer("microbatch", microbatch, lo=1)
    if batch_size % microbatch:
        raise ValueError(f"microbatch={microbatch} must divide batch_size={batch_size} "
                         f"(allowed: the divisors of {batch_size})")
    if microbatch != batch_size and not (is_optimizer and dynamics.squares_microbatches):
        name = dynamics.name if is_optimizer else dynamics.label
        raise ValueError(f"microbatch={microbatch} only applies to batch-size-invariant optimizers "
                         f"(optim.bsi_adam); {name} uses the whole batch")
    n_lr, d = lrs.shape[0], problem.dim
    substeps = getattr(dynamics, "substeps", 1)
    if batch_size // microbatch * d > MAX_STEP:
        raise ValueError(f"batch_size/microbatch·dim = {batch_size // microbatch * d} noise slots "
                         f"per step is outside the allowed range [1, {MAX_STEP}]")
    if (steps + (start_step or 0)) * substeps > MAX_STEP:
        raise ValueError(f"(start_step + steps)·substeps = {(steps + (start_step or 0)) * substeps}"
                         f" is outside the allowed range [1, {MAX_STEP}] of the random counter")
    n_records = steps // record_every + 2
    hint = "; record less often (record_every), or split the seeds over several calls"
    slots = tuple(dynamics.slots)
    _checks.memory("this simulation", 8.0 * n_lr * seeds * (n_records + (2 + len(slots)) * d + 2)
                   + 16.0 * (steps + (start_step or 0))
                   + (24.0 * n_lr * seeds * batch_size * d if resolve(backend) == "numpy" else 0)
                   + (8.0 * steps * seeds * batch_size if batch_indices is not None else 0), hint)

    if init_state is not None:
        w, state, diverged, start_step = _initial_state(init_state, (n_lr, seeds), d, slots,
                                                        start_step)
    else:
        w = state = diverged = None
        start_step = start_step or 0
    stop = start_step + steps
    if stop * substeps > MAX_STEP:
        raise ValueError(f"(start_step + steps)·substeps = {stop * substeps} is outside the "
                         f"allowed range [1, {MAX_STEP}] of the random counter")
    horizon = stop if horizon is None else _checks.integer("horizon", horizon, lo=stop,
                                                            hi=MAX_STEP)
    if batch_indices is not None:
        if problem.n_samples is None:
            raise ValueError("batch_indices applies to data problems only; this problem has "
                             "Gaussian noise")
        if not is_optimizer:
            raise ValueError("batch_indices applies to optimizers only")
        batch_indices = np.asarray(batch_indices)
        want = (steps, seeds, batch_size)
        if batch_indices.shape != want or not np.issubdtype(batch_indices.dtype, np.integer):
            raise ValueError(f"batch_indices must be an integer array of shape {want} "
                             f"(steps, seeds, batch_size), got {batch_indices.dtype} {batch_indices.shape}")
        n = problem.n_samples
        if batch_indices.min() < 0 or batch_indices.max() >= n:
            raise ValueError(f"batch_indices has entries outside the allowed range [0, {n - 1}]")
        batch_indices = batch_indices.astype(np.int64)
    if w is None:
        w = np.broadcast_to(np.asarray(problem.w0, dtype=float), (n_lr, seeds, d)).copy()
        state = np.zeros((n_lr, seeds, len(slots), d))
        diverged = np.full((n_lr, seeds), -1, dtype=np.int64)
    reference = max(float(problem.loss(np.asarray(problem.w0, dtype=float))), problem.loss_scale())
    return RunSpec(
        problem=problem, dynamics=dynamics, lrs=lrs, schedule=schedule(horizon),
        keys=rnd.run_keys(seed, seeds), batch_size=batch_size, microbatch=microbatch,
        sampling=sampling, batch_indices=batch_indices, start_step=start_step, steps=steps,
        record_steps=record_steps(steps, record_every, start_step),
        divergence_threshold=divergence_factor * reference,
        init_w=w, init_state=state, init_diverged_step=diverged,
    )


def run_config(problem, dynamics, spec: RunSpec, backend: str, *, schedule: Schedule | None = None,
               seed: int = 0, sampling: str = "without_replacement", record_every: int = 1,
               divergence_factor: float = 1e4, batch_indices=None, init_state=None,
               **_) -> dict:
    """The resolved configuration of a ``simulate`` call (``attrs["config"]`` of its result)."""
    is_optimizer = isinstance(dynamics, Optimizer)
    return {
        "problem": problem.config(),
        ("optimizer" if is_optimizer else "dynamics"): dynamics.config(),
        "schedule": (schedule or constant()).config(), "batch_size": spec.batch_size,
        "microbatch": spec.microbatch, "steps": spec.steps, "start_step": spec.start_step,
        "horizon": int(spec.schedule.shape[0]), "seeds": int(spec.keys.shape[0]),
        "seed": _checks.integer("seed", seed, lo=0), "sampling": sampling,
        "record_every": _checks.integer("record_every", record_every, lo=1),
        "backend": resolve(backend), "divergence_factor": float(divergence_factor),
        "given_batch_indices": batch_indices is not None,
        "continued": init_state is not None,
    }


def lr_coords(lrs) -> dict:
    """The learning-rate axis of every result (``simulate`` and ``Sweep`` alike): the dim
    ``lr_index`` 0..L−1 and the coordinate ``lr_value`` (lr_index) holding each peak η.
    ``ds.swap_dims(lr_index="lr_value")`` labels the axis by η where the values are unique."""
    lrs = np.asarray(lrs, dtype=float)
    return {"lr_index": np.arange(lrs.shape[0]), "lr_value": ("lr_index", lrs)}


def assemble(spec: RunSpec, raw: RawResult, config: dict, label: str) -> xr.Dataset:
    """The labelled Dataset of a backend's raw result (the one place results are assembled)."""
    vector = ("lr_index", "seed", "dim")
    return xr.Dataset(
        {
            "loss": (("lr_index", "seed", "step"), raw.loss),
            "diverged": (("lr_index", "seed"), raw.diverged_step >= 0),
            "diverged_step": (("lr_index", "seed"), raw.diverged_step),
            "w_final": (vector, raw.w),
            "state_final": (("lr_index", "seed", "slot", "dim"), raw.state),
        },
        coords={**lr_coords(spec.lrs), "seed": np.arange(spec.keys.shape[0]),
                "step": spec.record_steps, "slot": list(spec.dynamics.slots)},
        attrs={"config": json.dumps(config, sort_keys=True), "optimizer": label,
               "problem": spec.problem.name, "start_step": int(spec.start_step),
               "final_step": int(spec.stop)},
    )
