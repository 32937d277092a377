"""Gradient noise scales of McCandlish et al. 2018 (*An Empirical Model of Large-Batch Training*).

* B_simple = tr Σ / |G|²                 (McCandlish Eq 2.9)
* B_noise  = tr(HΣ) / (GᵀHG)             (McCandlish Eq 2.8; the SGD B_noise of Li et al. Eq 1)

with G the full-batch gradient and Σ the per-sample gradient covariance at w, computed exactly for
``simlab.problems`` quadratics (Σ from ``per_sample_covariance``).

Two-batch estimator (McCandlish App. A.1): the mini-batch gradient obeys E|G_B|² = |G|² + c_B trΣ
with c_B = 1/B for i.i.d. samples (with replacement, or Gaussian noise) and the finite-population
factor c_B = (n − B)/(B(n − 1)) when B of n samples are drawn without replacement. Given |G_b|² and
|G_B|² at b < B, solving the two equations gives the unbiased estimates

    |G|²_est = (c_b |G_B|² − c_B |G_b|²)/(c_b − c_B),   trΣ_est = (|G_b|² − |G_B|²)/(c_b − c_B),

which for c = 1/B are McCandlish's (B|G_B|² − b|G_b|²)/(B − b) and (|G_b|² − |G_B|²)/(1/b − 1/B).
Each is unbiased; their ratio B_simple_est is not (McCandlish average numerator and denominator
separately over many pairs before dividing, as ``two_batch_estimate`` does for arrays).
"""
from __future__ import annotations

import numpy as np

from .. import _checks
from ..problems.quadratic import QuadraticProblem, batch_covariance_factor, per_sample_covariance


def _gradient_and_covariance(problem: QuadraticProblem, w):
    if not isinstance(problem, QuadraticProblem):
        raise ValueError(f"problem={problem!r} must be a QuadraticProblem (see simlab.problems)")
    w = _checks.finite_array("w", w, shape=(problem.dim,))
    if problem.samples is not None:
        # Data noise: G ∝ w and Σ ∝ w², so both ratios are scale-free; rescaling w keeps |w|
        # far from overflow (and from underflow) without changing them.
        scale = float(np.max(np.abs(w)))
        if scale > 0:
            w = w / scale
    return problem.gradient(w), per_sample_covariance(problem, w)


def simple_noise_scale(problem: QuadraticProblem, w) -> float:
    """B_simple = tr Σ / |G|² at w (exact); inf at a stationary point (for data noise both scale
    like |w|², so B_simple depends on the direction of w only)."""
    g, sigma = _gradient_and_covariance(problem, w)
    gg = float(g @ g)
    return np.inf if gg == 0 else float(np.trace(sigma)) / gg


def noise_scale(problem: QuadraticProblem, w) -> float:
    """B_noise = tr(HΣ) / (GᵀHG) at w (exact); inf where GᵀHG = 0."""
    g, sigma = _gradient_and_covariance(problem, w)
    h = problem.hessian
    ghg = float(g @ h @ g)
    return np.inf if ghg == 0 else float(np.trace(h @ sigma)) / ghg


def two_batch_estimate(norm_sq_small, norm_sq_big, batch_small: int, batch_big: int,
                       n_samples: int | None = None) -> dict:
    """McCandlish App. A.1 two-batch estimates from squared gradient norms at b < B.

    ``norm_sq_small``/``norm_sq_big``: |G_b|², |G_B|² (scalars or equal-shape arrays of paired
    draws). ``n_samples``: None for i.i.d. draws (with replacement, Gaussian noise), or the data set
    size n for sampling without replacement (finite-population factors, see module docstring).
    Returns {"grad_sq", "trace_cov"} (unbiased, averaged over the given draws), their standard
    errors "grad_sq_se", "trace_cov_se" over the draws (nan for a single pair) and
    "simple_noise_scale" = trace_cov/grad_sq (a ratio of means, consistent but not unbiased).
    """
    small = _checks.real_or_array("norm_sq_small", norm_sq_small, 0.0, np.inf)
    big = _checks.real_or_array("norm_sq_big", norm_sq_big, 0.0, np.inf)
    if small.shape != big.shape:
        raise ValueError(f"norm_sq_small and norm_sq_big must have the same shape, "
                         f"got {small.shape} and {big.shape}")
    batch_small = _checks.integer("batch_small", batch_small, lo=1)
    batch_big = _checks.integer("batch_big", batch_big, lo=batch_small + 1)
    sampling = "with_replacement"
    if n_samples is not None:
        n_samples = _checks.integer("n_samples", n_samples, lo=batch_big)
        sampling = "without_replacement"
    c_small = batch_covariance_factor(n_samples, batch_small, sampling)
    c_big = batch_covariance_factor(n_samples, batch_big, sampling)
    grad_sq = (c_small * big - c_big * small) / (c_small - c_big)
    trace_cov = (small - big) / (c_small - c_big)
    g_mean, t_mean = float(np.mean(grad_sq)), float(np.mean(trace_cov))
    n = grad_sq.size

    def stderr(x):
        return float(np.std(x, ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    return {"grad_sq": g_mean, "trace_cov": t_mean,
            "grad_sq_se": stderr(grad_sq), "trace_cov_se": stderr(trace_cov),
            "simple_noise_scale": t_mean / g_mean if g_mean > 0 else np.inf}
