"""The Monte Carlo of one sign step of the Gaussian sign-gradient model (surge; ``problems.sign_model``)
on the device.

Draw j of seed ``seed`` (key = ``random.run_keys(seed, 1)[0]``): G_est,i = μ_i + (σ_i/√B) z_i with
z_i = ``random.standard_normal(key, j, i)``, V = sign(G_est), ΔL_j = ε μᵀV − ½ ε² VᵀHV — the exact
loss change of the quadratic, as ``sign_model.monte_carlo_improvement`` computes it with numba's
sequential generator. Here every draw is a pure function of (key, j), so draws run in parallel (a
thread per draw) and the device draws are bit for bit those of ``improvement_draws_host`` (the same
scalar source compiled by numba for the CPU); the mean and standard error are reduced on the
device (shared-memory tree, fixed order).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _checks
from .. import random as rnd
from ..random import standard_normal

REDUCE_THREADS = 256


def sign(x):
    return 1.0 * (x > 0.0) - 1.0 * (x < 0.0)


def sign_step_improvement(mu, sd_batch, hessian, lr, key, draw, v):
    """ΔL of draw ``draw``: ε μᵀV − ½ ε² VᵀHV with V = sign(μ + sd_batch·z) (module docstring);
    ``v`` is a (d,) buffer."""
    d = mu.shape[0]
    for i in range(d):
        z = standard_normal(key, np.uint64(draw), np.uint64(i))
        v[i] = sign(mu[i] + sd_batch[i] * z)
    gv = 0.0
    vhv = 0.0
    for i in range(d):
        gv += mu[i] * v[i]
        row = 0.0
        for j in range(d):
            row += hessian[i, j] * v[j]
        vhv += v[i] * row
    return lr * gv - 0.5 * lr * lr * vhv


def draws_kernel(mu, sd_batch, hessian, lr, key, buffers, out):
    """out[j] = ΔL of draw j, thread t using buffers[:, t] (grid-stride over draws)."""
    t = cuda.grid(1)
    width = cuda.gridsize(1)
    if t >= buffers.shape[1]:
        return
    v = buffers[:, t]
    j = t
    while j < out.shape[0]:
        out[j] = sign_step_improvement(mu, sd_batch, hessian, lr, key, j, v)
        j += width


def sum_kernel(values, out):
    """out[0] = Σ values, out[1] = Σ values² (one block, shared-memory tree in a fixed order)."""
    tid = cuda.threadIdx.x
    width = cuda.blockDim.x
    sums = cuda.shared.array(REDUCE_THREADS, float64)
    squares = cuda.shared.array(REDUCE_THREADS, float64)
    a = 0.0
    b = 0.0
    for j in range(tid, values.shape[0], width):
        a += values[j]
        b += values[j] * values[j]
    sums[tid] = a
    squares[tid] = b
    cuda.syncthreads()
    half = width // 2
    while half > 0:
        if tid < half:
            sums[tid] += sums[tid + half]
            squares[tid] += squares[tid + half]
        cuda.syncthreads()
        half //= 2
    if tid == 0:
        out[0] = sums[0]
        out[1] = squares[0]


_KERNELS: dict = {}


def globals_for_kernels():
    """numba.cuda and the shared arrays' dtype into this module's globals
    (``cuda_device.bind_cuda``)."""
    from .cuda_device import bind_cuda
    bind_cuda(globals())


def _kernels():
    if not _KERNELS:
        from .cuda_compile import DeviceCompiler
        globals_for_kernels()
        compiler = DeviceCompiler({})
        _KERNELS["draws"] = compiler.kernel(draws_kernel)
        _KERNELS["sum"] = compiler.kernel(sum_kernel)
    return _KERNELS


def _inputs(model, batch_size, lr, n_draws, seed):
    from ..problems.sign_model import _model
    model = _model(model)
    batch_size = _checks.integer("batch_size", batch_size, lo=1)
    lr = _checks.nonnegative("lr", lr)
    n_draws = _checks.integer("n_draws", n_draws, lo=2)
    seed = _checks.integer("seed", seed, lo=0)
    sd = model.sigma / np.sqrt(batch_size)
    key = rnd.run_keys(seed, 1)[0]
    return model, sd, lr, n_draws, key


def monte_carlo_improvement(model, batch_size: int, lr: float, n_draws: int, seed: int,
                            return_draws: bool = False):
    """(mean, standard error) of ΔL over ``n_draws`` sign steps drawn on the device (module
    docstring); with ``return_draws``, also the (n_draws,) draws."""
    from . import cuda_device
    from .cuda_compile import launching
    model, sd, lr, n_draws, key = _inputs(model, batch_size, lr, n_draws, seed)
    cuda_device.require_device()
    kernels = _kernels()
    arrays = cuda_device.Arrays()
    k = arrays.kernel_arg
    blocks, threads = cuda_device.grid(n_draws)
    mu, sd_d, h = (k(arrays.to_device(np.asarray(a, dtype=np.float64)))
                   for a in (model.mu, sd, model.hessian))
    buffers = k(arrays.empty((model.dim, blocks * threads), np.float64))
    draws = arrays.empty((n_draws,), np.float64)
    totals = arrays.empty((2,), np.float64)
    reduce_threads = cuda_device.SIM_THREADS if cuda_device.simulator() else REDUCE_THREADS
    with launching():
        kernels["draws"][blocks, threads](mu, sd_d, h, lr, key, buffers, k(draws))
    with launching(barriers=True):
        kernels["sum"][1, reduce_threads](k(draws), k(totals))
    arrays.synchronize()
    total, total_sq = arrays.to_host(totals)
    mean = total / n_draws
    var = (total_sq / n_draws - mean * mean) * n_draws / (n_draws - 1)
    se = math.sqrt(max(var, 0.0) / n_draws)
    if return_draws:
        return float(mean), float(se), arrays.to_host(draws)
    return float(mean), float(se)


def improvement_draws_host(model, batch_size: int, lr: float, n_draws: int, seed: int):
    """The (n_draws,) draws of ``monte_carlo_improvement`` computed on the CPU by numba from the
    same scalar source (``sign_step_improvement``)."""
    from .numba_backend import compiled
    model, sd, lr, n_draws, key = _inputs(model, batch_size, lr, n_draws, seed)
    step = compiled(sign_step_improvement)
    v = np.empty(model.dim)
    hessian = np.ascontiguousarray(model.hessian)
    return np.array([step(model.mu, sd, hessian, lr, key, j, v) for j in range(n_draws)])
