"""The engine for one run, as plain scalar Python that the compiled backends compile unchanged.

``run_one`` walks run r = (learning rate l, seed s) from step ``start`` to ``stop``: at every record
step it stores the full-batch loss and freezes the run at its first record that is NaN or above the
divergence threshold (the record keeps the value, NaN stored as +inf; later records stay +inf);
otherwise it advances the run by one step of its dynamics at η_k = η_l·s_k. ``discrete_step`` is
the step of every optimizer of ``simlab.optim``: draw the batch of step k, form the micro-batch
gradients, apply the optimizer's chain of elementwise transforms, clip if asked. The semantics are those of the
reference backend (``reference.py``, the definition); see ``spec.py``.

Everything here uses loops, ``math`` and the generic functions of ``simlab.kernel_ops``, never
numpy calls or allocation (scratch buffers come in ``Scratch``), so numba (CPU) and numba.cuda
compile the same source. Problems and SDE models plug in through ``kernel_ops``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..kernel_ops import (chain_per_step, chain_update, dynamics_step,
                          problem_add_sample_gradients, problem_add_weighted_sample_gradients,
                          problem_gradient, problem_has_samples, problem_loss, problem_n_samples,
                          problem_noise, register_dynamics)
from ..random import (batch_with_replacement_into, batch_without_replacement_into,
                      epoch_permutation_into, standard_normal)

BATCH_GIVEN, BATCH_WITH, BATCH_WITHOUT, BATCH_EPOCH = 0, 1, 2, 3
SAMPLING_MODE = {"with_replacement": BATCH_WITH, "without_replacement": BATCH_WITHOUT,
                 "epoch": BATCH_EPOCH}


class Plan(NamedTuple):
    """What is run and recorded: lrs (L,), schedule multipliers by absolute step (≥ stop,), keys
    (S,), record_slot (stop − start + 1,) = record index of step start + i or −1, start, stop,
    the divergence threshold."""
    lrs: np.ndarray
    schedule: np.ndarray
    keys: np.ndarray
    record_slot: np.ndarray
    start: int
    stop: int
    threshold: float


class Batching(NamedTuple):
    """How batches are formed: mode (BATCH_*), B, micro-batch M, use_counts (sum the distinct rows
    of a micro-batch weighted by their multiplicities: with replacement and M ≥ n), and the given
    indices (T, S, B) of steps given_start … (a (1, 1, 1) placeholder otherwise)."""
    mode: int
    batch_size: int
    microbatch: int
    use_counts: bool
    given: np.ndarray
    given_start: int


class Outputs(NamedTuple):
    """Filled in place: loss (L, S, R) (+inf where not reached), diverged_step (L, S) (−1, or the
    step of a run already frozen before ``start``), the iterate w (L, S, d) and the state slots
    (L, S, K, d), which hold the initial state on entry and the final state on exit."""
    loss: np.ndarray
    diverged_step: np.ndarray
    w: np.ndarray
    state: np.ndarray


class Scratch(NamedTuple):
    """One run's buffers: five d-vectors, the batch (B,), and per-sample buffers of size n
    (permutation, counts, distinct rows, their weights), the current epoch, a sort buffer (d,)."""
    g: np.ndarray
    gsq: np.ndarray
    micro: np.ndarray
    aux: np.ndarray
    z: np.ndarray
    idx: np.ndarray
    perm: np.ndarray
    counts: np.ndarray
    rows: np.ndarray
    weights: np.ndarray
    epoch: np.ndarray
    sort: np.ndarray


class Discrete(NamedTuple):
    """The record of an optimizer of ``simlab.optim``: its chain (a tuple of transform records,
    whose types select the code), the clipping fraction, batch-size-invariant squaring, the
    global-norm bound."""
    chain: tuple
    clip_fraction: float
    squares_microbatches: bool
    max_grad_norm: float


def run_one(r, P, D, plan, batching, out, scratch):
    """Run r = l·S + s from plan.start to plan.stop (module docstring)."""
    n_seed = plan.keys.shape[0]
    lr_index = r // n_seed
    seed = r - lr_index * n_seed
    if out.diverged_step[lr_index, seed] >= 0:
        return
    w = out.w[lr_index, seed]
    state = out.state[lr_index, seed]
    key = plan.keys[seed]
    scratch.epoch[0] = -1
    for k in range(plan.start, plan.stop + 1):
        slot = plan.record_slot[k - plan.start]
        if slot >= 0:
            value = problem_loss(P, w)
            out.loss[lr_index, seed, slot] = math.inf if math.isnan(value) else value
            if not value <= plan.threshold:
                out.diverged_step[lr_index, seed] = k
                return
        if k == plan.stop:
            return
        lr = plan.lrs[lr_index] * plan.schedule[k]
        dynamics_step(D, P, batching, seed, key, k, lr, w, state, scratch)


def draw_batch(batching, n, seed, key, k, scratch):
    """scratch.idx[:B] = the sample indices of step k (given, or drawn from (key, k))."""
    idx = scratch.idx
    batch = batching.batch_size
    if batching.mode == BATCH_GIVEN:
        for b in range(batch):
            idx[b] = batching.given[k - batching.given_start, seed, b]
    elif batching.mode == BATCH_WITH:
        batch_with_replacement_into(idx, 0, batch, key, k, n)
    elif batching.mode == BATCH_WITHOUT:
        batch_without_replacement_into(idx, 0, batch, key, k, n)
    else:
        per_epoch = n // batch
        epoch = k // per_epoch
        if scratch.epoch[0] != epoch:
            epoch_permutation_into(scratch.perm, key, epoch)
            scratch.epoch[0] = epoch
        first = (k - epoch * per_epoch) * batch
        for b in range(batch):
            idx[b] = scratch.perm[first + b]


def add_batch_gradients(P, batching, n, w, start, stop, scratch, out):
    """out += Σ of the per-sample gradients of batch entries [start, stop); with ``use_counts``,
    over the distinct rows weighted by their multiplicities (n row passes instead of stop − start)."""
    if batching.use_counts:
        distinct = count_rows(scratch, n, start, stop)
        problem_add_weighted_sample_gradients(P, w, scratch.rows, scratch.weights, distinct, out)
    else:
        problem_add_sample_gradients(P, w, scratch.idx, start, stop, out)


def count_rows(scratch, n, start, stop):
    """The distinct rows of batch entries [start, stop) and their multiplicities, in row order,
    into scratch.rows/weights; returns their number. (Compiled out of line on a GPU:
    ``cuda_compile.NOINLINE``.)"""
    counts = scratch.counts
    for i in range(n):
        counts[i] = 0
    for b in range(start, stop):
        counts[scratch.idx[b]] += 1
    distinct = 0
    for i in range(n):
        if counts[i] > 0:
            scratch.rows[distinct] = i
            scratch.weights[distinct] = counts[i]
            distinct += 1
    return distinct


def discrete_gradient(D, P, batching, seed, key, k, w, scratch):
    """scratch.g (and scratch.gsq when κ > 1) = the gradient estimates of optimizer step k at w,
    clipped by the global norm if asked: everything of a step before its chain of transforms.

    κ = B/M micro-batches; g = mean of the κ micro-batch means, gsq = mean of their squares
    (κ > 1; g² is formed by the caller when κ = 1). Data problems: batch entries [jM, (j + 1)M)
    form micro-batch j. Gaussian noise: micro-batch j is ∇L(w) + L z_j/√M,
    z_j[i] = standard_normal(key, k, j·d + i).
    """
    d = w.shape[0]
    microbatch = batching.microbatch
    kappa = batching.batch_size // microbatch
    g = scratch.g
    gsq = scratch.gsq
    micro = scratch.micro
    if problem_has_samples(P):
        n = problem_n_samples(P)
        draw_batch(batching, n, seed, key, k, scratch)
        for j in range(kappa):
            target = g if kappa == 1 else micro
            for i in range(d):
                target[i] = 0.0
            add_batch_gradients(P, batching, n, w, j * microbatch, (j + 1) * microbatch,
                                scratch, target)
            if microbatch > 1:
                for i in range(d):
                    target[i] = target[i] / microbatch
            if kappa > 1:
                accumulate_micro(j, d, micro, g, gsq)
    else:
        hw = scratch.aux
        z = scratch.z
        problem_gradient(P, w, hw)
        root = math.sqrt(microbatch)
        for j in range(kappa):
            target = g if kappa == 1 else micro
            for i in range(d):
                z[i] = standard_normal(key, np.uint64(k), np.uint64(j * d + i))
            problem_noise(P, z, target)
            for i in range(d):
                target[i] = hw[i] + target[i] / root
            if kappa > 1:
                accumulate_micro(j, d, micro, g, gsq)
    if kappa > 1:
        for i in range(d):
            g[i] = g[i] / kappa
            gsq[i] = gsq[i] / kappa
    if D.max_grad_norm > 0.0:
        clip_by_global_norm_into(g, gsq, kappa > 1, D.max_grad_norm)


def discrete_step(D, P, batching, seed, key, k, lr, w, state, scratch):
    """One optimizer step: micro-batch gradients → (g, gsq) → chain → clip → w += step
    (``discrete_gradient``, then the chain applied coordinate by coordinate)."""
    discrete_gradient(D, P, batching, seed, key, k, w, scratch)
    d = w.shape[0]
    kappa = batching.batch_size // batching.microbatch
    g = scratch.g
    gsq = scratch.gsq
    s = chain_per_step(D.chain, float(k + 1), lr)
    if D.clip_fraction > 0.0:
        step = scratch.aux
        for i in range(d):
            gi = g[i]
            gsq_i = gi * gi if kappa == 1 else gsq[i]
            step[i] = chain_update(D.chain, s, gi, gsq_i, w[i], state, i)
        clip_top_fraction_into(step, D.clip_fraction, scratch.sort)
        for i in range(d):
            w[i] = w[i] + step[i]
    elif kappa == 1:
        for i in range(d):
            gi = g[i]
            w[i] = w[i] + chain_update(D.chain, s, gi, gi * gi, w[i], state, i)
    else:
        for i in range(d):
            w[i] = w[i] + chain_update(D.chain, s, g[i], gsq[i], w[i], state, i)


def clip_by_global_norm_into(g, gsq, has_gsq, max_norm):
    """g ← g·min(1, c/|g|) (and gsq ← gsq·factor² when given), as ``optim.clip_by_global_norm``."""
    d = g.shape[0]
    total = 0.0
    for i in range(d):
        total += g[i] * g[i]
    norm = math.sqrt(total)
    factor = 1.0 if not norm > 0.0 else min(1.0, max_norm / norm)
    for i in range(d):
        g[i] = g[i] * factor
    if has_gsq:
        for i in range(d):
            gsq[i] = gsq[i] * (factor * factor)


def accumulate_micro(j, d, micro, g, gsq):
    """g += micro, gsq += micro² (assigned at j = 0)."""
    if j == 0:
        for i in range(d):
            g[i] = micro[i]
            gsq[i] = micro[i] * micro[i]
    else:
        for i in range(d):
            g[i] += micro[i]
            gsq[i] += micro[i] * micro[i]


def heap_sort(a, d):
    """Sort a[:d] ascending in place (heapsort: no recursion, no allocation)."""
    start = d // 2 - 1
    while start >= 0:
        sift_down(a, start, d)
        start -= 1
    end = d - 1
    while end > 0:
        held = a[end]
        a[end] = a[0]
        a[0] = held
        sift_down(a, 0, end)
        end -= 1


def sift_down(a, root, size):
    while True:
        child = 2 * root + 1
        if child >= size:
            return
        if child + 1 < size and a[child] < a[child + 1]:
            child += 1
        if a[root] < a[child]:
            held = a[root]
            a[root] = a[child]
            a[child] = held
            root = child
        else:
            return


def clip_top_fraction_into(step, fraction, buffer):
    """In place: step ← sign(step)·min(|step|, τ), τ = the (1 − p)-quantile of |step| computed as
    ``np.quantile`` (method "linear") does: i = (d − 1)q, a = sorted[⌊i⌋], b = sorted[⌊i⌋ + 1],
    γ = i − ⌊i⌋, τ = b − (b − a)(1 − γ) if γ ≥ ½ else a + (b − a)γ; NaN if any entry is NaN."""
    d = step.shape[0]
    has_nan = False
    for i in range(d):
        buffer[i] = abs(step[i])
        if math.isnan(buffer[i]):
            has_nan = True
    if has_nan:
        tau = math.nan
    else:
        heap_sort(buffer, d)
        virtual = (d - 1) * (1.0 - fraction)
        lower = math.floor(virtual)
        if virtual >= d - 1:
            tau = buffer[d - 1]
        else:
            a = buffer[int(lower)]
            b = buffer[int(lower) + 1]
            gamma = virtual - lower
            diff = b - a
            tau = b - diff * (1.0 - gamma) if gamma >= 0.5 else a + diff * gamma
    for i in range(d):
        magnitude = abs(step[i])
        clipped = tau if (magnitude > tau or math.isnan(tau)) else magnitude
        step[i] = (1.0 * (step[i] > 0.0) - 1.0 * (step[i] < 0.0)) * clipped


register_dynamics(Discrete, discrete_step)
