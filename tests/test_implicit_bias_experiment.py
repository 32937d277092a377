"""Experiment (a) of issue 12: ``experiments.implicit_bias`` on the diagonal network."""
import numpy as np
import pytest

from experiments import implicit_bias as exp
from simlab.cache import load_dataset


def test_two_batch_estimate_agrees_with_the_exact_noise_scale():
    ds = exp.b_simple_cell({"epochs": [0], "pairs": 1500, "b_small": 4, "b_big": 50, "lr": 0.01,
                            "seed": 1, "problem": exp.PROBLEM, "backend": "numpy"})
    est, se, exact = (float(ds[v].values[0]) for v in ("bs_two_batch", "bs_two_batch_se",
                                                        "bs_exact"))
    assert abs(est - exact) < 4 * se
    assert se < 0.2 * exact                                         # and it is informative


def test_agreement_rule():
    assert exp.agreement((-1.0, -2.0, -0.5), -1) == "yes"
    assert exp.agreement((-1.0, -2.0, -0.5), +1) == "NO"
    assert exp.agreement((0.1, -0.2, 0.3), -1) == "unresolved"


@pytest.mark.slow
def test_quick_run(tmp_path, capsys):
    assert exp.main(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "B_simple" in out and "predicted flips" in out and "rank correlation" in out
    ds = load_dataset(tmp_path / "implicit_bias.nc")
    assert ds.sizes["batch_size"] == 2 and ds.sizes["pair"] == 3
    # λ follows Eq 8 from the measured B_simple: 0 at the full batch, B_simple at b = 1
    np.testing.assert_allclose(ds.lam.values, [ds.attrs["b_simple"], 0.0], rtol=1e-12, atol=1e-12)
    assert np.all(np.isfinite(ds.sharpness.values)) and not ds.diverged.values.any()
    assert exp.main(["--quick", "--out", str(tmp_path)]) == 0
    assert "(cached)" in capsys.readouterr().out
