"""``simulate``: an ensemble of optimizer runs on a quadratic problem, as a labelled Dataset.

What is simulated (problem, optimizer, schedule), how it runs (backend) and what is recorded
(``record_every``) are separate arguments. Every input is validated before any work starts.
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from . import _checks
from . import random as rnd
from .backends import get_backend
from .backends.spec import RunSpec
from .optim import Optimizer, lr_array
from .problems.quadratic import QuadraticProblem, check_batch_size
from .schedules import Schedule, constant


def record_steps(steps: int, record_every: int) -> np.ndarray:
    """Steps 0, r, 2r, … and always the final step T (the loss after the last update)."""
    ks = np.arange(0, steps + 1, record_every, dtype=np.int64)
    return ks if ks[-1] == steps else np.append(ks, steps)


def make_spec(problem: QuadraticProblem, optimizer: Optimizer, lr, batch_size, steps, seeds=1, *,
              schedule: Schedule | None = None, sampling: str = "without_replacement",
              record_every: int = 1, microbatch: int | None = None, batch_indices=None,
              seed: int = 0, divergence_factor: float = 1e4) -> RunSpec:
    """Validate the arguments of ``simulate`` and resolve them into a backend ``RunSpec``."""
    if not isinstance(problem, QuadraticProblem):
        raise ValueError(f"problem={problem!r} must be a QuadraticProblem (see simlab.problems)")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer={optimizer!r} must be an Optimizer (see simlab.optim)")
    lrs = lr_array(lr)
    steps = _checks.integer("steps", steps, lo=1)
    seeds = _checks.integer("seeds", seeds, lo=1)
    seed = _checks.integer("seed", seed, lo=0)
    record_every = _checks.integer("record_every", record_every, lo=1)
    divergence_factor = _checks.in_range("divergence_factor", divergence_factor, 1.0, np.inf,
                                         lo_closed=False)
    schedule = constant() if schedule is None else schedule
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule={schedule!r} must be a simlab.schedules.Schedule")
    batch_size = check_batch_size(problem, batch_size, sampling)
    microbatch = batch_size if microbatch is None else _checks.integer("microbatch", microbatch, lo=1)
    if batch_size % microbatch:
        raise ValueError(f"microbatch={microbatch} must divide batch_size={batch_size} "
                         f"(allowed: the divisors of {batch_size})")
    if optimizer.squares_microbatches is False and microbatch != batch_size:
        raise ValueError(f"microbatch={microbatch} only applies to batch-size-invariant optimizers "
                         f"(optim.bsi_adam); {optimizer.name} uses the whole batch")
    if batch_indices is not None:
        if problem.samples is None:
            raise ValueError("batch_indices applies to data problems only; this problem has "
                             "Gaussian noise")
        batch_indices = np.asarray(batch_indices)
        want = (steps, seeds, batch_size)
        if batch_indices.shape != want or not np.issubdtype(batch_indices.dtype, np.integer):
            raise ValueError(f"batch_indices must be an integer array of shape {want} "
                             f"(steps, seeds, batch_size), got {batch_indices.dtype} {batch_indices.shape}")
        n = problem.n_samples
        if batch_indices.min() < 0 or batch_indices.max() >= n:
            raise ValueError(f"batch_indices has entries outside the allowed range [0, {n - 1}]")
        batch_indices = batch_indices.astype(np.int64)
    w0 = np.asarray(problem.w0, dtype=float)
    threshold = divergence_factor * max(float(problem.loss(w0)), 1e-300)
    return RunSpec(
        hessian=np.ascontiguousarray(problem.hessian, dtype=float),
        w0=w0,
        samples_t=None if problem.samples is None else np.ascontiguousarray(problem.samples.T),
        noise_sqrt=problem.noise_sqrt,
        diagonal=problem.diagonal,
        optimizer=optimizer,
        lrs=lrs,
        schedule=schedule(steps),
        keys=rnd.run_keys(seed, seeds),
        batch_size=batch_size,
        microbatch=microbatch,
        with_replacement=(sampling == "with_replacement"),
        record_steps=record_steps(steps, record_every),
        batch_indices=batch_indices,
        divergence_threshold=threshold,
    )


def simulate(problem: QuadraticProblem, optimizer: Optimizer, lr, batch_size: int, steps: int,
             seeds: int = 1, *, schedule: Schedule | None = None,
             sampling: str = "without_replacement", record_every: int = 1,
             backend: str = "numpy", microbatch: int | None = None, batch_indices=None,
             seed: int = 0, divergence_factor: float = 1e4) -> xr.Dataset:
    """Run ``optimizer`` on ``problem`` for every learning rate × seed; return a Dataset.

    Arguments
    ---------
    lr: scalar or list of peak learning rates η (≥ 0); the rate at step k is η·schedule(T)[k].
    batch_size: B ≥ 1 (≤ n without replacement on a data problem).
    steps: T ≥ 1 updates. seeds: S independent runs per learning rate, on streams spawned from
    ``SeedSequence(seed)``; run s uses the same batches for every lr (common random numbers).
    sampling: ``"without_replacement"`` (the reference toy) or ``"with_replacement"``.
    record_every: the full-batch loss is recorded at steps 0, r, 2r, … and at T.
    backend: ``"numpy"`` (reference), ``"numba"`` (fused CPU kernels) or ``"cupy"``.
    microbatch: M dividing B, for batch-size-invariant optimizers (``optim.bsi_adam``).
    batch_indices: optional (T, S, B) integer array of sample indices to use instead of drawing.
    divergence_factor: a run diverges when its loss is NaN or > factor × L(w0); it is then frozen.

    Returns an ``xarray.Dataset`` with ``loss`` (lr, seed, step), ``diverged`` and
    ``diverged_step`` (lr, seed; −1 when finite throughout), ``w_final`` (lr, seed, dim); the
    resolved configuration is in ``attrs["config"]`` (JSON).
    """
    run = get_backend(backend)
    spec = make_spec(problem, optimizer, lr, batch_size, steps, seeds, schedule=schedule,
                     sampling=sampling, record_every=record_every, microbatch=microbatch,
                     batch_indices=batch_indices, seed=seed, divergence_factor=divergence_factor)
    raw = run(spec)
    config = {
        "problem": problem.config(), "optimizer": optimizer.config(),
        "schedule": (schedule or constant()).config(), "batch_size": spec.batch_size,
        "microbatch": spec.microbatch, "steps": spec.steps, "seeds": int(spec.keys.shape[0]),
        "seed": seed, "sampling": sampling, "record_every": record_every, "backend": backend,
        "divergence_factor": divergence_factor, "given_batch_indices": batch_indices is not None,
    }
    return xr.Dataset(
        {
            "loss": (("lr", "seed", "step"), raw.loss),
            "diverged": (("lr", "seed"), raw.diverged_step >= 0),
            "diverged_step": (("lr", "seed"), raw.diverged_step),
            "w_final": (("lr", "seed", "dim"), raw.w_final),
        },
        coords={"lr": spec.lrs, "seed": np.arange(spec.keys.shape[0]), "step": spec.record_steps},
        attrs={"config": json.dumps(config, sort_keys=True), "optimizer": optimizer.label,
               "problem": problem.name},
    )
