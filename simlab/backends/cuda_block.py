"""The block-per-run layout of the CUDA backend, for large d: a block of threads per run, in lockstep.

Every thread of block b runs ``per_run.run_one`` for the same runs r = b, b + #blocks, … — the same
run loop, record and divergence rule — with two generic functions bound to cooperative versions:

* ``problem_loss`` → ``block_loss``: thread 0 evaluates the problem's own ``loss`` and shares it
  through shared memory (record steps only);
* ``dynamics_step`` → ``block_discrete_step``: one optimizer step split over the block. Thread 0
  draws the batch (``per_run.draw_batch``, the same draws); the rows of each micro-batch are dealt
  out to the threads, thread t adding the problem's own per-sample gradients
  (``add_sample_gradient``) of rows t, t + width, … into its row of a (width, d) partial-sum
  buffer; then thread t sums the partials of coordinates i = t, t + width, … (in thread order) and
  applies the optimizer's chain (``chain_per_step``/``chain_update``) to them.

Control flow is uniform across a block (every branch depends on the run, the step or the record,
never on the thread), so the ``syncthreads`` barriers are reached by all threads; there are no
warp shuffles or votes. Numbers: the batches, draws, rules and per-sample gradients are the same
functions; only the order in which a micro-batch's per-sample gradients are summed differs from
the serial step (partial sums per thread, then across threads), a rounding difference of a few
ulps. Covered: data problems (a finite sample set) with the discrete optimizers, without
clipping; everything else (Gaussian noise, whose gradient and noise are whole-vector operations;
adaptive momentum clipping, a quantile over coordinates; global-norm clipping, a norm over them;
the SDE models) runs thread-per-run.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..kernel_ops import (chain_per_step, chain_update, problem_add_sample_gradient,
                          problem_n_samples)
from .per_run import count_rows, draw_batch, run_one

MAX_THREADS = 256


class BlockScratch(NamedTuple):
    """``per_run.Scratch``'s buffers of one run (shared by its block) plus the (width, d)
    partial sums of the per-sample gradients, row t for thread t."""
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
    partial: np.ndarray


def bindings(P, D) -> dict:
    """The generic bindings of the thread layout with the two cooperative replacements."""
    from ..kernel_ops import PROBLEM_OPS
    from .cuda_compile import generic_bindings, kernel_key
    bound = generic_bindings(*kernel_key(P, D))
    bound["problem_loss"] = block_loss
    bound["serial_loss"] = PROBLEM_OPS[type(P)].loss
    bound["dynamics_step"] = block_discrete_step
    return bound


def bind_cuda():
    from .cuda_device import bind_cuda as bind
    bind(globals())


def supported(P, D) -> bool:
    """Whether the block layout runs this problem record and dynamics record."""
    from ..kernel_ops import PROBLEM_OPS
    from .per_run import Discrete
    ops = PROBLEM_OPS.get(type(P))
    return (ops is not None and ops.has_samples and isinstance(D, Discrete)
            and D.clip_fraction == 0.0 and getattr(D, "max_grad_norm", 0.0) == 0.0)


def block_loss(P, w):
    """The problem's loss at w, evaluated by thread 0 and shared with the block."""
    value = cuda.shared.array(1, float64)
    cuda.syncthreads()
    if cuda.threadIdx.x == 0:
        value[0] = serial_loss(P, w)  # noqa: F821  (bound to the problem's loss)
    cuda.syncthreads()
    result = value[0]
    cuda.syncthreads()
    return result


def block_discrete_step(D, P, batching, seed, key, k, lr, w, state, scratch):
    """One optimizer step of a data problem by the whole block (module docstring)."""
    lane = cuda.threadIdx.x
    width = cuda.blockDim.x
    d = w.shape[0]
    n = problem_n_samples(P)
    microbatch = batching.microbatch
    kappa = batching.batch_size // microbatch
    g = scratch.g
    gsq = scratch.gsq
    micro = scratch.micro
    partial = scratch.partial[lane]
    if lane == 0:
        draw_batch(batching, n, seed, key, k, scratch)
    cuda.syncthreads()
    for j in range(kappa):
        start = j * microbatch
        stop = start + microbatch
        for i in range(d):
            partial[i] = 0.0
        active = min(width, microbatch)
        if batching.use_counts:
            if lane == 0:
                scratch.epoch[1] = count_rows(scratch, n, start, stop)
            cuda.syncthreads()
            distinct = scratch.epoch[1]
            active = min(width, distinct)
            c = lane
            while c < distinct:
                problem_add_sample_gradient(P, w, scratch.rows[c], scratch.weights[c], partial)
                c += width
        else:
            b = start + lane
            while b < stop:
                problem_add_sample_gradient(P, w, scratch.idx[b], 1.0, partial)
                b += width
        cuda.syncthreads()
        target = g if kappa == 1 else micro
        i = lane
        while i < d:
            total = 0.0
            for t in range(active):
                total += scratch.partial[t, i]
            if microbatch > 1:
                total = total / microbatch
            target[i] = total
            if kappa > 1:
                if j == 0:
                    g[i] = total
                    gsq[i] = total * total
                else:
                    g[i] += total
                    gsq[i] += total * total
            i += width
        cuda.syncthreads()
    s = chain_per_step(D.chain, float(k + 1), lr)
    i = lane
    while i < d:
        if kappa > 1:
            gi = g[i] / kappa
            gsq_i = gsq[i] / kappa
        else:
            gi = g[i]
            gsq_i = gi * gi
        w[i] = w[i] + chain_update(D.chain, s, gi, gsq_i, w[i], state, i)
        i += width
    cuda.syncthreads()


def simulate_blocks(P, D, plan, batching, out, work, partials, n_runs):
    """Block b runs r = b, b + #blocks, … < n_runs with scratch column b, all its threads
    through ``per_run.run_one`` (module docstring)."""
    blk = cuda.blockIdx.x
    if blk >= work.g.shape[1]:
        return
    scratch = BlockScratch(work.g[:, blk], work.gsq[:, blk], work.micro[:, blk],
                           work.aux[:, blk], work.z[:, blk], work.idx[:, blk], work.perm[:, blk],
                           work.counts[:, blk], work.rows[:, blk], work.weights[:, blk],
                           work.epoch[:, blk], work.sort[:, blk], partials[blk])
    D, batching = fixed_records(D, batching)  # noqa: F821  (cuda_backend.fixed_records_function)
    r = blk
    while r < n_runs:
        run_one(r, P, D, plan, batching, out, scratch)
        r += cuda.gridDim.x
