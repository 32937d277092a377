"""Exact expected loss of SGD and SGD+momentum on noisy quadratics: a second-moment recursion.

For every linear optimizer in ``simlab.optim.sgd`` (plain SGD; momentum in heavy-ball form
m ← βm + g or EMA form m ← βm + (1−β)g; with or without Nesterov) one step is affine in the joint
state z = (w, m) and the gradient g:

    m' = β m + c g,                      c = 1 (heavy ball) or 1 − β (EMA)
    w' = w − η_k (a m + b g),            (a, b) = (β, c), or (β², c(1+β)) with Nesterov

with η_k = η·s_k the scheduled learning rate. Write the gradient as its mean plus zero-mean noise,
g = H w + ζ, where ζ = (A_S − H) w for a data set (A_S = (1/B) Σ_{i∈S} x_i x_iᵀ) and ζ = ξ ~ N(0, C/B)
for additive Gaussian noise; the batch (or ξ) of step k is independent of z_k. Then

    z' = K_k z + N_k ζ,   K_k = [[I − η_k b H, −η_k a I], [c H, β I]],   N_k = [−η_k b I; c I],

    E z'     = K_k E z,
    P'       = K_k P K_kᵀ + N_k Q(P_ww) N_kᵀ,        P = E[z zᵀ],  P_ww = E[w wᵀ],
    Q(P_ww)  = E[g gᵀ | P_ww] − H P_ww H             (``problems.gradient_second_moment``)

which is the same as F P Fᵀ + F P E_wᵀ H Gᵀ + G H E_w P Fᵀ + G E[g gᵀ] Gᵀ with z' = F z + G g.
Q is linear in P_ww for data noise (with the finite-population correction without replacement,
so Q = 0 at B = n) and constant, C/B, for Gaussian noise; the recursion is therefore exact, not an
approximation, for every batch size, sampling scheme and learning-rate schedule. The expected loss
is E L(w_k) = ½ tr(H P_ww,k). For plain SGD on the NQM it reduces to the per-coordinate closed
form of Zhang et al. 2019 (§3.2 of gap_quadratic.md); for heavy-ball momentum it is the linear
system of Zhang et al. 2019, eq. 21 (in the variables v = −η m).

Two paths: a dense one (P of size 2d × 2d, O(d³) per step, any H and C) and, when H and C are
diagonal (``problem.diagonal``, e.g. ``problems.nqm``), independent 2 × 2 blocks per coordinate,
vectorized over coordinates and learning rates (O(d) per step), so ``nqm(dim=10_000)`` is fast.

Regime of validity: exact for the linear optimizers above; adaptive or sign-based optimizers
(Adam, RMSprop, SignSGD, Signum, clipped momentum) are not linear in g and raise a ValueError.
The recursion does not model the simulator's divergence freezing: beyond the stability limit the
expected loss simply grows without bound.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from .. import _checks
from ..optim import Optimizer, lr_array
from ..transforms import ScaleByLearningRate, Trace
from ..problems.quadratic import QuadraticProblem, check_batch_size, gradient_second_moment
from ..schedules import Schedule, constant, record_steps


def linear_coefficients(optimizer: Optimizer) -> tuple[float, float, float, float]:
    """(β, c, a, b) of the update m' = βm + cg, w' = w − η(a m + b g); ValueError if not linear."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer={optimizer!r} must be an Optimizer (see simlab.optim)")
    kinds = tuple(type(h) for h in optimizer.chain)
    if (kinds != (Trace, ScaleByLearningRate) or optimizer.clip_fraction > 0.0
            or optimizer.max_grad_norm > 0.0 or optimizer.squares_microbatches):
        raise ValueError(f"optimizer={optimizer.label} is not linear in the gradient; the exact "
                         "recursion supports optim.sgd only (plain, heavy-ball or EMA momentum, "
                         "optionally Nesterov)")
    trace = optimizer.chain[0]
    beta = float(trace.momentum)
    grad_coef = 1.0 - beta if trace.ema else 1.0
    if trace.nesterov:
        return beta, grad_coef, beta * beta, grad_coef * (1.0 + beta)
    return beta, grad_coef, beta, grad_coef


def _resolve(problem, optimizer, lr, batch_size, steps, schedule, sampling, record_every):
    if not isinstance(problem, QuadraticProblem):
        raise ValueError(f"problem={problem!r} must be a QuadraticProblem (see simlab.problems)")
    coefs = linear_coefficients(optimizer)
    lrs = lr_array(lr)
    steps = _checks.integer("steps", steps, lo=1)
    record_every = _checks.integer("record_every", record_every, lo=1)
    batch_size = check_batch_size(problem, batch_size, sampling)
    if sampling == "epoch":
        raise ValueError("sampling='epoch' draws dependent batches across steps; the exact "
                         "recursion needs independent ones ('without_replacement' or "
                         "'with_replacement')")
    schedule = constant() if schedule is None else schedule
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule={schedule!r} must be a simlab.schedules.Schedule")
    return coefs, lrs, steps, batch_size, schedule(steps), record_steps(steps, record_every)


def _dense(problem, coefs, lrs, multipliers, records, batch_size, sampling):
    """Loss and mean of w at the record steps, (L, R) and (L, R, d), on the full 2d × 2d moments."""
    beta, c, a, b = coefs
    h = problem.hessian
    d = problem.dim
    eye = np.eye(d)
    record_index = {int(k): i for i, k in enumerate(records)}
    loss = np.empty((lrs.size, records.size))
    mean_w = np.empty((lrs.size, records.size, d))
    for l, peak in enumerate(lrs):
        z = np.concatenate([problem.w0, np.zeros(d)])
        p = np.outer(z, z)
        for k in range(multipliers.size + 1):
            if k in record_index:
                loss[l, record_index[k]] = 0.5 * np.sum(h * p[:d, :d])
                mean_w[l, record_index[k]] = z[:d]
            if k == multipliers.size:
                break
            eta = peak * multipliers[k]
            kmat = np.block([[eye - eta * b * h, -eta * a * eye], [c * h, beta * eye]])
            nmat = np.concatenate([-eta * b * eye, c * eye])
            p_ww = p[:d, :d]
            q = gradient_second_moment(problem, p_ww, batch_size, sampling) - h @ p_ww @ h
            p = kmat @ p @ kmat.T + nmat @ q @ nmat.T
            p = 0.5 * (p + p.T)
            z = kmat @ z
    return loss, mean_w


def _diagonal(problem, coefs, lrs, multipliers, records, batch_size):
    """The same recursion as ``_dense`` for diagonal H and C: per coordinate i the 2 × 2 block
    (E w_i², E w_i m_i, E m_i²), vectorized over (lr, coordinate)."""
    beta, c, a, b = coefs
    h = np.diag(problem.hessian)[None, :]
    noise = (np.diag(problem.noise_cov) / batch_size)[None, :]
    w0 = np.asarray(problem.w0, dtype=float)[None, :]
    shape = (lrs.size, h.size)
    ww = np.broadcast_to(w0 * w0, shape).copy()
    wm = np.zeros(shape)
    mm = np.zeros(shape)
    mw = np.broadcast_to(w0, shape).copy()
    mmean = np.zeros(shape)
    record_index = {int(k): i for i, k in enumerate(records)}
    loss = np.empty((lrs.size, records.size))
    mean_w = np.empty((lrs.size, records.size, h.size))
    for k in range(multipliers.size + 1):
        if k in record_index:
            loss[:, record_index[k]] = 0.5 * np.sum(h * ww, axis=1)
            mean_w[:, record_index[k]] = mw
        if k == multipliers.size:
            break
        eta = lrs[:, None] * multipliers[k]
        k11, k12, k21, k22 = 1.0 - eta * b * h, -eta * a, c * h, beta
        n1, n2 = -eta * b, c
        ww, wm, mm = (k11 * k11 * ww + 2 * k11 * k12 * wm + k12 * k12 * mm + n1 * n1 * noise,
                      k11 * k21 * ww + (k11 * k22 + k12 * k21) * wm + k12 * k22 * mm + n1 * n2 * noise,
                      k21 * k21 * ww + 2 * k21 * k22 * wm + k22 * k22 * mm + n2 * n2 * noise)
        mw, mmean = k11 * mw + k12 * mmean, k21 * mw + k22 * mmean
    return loss, mean_w


def _moments(problem, optimizer, lr, batch_size, steps, schedule, sampling, record_every):
    coefs, lrs, steps, batch_size, multipliers, records = _resolve(
        problem, optimizer, lr, batch_size, steps, schedule, sampling, record_every)
    with np.errstate(over="ignore", invalid="ignore"):
        if problem.diagonal:
            loss, mean_w = _diagonal(problem, coefs, lrs, multipliers, records, batch_size)
        else:
            loss, mean_w = _dense(problem, coefs, lrs, multipliers, records, batch_size, sampling)
    return lrs, records, loss, mean_w


def expected_loss(problem: QuadraticProblem, optimizer: Optimizer, lr, batch_size: int,
                  steps: int, schedule: Schedule | None = None,
                  sampling: str = "without_replacement", record_every: int = 1) -> xr.DataArray:
    """Exact E[½ w_kᵀ H w_k] at the record steps of ``simulate`` (0, r, 2r, …, T).

    Same arguments and meaning as ``simlab.simulate`` (``lr`` a scalar or a list of peak rates,
    the rate at step k being lr·schedule(T)[k]). Returns a DataArray with dims ("lr", "step"),
    or ("step",) for a scalar ``lr``. See the module docstring for the recursion.
    """
    lrs, records, loss, _ = _moments(problem, optimizer, lr, batch_size, steps, schedule,
                                     sampling, record_every)
    out = xr.DataArray(loss, dims=("lr", "step"), coords={"lr": lrs, "step": records},
                       name="expected_loss")
    return out.isel(lr=0) if np.ndim(lr) == 0 else out


def expected_iterate(problem: QuadraticProblem, optimizer: Optimizer, lr, batch_size: int,
                     steps: int, schedule: Schedule | None = None,
                     sampling: str = "without_replacement", record_every: int = 1) -> xr.DataArray:
    """Exact E[w_k] at the record steps: the noise-free recursion E z' = K_k E z.

    Dims ("lr", "step", "dim"), or ("step", "dim") for a scalar ``lr``. E w_k does not depend on
    the batch size or sampling scheme (the gradient is unbiased); they are validated all the same.
    """
    lrs, records, _, mean_w = _moments(problem, optimizer, lr, batch_size, steps, schedule,
                                       sampling, record_every)
    out = xr.DataArray(mean_w, dims=("lr", "step", "dim"), coords={"lr": lrs, "step": records},
                       name="expected_iterate")
    return out.isel(lr=0) if np.ndim(lr) == 0 else out
