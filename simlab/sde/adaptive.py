"""RMSprop and Adam SDEs as written in gap_quadratic.md §2.3–2.4 (both marked [recalled] there),
as dynamics of the engine (``simulate``), plus the warm start both sides of a comparison share.

Gaussian-noise problems only (g = ∇f + ξ, ξ ~ N(0, C/B)), so the per-sample covariance is the
constant C and diag Σ is known exactly. Euler–Maruyama with ``substeps`` m steps per optimizer
step; the auxiliary states (M, V or m, u) live in the engine's two state slots and are advanced
first, X uses the updated ones, and the bias-correction factors are evaluated at the end of the
EM step, mirroring the order of operations of the discrete optimizers (``optim.rmsprop``,
``optim.adam``) — a splitting that keeps EM's weak order 1.

Compagnoni et al. 2025 (ICLR; arXiv 2411.15958, §3.3) — time t = kη, β_i = 1 − ηρ_i,
Σ = C/B the mini-batch covariance, no weight decay (θ = 0):
    RMSprop: dX = −P⁻¹(∇f dt + √η Σ^{1/2} dW),  dV = ρ((∇f)² + diag Σ − V) dt,  P = diag(V)^{1/2} + εI.
    Adam:    dX = −(√ι₂/ι₁) P⁻¹ (M + ηρ₁(∇f − M)) dt,  dM = ρ₁(∇f − M) dt + √η ρ₁ Σ^{1/2} dW,
             dV = ρ₂((∇f)² + diag Σ − V) dt,  P = diag(V)^{1/2} + ε√ι₂ I,  ι_i = 1 − e^{−ρ_i t}.
Malladi et al. 2022 (NeurIPS; arXiv 2205.10287, §4) — time t = kη², g = ∇f + σz with
Cov z = Σ = C, σ = 1/√B, and σ₀ = ση, ε₀ = εη, c_i = (1 − β_i)/η² held fixed as η → 0:
    RMSprop: dθ = −P⁻¹(∇f dt + σ₀ Σ^{1/2} dW),  du = c₂(diag Σ − u) dt,  P = σ₀ diag(u)^{1/2} + ε₀ I.
    Adam:    dθ = −(√γ₂/γ₁) P⁻¹ m dt,  dm = c₁(∇f − m) dt + σ₀ c₁ Σ^{1/2} dW,
             du = c₂(diag Σ − u) dt,  P = σ₀ diag(u)^{1/2} + ε₀ √γ₂ I,  γ_i = 1 − e^{−c_i t}.
(e^x: ``portable_math.exp``, the same bits on every backend.)
Regime: Compagnoni — η → 0 at fixed B and ρ; Malladi — the noise-dominated limit η → 0 with
σ₀, c_i, ε₀ fixed, i.e. B ∝ η² (σ = σ₀/η grows) and 1 − β ∝ η² — the square-root scaling
rule (B → κB, η → √κ η, 1 − β → κ(1 − β)) run towards small batches.

The SDE constants are read off the discrete hyper-parameters at the lr η_k of each step:
ρ_i = (1 − β_i)/η_k or c_i = (1 − β_i)/η_k², so ρ_i·dt = c_i·dt = (1 − β_i)/m and, after EM step
r of optimizer step k, ρ_i t = (1 − β_i)(k + (r + 1)/m) (exactly so for a constant lr).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy import sqrt

from .. import _checks
from ..dynamics import Dynamics
from ..kernel_ops import problem_gradient, problem_noise, register_dynamics
from ..portable_math import exp
from ..problems.base import Problem
from ..random import standard_normal

FAMILIES = ("compagnoni", "malladi")
OPTIMIZERS = ("rmsprop", "adam")
STARTS = ("zero", "stationary")


@dataclass(frozen=True, eq=False)
class AdaptiveSDE(Dynamics):
    """An RMSprop or Adam SDE of ``family`` on a Gaussian-noise problem (module docstring).

    ``corrected``: bias-correction factors ι_i (γ_i) = 1 − e^{−ρ_i t} as for an optimizer started
    from zero state; False for a warm start (factors 1). The state slots hold (M, V) or (m, u).
    """
    family: str
    optimizer: str
    problem: Problem
    batch_size: int
    beta1: float
    beta2: float
    eps: float
    corrected: bool
    substeps: int = 1
    params: dict = field(default_factory=dict)

    def config(self) -> dict:
        return {"family": self.family, "optimizer": self.optimizer,
                "problem": self.problem.config(), "batch_size": self.batch_size,
                "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                "corrected": self.corrected, "substeps": self.substeps}

    @property
    def label(self) -> str:
        return f"{self.family}_{self.optimizer}_sde(B={self.batch_size})"

    def reference_step(self, ctx, w, m, v, k, lr):
        """``substeps`` EM steps of every run over optimizer step k (all runs at once)."""
        problem = self.problem
        malladi = self.family == "malladi"
        tau = lr * lr if malladi else lr
        dt = tau / self.substeps
        noise_amp = lr / math.sqrt(self.batch_size) if malladi else np.sqrt(lr / self.batch_size)
        diag_c = (problem.noise_sqrt ** 2).sum(axis=1)
        diag_sigma = diag_c if malladi else diag_c / self.batch_size
        r1dt = (1.0 - self.beta1) / self.substeps
        r2dt = (1.0 - self.beta2) / self.substeps
        root = problem.noise_sqrt
        for r in range(self.substeps):
            grad = problem.gradient(w)
            z = ctx.normals(k * self.substeps + r, problem.dim)[None]
            dw = (z @ root.T) * np.sqrt(dt)
            if malladi:
                v = v + r2dt * (diag_sigma - v)
            else:
                v = v + r2dt * (grad * grad + diag_sigma - v)
            if self.optimizer == "rmsprop":
                p = noise_amp * np.sqrt(v) + self.eps * lr if malladi else np.sqrt(v) + self.eps
                w = w - (grad * dt + noise_amp * dw) / p
                continue
            m = m + r1dt * (grad - m) + noise_amp * (r1dt / dt) * dw
            i1, i2 = 1.0, 1.0
            if self.corrected:
                elapsed = k + (r + 1.0) / self.substeps
                i1 = 1.0 - exp(-(1.0 - self.beta1) * elapsed)
                i2 = 1.0 - exp(-(1.0 - self.beta2) * elapsed)
            if malladi:
                p = noise_amp * np.sqrt(v) + self.eps * lr * math.sqrt(i2)
                w = w - math.sqrt(i2) / i1 * m / p * dt
            else:
                p = np.sqrt(v) + self.eps * math.sqrt(i2)
                w = w - math.sqrt(i2) / i1 * (m + lr * (r1dt / dt) * (grad - m)) / p * dt
        return w, m, v

    def kernel_record(self):
        d = self.problem.dim
        diag_c = np.ascontiguousarray((self.problem.noise_sqrt ** 2).sum(axis=1), dtype=np.float64)
        assert diag_c.shape == (d,)
        return AdaptiveSDERecord(self.family == "malladi", self.optimizer == "adam",
                                 float(self.beta1), float(self.beta2), float(self.eps),
                                 float(self.batch_size), bool(self.corrected), int(self.substeps),
                                 diag_c)


def adaptive_sde(problem: Problem, family: str, optimizer: str, batch_size: int,
                 beta1: float = 0.9, beta2: float = 0.99, eps: float = 1e-8,
                 start: str = "zero", substeps: int = 1) -> AdaptiveSDE:
    """The ``family`` SDE of ``optimizer`` ("rmsprop" uses β = ``beta2``) on a Gaussian-noise
    problem; ``start`` "zero" (bias correction on, zero state) or "stationary" (a warm start:
    pass ``warm_start(...)`` as ``simulate``'s init_state)."""
    if not isinstance(problem, Problem) or problem.n_samples is not None:
        raise ValueError(f"problem={problem!r} must be a Gaussian-noise problem")
    _checks.choice("family", family, FAMILIES)
    _checks.choice("optimizer", optimizer, OPTIMIZERS)
    _checks.choice("start", start, STARTS)
    return AdaptiveSDE(family, optimizer, problem, _checks.integer("batch_size", batch_size, lo=1),
                       _checks.beta("beta1", beta1), _checks.beta("beta2", beta2),
                       _checks.nonnegative("eps", eps), start == "zero",
                       _checks.integer("substeps", substeps, lo=1))


def warm_start(problem: Problem, batch_size: int, family: str = "compagnoni"):
    """(w0, m0, v0) of the warm start: m₀ = ∇f(w₀) and v₀ = E g(w₀)² = (∇f)² + diag C/B (the
    discrete optimizers and Compagnoni's V), or u₀ = diag C (Malladi, whose u omits (∇f)²)."""
    _checks.choice("family", family, FAMILIES)
    w0 = np.asarray(problem.w0, dtype=float)
    grad = problem.gradient(w0)
    diag_c = (problem.noise_sqrt ** 2).sum(axis=1)
    v0 = diag_c.copy() if family == "malladi" else grad ** 2 + diag_c / batch_size
    return w0, grad, v0


def adaptive_sde_loss(problem: Problem, family: str, optimizer: str, lr: float,
                      batch_size: int, steps: int, paths: int, beta1: float = 0.9,
                      beta2: float = 0.99, eps: float = 1e-8, substeps: int = 1, seed: int = 0,
                      start: str = "zero", backend: str = "auto"):
    """(P, T + 1) losses f(X_{t_k}) of ``paths`` EM paths; t_k = kη (Compagnoni) or kη² (Malladi)."""
    from ..simulate import simulate
    model = adaptive_sde(problem, family, optimizer, batch_size, beta1, beta2, eps, start,
                         substeps)
    init = warm_start(problem, batch_size, family) if start == "stationary" else None
    res = simulate(problem, model, _checks.positive("lr", lr), steps=steps, seeds=paths,
                   seed=seed, init_state=init, backend=backend)
    return res.loss.values[0]


# ------------------------------------------------------------------------------------------------
# Scalar step for the compiled backends
# ------------------------------------------------------------------------------------------------

class AdaptiveSDERecord(NamedTuple):
    malladi: bool
    adam: bool
    beta1: float
    beta2: float
    eps: float
    batch_size: float
    corrected: bool
    substeps: int
    diag_c: np.ndarray


def adaptive_sde_step(D, P, batching, seed, key, k, lr, w, state, scratch):
    m = state[0]
    v = state[1]
    d = w.shape[0]
    tau = lr * lr if D.malladi else lr
    dt = tau / D.substeps
    root_dt = sqrt(dt)
    noise_amp = lr / sqrt(D.batch_size) if D.malladi else sqrt(lr / D.batch_size)
    r1dt = (1.0 - D.beta1) / D.substeps
    r2dt = (1.0 - D.beta2) / D.substeps
    grad = scratch.g
    dw = scratch.micro
    z = scratch.z
    for r in range(D.substeps):
        counter = np.uint64(k * D.substeps + r)
        problem_gradient(P, w, grad)
        for q in range(d):
            z[q] = standard_normal(key, counter, np.uint64(q))
        problem_noise(P, z, dw)
        i1 = 1.0
        i2 = 1.0
        if D.adam and D.corrected:
            elapsed = k + (r + 1.0) / D.substeps
            i1 = 1.0 - exp(-(1.0 - D.beta1) * elapsed)
            i2 = 1.0 - exp(-(1.0 - D.beta2) * elapsed)
        for i in range(d):
            dw_i = dw[i] * root_dt
            sigma_i = D.diag_c[i] if D.malladi else D.diag_c[i] / D.batch_size
            if D.malladi:
                v[i] = v[i] + r2dt * (sigma_i - v[i])
            else:
                v[i] = v[i] + r2dt * (grad[i] * grad[i] + sigma_i - v[i])
            if not D.adam:
                p = noise_amp * sqrt(v[i]) + D.eps * lr if D.malladi else sqrt(v[i]) + D.eps
                w[i] = w[i] - (grad[i] * dt + noise_amp * dw_i) / p
            else:
                m[i] = m[i] + r1dt * (grad[i] - m[i]) + noise_amp * (r1dt / dt) * dw_i
                if D.malladi:
                    p = noise_amp * sqrt(v[i]) + D.eps * lr * sqrt(i2)
                    w[i] = w[i] - sqrt(i2) / i1 * m[i] / p * dt
                else:
                    p = sqrt(v[i]) + D.eps * sqrt(i2)
                    w[i] = w[i] - sqrt(i2) / i1 * (m[i] + lr * (r1dt / dt) * (grad[i] - m[i])) / p * dt


register_dynamics(AdaptiveSDERecord, adaptive_sde_step)
