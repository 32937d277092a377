"""The Gaussian sign-gradient model of Li et al. 2024 (Surge, Sec. 2), solved exactly with erf.

Model: the per-sample gradient of coordinate i is N(μ_i, σ_i²), independent across i, so the
mini-batch mean is G_est,i ~ N(μ_i, σ_i²/B) (App. C, Eq 34); the true gradient is G = μ (Eq 37);
the loss is locally quadratic with a symmetric PSD Hessian H (any H, not only diagonal). The update
is V = sign(G_est) (Eq 5; Adam with β1 = β2 = 0, Eq 29), and the step is θ ← θ − ε V.

Exact quantities (no approximation beyond the quadratic loss):

* E[V_i] = 𝓔_i(B) = erf(√(B/2) μ_i/σ_i)                           (Eq 35/38)
* Cov(V) = diag(1 − 𝓔_i²)                                          (Eq 36)
* E[ΔL](ε) = ε GᵀE[V] − ½ ε² (tr(H Cov V) + E[V]ᵀ H E[V])         (Eq 31, exact for a quadratic)
* ε_opt = GᵀE[V] / (tr(H Cov V) + E[V]ᵀH E[V])                     (Lemma 1, Eq 6; Theorem 2, Eq 9)
* ΔL_opt = ½ (GᵀE[V]) ε_opt                                        (Eq 7; Theorem 2, Eq 8)

The paper's closed-form approximations of these live in ``simlab.theory.surge``.
``monte_carlo_improvement`` draws sign updates (numba) to check the exact formula.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy.special import erf

from .. import _checks


@dataclass(frozen=True, eq=False, repr=False)
class SignModel:
    """Per-coordinate gradient mean ``mu`` (d,), std ``sigma`` (d,) > 0, Hessian ``hessian`` (d, d)."""
    mu: np.ndarray
    sigma: np.ndarray
    hessian: np.ndarray

    @property
    def dim(self) -> int:
        return self.mu.shape[0]

    def __repr__(self) -> str:
        snr = self.snr
        return f"SignModel(dim={self.dim}, snr in [{snr.min():.3g}, {snr.max():.3g}])"

    @property
    def snr(self) -> np.ndarray:
        """r_i = μ_i/σ_i."""
        return self.mu / self.sigma


def sign_model(mu, sigma, hessian) -> SignModel:
    """Validate and build a ``SignModel``; a ValueError names the offending argument."""
    mu = _checks.finite_array("mu", mu, ndim=1)
    d = mu.shape[0]
    if d < 1:
        raise ValueError("mu must have at least one coordinate, got shape (0,)")
    sigma = _checks.finite_array("sigma", sigma, ndim=1)
    if sigma.shape != (d,):
        raise ValueError(f"sigma must have shape {(d,)} like mu, got {sigma.shape}")
    sigma = _checks.real_or_array("sigma", sigma, 0.0, np.inf, lo_closed=False)
    hessian = _checks.symmetric_psd("hessian", hessian)
    if hessian.shape != (d, d):
        raise ValueError(f"hessian must have shape {(d, d)} to match mu, got {hessian.shape}")
    return SignModel(mu.copy(), sigma.copy(), 0.5 * (hessian + hessian.T))


def _batch(batch_size) -> np.ndarray:
    """B ≥ 1, scalar or array (real values allowed for smooth theory curves)."""
    return _checks.real_or_array("batch_size", batch_size, 1.0, np.inf)


def _model(model) -> SignModel:
    if not isinstance(model, SignModel):
        raise ValueError(f"model={model!r} must be a SignModel (see simlab.problems.sign_model)")
    return model


def expected_sign(model: SignModel, batch_size) -> np.ndarray:
    """𝓔_i(B) = E[sign(G_est,i)] = erf(√(B/2) μ_i/σ_i) (Eq 35); shape B.shape + (d,)."""
    b = _batch(batch_size)
    return erf(np.sqrt(b / 2.0)[..., None] * _model(model).snr)


def sign_covariance(model: SignModel, batch_size) -> np.ndarray:
    """Cov(sign(G_est)) = diag(1 − 𝓔_i²) (Eq 36); shape B.shape + (d, d)."""
    e = expected_sign(model, batch_size)
    return (1.0 - e * e)[..., None] * np.eye(model.dim)


def lemma1_optimal_lr(gradient, mean_update, cov_update, hessian):
    """Lemma 1 (Eq 6): ε_opt = GᵀE[V] / (tr(H Cov V) + E[V]ᵀ H E[V]), and ΔL_opt (Eq 7).

    Valid for any update V whose step is −εV on a quadratic loss; arrays broadcast over leading
    axes: ``mean_update`` (..., d), ``cov_update`` (..., d, d). Returns (ε_opt, ΔL_opt).
    """
    gv = np.einsum("i,...i->...", gradient, mean_update)
    curv = (np.einsum("ij,...ji->...", hessian, cov_update)
            + np.einsum("...i,ij,...j->...", mean_update, hessian, mean_update))
    eps = gv / curv
    return eps, 0.5 * gv * eps


def _curvature(model: SignModel, e: np.ndarray) -> np.ndarray:
    """E[VᵀHV] = Σ_i (1 − 𝓔_i²) H_ii + Σ_ij 𝓔_i 𝓔_j H_ij (the denominator of Eq 8/9)."""
    h = model.hessian
    return ((1.0 - e * e) @ np.diag(h)) + np.einsum("...i,ij,...j->...", e, h, e)


def optimal_lr(model: SignModel, batch_size) -> np.ndarray:
    """Exact ε_opt(B) of sign descent, Theorem 2 Eq 9 with the true erf (valid for every B ≥ 1)."""
    e = expected_sign(model, batch_size)
    return (e @ model.mu) / _curvature(model, e)


def optimal_improvement(model: SignModel, batch_size) -> np.ndarray:
    """Exact ΔL_opt(B) of sign descent, Theorem 2 Eq 8: ½ (Σ_i 𝓔_i μ_i)² / E[VᵀHV]."""
    e = expected_sign(model, batch_size)
    gv = e @ model.mu
    return 0.5 * gv * gv / _curvature(model, e)


def expected_improvement(model: SignModel, batch_size, lr) -> np.ndarray:
    """Exact E[L(θ) − L(θ − εV)] = ε GᵀE[V] − ½ ε² E[VᵀHV] (Eq 31) at learning rate ε = ``lr``."""
    lr = _checks.real_or_array("lr", lr, 0.0, np.inf)
    e = expected_sign(model, batch_size)
    return lr * (e @ model.mu) - 0.5 * lr * lr * _curvature(model, e)


@numba.njit(cache=True)
def _mc_sign_steps(mu, sd_batch, hessian, lr, n_draws, seed):
    np.random.seed(seed)
    d = mu.shape[0]
    v = np.empty(d)
    total = 0.0
    total_sq = 0.0
    for _ in range(n_draws):
        for i in range(d):
            g = mu[i] + sd_batch[i] * np.random.standard_normal()
            v[i] = 1.0 if g > 0.0 else (-1.0 if g < 0.0 else 0.0)
        gv = 0.0
        vhv = 0.0
        for i in range(d):
            gv += mu[i] * v[i]
            row = 0.0
            for j in range(d):
                row += hessian[i, j] * v[j]
            vhv += v[i] * row
        dl = lr * gv - 0.5 * lr * lr * vhv
        total += dl
        total_sq += dl * dl
    mean = total / n_draws
    var = (total_sq / n_draws - mean * mean) * n_draws / max(n_draws - 1, 1)
    return mean, np.sqrt(max(var, 0.0) / n_draws)


def monte_carlo_improvement(model: SignModel, batch_size: int, lr: float, n_draws: int,
                            seed: int) -> tuple[float, float]:
    """Monte Carlo of one sign step: draws G_est ~ N(μ, diag σ²/B), V = sign(G_est), and returns
    (mean, standard error) of ΔL = ε GᵀV − ½ ε² VᵀHV (the exact loss change of the quadratic).

    Uses numba's generator seeded explicitly with ``seed`` (single-threaded, so reproducible).
    """
    model = _model(model)
    batch_size = _checks.integer("batch_size", batch_size, lo=1)
    lr = _checks.nonnegative("lr", lr)
    n_draws = _checks.integer("n_draws", n_draws, lo=2)
    seed = _checks.integer("seed", seed, lo=0, hi=2**32 - 1)
    sd = model.sigma / np.sqrt(batch_size)
    mean, se = _mc_sign_steps(model.mu, sd, np.ascontiguousarray(model.hessian), lr, n_draws, seed)
    return float(mean), float(se)
