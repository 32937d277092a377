"""Experiment (b) of issue 12: ``experiments.gap_knobs`` (Srećković et al. knobs on the toy)."""
import numpy as np

from experiments import gap_knobs as exp
from simlab import optim, problems, schedules, simulate
from simlab.cache import load_dataset


def test_global_clip_loop_without_clipping_is_the_engines_sgd():
    prob = problems.block_quadratic("heterogeneous", 0)
    rng = np.random.default_rng(0)
    steps, seeds, b = 40, 3, 4
    idx = rng.integers(0, 9, size=(steps, seeds, b))
    lrs = [1e-5, 1e-4]
    mine, _ = exp.global_clip_runs(prob, 0.95, np.inf, lrs, b, steps, seeds, 0,
                                   batch_indices=idx)
    eng = simulate(prob, optim.sgd(0.95, ema=True), lrs, b, steps, seeds, backend="numpy",
                   schedule=schedules.warmup_cosine(0.05), sampling="with_replacement",
                   batch_indices=idx)
    np.testing.assert_allclose(mine, eng.loss.values[:, :, -1], rtol=1e-10)


def test_clipping_rescales_the_raw_gradient_before_momentum():
    prob = problems.block_quadratic("heterogeneous", 0)
    idx = np.array([[[0, 4]]])                                       # one step, one seed, B = 2
    clip = 3.0
    final, div = exp.global_clip_runs(prob, 0.9, clip, [1e-2], 2, 1, 1, 0, batch_indices=idx)
    g = prob.sample_gradients(prob.w0[None, None], idx[0]).mean(axis=2)[0, 0]
    assert np.linalg.norm(g) > clip                                  # the clip is active
    m = (1 - 0.9) * g * clip / np.linalg.norm(g)
    w1 = prob.w0 - 1e-2 * schedules.warmup_cosine(0.05)(1)[0] * m
    assert not div.any()
    np.testing.assert_allclose(final[0, 0], prob.loss(w1), rtol=1e-12)


def test_quick_run(tmp_path, capsys):
    assert exp.main(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tokens budget" in out and "best SGD(β) / Adam" in out
    ds = load_dataset(tmp_path / "gap_knobs.nc")
    assert set(ds.budget.values) == {"steps", "tokens"}
    assert np.all(np.isfinite(ds["median"].sel(method="adam").values))
