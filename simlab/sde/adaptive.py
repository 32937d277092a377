"""RMSprop and Adam SDEs as written in gap_quadratic.md §2.3–2.4 (both marked [recalled] there).

Gaussian-noise problems only (g = Hx + ξ, ξ ~ N(0, C/B)), so the per-sample covariance is the
constant C and diag Σ is known exactly. Both families are integrated by Euler–Maruyama, numpy,
vectorized over paths; the auxiliary states (M, V or m, u) are advanced first and X uses the
updated ones, and the bias-correction factors are evaluated at the end of the step, mirroring the
order of operations of the discrete optimizers (``optim.rmsprop``, ``optim.adam``) — a splitting
that keeps EM's weak order 1.

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
Regime: Compagnoni — η → 0 at fixed B and ρ; Malladi — the noise-dominated limit η → 0 with
σ₀, c_i, ε₀ fixed, i.e. B ∝ η² (σ = σ₀/η grows) and 1 − β ∝ η² — the square-root scaling
rule (B → κB, η → √κ η, 1 − β → κ(1 − β)) run towards small batches.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ..problems.quadratic import QuadraticProblem

FAMILIES = ("compagnoni", "malladi")
OPTIMIZERS = ("rmsprop", "adam")


STARTS = ("zero", "stationary")


def _start_state(problem, family, batch_size, start, paths):
    """(M₀, V₀, bias-correction on?) of the SDE: zeros with ι, γ = 1 − e^{−ρt} ("zero"), or a warm
    start with the correction factors at 1 ("stationary"): M₀ = ∇f(w₀) and V₀ = (∇f)² + diag Σ
    (Compagnoni) or u₀ = diag C (Malladi, whose u omits (∇f)²)."""
    d = problem.dim
    if start == "zero":
        return np.zeros((paths, d)), np.zeros((paths, d)), True
    grad = problem.gradient(np.asarray(problem.w0, float))
    diag_c = np.diag(problem.noise_cov)
    v0 = grad ** 2 + diag_c / batch_size if family == "compagnoni" else diag_c.copy()
    return (np.broadcast_to(grad, (paths, d)).copy(), np.broadcast_to(v0, (paths, d)).copy(), False)


def adaptive_discrete_loss(problem: QuadraticProblem, optimizer: str, lr: float, batch_size: int,
                           steps: int, paths: int, beta1: float = 0.9, beta2: float = 0.99,
                           eps: float = 1e-8, start: str = "stationary", seed: int = 0):
    """(P, T + 1) losses of the discrete RMSprop/Adam (``optim`` rules) on g = Hx + L z/√B.

    ``start="stationary"``: m₀ = ∇f(w₀), v₀ = E g(w₀)² = (∇f)² + diag C/B and no bias correction
    (the warm start matching ``adaptive_sde_loss(start="stationary")``); "zero": as ``simulate``
    (zero state, Adam with bias correction), but with numpy draws from ``seed``."""
    from ..optim import OptState, adam, rmsprop
    if not isinstance(problem, QuadraticProblem) or problem.noise_cov is None:
        raise ValueError(f"problem={problem!r} must be a Gaussian-noise QuadraticProblem")
    _checks.choice("optimizer", optimizer, OPTIMIZERS)
    _checks.choice("start", start, STARTS)
    eta = _checks.positive("lr", lr)
    batch_size = _checks.integer("batch_size", batch_size, lo=1)
    steps = _checks.integer("steps", steps, lo=1)
    paths = _checks.integer("paths", paths, lo=1)
    opt = (adam(beta1, beta2, eps, bias_correction=(start == "zero")) if optimizer == "adam"
           else rmsprop(beta2, eps))
    rng = np.random.default_rng(_checks.integer("seed", seed, lo=0))
    x = np.broadcast_to(np.asarray(problem.w0, float), (paths, problem.dim)).copy()
    state = opt.init(x)
    if start == "stationary":
        grad = problem.gradient(x[0])
        v0 = grad ** 2 + np.diag(problem.noise_cov) / batch_size
        state = OptState(0, np.broadcast_to(grad, x.shape).copy(), np.broadcast_to(v0, x.shape).copy())
    root = problem.noise_sqrt / math.sqrt(batch_size)
    out = np.empty((paths, steps + 1))
    out[:, 0] = problem.loss(x)
    for k in range(steps):
        g = x @ problem.hessian + rng.standard_normal(x.shape) @ root.T
        step, state = opt.update(g, state, eta)
        x = x + step
        out[:, k + 1] = problem.loss(x)
    return out


def adaptive_sde_loss(problem: QuadraticProblem, family: str, optimizer: str, lr: float,
                      batch_size: int, steps: int, paths: int, beta1: float = 0.9,
                      beta2: float = 0.99, eps: float = 1e-8, substeps: int = 1, seed: int = 0,
                      start: str = "zero"):
    """(P, T + 1) losses f(X_{t_k}) of ``paths`` EM paths; t_k = kη (Compagnoni) or kη² (Malladi).

    The SDE constants are read off the discrete hyper-parameters: ρ_i = (1 − β_i)/η, or
    c_i = (1 − β_i)/η², σ₀ = η/√B, ε₀ = εη. RMSprop uses β = ``beta2``. ``start``: "zero" (like
    ``optim``'s zero state) or "stationary" (see ``_start_state``).
    """
    if not isinstance(problem, QuadraticProblem) or problem.noise_cov is None:
        raise ValueError(f"problem={problem!r} must be a Gaussian-noise QuadraticProblem")
    _checks.choice("family", family, FAMILIES)
    _checks.choice("optimizer", optimizer, OPTIMIZERS)
    eta = _checks.positive("lr", lr)
    batch_size = _checks.integer("batch_size", batch_size, lo=1)
    steps = _checks.integer("steps", steps, lo=1)
    paths = _checks.integer("paths", paths, lo=1)
    beta1 = _checks.beta("beta1", beta1)
    beta2 = _checks.beta("beta2", beta2)
    eps = _checks.nonnegative("eps", eps)
    substeps = _checks.integer("substeps", substeps, lo=1)
    _checks.choice("start", start, STARTS)
    rng = np.random.default_rng(_checks.integer("seed", seed, lo=0))
    h = problem.hessian
    root = problem.noise_sqrt
    diag_c = np.diag(problem.noise_cov)
    d = problem.dim
    x = np.broadcast_to(np.asarray(problem.w0, float), (paths, d)).copy()
    if family == "compagnoni":
        tau = eta
        r1, r2 = (1 - beta1) / eta, (1 - beta2) / eta
        noise_amp = math.sqrt(eta / batch_size)          # √η Σ^{1/2} with Σ = C/B
        diag_sigma = diag_c / batch_size
    else:
        tau = eta * eta
        r1, r2 = (1 - beta1) / tau, (1 - beta2) / tau
        noise_amp = eta / math.sqrt(batch_size)          # σ₀ Σ^{1/2} with Σ = C
        diag_sigma = diag_c
    m, v, corrected = _start_state(problem, family, batch_size, start, paths)
    dt = tau / substeps
    out = np.empty((paths, steps + 1))
    out[:, 0] = problem.loss(x)
    t = 0.0
    for k in range(steps):
        for _ in range(substeps):
            grad = x @ h
            dw = rng.standard_normal((paths, d)) @ root.T * math.sqrt(dt)
            t_new = t + dt
            if family == "compagnoni":
                v = v + r2 * (grad * grad + diag_sigma - v) * dt
            else:
                v = v + r2 * (diag_sigma - v) * dt
            if optimizer == "rmsprop":
                if family == "compagnoni":
                    p = np.sqrt(v) + eps
                else:
                    p = noise_amp * np.sqrt(v) + eps * eta
                x = x - (grad * dt + noise_amp * dw) / p
            else:
                m = m + r1 * (grad - m) * dt + noise_amp * r1 * dw
                i1, i2 = ((1 - math.exp(-r1 * t_new), 1 - math.exp(-r2 * t_new)) if corrected
                          else (1.0, 1.0))
                if family == "compagnoni":
                    p = np.sqrt(v) + eps * math.sqrt(i2)
                    x = x - math.sqrt(i2) / i1 * (m + eta * r1 * (grad - m)) / p * dt
                else:
                    p = noise_amp * np.sqrt(v) + eps * eta * math.sqrt(i2)
                    x = x - math.sqrt(i2) / i1 * m / p * dt
            t = t_new
        out[:, k + 1] = problem.loss(x)
    return out
