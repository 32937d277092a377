"""Items 1–2 of issue 12: where the exact peak sits relative to Li et al.'s B_noise (Eq 14/15)."""
import numpy as np
import pytest

from experiments.surge import equal_snr_family, exact_peak
from simlab.problems.sign_model import sign_model
from simlab.theory import surge


@pytest.mark.parametrize("x2", [0.01, 0.1, 0.5, 0.9])
def test_closed_form_peak_ratio_matches_the_exact_erf_curve(x2):
    (model,) = equal_snr_family([x2])
    assert surge.coupling_ratio(model) == pytest.approx(x2, rel=1e-12)
    bn = surge.noise_batch_eq14(model)
    assert bn / surge.validity_bound(model) == pytest.approx(x2, rel=1e-12)
    peak, _ = exact_peak(model, 1.0, 1e9)
    assert peak / bn == pytest.approx(surge.equal_snr_peak_ratio(x2), rel=1e-6)
    assert surge.equal_snr_peak_batch(model) == pytest.approx(peak, rel=1e-6)


def test_ratio_tends_to_one_as_the_peak_enters_theorem_3s_range():
    x2 = np.array([1e-4, 1e-3, 1e-2])
    ratio = surge.equal_snr_peak_ratio(x2)
    np.testing.assert_allclose(ratio - 1, np.pi / 6 * x2, rtol=0.02)
    assert np.isnan(surge.equal_snr_peak_ratio(1.2))            # D ≥ O_s: no interior peak


def test_no_interior_peak_without_coupling_or_beyond_the_bound():
    mu = np.array([0.01, -0.02, 0.015])
    sigma = np.array([1.0, 2.0, 1.5])
    diag = sign_model(mu, sigma, np.diag([1.0, 2.0, 0.5]))
    assert surge.coupling_ratio(diag) == np.inf and surge.noise_batch_eq14(diag) == np.inf
    assert np.isnan(exact_peak(diag, 1.0, 1e8)[0])
    s = np.array([1, -1, 1, 1, -1, 1, -1, 1.0])
    sig = np.linspace(0.5, 2.0, 8)
    weak = sign_model(0.01 * sig * s, sig, np.diag(np.linspace(0.5, 1.5, 8)) + 0.1 * np.outer(s, s))
    assert surge.coupling_ratio(weak) > 1                       # B_noise beyond the bound
    assert np.isnan(surge.equal_snr_peak_batch(weak))
    assert np.isnan(exact_peak(weak, 1.0, 1e8)[0])


def test_bad_input():
    unequal = sign_model([0.01, 0.03], [1.0, 1.0], [[1.0, 0.5], [0.5, 1.0]])
    with pytest.raises(ValueError, match="unequal"):
        surge.equal_snr_peak_batch(unequal)
    with pytest.raises(ValueError, match="coupling"):
        surge.equal_snr_peak_ratio(0.0)
