"""``experiments.gap_knobs`` (Srećković et al. knobs on the toy): the clipping rule and its rerun,
the clip counter, the critical-batch check, and the measure functions of its claims on a stored
--quick result."""
import numpy as np
import pytest

from experiments import gap_knobs as exp
from simlab import optim, problems, schedules, simulate
from simlab.verdict import Estimate, Prediction, Tuned, decide


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("gap_knobs")
    return exp.EXPERIMENT.run(["--quick", "--out", str(out)], progress=False)


def test_global_clipping_clips_the_raw_gradient_before_the_momentum():
    prob = problems.block_quadratic("heterogeneous", 0)
    opt = exp.optimizer_for("gclip", prob)
    clip = exp.CLIP * np.linalg.norm(prob.gradient(prob.w0))
    assert opt.max_grad_norm == clip
    top = np.argsort(np.linalg.norm(prob.samples, axis=0))[-2:]     # the two stiffest samples
    idx = np.array([[top]])                                          # one step, one seed, B = 2
    res = simulate(prob, opt, [1e-2], 2, 1, 1, backend="numpy", batch_indices=idx,
                   schedule=schedules.warmup_cosine(0.05))
    g = prob.sample_gradients(prob.w0[None, None], idx[0]).mean(axis=2)[0, 0]
    assert np.linalg.norm(g) > clip                                  # the clip is active
    w1 = prob.w0 - 1e-2 * schedules.warmup_cosine(0.05)(1)[0] * (1 - exp.BETA) * g * clip / np.linalg.norm(g)
    np.testing.assert_allclose(res.w_final.values[0, 0], w1, rtol=1e-12)


def test_unknown_method_is_a_value_error():
    with pytest.raises(ValueError, match="method"):
        exp.optimizer_for("sgd_clip", problems.block_quadratic("heterogeneous", 0))
    with pytest.raises(ValueError, match="problem"):
        exp.optimizer_for("gclip")


@pytest.mark.parametrize("lr, batch_size, steps", [(3e-3, 4, 150), (3e-2, 8, 120),
                                                   (1e-4, 1, 200)])
def test_clip_replay_is_the_engines_run(lr, batch_size, steps):
    """The clip counter replays exactly the runs of ``simulate`` (same batches, same steps)."""
    prob = problems.block_quadratic("heterogeneous", 0)
    opt = exp.optimizer_for("gclip", prob)
    fraction, final = exp.clip_fractions(prob, opt, lr, batch_size, steps, 5, 123)
    res = simulate(prob, opt, [lr], batch_size, steps, 5, seed=123, record_every=steps,
                   schedule=schedules.warmup_cosine(0.05), backend="numpy")
    engine = np.where(res.diverged.values[0], np.inf, res.loss.values[0, :, -1])
    np.testing.assert_allclose(final, engine, rtol=1e-10)
    assert np.all((fraction >= 0) & (fraction <= 1))


def test_clip_counter_counts_every_step_or_none():
    prob = problems.block_quadratic("heterogeneous", 0)
    tiny = optim.with_global_norm_clipping(optim.sgd(exp.BETA, ema=True), 1e-12)
    huge = optim.with_global_norm_clipping(optim.sgd(exp.BETA, ema=True), 1e12)
    assert np.all(exp.clip_fractions(prob, tiny, 1e-4, 3, 50, 4, 0)[0] == 1.0)
    assert np.all(exp.clip_fractions(prob, huge, 1e-4, 3, 50, 4, 0)[0] == 0.0)


def test_clipping_rerun_is_the_unclipped_run_at_the_clipped_best_lr(quick):
    """The protocol: the lr best with clipping, rerun without clipping on the same batches —
    stored as the unclipped SGD run of the same grid point; recompute both directly."""
    ds = quick.dataset
    budget = "tokens_large"
    run = exp.clip_rerun(ds, 8, budget)
    clipped = ds["final"].sel(knob="gclip", hessian="heterogeneous", batch_size=8,
                              budget=budget).astype(float).values
    assert run["lr_index"] == int(np.argmin(np.median(clipped, axis=1)))
    prob = problems.block_quadratic("heterogeneous", 0)
    steps = int(ds["steps"].sel(batch_size=8, budget=budget))
    amount = [str(ds.budget_kind.sel(budget=budget).values), int(ds.budget_amount.sel(budget=budget))]
    common = dict(batch_size=8, steps=steps, seeds=ds.sizes["seed"], record_every=steps,
                  schedule=schedules.warmup_cosine(0.05), backend="numba",
                  seed=exp.cell_seed("heterogeneous", 8, amount))
    for opt, stored in ((optim.sgd(exp.BETA, ema=True), run["unclipped"]),
                        (exp.optimizer_for("gclip", prob), run["clipped"])):
        res = simulate(prob, opt, [run["lr"]], **common)
        direct = np.where(res.diverged.values[0], np.inf, res.loss.values[0, :, -1])
        np.testing.assert_allclose(stored, direct, rtol=1e-6)      # stored as float32
    frac = ds["clip_fraction"].sel(hessian="heterogeneous", batch_size=8, budget=budget).values
    assert np.all((frac >= 0) & (frac <= 1))


def test_measure_unclipped_divergence_counts_diverged_seeds(quick):
    m = exp.measure_unclipped_divergence(quick.dataset, 8, "tokens_large")
    run = exp.clip_rerun(quick.dataset, 8, "tokens_large")
    assert isinstance(m, Estimate) and m.per_seed
    np.testing.assert_array_equal(m.samples, np.isinf(run["unclipped"]).astype(float))
    assert m.value == pytest.approx(float(np.isinf(run["unclipped"]).mean()))


def test_measure_unclipped_penalty_is_the_log_ratio_of_medians(quick):
    ds = quick.dataset
    limit = float(ds["divergence_limit"].sel(hessian="heterogeneous"))
    prob = problems.block_quadratic("heterogeneous", 0)
    assert limit == pytest.approx(1e4 * max(float(prob.loss(prob.w0)), prob.loss_scale()))
    for b in (1, 8):
        run = exp.clip_rerun(ds, b, "tokens_large")
        m = exp.measure_unclipped_penalty(ds, b, "tokens_large")
        capped = [np.minimum(run[k], limit) for k in ("unclipped", "clipped")]
        expected = np.log10(np.median(capped[0]) / np.median(capped[1]))
        assert np.isfinite(m.value) and m.value == pytest.approx(expected)
        assert np.all(np.isfinite(m.samples))


def test_critical_batch_size_of_the_toy_and_the_outside_check(quick):
    ds = quick.dataset
    # data quadratics of App. I: every sample excites one eigendirection, B_noise = n - 1
    np.testing.assert_allclose(ds["b_noise"].values, exp.N_SAMPLES - 1, rtol=1e-9)
    np.testing.assert_allclose(ds["b_effective"].sel(batch_size=4), 4 * 8 / 5)
    assert exp.check_below_critical_batch(ds, small=1, large=4) is None
    reason = exp.check_below_critical_batch(ds, small=1, large=8)
    assert reason is not None and "B=8" in reason and "critical batch size" in reason


def _best_effect(ds, cells, contrast, budget):
    """The tuned effect at one budget computed directly: per cell, the min over lrs of the
    median over seeds of log10 final loss."""
    stats = []
    for c in cells:
        with np.errstate(divide="ignore"):
            logs = np.log10(ds["final"].sel(budget=budget, **c).astype(float).values)
        stats.append(np.min(np.median(logs, axis=1)))
    return float(np.dot(contrast, stats))


def test_measure_gap_growth_is_the_tuned_difference_of_gaps(quick):
    ds = quick.dataset
    m = exp.measure_gap_growth(ds, ["tokens_small", "tokens_large"], 1, 4)
    assert isinstance(m, Tuned) and m.metric.shape == (4, 2, ds.sizes["lr_index"], ds.sizes["seed"])
    v = decide(m, Prediction("sign", sign=1), resamples=100)
    cells = [{"knob": k, "hessian": "heterogeneous", "batch_size": b}
             for b in (1, 4) for k in ("sgd_b0.95", "adam")]
    # the reported value is the last budget's
    assert v.value == pytest.approx(_best_effect(ds, cells, m.contrast, "tokens_large"), abs=1e-5)


@pytest.mark.parametrize("measure, kwargs, cells", [
    (exp.measure_batch_change, {"knob": "adam", "budgets": ["tokens_small", "tokens_large"],
                                "small": 1, "large": 4},
     [("adam", 1), ("adam", 4)]),
    (exp.measure_pair, {"first": "amc_p0.1", "second": "sgd_b0.95", "batch_size": 8,
                        "budgets": ["tokens_small", "tokens_large"]},
     [("amc_p0.1", 8), ("sgd_b0.95", 8)]),
    (exp.measure_momentum_gain_growth, {"budgets": ["tokens_small", "tokens_large"],
                                        "small": 1, "large": 8},
     [("sgd_b0", 1), ("sgd_b0.95", 1), ("sgd_b0", 8), ("sgd_b0.95", 8)]),
])
def test_tuned_measures_on_a_stored_quick_result(quick, measure, kwargs, cells):
    ds = quick.dataset
    m = measure(ds, **kwargs)
    v = decide(m, Prediction("sign", sign=1), resamples=100)
    direct = _best_effect(ds, [{"knob": k, "hessian": "heterogeneous", "batch_size": b}
                               for k, b in cells], m.contrast, kwargs["budgets"][-1])
    assert v.value == pytest.approx(direct, abs=1e-5)


def test_quick_run_reports_and_prints_only_smoke_or_outside(quick, capsys):
    from experiments.verdicts import verdict_lines
    lines = verdict_lines(quick.dataset).splitlines()
    assert len(lines) >= 10
    assert all(": smoke" in line or ": outside" in line for line in lines), lines
    text = exp.report(quick.dataset)
    assert "Clipping at c" in text and "B_noise" in text
    assert quick.dataset["final"].dtype == np.float32
