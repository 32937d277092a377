"""Each closed form of Li et al. 2024 against the exact erf model, in its regime of validity."""
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from simlab.problems.sign_model import optimal_improvement, optimal_lr, sign_model
from simlab.theory import surge

MU = np.array([0.02, -0.01, 0.015, 0.005])
SIGMA = np.array([1.0, 0.8, 1.5, 0.5])
S = np.sign(MU)


def case(name):
    if name == "A":     # diagonal Hessian: no surge
        return sign_model(MU, SIGMA, np.diag([1.0, 2.0, 0.5, 1.5]))
    if name == "B":     # 4 coords, H = diag + 3 s sᵀ
        return sign_model(MU, SIGMA, np.diag([1.0, 2.0, 0.5, 1.5]) + 3.0 * np.outer(S, S))
    if name == "C":     # 8 coords, equal |SNR| = 0.01, H = diag + s sᵀ
        d = 8
        s = np.array([1, -1, 1, 1, -1, 1, -1, 1.0])
        sigma = np.linspace(0.5, 2.0, d)
        return sign_model(0.01 * sigma * s, sigma,
                          np.diag(np.linspace(0.5, 1.5, d)) + np.outer(s, s))
    if name == "D":     # 64 coords, log-normal SNR, dense H
        rng = np.random.default_rng(3)
        d = 64
        sigma = np.exp(rng.normal(0, 0.5, d))
        mu = sigma * np.exp(rng.normal(np.log(0.01), 0.5, d)) * rng.choice([-1, 1], d)
        a = rng.normal(size=(d, d))
        u = np.sign(mu)
        return sign_model(mu, sigma, a @ a.T / d + 0.05 * np.outer(u, u))
    raise KeyError(name)


def test_reference_numbers_case_b():
    # surge.md Sec. 8, case B: B_noise 4450.59, eps_max 1.13503e-3, Eq 17 9.43396e-4
    m = case("B")
    assert surge.noise_batch_eq14(m) == pytest.approx(4450.59, rel=1e-5)
    assert surge.max_lr_eq16(m) == pytest.approx(0.00113503, rel=1e-5)
    assert surge.optimal_lr_theorem4(m) == pytest.approx(0.000943396, rel=1e-5)
    assert surge.validity_bound(m) == pytest.approx(3927, rel=1e-3)


@pytest.mark.parametrize("name", ["A", "B", "C", "D"])
def test_theorem3_within_3_percent_below_a_tenth_of_validity_bound(name):
    m = case(name)
    b = np.geomspace(1, surge.validity_bound(m) / 10, 60)
    ratio = surge.optimal_lr_theorem3(m, b) / optimal_lr(m, b)
    assert np.max(np.abs(ratio - 1)) < 0.03
    # ... and the approximation is not trivially exact: past the bound it is off by > 10 %
    big = np.geomspace(10 * surge.validity_bound(m), 1e6, 5)
    assert np.max(np.abs(surge.optimal_lr_theorem3(m, big) / optimal_lr(m, big) - 1)) > 0.1


@pytest.mark.parametrize("name", ["A", "B", "C", "D"])
def test_exact_tends_to_theorem4_at_large_batch(name):
    m = case(name)
    limit = surge.optimal_lr_theorem4(m)
    b_huge = 1e4 * surge.validity_bound(m) / 1.57 * 1e3
    assert optimal_lr(m, b_huge) == pytest.approx(limit, rel=1e-6)
    assert abs(optimal_lr(m, surge.validity_bound(m)) / limit - 1) > 1e-3


@pytest.mark.parametrize("name", ["A", "B", "C", "D"])
def test_theorem5_and_eq39_small_batch(name):
    m = case(name)
    b = np.geomspace(1, surge.validity_bound(m) / 10, 30)
    np.testing.assert_allclose(surge.optimal_improvement_theorem5(m, b), optimal_improvement(m, b),
                               rtol=0.05)
    np.testing.assert_allclose(surge.optimal_lr_eq39(m, b), surge.optimal_lr_theorem3(m, b),
                               rtol=1e-12)


@pytest.mark.parametrize("name", ["B", "C", "D"])
def test_theorem3_peak_is_at_b_noise_with_height_eps_max(name):
    m = case(name)
    b_noise = surge.noise_batch_eq14(m)
    res = minimize_scalar(lambda x: -surge.optimal_lr_theorem3(m, np.exp(x)),
                          bounds=(0, np.log(1e7)), method="bounded", options={"xatol": 1e-9})
    assert np.exp(res.x) == pytest.approx(b_noise, rel=1e-4)
    assert surge.peak_batch_eq15(m) == b_noise
    assert -res.fun == pytest.approx(surge.max_lr_eq16(m), rel=1e-10)
    assert surge.max_lr_lower_bound_eq41(m) <= surge.max_lr_eq16(m)


def test_equal_snr_peak_analytic():
    # equal |SNR| r: exact peak where erf(r sqrt(B/2)) = sqrt(D/O), height equal to Eq 16
    from scipy.special import erfinv
    m = case("C")
    d_sum = np.trace(m.hessian)
    s = np.sign(m.mu)
    o_sum = s @ m.hessian @ s - d_sum
    b_peak = 2 / 0.01 ** 2 * erfinv(np.sqrt(d_sum / o_sum)) ** 2
    res = minimize_scalar(lambda x: -optimal_lr(m, np.exp(x)), bounds=(np.log(100), np.log(1e6)),
                          method="bounded", options={"xatol": 1e-10})
    assert np.exp(res.x) == pytest.approx(b_peak, rel=1e-4)
    assert b_peak / surge.noise_batch_eq14(m) == pytest.approx(1.1869, rel=1e-3)
    assert -res.fun == pytest.approx(surge.max_lr_eq16(m), rel=1e-8)


def test_diagonal_hessian_has_no_surge():
    m = case("A")
    assert surge.noise_batch_eq14(m) == np.inf
    b = np.geomspace(1, 1e5, 400)
    assert np.all(np.diff(optimal_lr(m, b)) > 0)
    b = np.geomspace(1e5, 1e8, 100)        # saturates at Eq 17 up to rounding, never decreases
    assert np.all(np.diff(optimal_lr(m, b)) >= -1e-15)


def test_sgd_optimal_lr_is_monotone_and_eq3_eq4_limits():
    for name in "ABCD":
        m = case(name)
        b = np.geomspace(1, 1e7, 400)
        assert np.all(np.diff(surge.sgd_model_lr(m, b)) > 0)
    eps_max, b_noise = 2.0, 1000.0
    small = np.array([1.0, 2.0, 5.0])
    np.testing.assert_allclose(surge.sgd_small_batch_eq3(small, eps_max, b_noise),
                               surge.sgd_lr_eq1(small, eps_max, b_noise), rtol=6e-3)
    np.testing.assert_allclose(surge.adam_small_batch_eq4(small, eps_max, b_noise),
                               surge.adam_lr_eq2(small, eps_max, b_noise), rtol=6e-3)
    assert surge.adam_lr_eq2(b_noise, eps_max, b_noise) == pytest.approx(eps_max)


def test_eq10_approximation_bounds():
    m = case("C")
    b = np.geomspace(1, 1e6, 200)
    from simlab.problems.sign_model import expected_sign
    err = np.abs(surge.expected_sign_eq10(m, b) - expected_sign(m, b))
    assert err.max() < 0.108 and err.max() > 0.1


def test_eq20_and_eq22_round_trip():
    s_min, e_min = 50.0, 2000.0
    e = np.geomspace(2100, 1e6, 20)
    s = surge.steps_eq20(e, s_min, e_min)
    np.testing.assert_allclose((s / s_min - 1) * (e / e_min - 1), 1.0, rtol=1e-12)
    fit = surge.fit_tradeoff_eq22(s, e)
    assert fit["noise_batch"] == pytest.approx(e_min / s_min, rel=1e-9)
    assert fit["min_steps"] == pytest.approx(s_min, rel=1e-9)


def test_exact_tradeoff_b_crit_below_peak_case_c():
    # surge.md: exact-model E_min/S_min = B_noise·O/(D+O) for equal SNR (case C: 3490.7)
    m = case("C")
    b = np.geomspace(10, 1e5, 41)
    s, e = surge.exact_tradeoff(m, b)
    d_sum = np.trace(m.hessian)
    o_sum = np.sign(m.mu) @ m.hessian @ np.sign(m.mu) - d_sum
    assert surge.noise_batch_eq14(m) * o_sum / (d_sum + o_sum) == pytest.approx(3490.7, rel=1e-4)
    fit = surge.fit_tradeoff_eq22(s, e)
    assert fit["noise_batch"] == pytest.approx(3740.0, rel=1e-3)


@pytest.mark.parametrize("call,name", [
    (lambda m: surge.optimal_lr_theorem3(m, 0.9), "batch_size"),
    (lambda m: surge.optimal_improvement_theorem5(m, np.nan), "batch_size"),
    (lambda m: surge.adam_lr_eq2(10, -1.0, 100), "max_lr"),
    (lambda m: surge.sgd_lr_eq1(10, 1.0, np.inf), "noise_batch"),
    (lambda m: surge.fit_tradeoff_eq22([1, 2], [3]), "steps"),
    (lambda m: surge.fit_tradeoff_eq22([1, -2], [3, 4]), "steps"),
    (lambda m: surge.steps_eq20([10.0], 1.0, 20.0), "examples"),
    (lambda m: surge.noise_batch_eq14("not a model"), "model"),
    (lambda m: surge.sgd_constants([1.0, 1.0], np.eye(2), -np.eye(2)), "covariance"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call(case("B"))
