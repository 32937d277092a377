"""Noise scales of quadratics, and McCandlish's two-batch estimator tested for unbiasedness."""
import numpy as np
import pytest

from simlab import problems
from simlab import random as rnd
from simlab.theory.noise_scale import noise_scale, simple_noise_scale, two_batch_estimate


def test_exact_noise_scales_gaussian_quadratic():
    h = np.array([[2.0, 0.5], [0.5, 1.0]])
    c = np.diag([0.3, 0.7])
    w = np.array([1.0, -2.0])
    prob = problems.gaussian_quadratic(h, c, w)
    g = h @ w
    assert simple_noise_scale(prob, w) == pytest.approx(1.0 / (g @ g))
    assert noise_scale(prob, w) == pytest.approx(np.trace(h @ c) / (g @ h @ g))
    assert noise_scale(prob, np.zeros(2)) == np.inf


def _gaussian_norms(prob, w, batch, draws, seed):
    keys = rnd.run_keys(seed, draws)
    slots = np.arange(prob.dim, dtype=np.uint64)
    z = rnd.standard_normal(keys[:, None], np.uint64(batch), slots[None, :])
    g = prob.gradient(w) + z @ prob.noise_sqrt.T / np.sqrt(batch)
    return np.sum(g * g, axis=1)


def _data_norms(prob, w, batch, draws, seed, with_replacement):
    keys = rnd.run_keys(seed, draws)
    sampler = rnd.batch_with_replacement if with_replacement else rnd.batch_without_replacement
    idx = sampler(keys, 0, prob.n_samples, batch)                   # (draws, B)
    x = prob.samples.T[idx]                                         # (draws, B, d)
    g = np.einsum("sbd,sb->sd", x, x @ w) / batch
    return np.sum(g * g, axis=1)


def test_two_batch_estimator_unbiased_gaussian():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    h = a @ a.T / 6
    c = np.diag(rng.uniform(0.5, 2.0, 6))
    w = rng.normal(size=6)
    prob = problems.gaussian_quadratic(h, c, w)
    small = _gaussian_norms(prob, w, 2, 8000, seed=1)
    big = _gaussian_norms(prob, w, 32, 8000, seed=2)
    est = two_batch_estimate(small, big, 2, 32)
    g = h @ w
    assert abs(est["grad_sq"] - g @ g) < 4 * est["grad_sq_se"]
    assert abs(est["trace_cov"] - np.trace(c)) < 4 * est["trace_cov_se"]
    # precise enough to matter: B_simple within 5 %
    assert est["simple_noise_scale"] == pytest.approx(simple_noise_scale(prob, w), rel=0.05)


@pytest.mark.parametrize("with_replacement", [True, False])
def test_two_batch_estimator_unbiased_finite_data(with_replacement):
    prob = problems.block_quadratic("homogeneous", seed=0, replicate=4)   # n = 36
    w = prob.w0
    small = _data_norms(prob, w, 2, 10000, 3, with_replacement)
    big = _data_norms(prob, w, 24, 10000, 4, with_replacement)
    n = None if with_replacement else prob.n_samples
    est = two_batch_estimate(small, big, 2, 24, n_samples=n)
    g = prob.gradient(w)
    trace_sigma = np.trace(problems.per_sample_covariance(prob, w))
    assert abs(est["grad_sq"] - g @ g) < 4 * est["grad_sq_se"]
    assert abs(est["trace_cov"] - trace_sigma) < 4 * est["trace_cov_se"]
    if not with_replacement:
        # ignoring the finite-population correction is detectably biased here
        naive = two_batch_estimate(small, big, 2, 24)
        assert abs(naive["grad_sq"] - g @ g) > 4 * naive["grad_sq_se"]


@pytest.mark.parametrize("call,name", [
    (lambda: two_batch_estimate([1.0, 2.0], [1.0], 2, 8), "norm_sq_small"),
    (lambda: two_batch_estimate(1.0, -1.0, 2, 8), "norm_sq_big"),
    (lambda: two_batch_estimate(1.0, 1.0, 0, 8), "batch_small"),
    (lambda: two_batch_estimate(1.0, 1.0, 8, 8), "batch_big"),
    (lambda: two_batch_estimate(1.0, 1.0, 2, 8, n_samples=4), "n_samples"),
    (lambda: two_batch_estimate(np.nan, 1.0, 2, 8), "norm_sq_small"),
    (lambda: noise_scale(problems.nqm(dim=3), [1.0, 2.0]), "w"),
    (lambda: simple_noise_scale("x", [1.0]), "problem"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
