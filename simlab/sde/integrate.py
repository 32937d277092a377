"""Euler–Maruyama for the SDE models, on a numpy reference path and a numba kernel.

With a schedule s_k (η_k = η s_k), step k of the discrete optimizer is the time interval
[t_k, t_{k+1}), t_k = Σ_{j<k} η_j, split into ``substeps`` m equal EM steps of dt = η_k/m:

    X ← X − b(X) dt + √(η_k) √dt · G(X) z,      z ~ N(0, I_Q),

so that with m = 1 the increment −η_k b + η_k G z has the first two moments of the discrete step
(gap_quadratic.md §2.5), and m → ∞ converges (weakly, order 1) to the SDE itself. Records are taken
at t_k for the record steps k, so ``loss[..., k]`` is compared with the optimizer's L(x_k).

Normals: z_q of EM step j (= k·m + r) of path p is ``simlab.random.standard_normal(key_p, j, q)``,
keys from ``SeedSequence(seed)``; paths share their noise across learning rates (common random
numbers), like ``simulate``'s seeds. The numba kernel draws the same numbers.
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .. import _checks
from .. import random as rnd
from ..optim import lr_array
from ..schedules import Schedule, constant
from ..simulate import record_steps
from .models import SDEModel

BACKENDS = ("numpy", "numba")


def _normals(keys, step, q):
    slots = np.arange(q, dtype=np.uint64)[None, :]
    return rnd.standard_normal(keys[:, None], np.uint64(step), slots)


def _run_numpy(model, lrs, sched, substeps, keys, rec, threshold):
    n_lr, n_path, d = lrs.shape[0], keys.shape[0], model.dim
    x = np.broadcast_to(np.asarray(model.problem.w0, float), (n_lr, n_path, d)).copy()
    loss = np.full((n_lr, n_path, len(rec)), np.inf)
    div = np.full((n_lr, n_path), -1, dtype=np.int64)
    alive = np.ones((n_lr, n_path), dtype=bool)
    where = {int(k): i for i, k in enumerate(rec)}
    eta = lrs.reshape(n_lr, 1, 1)
    for k in range(sched.shape[0] + 1):
        if k in where:
            val = 0.5 * np.einsum("...i,ij,...j->...", x, model.hessian, x)
            blown = alive & ~(val <= threshold)
            loss[..., where[k]] = np.where(alive & ~blown, val, np.inf)
            div[blown] = k
            alive &= ~blown
        if k == sched.shape[0]:
            break
        eta_k = eta * sched[k]
        dt = eta_k / substeps
        for r in range(substeps):
            z = _normals(keys, k * substeps + r, model.noise_dim)[None]
            inc = -model.drift(x) * dt + np.sqrt(eta_k) * np.sqrt(dt) * model.noise(x, z)
            x = np.where(alive[..., None], x + inc, x)
    return loss, div, x


def _run_numba(model, lrs, sched, substeps, keys, rec, threshold):
    from ._kernels import KIND_CODES, em_kernel
    d = model.dim
    mask = np.zeros(sched.shape[0] + 1, dtype=np.bool_)
    mask[rec] = True
    empty2 = np.zeros((0, d))
    samples_t = model.samples_t if model.samples_t is not None else empty2
    noise_sqrt = model.noise_sqrt if model.noise_sqrt is not None else np.zeros((d, d))
    atoms_a = model.atoms_a if model.atoms_a is not None else np.zeros((0, d, d))
    atoms_o = model.atoms_o if model.atoms_o is not None else empty2
    if model.kind == "sgd" and model.samples_t is not None:
        noise_sqrt = np.zeros((d, d))
    return em_kernel(KIND_CODES[model.kind], np.asarray(model.problem.w0, float),
                     np.ascontiguousarray(model.hessian), float(model.c),
                     np.ascontiguousarray(samples_t), np.ascontiguousarray(noise_sqrt),
                     np.ascontiguousarray(atoms_a), np.ascontiguousarray(atoms_o),
                     lrs, sched, substeps, keys, mask, len(rec), threshold)


def integrate(model: SDEModel, lr, steps: int, paths: int = 1, *, schedule: Schedule | None = None,
              substeps: int = 1, record_every: int = 1, seed: int = 0, backend: str = "numba",
              divergence_factor: float = 1e4) -> xr.Dataset:
    """Euler–Maruyama paths of ``model`` over the times of ``steps`` optimizer steps (module doc).

    lr: η (scalar or list, each > 0); steps: T ≥ 1 (horizon t_T = η Σ s_k); paths: P ≥ 1;
    substeps: m ≥ 1 EM steps per optimizer step; backend: "numba" or "numpy" (reference).
    Returns a Dataset like ``simulate``'s: ``loss`` (lr, seed, step) with seed = path, ``diverged``,
    ``diverged_step``, ``w_final``, and ``time`` (lr, step) = t_k.
    """
    if not isinstance(model, SDEModel):
        raise ValueError(f"model={model!r} must be an SDEModel (see simlab.sde.sgd_sde, signsgd_sde)")
    lrs = lr_array(lr)
    for value in lrs:
        _checks.positive("lr", value)
    steps = _checks.integer("steps", steps, lo=1)
    paths = _checks.integer("paths", paths, lo=1)
    substeps = _checks.integer("substeps", substeps, lo=1)
    record_every = _checks.integer("record_every", record_every, lo=1)
    seed = _checks.integer("seed", seed, lo=0)
    _checks.choice("backend", backend, BACKENDS)
    divergence_factor = _checks.in_range("divergence_factor", divergence_factor, 1.0, np.inf,
                                         lo_closed=False)
    schedule = constant() if schedule is None else schedule
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule={schedule!r} must be a simlab.schedules.Schedule")
    sched = np.ascontiguousarray(schedule(steps), dtype=float)
    rec = record_steps(steps, record_every)
    keys = rnd.run_keys(seed, paths)
    threshold = divergence_factor * max(float(model.problem.loss(model.problem.w0)), 1e-300)
    runner = _run_numba if backend == "numba" else _run_numpy
    with np.errstate(over="ignore", invalid="ignore"):
        loss, div, w = runner(model, lrs, sched, substeps, keys, rec, threshold)
    times = lrs[:, None] * np.concatenate([[0.0], np.cumsum(sched)])[None, rec]
    config = {"model": model.config(), "schedule": schedule.config(), "steps": steps,
              "paths": paths, "substeps": substeps, "record_every": record_every, "seed": seed,
              "backend": backend, "divergence_factor": divergence_factor}
    return xr.Dataset(
        {"loss": (("lr", "seed", "step"), loss),
         "diverged": (("lr", "seed"), div >= 0),
         "diverged_step": (("lr", "seed"), div),
         "w_final": (("lr", "seed", "dim"), w),
         "time": (("lr", "step"), times)},
        coords={"lr": lrs, "seed": np.arange(paths), "step": rec},
        attrs={"config": json.dumps(config, sort_keys=True), "model": model.kind,
               "problem": model.problem.name})
