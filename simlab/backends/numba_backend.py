"""The numba backend: the semantics of ``spec.py`` as one fused CPU kernel, parallel over runs.

One ``prange`` iteration owns one run r = (l, s) (learning rate l, seed s, flattened) and walks it
through all T steps with its iterate, optimizer slots and scratch buffers held in per-run arrays
allocated once, before the time loop. Per step it

1. draws the batch of step k from (keys[s], k) with the compiled functions of ``simlab.random``
   (so every lr of seed s sees the same batch: common random numbers), or reads ``batch_indices``;
2. forms each micro-batch gradient in one fused pass over the sampled rows of ``samples_t``
   (p = x_iᵀw, then g += p·x_i, four contiguous rows at a time) or, for Gaussian noise,
   Hw + L z/√M with z from the compiled Box–Muller ``standard_normal``;
3. applies the optimizer's own elementwise ``rule`` (``simlab.optim``, compiled by ``numba.njit``
   and inlined; see ``RULES``) in a separate tight loop over the d coordinates, then the per-run
   clipping of adaptive momentum clipping (the (1 − p)-quantile of |step| with numpy's linear
   interpolation);
4. evaluates ½wᵀHw only at record steps, and freezes the run at its first record that is NaN or
   above the divergence threshold.

Nothing depends on which thread runs which run, so results do not depend on the thread count.
Against the reference backend the batches and noise draws are bit-for-bit identical and losses
agree to ~1e-15 relative (only the order of floating-point sums differs); see tests/test_backends.py.
"""
from __future__ import annotations

import math
import types

import numba
import numpy as np
from numba import prange

from .. import optim
from .. import random as rnd
from .spec import RawResult, RunSpec

# numpy's floating-point semantics (x/0 is ±inf or NaN, as in the reference backend, instead of
# Python's ZeroDivisionError); it also drops the zero-divisor branch that blocks vectorization.
_JIT = dict(fastmath=False, error_model="numpy")

_NOISE_DATA, _NOISE_DENSE, _NOISE_DIAGONAL = 0, 1, 2
_BATCH_GIVEN, _BATCH_WITH, _BATCH_WITHOUT = 0, 1, 2


def _jit_with_globals(func, **compiled):
    """``numba.njit`` of ``func``'s own code, with the global names it calls bound to compiled
    dispatchers (``simlab.random`` calls plain Python functions by global name)."""
    scope = dict(func.__globals__)
    scope.update(compiled)
    clone = types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__,
                               func.__closure__)
    return numba.njit(clone, **_JIT)


_splitmix64 = _jit_with_globals(rnd.splitmix64)
_uniform = _jit_with_globals(rnd.uniform, splitmix64=_splitmix64)
_standard_normal = _jit_with_globals(rnd.standard_normal, uniform=_uniform)

_COMPILED_RULES: dict = {}


def compiled_rule(rule):
    """The elementwise optimizer ``rule`` compiled for float64 scalars (memoized)."""
    if rule not in _COMPILED_RULES:
        _COMPILED_RULES[rule] = numba.njit(rule, **_JIT)
    return _COMPILED_RULES[rule]


# ------------------------------------------------------------------------------------------------
# Per-run batch samplers: the scalar form of rnd.batch_with_replacement / batch_without_replacement
# (same uniforms, same index map, same Floyd step), writing into a preallocated buffer.
# ------------------------------------------------------------------------------------------------

@numba.njit(**_JIT)
def _batch_with_replacement_into(out, key, step, n):
    """out[b] = min(⌊u_b·n⌋, n − 1), u_b = uniform(key, step, b)."""
    for b in range(out.shape[0]):
        u = _uniform(key, np.uint64(step), np.uint64(b))
        out[b] = min(np.int64(u * n), n - 1)


@numba.njit(**_JIT)
def _batch_without_replacement_into(out, key, step, n):
    """Floyd's algorithm: for j = n − B + k, t = min(⌊u_k (j + 1)⌋, j); take t unless taken, else j."""
    batch = out.shape[0]
    for k in range(batch):
        j = n - batch + k
        u = _uniform(key, np.uint64(step), np.uint64(k))
        t = min(np.int64(u * (j + 1)), j)
        for i in range(k):
            if out[i] == t:
                t = j
                break
        out[k] = t


@numba.njit(**_JIT)
def _clip_top_fraction(step, fraction, buffer):
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
        tau = np.nan
    else:
        buffer.sort()
        virtual = (d - 1) * (1.0 - fraction)
        lower = math.floor(virtual)
        if virtual >= d - 1:
            tau = buffer[d - 1]
        else:
            a = buffer[np.int64(lower)]
            b = buffer[np.int64(lower) + 1]
            gamma = virtual - lower
            diff = b - a
            tau = b - diff * (1.0 - gamma) if gamma >= 0.5 else a + diff * gamma
    for i in range(d):
        magnitude = abs(step[i])
        clipped = tau if (magnitude > tau or math.isnan(tau)) else magnitude
        step[i] = np.sign(step[i]) * clipped


@numba.njit(**_JIT)
def _row_dot(matrix, row, w):
    """matrix[row]ᵀw. For d ≥ 16, four interleaved partial sums (independent add chains the CPU
    overlaps; fastmath is off, so LLVM may not reassociate one chain); below, one plain chain,
    which is faster for short rows. Indexing the matrix directly, rather than taking a row view,
    avoids reference counting in the innermost loop."""
    d = w.shape[0]
    if d < 16:
        total = 0.0
        for i in range(d):
            total += matrix[row, i] * w[i]
        return total
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    i = 0
    while i + 4 <= d:
        s0 += matrix[row, i] * w[i]
        s1 += matrix[row, i + 1] * w[i + 1]
        s2 += matrix[row, i + 2] * w[i + 2]
        s3 += matrix[row, i + 3] * w[i + 3]
        i += 4
    while i < d:
        s0 += matrix[row, i] * w[i]
        i += 1
    return (s0 + s1) + (s2 + s3)


@numba.njit(**_JIT)
def _accumulate_rows(samples_t, idx, start, stop, w, acc):
    """acc += Σ_{b ∈ [start, stop)} (x_bᵀw) x_b with x_b = samples_t[idx[b]], the terms added in
    order of b. Rows go four at a time: four independent dot products share each load of w[i],
    and acc[i] is loaded and stored once per four rows (a vectorizable loop over i)."""
    d = w.shape[0]
    b = start
    while b + 4 <= stop:
        r0, r1, r2, r3 = idx[b], idx[b + 1], idx[b + 2], idx[b + 3]
        p0 = 0.0
        p1 = 0.0
        p2 = 0.0
        p3 = 0.0
        for i in range(d):
            wi = w[i]
            p0 += samples_t[r0, i] * wi
            p1 += samples_t[r1, i] * wi
            p2 += samples_t[r2, i] * wi
            p3 += samples_t[r3, i] * wi
        for i in range(d):
            total = acc[i]
            total += p0 * samples_t[r0, i]
            total += p1 * samples_t[r1, i]
            total += p2 * samples_t[r2, i]
            total += p3 * samples_t[r3, i]
            acc[i] = total
        b += 4
    while b < stop:
        row = idx[b]
        p = 0.0
        for i in range(d):
            p += samples_t[row, i] * w[i]
        for i in range(d):
            acc[i] += p * samples_t[row, i]
        b += 1


@numba.njit(**_JIT)
def _full_loss(w, hessian, diagonal):
    """½ wᵀHw (O(d) when H is diagonal)."""
    d = w.shape[0]
    total = 0.0
    if diagonal:
        for i in range(d):
            total += w[i] * w[i] * hessian[i, i]
    else:
        for i in range(d):
            total += w[i] * _row_dot(hessian, i, w)
    return 0.5 * total


# The optimizer rules of simlab.optim, compiled. The kernel names them as globals and picks one by
# index: a function passed as an argument would make numba's on-disk cache unusable (its type is
# the dispatcher's identity, and a function passed inside compiled code becomes a pointer that
# cannot be cached), and every process would pay ~13 s of CPU per rule to compile. ``_apply_rule``
# branches once per step, outside the loop over coordinates, and the chosen rule is inlined.
RULES = (optim.sgd_rule, optim.adam_rule, optim.rmsprop_rule, optim.signum_rule)
_sgd_rule = compiled_rule(optim.sgd_rule)
_adam_rule = compiled_rule(optim.adam_rule)
_rmsprop_rule = compiled_rule(optim.rmsprop_rule)
_signum_rule = compiled_rule(optim.signum_rule)


@numba.njit(**_JIT)
def _apply_rule(rule_id, g, gsq, m, v, step, t, lr, h0, h1, h2, h3):
    """For every coordinate i: step[i], m[i], v[i] = RULES[rule_id](g[i], gsq[i], m[i], v[i],
    t, lr, h0, h1, h2, h3). One loop per rule, so that each loop body is branch-free: LLVM can
    then hoist the rule's loop-invariant parts (Adam's β^t) and vectorize the rest."""
    d = g.shape[0]
    if rule_id == 0:
        for i in range(d):
            step[i], m[i], v[i] = _sgd_rule(g[i], gsq[i], m[i], v[i], t, lr, h0, h1, h2, h3)
    elif rule_id == 1:
        for i in range(d):
            step[i], m[i], v[i] = _adam_rule(g[i], gsq[i], m[i], v[i], t, lr, h0, h1, h2, h3)
    elif rule_id == 2:
        for i in range(d):
            step[i], m[i], v[i] = _rmsprop_rule(g[i], gsq[i], m[i], v[i], t, lr, h0, h1, h2, h3)
    else:
        for i in range(d):
            step[i], m[i], v[i] = _signum_rule(g[i], gsq[i], m[i], v[i], t, lr, h0, h1, h2, h3)


@numba.njit(parallel=True, fastmath=False, cache=True, error_model="numpy")
def _simulate_kernel(rule_id, hyper, w0, hessian, samples_t, noise_sqrt, noise_kind, lrs, schedule,
                     keys, batch_size, microbatch, batch_mode, batch_indices, record_slot,
                     threshold, clip_fraction, loss, diverged_step, w_final):
    """All runs r = (l, s) in parallel; outputs are written into loss, diverged_step, w_final."""
    n_seed = keys.shape[0]
    for r in prange(lrs.shape[0] * n_seed):
        _simulate_run(rule_id, r // n_seed, r % n_seed, hyper, w0, hessian, samples_t, noise_sqrt,
                      noise_kind, lrs, schedule, keys, batch_size, microbatch, batch_mode,
                      batch_indices, record_slot, threshold, clip_fraction, loss, diverged_step,
                      w_final)


@numba.njit(**_JIT)
def _simulate_run(rule_id, lr_index, seed, hyper, w0, hessian, samples_t, noise_sqrt, noise_kind, lrs,
                  schedule, keys, batch_size, microbatch, batch_mode, batch_indices, record_slot,
                  threshold, clip_fraction, loss, diverged_step, w_final):
    """One run (lr_index, seed) through all T steps; scratch buffers are allocated once, here."""
    d = w0.shape[0]
    steps = schedule.shape[0]
    kappa = batch_size // microbatch
    n_samples = samples_t.shape[0]
    h0, h1, h2, h3 = hyper[0], hyper[1], hyper[2], hyper[3]
    noise_scale = math.sqrt(microbatch)
    diagonal = noise_kind == _NOISE_DIAGONAL
    key = keys[seed]
    w = w_final[lr_index, seed]
    w[:] = w0
    m = np.zeros(d)
    v = np.zeros(d)
    g = np.empty(d)
    gsq = np.empty(d)
    micro = np.empty(d)
    hw = np.empty(d)
    z = np.empty(d)
    step_buf = np.empty(d)
    sort_buf = np.empty(d)
    idx = np.empty(batch_size, dtype=np.int64)
    for k in range(steps + 1):
        slot = record_slot[k]
        if slot >= 0:
            value = _full_loss(w, hessian, diagonal)
            loss[lr_index, seed, slot] = np.inf if math.isnan(value) else value
            if not value <= threshold:
                diverged_step[lr_index, seed] = k
                break
        if k == steps:
            break
        # ---- the oracle: micro-batch gradients → (g, gsq)
        if noise_kind == _NOISE_DATA:
            if batch_mode == _BATCH_GIVEN:
                for b in range(batch_size):
                    idx[b] = batch_indices[k, seed, b]
            elif batch_mode == _BATCH_WITH:
                _batch_with_replacement_into(idx, key, k, n_samples)
            else:
                _batch_without_replacement_into(idx, key, k, n_samples)
        else:
            if diagonal:
                for i in range(d):
                    hw[i] = hessian[i, i] * w[i]
            else:
                for i in range(d):
                    hw[i] = _row_dot(hessian, i, w)
        for j in range(kappa):
            if noise_kind == _NOISE_DATA:
                for i in range(d):
                    micro[i] = 0.0
                _accumulate_rows(samples_t, idx, j * microbatch, (j + 1) * microbatch, w, micro)
                for i in range(d):
                    micro[i] = micro[i] / microbatch
            else:
                for i in range(d):
                    z[i] = _standard_normal(key, np.uint64(k), np.uint64(j * d + i))
                for i in range(d):
                    xi = noise_sqrt[i, i] * z[i] if diagonal else _row_dot(noise_sqrt, i, z)
                    micro[i] = hw[i] + xi / noise_scale
            if kappa == 1:
                for i in range(d):
                    g[i] = micro[i]
                    gsq[i] = micro[i] * micro[i]
            elif j == 0:
                for i in range(d):
                    g[i] = micro[i]
                    gsq[i] = micro[i] * micro[i]
            else:
                for i in range(d):
                    g[i] += micro[i]
                    gsq[i] += micro[i] * micro[i]
        if kappa > 1:
            for i in range(d):
                g[i] = g[i] / kappa
                gsq[i] = gsq[i] / kappa
        # ---- the optimizer's elementwise rule, then the per-run clipping
        lr = lrs[lr_index] * schedule[k]
        t = float(k + 1)
        _apply_rule(rule_id, g, gsq, m, v, step_buf, t, lr, h0, h1, h2, h3)
        if clip_fraction > 0.0:
            _clip_top_fraction(step_buf, clip_fraction, sort_buf)
        for i in range(d):
            w[i] = w[i] + step_buf[i]


def rule_index(optimizer) -> int:
    """The index of ``optimizer.rule`` in ``RULES``; a ValueError for a rule the kernel lacks."""
    for i, rule in enumerate(RULES):
        if optimizer.rule is rule:
            return i
    names = ", ".join(r.__name__ for r in RULES)
    raise ValueError(f"optimizer={optimizer.name!r} uses rule {optimizer.rule.__name__!r}, which "
                     f"the numba backend does not compile (allowed: {names}); add it to "
                     "numba_backend.RULES or use backend='numpy'")


def _kernel_args(spec: RunSpec):
    """The kernel's arguments (dummy arrays stand in for unused inputs, so that one compiled
    kernel serves every rule, problem and sampling scheme)."""
    opt = spec.optimizer
    d = spec.dim
    if spec.samples_t is not None:
        noise_kind = _NOISE_DATA
        samples_t = np.ascontiguousarray(spec.samples_t, dtype=np.float64)
        noise_sqrt = np.zeros((1, 1))
    else:
        noise_kind = _NOISE_DIAGONAL if spec.diagonal else _NOISE_DENSE
        samples_t = np.zeros((1, d))
        noise_sqrt = np.ascontiguousarray(spec.noise_sqrt, dtype=np.float64)
    if spec.batch_indices is not None:
        batch_mode = _BATCH_GIVEN
        batch_indices = np.ascontiguousarray(spec.batch_indices, dtype=np.int64)
    else:
        batch_mode = _BATCH_WITH if spec.with_replacement else _BATCH_WITHOUT
        batch_indices = np.zeros((1, 1, 1), dtype=np.int64)
    record_slot = np.full(spec.steps + 1, -1, dtype=np.int64)
    record_slot[spec.record_steps] = np.arange(spec.record_steps.shape[0])
    n_lr, n_seed = spec.lrs.shape[0], spec.keys.shape[0]
    return (rule_index(opt), np.asarray(opt.hyper, dtype=np.float64),
            np.ascontiguousarray(spec.w0, dtype=np.float64),
            np.ascontiguousarray(spec.hessian, dtype=np.float64), samples_t, noise_sqrt,
            noise_kind, np.ascontiguousarray(spec.lrs, dtype=np.float64),
            np.ascontiguousarray(spec.schedule, dtype=np.float64),
            np.ascontiguousarray(spec.keys, dtype=np.uint64), int(spec.batch_size),
            int(spec.microbatch), batch_mode, batch_indices, record_slot,
            float(spec.divergence_threshold), float(opt.clip_fraction),
            np.full((n_lr, n_seed, spec.record_steps.shape[0]), np.inf),
            np.full((n_lr, n_seed), -1, dtype=np.int64), np.empty((n_lr, n_seed, d)))


def run(spec: RunSpec) -> RawResult:
    """Simulate every (lr, seed) run of ``spec`` (semantics: ``spec.py``; definition: ``reference.py``)."""
    args = _kernel_args(spec)
    _simulate_kernel(*args)
    loss, diverged_step, w_final = args[-3:]
    return RawResult(loss, diverged_step, w_final)
