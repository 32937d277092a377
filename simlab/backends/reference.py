"""The reference backend: the readable definition of a simulation (see ``spec.py`` for the rules).

Vectorized over all runs with array-module-agnostic code: ``xp`` is numpy by default and cupy by
substitution (random draws are made on the host by ``simlab.random`` and moved with ``xp.asarray``).
"""
from __future__ import annotations

import numpy as np

from .. import random as rnd
from .spec import RawResult, RunSpec


def draw_batch(spec: RunSpec, step: int) -> np.ndarray:
    """(S, B) sample indices of step ``step`` for every seed (shared across learning rates)."""
    if spec.batch_indices is not None:
        return spec.batch_indices[step]
    n = spec.samples_t.shape[0]
    sampler = rnd.batch_with_replacement if spec.with_replacement else rnd.batch_without_replacement
    return sampler(spec.keys, step, n, spec.batch_size)


def gaussian_noise(spec: RunSpec, step: int) -> np.ndarray:
    """(S, κ, d) standard normal draws z_j of step ``step`` (slot j·d + i)."""
    kappa = spec.batch_size // spec.microbatch
    d = spec.dim
    slots = np.arange(kappa * d, dtype=np.uint64).reshape(1, kappa, d)
    return rnd.standard_normal(spec.keys.reshape(-1, 1, 1), np.uint64(step), slots)


def oracle(spec: RunSpec, w, step: int, xp=np):
    """Mini-batch gradient and squared gradient (g, gsq) at w of shape (L, S, d)."""
    kappa = spec.batch_size // spec.microbatch
    if spec.samples_t is not None:
        idx = draw_batch(spec, step)                                  # (S, B)
        x = xp.asarray(spec.samples_t[idx])                           # (S, B, d)
        proj = xp.einsum("sbd,lsd->lsb", x, w)                        # x_iᵀ w
        contrib = proj[..., None] * x[None]                           # (L, S, B, d)
        micro = contrib.reshape(contrib.shape[:2] + (kappa, spec.microbatch, spec.dim)).mean(axis=3)
    else:
        z = xp.asarray(gaussian_noise(spec, step))                    # (S, κ, d)
        if spec.diagonal:
            hw = w * xp.asarray(np.diag(spec.hessian))
            xi = z * xp.asarray(np.diag(spec.noise_sqrt))
        else:
            hw = w @ xp.asarray(spec.hessian)
            xi = z @ xp.asarray(spec.noise_sqrt).T
        micro = hw[:, :, None, :] + xi[None] / np.sqrt(spec.microbatch)
    g = micro.mean(axis=2)
    gsq = (micro * micro).mean(axis=2) if kappa > 1 else g * g
    return g, gsq


def full_loss(spec: RunSpec, w, xp=np):
    """½ wᵀHw for every run."""
    if spec.diagonal:
        return 0.5 * (w * w * xp.asarray(np.diag(spec.hessian))).sum(axis=-1)
    return 0.5 * xp.einsum("...i,ij,...j->...", w, xp.asarray(spec.hessian), w)


def run(spec: RunSpec, xp=np) -> RawResult:
    with np.errstate(over="ignore", invalid="ignore"):
        return _run(spec, xp)


def _run(spec: RunSpec, xp) -> RawResult:
    opt = spec.optimizer
    n_lr, n_seed, d = spec.lrs.shape[0], spec.keys.shape[0], spec.dim
    w = xp.broadcast_to(xp.asarray(spec.w0), (n_lr, n_seed, d)).copy()
    state = opt.init(w)
    lrs = xp.asarray(spec.lrs).reshape(n_lr, 1, 1)
    record_at = {int(k): i for i, k in enumerate(spec.record_steps)}
    loss = xp.full((n_lr, n_seed, len(record_at)), xp.inf)
    diverged_step = np.full((n_lr, n_seed), -1, dtype=np.int64)
    alive = xp.ones((n_lr, n_seed), dtype=bool)

    for k in range(spec.steps + 1):
        if k in record_at:
            value = full_loss(spec, w, xp)
            blown = alive & ~(value <= spec.divergence_threshold)      # NaN or too large
            loss[..., record_at[k]] = xp.where(alive & ~xp.isnan(value), value, xp.inf)
            if bool(blown.any()):
                diverged_step[np.asarray(blown if xp is np else blown.get())] = k
                alive = alive & ~blown
        if k == spec.steps:
            break
        g, gsq = oracle(spec, w, k, xp)
        step, state = opt.update(g, state, lrs * spec.schedule[k], gsq)
        w = xp.where(alive[..., None], w + step, w)
    to_host = (lambda a: a) if xp is np else (lambda a: a.get())
    return RawResult(to_host(loss), diverged_step, to_host(w))
