"""Item 3 of issue 12: the Gaussian-erf SignSGD SDE tested inside its assumption (Gaussian noise,
diagonal H and C), where it should be a 1-weak approximation."""
import numpy as np
import pytest

from simlab import optim, problems, simulate
from simlab.sde import fitted_order, integrate, signsgd_sde, weak_error
from simlab.sde.moments import signsgd_gaussian_discrete_loss


def gauss2d():
    return problems.gaussian_quadratic(np.diag([1.0, 0.3]), np.diag([1.0, 0.5]), [1.0, -1.0],
                                       name="gauss2d")


def test_lattice_law_matches_monte_carlo_of_signsgd():
    prob = gauss2d()
    exact = signsgd_gaussian_discrete_loss(prob, 0.05, 2, 40)
    runs = simulate(prob, optim.signsgd(), 0.05, 2, 40, seeds=20000, backend="numpy").loss.values[0]
    z = (runs.mean(0) - exact) / (runs.std(0, ddof=1) / np.sqrt(runs.shape[0]) + 1e-300)
    assert np.max(np.abs(z[1:])) < 4.5
    assert exact[-1] < 0.5 * exact[0]                     # it trains: the comparison is not trivial


def _weak(model_batch, lrs, paths=20000):
    prob = gauss2d()
    model = signsgd_sde(prob, model_batch, noise="gaussian")
    errs, ses = [], []
    for lr in lrs:
        steps = int(round(1.6 / lr))
        exact = signsgd_gaussian_discrete_loss(prob, lr, 2, steps)
        sde = integrate(model, lr, steps, paths, substeps=4, seed=1).loss.values[0]
        err, se = weak_error(exact, sde)
        errs.append(err)
        ses.append(se)
    return np.array(errs), np.array(ses)


def test_gaussian_erf_sde_is_first_order_weak_on_gaussian_noise():
    lrs = 0.2 * 2.0 ** -np.arange(4)
    errs, ses = _weak(2, lrs)
    assert np.all(errs > 3 * ses)                          # the errors are resolved, not MC noise
    assert 0.7 < fitted_order(lrs, errs) < 1.3


def test_weak_order_test_detects_a_wrong_model():
    # the SDE of the wrong batch size (B = 1 for a B = 2 chain): its error does not shrink
    lrs = 0.2 * 2.0 ** -np.arange(3)
    errs, _ = _weak(1, lrs, paths=5000)
    assert fitted_order(lrs, errs) < 0.4


@pytest.mark.parametrize("bad", [
    dict(problem="coupled"), dict(problem="data"), dict(lr=0.0), dict(steps=0)])
def test_bad_input(bad):
    prob = gauss2d()
    if bad.get("problem") == "coupled":
        prob = problems.gaussian_quadratic([[1.0, 0.2], [0.2, 1.0]], np.eye(2), [1.0, 1.0])
    elif bad.get("problem") == "data":
        prob = problems.block_quadratic("heterogeneous")
    with pytest.raises(ValueError):
        signsgd_gaussian_discrete_loss(prob, bad.get("lr", 0.1), 2, bad.get("steps", 5))
