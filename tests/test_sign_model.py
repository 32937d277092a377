"""The exact erf sign-gradient model: Lemma 1/Theorem 2 against a Monte Carlo, and input checks."""
import numpy as np
import pytest

from simlab.problems.sign_model import (expected_improvement, expected_sign, lemma1_optimal_lr,
                                        monte_carlo_improvement, optimal_improvement, optimal_lr,
                                        sign_covariance, sign_model)

MU = np.array([0.02, -0.01, 0.015, 0.005])
SIGMA = np.array([1.0, 0.8, 1.5, 0.5])
S = np.sign(MU)
H_COUPLED = np.diag([1.0, 2.0, 0.5, 1.5]) + 3.0 * np.outer(S, S)     # surge.md case B


def model_b():
    return sign_model(MU, SIGMA, H_COUPLED)


def test_reference_case_b_values():
    # surge.md case B table: exact eps at B = 1, 1000 and the Eq 17 limit
    m = model_b()
    np.testing.assert_allclose(optimal_lr(m, [1, 1000]), [3.40182e-05, 0.000850716], rtol=2e-5)
    np.testing.assert_allclose(optimal_improvement(m, 1000), 7.4418e-06, rtol=1e-4)


def test_theorem2_equals_lemma1_with_erf_moments():
    m = model_b()
    b = np.array([1.0, 37.0, 5000.0])
    eps, dl = lemma1_optimal_lr(m.mu, expected_sign(m, b), sign_covariance(m, b), m.hessian)
    np.testing.assert_allclose(eps, optimal_lr(m, b), rtol=1e-12)
    np.testing.assert_allclose(dl, optimal_improvement(m, b), rtol=1e-12)
    # ΔL_opt is the maximum of the exact expected improvement over ε
    for bb, e in zip(b, eps):
        grid = e * np.array([0.9, 1.0, 1.1])
        vals = expected_improvement(m, bb, grid)
        assert vals[1] > vals[0] and vals[1] > vals[2]


@pytest.mark.parametrize("batch,lr_factor", [(10, 1.0), (1000, 1.0), (1000, 3.0)])
def test_monte_carlo_matches_exact_within_4_standard_errors(batch, lr_factor):
    m = model_b()
    lr = lr_factor * float(optimal_lr(m, batch))
    mean, se = monte_carlo_improvement(m, batch, lr, n_draws=1_000_000, seed=batch)
    exact = float(expected_improvement(m, batch, lr))
    assert abs(mean - exact) < 4 * se, (mean, exact, se)
    # and the test has power: a 20 % error in the formula would be detected
    assert 0.2 * abs(exact) > 4 * se


def test_monte_carlo_is_reproducible():
    m = model_b()
    assert monte_carlo_improvement(m, 5, 1e-4, 1000, 7) == monte_carlo_improvement(m, 5, 1e-4, 1000, 7)


@pytest.mark.parametrize("kwargs,name", [
    (dict(sigma=[1.0, 0.0, 1.0, 1.0]), "sigma"),
    (dict(sigma=[1.0, -1.0, 1.0, 1.0]), "sigma"),
    (dict(sigma=[1.0, 1.0, 1.0]), "sigma"),
    (dict(mu=[0.1, np.nan, 0.1, 0.1]), "mu"),
    (dict(hessian=np.eye(3)), "hessian"),
    (dict(hessian=np.triu(np.ones((4, 4)))), "hessian"),
    (dict(hessian=-np.eye(4)), "hessian"),
    (dict(hessian=np.full((4, 4), np.inf)), "hessian"),
])
def test_bad_model_input_names_the_argument(kwargs, name):
    args = dict(mu=MU, sigma=SIGMA, hessian=H_COUPLED)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        sign_model(**args)


@pytest.mark.parametrize("batch", [0.5, 0, -3, np.nan, np.inf, [1, 0.2]])
def test_bad_batch_size(batch):
    with pytest.raises(ValueError, match="batch_size"):
        optimal_lr(model_b(), batch)


def test_bad_monte_carlo_args():
    with pytest.raises(ValueError, match="n_draws"):
        monte_carlo_improvement(model_b(), 4, 1e-3, 1, 0)
    with pytest.raises(ValueError, match="lr"):
        monte_carlo_improvement(model_b(), 4, -1e-3, 10, 0)
