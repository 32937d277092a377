"""What a backend receives and returns: a fully resolved ensemble of runs.

``simulate`` validates user input and turns it into a ``RunSpec``; a backend's ``run(spec)``
returns a ``RawResult``. Runs are indexed (l, s): learning rate l ∈ [0, L), seed s ∈ [0, S).
All runs with the same seed s share one random stream (key ``keys[s]``): the same mini-batches
and noise for every learning rate (common random numbers, which make lr comparisons sharper).

Semantics every backend implements identically (the reference backend is the definition):

* step k = 0..T−1: if k is a record step, record L(w_k); draw the batch of step k; compute
  (g, gsq); ``step, m, v = rule(g, gsq, m, v, k + 1, lrs[l]·schedule[k], *hyper)``; optional
  per-run clipping; w_{k+1} = w_k + step. Record L(w_T) if T is a record step.
* a run *diverges* at the first record whose loss is NaN or > ``divergence_threshold``; it is
  frozen from then on, its later records are +inf and ``diverged_step`` holds that step.
* batches: given ``batch_indices[k, s]``, or drawn by ``simlab.random`` from (keys[s], k).
* micro-batches (``microbatch`` = M < B): the batch's indices split in order into κ = B/M groups;
  g = mean of the κ micro-batch gradients, gsq = mean of their squares (otherwise gsq = g²).
* Gaussian noise: micro-batch j adds L z_j/√M with z_j[i] = standard_normal(key, k, j·d + i).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..optim import Optimizer


@dataclass(frozen=True, eq=False)
class RunSpec:
    hessian: np.ndarray                 # (d, d)
    w0: np.ndarray                      # (d,)
    samples_t: np.ndarray | None        # (n, d) C-contiguous: row i is sample x_i; None if Gaussian
    noise_sqrt: np.ndarray | None       # (d, d) L with LLᵀ = C; None for data noise
    diagonal: bool                      # H (and L) diagonal: O(d) products
    optimizer: Optimizer
    lrs: np.ndarray                     # (L,)
    schedule: np.ndarray                # (T,) multipliers
    keys: np.ndarray                    # (S,) uint64 stream keys
    batch_size: int
    microbatch: int                     # M, divides batch_size
    with_replacement: bool
    record_steps: np.ndarray            # sorted int64 steps in [0, T]
    batch_indices: np.ndarray | None    # (T, S, B) int64 or None
    divergence_threshold: float

    @property
    def steps(self) -> int:
        return self.schedule.shape[0]

    @property
    def dim(self) -> int:
        return self.w0.shape[0]


@dataclass
class RawResult:
    loss: np.ndarray            # (L, S, n_records)
    diverged_step: np.ndarray   # (L, S) int64, −1 if the run never diverged
    w_final: np.ndarray         # (L, S, d)
