"""Issue 4: C1..C5, C_total, the lemma thresholds of Cattaneo & Shigida 2026 and the App. A.1 check."""
import math

import numpy as np
import pytest

from simlab.theory import implicit_bias as ib
from simlab.theory import memory_correction as mc
from simlab.theory._taylor import Jet


def _c1_paper_partial_fractions(b1, b2, constant):
    # App. A.2 as printed, with the 4th term −2/(β1(1−β1)) − constant
    return ((1 - b1 ** 2) / (b1 * (1 - b1 * b2)) + (1 - b1) ** 2 / (b1 * (1 - b1 * b2) ** 2)
            + 3 * (1 + b1) / (2 * (1 - b1) * (1 + b2)) - 2 / (b1 * (1 - b1)) - constant
            + 3 / (2 - 2 * b2) + 3 / (1 + b2) ** 2)


B1, B2 = np.meshgrid(np.linspace(0.05, 0.995, 23), np.linspace(0.0, 0.9995, 29))


def test_c1_readings_match_the_printed_partial_fractions():
    assert np.allclose(ib.c1(B1, B2), _c1_paper_partial_fractions(B1, B2, 2.0), rtol=1e-9, atol=1e-9)
    assert np.allclose(ib.c1(B1, B2, reading="ocr"), _c1_paper_partial_fractions(B1, B2, 0.0),
                       rtol=1e-9, atol=1e-9)


def test_c2_factorizes_through_full_batch_and_vanishes_on_diagonal():
    kappa = (B1 * B2 ** 2 - B1 * B2 + B1 + B2 ** 2 - 2 * B2) / ((1 + B2) * (1 - B1 * B2))
    assert np.allclose(ib.c2(B1, B2), ib.full_batch(B1, B2) * kappa, rtol=1e-9, atol=1e-9)
    b = np.linspace(0.1, 0.999, 50)
    assert np.allclose(ib.c2(b, b), 0.0)
    assert np.allclose(ib.c_total(b, b, 0.7), 0.7 * ib.c1_diagonal(b), rtol=1e-10)


def test_c_total_values_and_broadcasting():
    lam = np.array([0.1, 0.5, 1.0, 5.0])
    got = ib.c_total(0.9, 0.95, lam)
    assert got.shape == (4,)
    expected = -10.0 + (ib.c1(0.9, 0.95) + ib.c2(0.9, 0.95)) * lam
    assert np.allclose(got, expected)
    assert np.allclose(ib.c_total(0.9, 0.95, lam, reading="ocr") - got, 2 * lam)


def test_jet_derivatives_match_finite_differences():
    x = 0.97
    j = ib._s(0.9, Jet.variable(x))

    def d1(h):
        return (ib._s(0.9, x + h) - ib._s(0.9, x - h)) / (2 * h)

    def d2(h):
        return (ib._s(0.9, x + h) - 2 * ib._s(0.9, x) + ib._s(0.9, x - h)) / h ** 2

    # Richardson-extrapolated central differences (error O(h⁴))
    assert j.derivative == pytest.approx((4 * d1(1e-5) - d1(2e-5)) / 3, rel=1e-8)
    assert j.second_derivative == pytest.approx((4 * d2(1e-4) - d2(2e-4)) / 3, rel=1e-6)


def _slope_beta2(b1, b2, lam):
    h = 1e-7 * (1 - b2)
    return (ib.c_total(b1, b2 + h, lam) - ib.c_total(b1, b2 - h, lam)) / (2 * h)


BETA2_GRID = 1 - np.geomspace(0.1, 1e-6, 3000)


def test_lemma_3_4():
    sp = ib.switch_points_beta2(0.9)
    assert round(sp.lam_upper, 4) == 0.5082 and sp.at_upper == 0.9
    assert 0.494 <= sp.lam_lower < 0.495
    assert 0.494 < sp.lam_lower < sp.lam_upper < 0.5082 + 5e-5     # the switch lies in (0.494, 0.5082)
    # directly: the slope has one sign just outside the thresholds, and changes sign inside
    assert np.all(_slope_beta2(0.9, BETA2_GRID, sp.lam_upper + 1e-4) > 0)
    assert np.all(_slope_beta2(0.9, BETA2_GRID, sp.lam_lower - 1e-4) < 0)
    mid = _slope_beta2(0.9, BETA2_GRID, 0.5)
    assert mid.min() < 0 < mid.max()


def test_lemma_3_5():
    sp = ib.switch_points_beta2(0.99)
    assert 2.684 < sp.lam_upper < 2.685                            # paper: increasing for λ > 2.685
    assert 0.499 <= sp.lam_lower < 0.4995                          # paper: decreasing for λ < 0.499
    lam_convex, lam_slope = ib.convexity_window_beta2(0.99)
    assert lam_convex == pytest.approx(0.5, abs=1e-9)              # the limit β2 → 1
    assert 2.684 < lam_slope < 2.685                               # paper: 0.5 < λ < 2.684
    for lam in (0.5005, 1.0, 2.0, 2.68):
        d = _slope_beta2(0.99, BETA2_GRID, lam)
        flips = np.count_nonzero(np.diff(np.sign(d)))
        assert flips == 1 and d[0] < 0 < d[-1]                     # unique interior minimizer
        b = BETA2_GRID[1:-1]
        h = 1e-5 * (1 - b)
        curv = (ib.c_total(0.99, b + h, lam) - 2 * ib.c_total(0.99, b, lam)
                + ib.c_total(0.99, b - h, lam))
        assert np.all(curv > 0)


def test_lemma_3_6():
    sp = ib.switch_points_beta1(0.999)
    assert round(sp.lam_upper, 3) == 1.002 and sp.lam_upper <= 1.002
    assert sp.at_upper == 1.0                                      # attained as the limit β1 → 1
    assert sp.lam_upper == pytest.approx((1 + 0.999) / (2 * (2 * 0.999 - 1)), rel=1e-12)
    assert 0.995 <= sp.lam_lower < 0.996 and sp.at_lower == 0.9


def test_lemma_3_7():
    slope, where = ib.diagonal_min_slope(0.5)
    assert slope > 0 and slope == pytest.approx(88 / 27, rel=1e-12) and where == 0.5
    b = np.linspace(0.5, 0.9999, 4000)
    for lam in (1e-3, 0.5, 10.0):
        assert np.all(np.diff(ib.c_total(b, b, lam)) > 0)


def test_lemma_a1_bounds():
    r = ib.lemma_a1_ratios()
    assert r["|C4/C1|(0.9,.)"] < 3e-4
    assert r["|C5/C1|(0.9,.)"] < 4e-3
    assert r["|C4/C2|(0.99,.)"] < 1e-3
    assert r["|C5/C2|(0.99,.)"] < 6e-3
    assert r["|C4/C2|(.,0.999)"] < 6e-5
    assert r["|C5/C2|(.,0.999)"] < 5e-4
    assert r["|C4/C5|(0.99,.)"] > 1e-3       # the OCR's denominator C5 cannot be right
    assert ib.lemma_a1_ratios(reading="ocr")["|C5/C1|(0.9,.)"] < 4e-3
    assert ib.lemma_a1_ratios(c4_half=True)["|C4/C1|(0.9,.)"] < 3e-4


def test_best_betas_follow_the_rule_of_thumb():
    assert np.allclose(ib.best_beta2(0.9, [0.1, 0.45]), 0.9)
    assert np.allclose(ib.best_beta2(0.9, [0.51, 5.0]), 0.9999)
    inner = ib.best_beta2(0.9, 0.499)
    assert 0.9 < inner < 0.9999
    assert np.allclose(ib.best_beta1(0.999, [1.01, 5.0]), 0.9)
    assert np.allclose(ib.best_beta1(0.999, [0.1, 0.99]), 0.999)


def test_noise_ratio_and_inverse():
    assert ib.noise_ratio(1000, 1000, 50) == 0.0
    assert ib.noise_ratio(1001, 1, 3.0) == pytest.approx(3.0)
    b = ib.batch_size_for(0.5, 10_000, 64)
    assert b == pytest.approx(2 * 10_000 * 64 / (10_000 - 1 + 128))
    assert ib.noise_ratio(10_000, b, 64) == pytest.approx(0.5)


@pytest.mark.parametrize("call, name", [
    (lambda: ib.c1(1.0, 0.5), "beta1"),
    (lambda: ib.c2(0.5, -0.1), "beta2"),
    (lambda: ib.c_total(0.9, 0.99, -0.1), "lam"),
    (lambda: ib.c_total(0.9, 0.99, float("nan")), "lam"),
    (lambda: ib.c_total(0.9, float("inf"), 1.0), "beta2"),
    (lambda: ib.best_beta1(0.99, 1.0, hi=0.995), "hi"),
    (lambda: ib.noise_ratio(100, 101, 3.0), "batch_size"),
    (lambda: ib.noise_ratio(100, 10, 0.0), "b_simple"),
    (lambda: ib.switch_points_beta2(1.2), "beta1"),
    (lambda: ib.c_total(0.9, 0.9, 1.0, reading="typo"), "reading"),
    (lambda: mc.noise_coefficients(0.9, 0.95, g=(1.0, -1.0)), "g"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.95), (0.8, 0.6), (0.95, 0.9)])
def test_memory_correction_reproduces_the_closed_forms(beta1, beta2):
    measured = mc.noise_coefficients(beta1, beta2)
    closed = mc.closed_forms(beta1, beta2)
    for name, value in closed.items():
        assert measured[name] == pytest.approx(value, rel=2e-6), name
    # the literal OCR reading of C1 (derived + 2) is excluded by the measurement
    assert abs(measured["C1"] - ib.c1(beta1, beta2, reading="ocr")) > 1.0
