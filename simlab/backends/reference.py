"""The reference backend: the readable definition of a simulation (see ``spec.py`` for the rules).

All runs (L learning rates × S seeds) advance together as numpy arrays of shape (L, S, d). The
random draws come from ``simlab.random`` (counter-based), so the compiled backends, which walk one
run at a time, draw the very same batches and noise.
"""
from __future__ import annotations

import numpy as np

from .. import random as rnd
from ..optim import Optimizer, OptState
from .spec import RawResult, RunSpec


class Context:
    """What a step of the reference needs besides the state: the spec, and the batches of step k
    (the permutation of the current epoch is kept between steps)."""

    def __init__(self, spec: RunSpec):
        self.spec = spec
        self.problem = spec.problem
        self.keys = spec.keys
        self._epoch = (None, None)

    def batch(self, k: int) -> np.ndarray:
        """(S, B) sample indices of step k for every seed (shared across learning rates)."""
        spec = self.spec
        if spec.batch_indices is not None:
            return spec.batch_indices[k - spec.start_step]
        n, batch = self.problem.n_samples, spec.batch_size
        if spec.sampling == "with_replacement":
            return rnd.batch_with_replacement(self.keys, k, n, batch)
        if spec.sampling == "without_replacement":
            return rnd.batch_without_replacement(self.keys, k, n, batch)
        per_epoch = n // batch
        epoch = k // per_epoch
        if self._epoch[0] != epoch:
            self._epoch = (epoch, rnd.epoch_permutation(self.keys, epoch, n))
        first = (k - epoch * per_epoch) * batch
        return self._epoch[1][:, first:first + batch]

    def normals(self, step: int, count: int) -> np.ndarray:
        """(S, count) standard normals of counter ``step``, slots 0..count − 1."""
        slots = np.arange(count, dtype=np.uint64)[None, :]
        return rnd.standard_normal(self.keys[:, None], np.uint64(step), slots)


def micro_batch_gradients(ctx: Context, w, k: int) -> np.ndarray:
    """(L, S, κ, d): the κ = B/M micro-batch gradients of step k at w (L, S, d)."""
    spec, problem = ctx.spec, ctx.problem
    n_lr, n_seed, d = w.shape
    kappa = spec.batch_size // spec.microbatch
    if problem.n_samples is not None:
        grads = problem.sample_gradients(w, ctx.batch(k))                 # (L, S, B, d)
        return grads.reshape(n_lr, n_seed, kappa, spec.microbatch, d).mean(axis=3)
    z = ctx.normals(k, kappa * d).reshape(n_seed, kappa, d)               # slot j·d + i
    root = problem.noise_sqrt
    xi = z * np.diag(root) if problem.noise_is_diagonal else z @ root.T
    return problem.gradient(w)[:, :, None, :] + xi[None] / np.sqrt(spec.microbatch)


def discrete_step(ctx: Context, w, state, k: int, lr):
    """One step of an optimizer of ``simlab.optim`` for every run: (w, state) → (w + step,
    state'), state (L, S, K, d) holding the chain's slots."""
    micro = micro_batch_gradients(ctx, w, k)
    g = micro.mean(axis=2)
    gsq = (micro * micro).mean(axis=2) if micro.shape[2] > 1 else None     # None: g² after clipping
    slots = tuple(state[:, :, j] for j in range(state.shape[2]))
    step, new = ctx.spec.dynamics.update(g, OptState(k, slots), lr, gsq, params=w)
    return w + step, (np.stack(new.slots, axis=2) if new.slots else state)


def sde_step(ctx: Context, w, state, k: int, lr):
    """One step of an SDE model (``reference_step`` on its two slots m, v)."""
    w, m, v = ctx.spec.dynamics.reference_step(ctx, w, state[:, :, 0], state[:, :, 1], k, lr)
    return w, np.stack([m, v], axis=2)


def run(spec: RunSpec) -> RawResult:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _run(spec)


def _run(spec: RunSpec) -> RawResult:
    ctx = Context(spec)
    problem, dynamics = spec.problem, spec.dynamics
    step = discrete_step if isinstance(dynamics, Optimizer) else sde_step
    w, state = spec.init_w.copy(), spec.init_state.copy()
    diverged_step = spec.init_diverged_step.copy()
    alive = diverged_step < 0
    lrs = spec.lrs.reshape(-1, 1, 1)
    record_at = {int(k): i for i, k in enumerate(spec.record_steps)}
    loss = np.full(spec.shape + (len(record_at),), np.inf)

    for k in range(spec.start_step, spec.stop + 1):
        if k in record_at:
            value = problem.loss(w)
            blown = alive & ~(value <= spec.divergence_threshold)      # NaN or too large
            loss[..., record_at[k]] = np.where(alive & ~np.isnan(value), value, np.inf)
            diverged_step[blown] = k
            alive = alive & ~blown
        if k == spec.stop or not alive.any():
            break
        new_w, new_state = step(ctx, w, state, k, lrs * spec.schedule[k])
        keep = alive[..., None]
        w, state = np.where(keep, new_w, w), np.where(keep[..., None], new_state, state)
    return RawResult(loss, diverged_step, w, state)
