"""``experiments.implicit_bias``: B_simple, the lr-tuned protocol, the claims' measure functions and
the "trained to overfitting" check, on one stored --quick result."""
import numpy as np
import pytest

from experiments import implicit_bias as exp
from experiments.claims import CLAIMS
from experiments.verdicts import evaluate
from simlab.cache import load_dataset
from simlab.verdict import Estimate, Prediction, Tuned, decide


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("implicit_bias")
    assert exp.main(["--quick", "--out", str(out)]) == 0
    return load_dataset(out / "implicit_bias.nc"), out


def test_two_batch_estimate_agrees_with_the_exact_noise_scale():
    ds = exp.b_simple_cell({"epochs": [0], "pairs": 1500, "b_small": 4, "b_big": 50, "lr": 0.01,
                            "seed": 1, "problem": exp.PROBLEM, "backend": "numpy"})
    est, se, exact = (float(ds[v].values[0]) for v in ("bs_two_batch", "bs_two_batch_se",
                                                        "bs_exact"))
    assert abs(est - exact) < 4 * se
    assert se < 0.2 * exact                                         # and it is informative


@pytest.mark.parametrize("steps", [50, 300, 8000, 60000])
def test_checkpoints_are_at_least_50_log_spaced_steps_ending_at_the_last(steps):
    ck = exp.checkpoints(steps)
    assert ck.size >= 50 and ck[0] >= 1 and ck[-1] == steps and np.all(np.diff(ck) > 0)
    # log-spaced: the late gaps grow with the step (not a uniform grid that misses early optima)
    gaps = np.diff(ck)
    assert gaps[-1] > 5 * gaps[0] or steps < 100
    with pytest.raises(ValueError, match="steps"):
        exp.checkpoints(49)


def test_quick_dataset_is_compact_and_holds_per_run_summaries(quick):
    ds, out = quick
    assert ds.sizes["batch_size"] == 2 and ds.sizes["pair"] == len(exp.PAIRS_QUICK)
    assert "test_curve" not in ds and "step" not in ds.dims          # no trajectories stored
    for v in ("best_test_loss", "final_test_loss", "final_train_loss", "sharpness_at_best"):
        assert ds[v].dtype == np.float32
    ran = ds.lr_ran.values
    assert ran.any(axis=1).all()
    # every lr that ran has every run; lrs that did not run are empty
    best = ds.best_test_loss.transpose("batch_size", "lr", "pair", "seed").values
    assert np.isfinite(best[ran]).all() and np.isnan(best[~ran]).all()
    # the best test loss is the minimum over w0 and the checkpoints: never above the final one
    fin = ds.final_test_loss.transpose("batch_size", "lr", "pair", "seed").values
    assert np.all(best[ran] <= fin[ran] + 1e-6)
    # λ follows Eq 8 from the measured B_simple: 0 at the full batch, B_simple at b = 1
    np.testing.assert_allclose(ds.lam.values, [ds.attrs["b_simple"], 0.0], rtol=1e-12, atol=1e-12)
    assert (out / "implicit_bias.nc").stat().st_size < 200_000


def test_lr_windows_are_extended_until_the_tuned_lr_is_interior_or_the_ladder_ends():
    import xarray as xr
    runs = {}
    lrs = exp.LADDER[2:5]
    good = xr.Dataset({"best_test_loss": (("lr", "seed"), [[3.0, 3.0], [2.0, 2.0], [1.0, 1.0]]),
                       "diverged": (("lr", "seed"), np.zeros((3, 2), bool))}, coords={"lr": lrs})
    runs[((0.9, 0.9), 1)] = [good]
    assert exp.edge_extensions(runs, [(0.9, 0.9)], 1, [2, 3, 4], len(exp.LADDER)) == [5]
    top = len(exp.LADDER)
    assert exp.edge_extensions(runs, [(0.9, 0.9)], 1, [top - 3, top - 2, top - 1], top) == []
    # a diverged run counts as +inf: the tuned lr moves away from it
    bad = good.copy(deep=True)
    bad["diverged"][2] = True
    runs[((0.9, 0.9), 1)] = [bad]
    assert exp.edge_extensions(runs, [(0.9, 0.9)], 1, [2, 3, 4], len(exp.LADDER)) == []


def test_measure_pair_effect_is_the_tuned_comparison_of_the_stored_runs(quick):
    ds, _ = quick
    m = exp.measure_pair_effect(ds, 1, "0.9/0.999", "0.9/0.9")
    assert isinstance(m, Tuned) and m.settings == ("0.9/0.999", "0.9/0.9")
    assert m.metric.shape == (2, int(ds.lr_ran.sel(batch_size=1).sum()), ds.sizes["seed"])
    assert np.all(np.diff(np.log(m.lrs)) == pytest.approx(np.log(3)))   # ×1/3, ×3 on the grid
    v = decide(m, Prediction("sign", sign=-1))
    med, _, _ = exp.tuned_best_test_loss(ds, 1, ["0.9/0.999", "0.9/0.9"])
    assert v.value == pytest.approx(med[0] - med[1], rel=1e-6)
    with pytest.raises(ValueError, match="batch_size=3"):
        exp.measure_pair_effect(ds, 3, "0.9/0.999", "0.9/0.9")
    with pytest.raises(ValueError, match="0.5/0.5"):
        exp.measure_pair_effect(ds, 1, "0.5/0.5", "0.9/0.9")


def test_measure_pair_effect_scores_diverged_runs_as_inf(quick):
    ds, _ = quick
    ds = ds.copy(deep=True)
    ds["diverged"].loc[{"pair": "0.9/0.9", "batch_size": 1}] = True
    m = exp.measure_pair_effect(ds, 1, "0.9/0.999", "0.9/0.9")
    assert np.all(np.isinf(m.metric[1])) and np.all(np.isfinite(m.metric[0]))


def test_ctotal_correlation_resamples_pairs_as_well_as_seeds(quick):
    ds, _ = quick
    e = exp.measure_ctotal_correlation(ds, 1, resamples=400)
    assert isinstance(e, Estimate) and -1 <= e.value <= 1 and e.samples.size > 300
    # with every seed identical (b = N is deterministic) the spread comes from the pairs alone
    full = exp.measure_ctotal_correlation(ds, 200, resamples=400)
    assert np.ptp(full.samples) > 0.2
    # a perfect monotone relation gives ρ = 1 at the point
    ds2 = ds.copy(deep=True)
    ct = ds2.c_total.sel(batch_size=1).values
    ds2["best_test_loss"].loc[{"batch_size": 1}] = (-ct[:, None, None]
                                                   + 0 * ds2.best_test_loss.sel(batch_size=1))
    assert exp.measure_ctotal_correlation(ds2, 1, resamples=50).value == pytest.approx(1.0)


def test_outside_when_a_compared_run_has_not_passed_its_test_minimum(quick):
    ds, _ = quick
    ds = ds.copy(deep=True)
    args = {"batch_size": 200, "pair": "0.9/0.999", "reference": "0.9/0.9"}
    ds["final_test_loss"].loc[{"batch_size": 200}] = 1.5 * ds.best_test_loss.sel(batch_size=200)
    assert exp.check_assumptions(ds, **args) is None                    # every run overfitted
    ds["final_test_loss"].loc[{"batch_size": 200, "pair": "0.9/0.9"}] = \
        1.001 * ds.best_test_loss.sel(batch_size=200, pair="0.9/0.9")
    why = exp.check_assumptions(ds, **args)
    assert why.startswith("not trained to overfitting") and "0.9/0.9" in why
    assert "0.9/0.999" not in why
    # the λ regime of the lemma: λ(b = N) = 0 is below 0.494, not above 0.5082
    assert exp.check_assumptions(ds, **args, regime=("above", 0.5082)).startswith("λ(b=200)")
    ds["final_test_loss"].loc[{"batch_size": 200}] = 1.5 * ds.best_test_loss.sel(batch_size=200)
    assert exp.check_assumptions(ds, **args, regime=("below", 0.494)) is None


def test_every_implicit_bias_claim_measures_the_quick_result(quick):
    ds, _ = quick
    mine = [c for c in CLAIMS if c.experiment == "implicit_bias"]
    assert len(mine) >= 20
    for c in mine:
        if c.args["batch_size"] not in ds.batch_size.values:
            continue
        v = evaluate(c, ds)
        assert v.status in ("smoke", "outside")                     # a quick run never decides
        assert np.isfinite(v.value)


def test_quick_report_prints_no_verdict_words(quick, capsys):
    _, out = quick
    assert exp.main(["--quick", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(cached)" in text and "B_simple" in text and "cattaneo.l3.4.sim-b1" in text
    for word in ("holds", "fails", "agrees", "depends"):
        assert f": {word}" not in text
