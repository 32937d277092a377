"""Numba kernels for Euler–Maruyama on the SGD and SignSGD SDE models (``models.py``).

The normals are the counter-based draws of ``simlab.random`` (splitmix64 compiled from that module,
Box–Muller on slots 2q and 2q + 1), so the kernels reproduce the numpy reference path by path.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .. import random as rnd

_splitmix64 = numba.njit(cache=False)(rnd.splitmix64)
_SHIFT32 = np.uint64(32)
_SHIFT11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0

KIND_CODES = {"sgd": 0, "signsgd_exact": 1, "signsgd_gaussian": 2}


@numba.njit(cache=True)
def _normal(key, step, slot):
    """simlab.random.standard_normal for one scalar slot."""
    c1 = (np.uint64(step) << _SHIFT32) + np.uint64(2 * slot)
    c2 = (np.uint64(step) << _SHIFT32) + np.uint64(2 * slot + 1)
    u1 = (_splitmix64(key ^ _splitmix64(c1)) >> _SHIFT11) * _INV53
    u2 = (_splitmix64(key ^ _splitmix64(c2)) >> _SHIFT11) * _INV53
    return math.sqrt(-2.0 * math.log1p(-u1)) * math.cos(2.0 * math.pi * u2)


@numba.njit(cache=True)
def _loss(h, x):
    d = x.shape[0]
    total = 0.0
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += h[i, j] * x[j]
        total += x[i] * acc
    return 0.5 * total


@numba.njit(cache=True)
def _path(kind, x0, h, c, samples_t, noise_sqrt, atoms_a, atoms_o, eta, mults, substeps, key,
          record_mask, threshold, loss_out):
    """One EM path; writes its records into loss_out; returns (final x, diverged step or −1)."""
    d = x0.shape[0]
    steps = mults.shape[0]
    n_atoms = atoms_a.shape[0]
    n_samp = samples_t.shape[0]
    div_step = -1
    x = x0.copy()
    b = np.zeros(d)
    noise = np.zeros(d)
    grad = np.zeros(d)
    sig = np.zeros((max(n_atoms, 1), d))
    proj = np.zeros(max(n_samp, 1))
    alive = True
    rec = 0
    for k in range(steps + 1):
        if record_mask[k]:
            val = _loss(h, x)
            if alive:
                if not (val <= threshold):
                    alive = False
                    div_step = k
                else:
                    loss_out[rec] = val
            rec += 1
        if k == steps or not alive:
            continue
        eta_k = eta * mults[k]
        dt = eta_k / substeps
        amp = math.sqrt(eta_k) * math.sqrt(dt)
        for r in range(substeps):
            j = k * substeps + r
            for i in range(d):
                acc = 0.0
                for q in range(d):
                    acc += h[i, q] * x[q]
                grad[i] = acc
                noise[i] = 0.0
            if kind == 0:
                for i in range(d):
                    b[i] = grad[i]
                if n_samp > 0:
                    scale = math.sqrt(c / n_samp)
                    for s in range(n_samp):
                        z = _normal(key, j, s)
                        pr = 0.0
                        for i in range(d):
                            pr += samples_t[s, i] * x[i]
                        for i in range(d):
                            noise[i] += scale * (pr * samples_t[s, i] - grad[i]) * z
                else:
                    sc = math.sqrt(c)
                    for q in range(d):
                        z = _normal(key, j, q)
                        for i in range(d):
                            noise[i] += sc * noise_sqrt[i, q] * z
            elif kind == 1:
                for i in range(d):
                    b[i] = 0.0
                for s in range(n_atoms):
                    for i in range(d):
                        acc = atoms_o[s, i]
                        for q in range(d):
                            acc += atoms_a[s, i, q] * x[q]
                        sg = 1.0 if acc > 0 else (-1.0 if acc < 0 else 0.0)
                        sig[s, i] = sg
                        b[i] += sg
                for i in range(d):
                    b[i] /= n_atoms
                inv = 1.0 / math.sqrt(n_atoms)
                for s in range(n_atoms):
                    z = _normal(key, j, s) * inv
                    for i in range(d):
                        noise[i] += (sig[s, i] - b[i]) * z
            else:
                for s in range(n_samp):
                    acc = 0.0
                    for q in range(d):
                        acc += samples_t[s, q] * x[q]
                    proj[s] = acc
                for i in range(d):
                    var = 0.0
                    if n_samp > 0:
                        for s in range(n_samp):
                            gi = proj[s] * samples_t[s, i]
                            var += gi * gi
                        var = var / n_samp - grad[i] * grad[i]
                        if var < 0.0:
                            var = 0.0
                    else:
                        for q in range(d):
                            var += noise_sqrt[i, q] * noise_sqrt[i, q]
                    scale = math.sqrt(2.0 * c * var)
                    if scale > 0.0:
                        b[i] = math.erf(grad[i] / scale)
                    else:
                        b[i] = 1.0 if grad[i] > 0 else (-1.0 if grad[i] < 0 else 0.0)
                    amp_i = 1.0 - b[i] * b[i]
                    noise[i] = math.sqrt(amp_i if amp_i > 0.0 else 0.0) * _normal(key, j, i)
            for i in range(d):
                x[i] += -b[i] * dt + amp * noise[i]
    return x, div_step


@numba.njit(parallel=True, cache=True)
def em_kernel(kind, x0, h, c, samples_t, noise_sqrt, atoms_a, atoms_o, lrs, mults, substeps,
              keys, record_mask, n_records, threshold):
    """All (lr, path) pairs in parallel; returns (loss, diverged_step, w_final)."""
    n_lr = lrs.shape[0]
    n_path = keys.shape[0]
    d = x0.shape[0]
    loss = np.full((n_lr, n_path, n_records), np.inf)
    div = np.full((n_lr, n_path), -1, dtype=np.int64)
    w_final = np.empty((n_lr, n_path, d))
    for idx in numba.prange(n_lr * n_path):
        li = idx // n_path
        p = idx % n_path
        x, ds = _path(kind, x0, h, c, samples_t, noise_sqrt, atoms_a, atoms_o, lrs[li], mults,
                      substeps, keys[p], record_mask, threshold, loss[li, p])
        div[li, p] = ds
        w_final[li, p, :] = x
    return loss, div, w_final
