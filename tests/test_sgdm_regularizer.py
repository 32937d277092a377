"""Experiment (d) of issue 12: Cattaneo & Shigida §2.1 (Eq 4) on exact twins."""
import numpy as np
import pytest

from experiments import sgdm_regularizer as exp
from simlab import optim
from simlab.cache import load_dataset
from simlab.theory import momentum_memory as mm
from simlab.theory.nqm_exact import expected_iterate


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_exact_averaged_field_matches_the_definition_by_monte_carlo(beta):
    prob = exp.data_problem(12)
    f = mm.averaged_field(prob, exp.THETA, beta, 2)
    mc = mm.monte_carlo_field(prob, exp.THETA, beta, 2, permutations=4000, seed=2)
    assert np.max(np.abs(mc["main"] - f["main"]) / mc["main_se"]) < 4
    exact = f["corr_full_batch"] + f["corr_noise"]
    assert np.max(np.abs(mc["corr"] - exact) / mc["corr_se"]) < 4
    # power: dropping the cross-batch anticorrelation is detectable
    w_all, w_same, w_cross = mm.corr_weights(5, beta)
    wrong = f["corr_full_batch"] + f["corr_noise"] / (w_same - w_cross / 5) * w_same
    assert np.max(np.abs(mc["corr"] - wrong) / mc["corr_se"]) > 4


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_weights_tend_to_the_papers_limits_with_a_one_over_m_cross_term(beta):
    lim_all, lim_same = mm.corr_weight_limits(beta)
    w_all, w_same, w_cross = mm.corr_weights(2000, beta)
    assert w_all == pytest.approx(lim_all, rel=1e-9)
    assert w_same == pytest.approx(lim_same, rel=1e-9)
    for m in (200, 400):
        _, ws, wc = mm.corr_weights(m - 1, beta)
        ratio = (ws - wc / (m - 1)) / lim_same
        assert ratio == pytest.approx(1 - 2 * beta / ((1 - beta) * (m - 1)), abs=1e-6)


def test_theorem_2_3_pathwise_order_two_with_correction_one_without():
    prob = exp.data_problem(12)
    lrs = 0.02 * 2.0 ** -np.arange(4)
    err, err0 = [], []
    for lr in lrs:
        steps = int(round(0.5 / lr))
        rng = np.random.default_rng(0)
        idx = np.concatenate([rng.permutation(12) for _ in range(steps // 6 + 2)])[: 2 * steps]
        idx = idx.reshape(steps, 2)
        hb = mm.heavy_ball_path(prob, 0.5, lr, idx)
        err.append(np.abs(hb - mm.memoryless_path(prob, 0.5, lr, idx)).max())
        err0.append(np.abs(hb - mm.memoryless_path(prob, 0.5, lr, idx, correction=False)).max())
    assert 1.8 < np.polyfit(np.log(lrs), np.log(err), 1)[0] < 2.2
    assert 0.8 < np.polyfit(np.log(lrs), np.log(err0), 1)[0] < 1.2


def test_iid_batches_leave_the_mean_on_the_full_batch_path():
    prob = exp.data_problem(8)
    opt = optim.sgd(0.9)
    a = expected_iterate(prob, opt, 0.01, 1, 200, sampling="with_replacement")
    b = expected_iterate(prob, opt, 0.01, 8, 200, sampling="without_replacement")   # full batch
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12, atol=1e-14)


def test_reshuffled_sgd_mean_drift_is_smith_et_al():
    # β = 0: E_π over an epoch = GD − η² (N/2) c_b V θ + O(η³) per epoch (Smith et al. 2021)
    out = exp.mean_cell({"beta": 0.0, "n_samples": 8, "lr": 0.002, "horizon": 1.0, "seed": 0})
    assert float(out.kappa) == pytest.approx(0.5, abs=0.01)
    assert float(out.cosine) > 0.999


def test_epoch_operator_matches_brute_force_orderings():
    import itertools
    prob = exp.data_problem(5)
    op = mm.epoch_mean_operator(prob, 0.7, 0.05)
    x = prob.samples
    mats = mm._step_matrix(np.einsum("in,jn->nij", x, x), 0.05, 0.7)
    total = np.zeros_like(op)
    perms = list(itertools.permutations(range(5)))
    for p in perms:
        prod = np.eye(op.shape[0])
        for i in p:
            prod = mats[i] @ prod
        total += prod
    np.testing.assert_allclose(op, total / len(perms), rtol=1e-12, atol=1e-14)


def test_bad_input():
    prob = exp.data_problem(12)
    with pytest.raises(ValueError, match="batch_size"):
        mm.averaged_field(prob, exp.THETA, 0.5, 5)
    with pytest.raises(ValueError, match="beta"):
        mm.corr_weights(4, 1.0)
    with pytest.raises(ValueError, match="samples"):
        mm.epoch_mean_operator(exp.data_problem(21), 0.5, 0.01)


@pytest.mark.slow
def test_quick_run(tmp_path, capsys):
    assert exp.main(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Theorem 2.3" in out and "reshuffling" in out
    ds = load_dataset(tmp_path / "sgdm_regularizer.nc")
    assert float(ds.path_slope.sel(path_beta=0.5, variant="with_corr")) > 1.7


def test_claim_measures_on_the_quick_result(tmp_path):
    from experiments.claims import CLAIMS
    from experiments.verdicts import evaluate
    from simlab.verdict import Exact
    assert exp.main(["--quick", "--out", str(tmp_path)]) == 0
    ds = load_dataset(tmp_path / "sgdm_regularizer.nc")
    # the noise coefficient's remainder is O(1/m): halving it at each doubling of m
    assert exp.measure_noise_remainder_decay(ds, 0.5).value == pytest.approx(0.5, abs=0.05)
    lim = exp.measure_noise_limit(ds, 0.5)
    assert abs(lim.value - 1) < 0.01 and lim.resolution < 0.05
    assert exp.measure_full_batch_remainder(ds, 0.5).value < 1e-3
    assert exp.measure_path_order(ds, 0.5).value > 1.7
    assert exp.measure_path_order(ds, 0.5, "main_only").value < 1.3
    drift = exp.measure_mean_drift(ds, 0.0)
    assert drift.value == pytest.approx(0.5, abs=0.02) and drift.resolution >= 0
    assert exp.check_mean_drift(ds, 0.5) is None
    assert "memory length" in exp.check_mean_drift(ds, 0.9)
    for c in (c for c in CLAIMS if c.experiment == "sgdm_regularizer"):
        assert isinstance(getattr(exp, c.measure.split(":")[1])(ds, **c.args), Exact)
        assert evaluate(c, ds).status in ("smoke", "outside")
