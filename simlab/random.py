"""Counter-based random numbers shared bit-for-bit by every backend.

Each run r owns a 64-bit key ``keys[r]`` taken from a child of one ``numpy.random.SeedSequence``
(``run_keys``). Every random number a run needs is a pure function of (key, step, slot):

    u = splitmix64(key ^ splitmix64(step * 2^32 + slot)) >> 11  ·  2^-53      ∈ [0, 1)

so the numpy reference backend, the numba kernels (which call the same functions compiled) and a
GPU backend draw the *same* mini-batches and noise, whatever the thread count or the order in which
runs are processed. splitmix64 is Steele, Lea & Flood (2014); it passes BigCrush when used as a
counter hash like this (Salmon et al. 2011 discuss counter-based generators).

Samplers built on it:
- ``batch_with_replacement``: B indices, each ``floor(u · n)``;
- ``batch_without_replacement``: Floyd's algorithm (Bentley & Floyd 1987), B distinct indices,
  uniform over all B-subsets, O(B²) time and no O(n) work;
- ``standard_normal``: Box–Muller on two uniforms.

All functions are written on numpy uint64 arrays and broadcast; ``simlab.backends.numba_backend``
compiles the very same functions with ``numba.njit`` for scalars.
"""
from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_INV53 = 1.0 / 9007199254740992.0  # 2^-53


def splitmix64(x):
    """The splitmix64 finaliser of ``x + golden``; uint64 in, uint64 out (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def uniform(key, step, slot):
    """A float64 in [0, 1) that depends only on (key, step, slot); all uint64, broadcasting."""
    counter = (step << _S32) + slot
    return (splitmix64(key ^ splitmix64(counter)) >> _S11) * _INV53


def run_keys(seed: int, n_runs: int) -> np.ndarray:
    """One independent 64-bit stream key per run, spawned from ``SeedSequence(seed)``."""
    children = np.random.SeedSequence(seed).spawn(n_runs)
    return np.array([c.generate_state(1, np.uint64)[0] for c in children], dtype=np.uint64)


def standard_normal(key, step, slot):
    """N(0, 1) draws by Box–Muller from uniforms at slots 2·slot and 2·slot + 1."""
    slot = np.asarray(slot, dtype=np.uint64)
    u1 = uniform(key, step, slot * np.uint64(2))
    u2 = uniform(key, step, slot * np.uint64(2) + np.uint64(1))
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def batch_with_replacement(keys, step, n: int, batch_size: int) -> np.ndarray:
    """(runs, B) indices drawn uniformly with replacement from range(n)."""
    keys = np.asarray(keys, dtype=np.uint64)[:, None]
    slots = np.arange(batch_size, dtype=np.uint64)[None, :]
    u = uniform(keys, np.uint64(step), slots)
    return np.minimum((u * n).astype(np.int64), n - 1)


def batch_without_replacement(keys, step, n: int, batch_size: int) -> np.ndarray:
    """(runs, B) distinct indices, a uniform B-subset of range(n) per run (Floyd's algorithm).

    For j = n − B, …, n − 1: draw t uniform in {0, …, j}; take t unless already taken, else j.
    The k-th draw uses slot k, so the sample is a function of (key, step) only.
    """
    keys = np.asarray(keys, dtype=np.uint64)
    out = np.empty((keys.shape[0], batch_size), dtype=np.int64)
    for k in range(batch_size):
        j = n - batch_size + k
        u = uniform(keys, np.uint64(step), np.full(keys.shape, k, dtype=np.uint64))
        t = np.minimum((u * (j + 1)).astype(np.int64), j)
        taken = (out[:, :k] == t[:, None]).any(axis=1)
        out[:, k] = np.where(taken, j, t)
    return out
