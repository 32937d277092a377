"""Experiment (b) of issue 12: ``experiments.gap_knobs`` (Srećković et al. knobs on the toy)."""
import numpy as np
import pytest

from experiments import gap_knobs as exp
from simlab import problems, schedules, simulate
from simlab.cache import load_dataset


def test_global_clipping_clips_the_raw_gradient_before_the_momentum():
    prob = problems.block_quadratic("heterogeneous", 0)
    opt = exp.optimizer_for("gclip_0.01", prob)
    clip = 0.01 * np.linalg.norm(prob.gradient(prob.w0))
    assert opt.max_grad_norm == clip
    idx = np.array([[[0, 4]]])                                       # one step, one seed, B = 2
    res = simulate(prob, opt, [1e-2], 2, 1, 1, backend="numpy", batch_indices=idx,
                   schedule=schedules.warmup_cosine(0.05), sampling="with_replacement")
    g = prob.sample_gradients(prob.w0[None, None], idx[0]).mean(axis=2)[0, 0]
    assert np.linalg.norm(g) > clip                                  # the clip is active
    w1 = prob.w0 - 1e-2 * schedules.warmup_cosine(0.05)(1)[0] * (1 - exp.BETA) * g * clip / np.linalg.norm(g)
    np.testing.assert_allclose(res.w_final.values[0, 0], w1, rtol=1e-12)


def test_unknown_method_is_a_value_error():
    import pytest
    with pytest.raises(ValueError, match="method"):
        exp.optimizer_for("sgd_clip", problems.block_quadratic("heterogeneous", 0))
    with pytest.raises(ValueError, match="problem"):
        exp.optimizer_for("gclip_0.1")


@pytest.mark.slow
def test_quick_run(tmp_path, capsys):
    assert exp.main(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tokens budget" in out and "best SGD(β) / Adam" in out
    ds = load_dataset(tmp_path / "gap_knobs.nc")
    assert set(ds.budget.values) == {"steps", "tokens"}
    assert np.all(np.isfinite(ds["median"].sel(method="adam").values))
