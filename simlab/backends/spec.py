"""What a backend receives and returns: a fully resolved ensemble of runs.

``simulate`` validates user input and turns it into a ``RunSpec``; a backend's ``run(spec)``
returns a ``RawResult``. Runs are indexed (l, s): learning rate l ∈ [0, L), seed s ∈ [0, S).
All runs with the same seed s share one random stream (key ``keys[s]``): the same mini-batches
and noise for every learning rate (common random numbers, which make lr comparisons sharper).

Semantics every backend implements identically (the reference backend is the definition):

* steps are absolute: a run goes from ``start_step`` to ``stop = start_step + steps``, the lr at
  step k is ``lrs[l]·schedule[k]``, the random draws of step k depend on (keys[s], k) only and
  Adam's step count is k + 1 — so T1 steps followed by a continuation of T2 steps from the state
  reached (``init_*``, ``start_step = T1``) is the run of T1 + T2 steps, bit for bit;
* step k = start..stop: if k is a record step, record L(w_k); unless k = stop, advance the run by
  step k of its dynamics: an optimizer (batch of step k → micro-batch gradients → (g, gsq) →
  chain of transforms → optional clipping → w_{k+1} = w_k + step) or an SDE model (``substeps`` Euler–Maruyama
  steps over the time of step k);
* a run *diverges* at the first record whose loss is NaN or > ``divergence_threshold``; it is
  frozen from then on (w and the state slots keep their values), the diverging record keeps its value (NaN
  as +inf), later records are +inf and ``diverged_step`` holds that step. A run that arrives
  frozen (``init_diverged_step`` ≥ 0) stays frozen;
* batches: given ``batch_indices[k − start, s]``, or drawn by ``simlab.random`` from (keys[s], k)
  with the sampling scheme (independent B-subsets, i.i.d. indices, or epochs of a reshuffled
  permutation);
* micro-batches (``microbatch`` = M < B): the batch's indices split in order into κ = B/M groups;
  g = mean of the κ micro-batch gradients, gsq = mean of their squares (otherwise gsq = g²);
* Gaussian noise: micro-batch j adds L z_j/√M with z_j[i] = standard_normal(key, k, j·d + i).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class RunSpec:
    problem: object                     # a simlab.problems Problem
    dynamics: object                    # an Optimizer or a simlab.dynamics.Dynamics
    lrs: np.ndarray                     # (L,)
    schedule: np.ndarray                # (≥ stop,) multipliers by absolute step
    keys: np.ndarray                    # (S,) uint64 stream keys
    batch_size: int
    microbatch: int                     # M, divides batch_size
    sampling: str
    batch_indices: np.ndarray | None    # (steps, S, B) int64 for steps start .. stop − 1, or None
    start_step: int
    steps: int
    record_steps: np.ndarray            # sorted absolute int64 steps in [start, stop]
    divergence_threshold: float
    init_w: np.ndarray                  # (L, S, d)
    init_state: np.ndarray              # (L, S, K, d): the K slots of the dynamics
    init_diverged_step: np.ndarray      # (L, S) int64, −1 for a live run

    @property
    def stop(self) -> int:
        return self.start_step + self.steps

    @property
    def dim(self) -> int:
        return self.init_w.shape[-1]

    @property
    def shape(self) -> tuple[int, int]:
        return self.lrs.shape[0], self.keys.shape[0]


@dataclass
class RawResult:
    loss: np.ndarray            # (L, S, n_records)
    diverged_step: np.ndarray   # (L, S) int64, −1 if the run never diverged
    w: np.ndarray               # (L, S, d) final iterate
    state: np.ndarray           # (L, S, K, d) final state slots
