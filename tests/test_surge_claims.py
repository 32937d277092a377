"""Issue 16: the Li et al. claims as records — every measure function on a stored --quick result,
the k = 10 / 50 rows of the §3.1 protocol, the edge rule of the peak claims, and Theorem 5
against simulation."""
import numpy as np
import pytest
import xarray as xr

from experiments import surge as surge_exp
from experiments import surge_target as exp
from experiments.claims import CLAIMS
from experiments.verdicts import evaluate, load_function
from simlab.cache import load_dataset
from simlab.problems.sign_model import optimal_improvement
from simlab.theory import surge
from simlab.verdict import Estimate, Exact, Tuned

LI = [c for c in CLAIMS if c.results_stem in ("surge", "surge_target")]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The two --quick results, as reloaded from disk (what a measure function may read)."""
    out = tmp_path_factory.mktemp("surge_quick")
    assert surge_exp.main(["--quick", "--out", str(out)]) == 0
    assert exp.main(["--quick", "--out", str(out)]) == 0
    return {stem: load_dataset(out / f"{stem}.nc") for stem in ("surge", "surge_target")}


def test_every_li_claim_names_a_stored_result_and_existing_functions():
    assert len(LI) >= 20 and len({c.id for c in LI}) == len(LI)
    for c in LI:
        assert c.paper == "li2024"
        assert callable(load_function(c.measure))
        assert c.outside is None or callable(load_function(c.outside))


@pytest.mark.parametrize("claim", LI, ids=[c.id for c in LI])
def test_measure_on_a_stored_quick_result(stored, claim):
    ds = stored[claim.results_stem]
    m = load_function(claim.measure)(ds, **claim.args)
    assert isinstance(m, (Tuned, Estimate, Exact))
    if isinstance(m, Estimate):
        assert np.asarray(m.samples).ndim == 1 and np.asarray(m.samples).size >= 10
    v = evaluate(claim, ds)
    # a --quick result never holds or fails
    assert v.status in ("smoke", "outside")


def test_closed_form_measures_have_the_known_values(stored):
    ds = stored["surge"]
    # Eq 15 at B_noise = bound/100: the exact ratio is (4/π)erfinv(x)²/x², x² = 0.01
    assert surge_exp.measure_peak_ratio(ds).value == pytest.approx(
        surge.equal_snr_peak_ratio(0.01), rel=1e-6)
    assert surge_exp.measure_theorem4_limit(ds).value < 1e-9
    assert surge_exp.measure_uncoupled_peaks(ds).value == 0
    assert surge_exp.measure_peak_height(ds, "C").value < 1e-6           # equal SNR: identical
    assert surge_exp.measure_peak_height(ds, "D").value > 0.02           # heterogeneous: not
    assert surge_exp.case_outside_theorem3(ds, "C") is None
    assert "bound" in surge_exp.case_outside_theorem3(ds, "D")
    assert 0.5 < surge_exp.measure_eq20_product(ds, "C").value < 0.95   # not 1 (docs/reference §7)
    # SGD's optimal lr does not fall from a peak at large B; sign descent's does
    assert surge_exp.measure_surge_drop(ds, "sgd").value < 0.021
    assert surge_exp.measure_surge_drop(ds, "signsgd").value > 0.0


def test_the_protocol_has_one_row_per_further_step_count_including_the_papers():
    for family in ("li.s31.eq22-locates-peak", "li.fig3.peak-moves-right"):
        ks = sorted(c.args["k"] for c in LI if c.id.startswith(family + ".k"))
        assert ks == [1, 3, 10, 50]


def test_stored_quick_result_holds_k_10_and_50(stored):
    ds = stored["surge_target"]
    assert list(ds.k.values) == [1, 3, 10, 50]
    sign = ds.best_lr.sel(optimizer="signsgd")
    for k in (10, 50):
        assert np.isfinite(sign.sel(k=k).values).mean() > 0.5           # measured, mostly interior
        assert ds.peak_boot.sel(optimizer="signsgd", k=k).sizes["replicate"] >= 50
    assert np.all(np.isnan(ds.best_lr.sel(optimizer="sgd", k=50)))    # SGD is run to k = 10 only
    assert ds.batch_size.values.max() >= 2 ** 20                       # room for a late peak


def _peak_dataset(drop_boot, interior=True, k=10):
    """A minimal Dataset with what ``peak_unresolved`` reads: one target, SignSGD, one k."""
    return xr.Dataset(
        {"surge_drop_boot": (("target", "optimizer", "k", "replicate"),
                             np.asarray(drop_boot, float)[None, None, None]),
         "peak_interior": (("target", "optimizer", "k"), np.array([[[interior]]]))},
        coords={"target": [0.01], "optimizer": ["signsgd"], "k": [k],
                "batch_size": [1.0, 2.0 ** 22]})


def test_a_peak_claim_is_decided_only_where_the_peak_is_resolved():
    rng = np.random.default_rng(0)
    assert exp.peak_unresolved(_peak_dataset(0.05 + 0.01 * rng.normal(size=200)), k=10) is None
    flat = exp.peak_unresolved(_peak_dataset(0.01 * rng.normal(size=200)), k=10)
    assert flat.startswith("edge") and "k = 10" in flat
    edge = exp.peak_unresolved(_peak_dataset(0.05 + 0.01 * rng.normal(size=200), interior=False), 10)
    assert edge.startswith("edge")


@pytest.mark.slow
def test_theorem5_against_simulation_at_a_training_state():
    # one step from the τ = 0.3 checkpoint: the simulated optimal decrease is the exact Eq 8
    # within its interval, and Theorem 5 (Eq 18) is within 5 % of it for B ≤ bound/10
    prob = exp.blocks_problem()
    w = exp.checkpoint_cell({"targets": [0.3], "ref_steps": 4000,
                             "backend": "numba"}).checkpoint_w.values[0]
    m = exp.model_at(prob, w)
    bound = surge.validity_bound(m)
    bs = np.array([4.0, 8.0, 12.0])
    assert bs.max() <= bound / 10
    ds = exp.one_step_cell({"optimizer": "signsgd", "w": w.tolist(), "batch_sizes": bs.tolist(),
                            "seeds": 100000, "bootstrap": 200, "backend": "numba", "seed": 4})
    gain = ds.one_step_improvement.values
    lo, hi = np.quantile(gain[:, 1:], [0.005, 0.995], axis=1)
    exact = optimal_improvement(m, bs)
    assert np.all((lo < exact) & (exact < hi))
    theorem5 = surge.optimal_improvement_theorem5(m, bs)
    assert np.all(np.abs(np.log(gain[:, 0] / theorem5)) < 0.05)
