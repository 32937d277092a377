"""BSI-Adam against torch.optim.Adam and Theorem 1 on the network; Signum; the two-batch estimator
on the LM's gradients."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="simlab.lm needs the 'lm' extra (torch)")

from simlab.lm import ModelConfig, data, measure, optim, set_threads  # noqa: E402
from simlab.lm.model import build  # noqa: E402

set_threads(1)
TINY = ModelConfig.preset("tiny")


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    return data.load("bible", cache_dir=tmp_path_factory.mktemp("tokens"))


def _batches(splits, n, size, seed=0, block=TINY.block_size):
    x, y = data.random_batch(splits.train, block, n * size, data.stream_key(seed, 0), 0)
    return list(zip(x.split(size), y.split(size)))


@pytest.mark.parametrize("clip", [0.0, 0.5])
def test_bsi_adam_with_one_microbatch_is_torch_adam(splits, clip):
    a, b = build(TINY, 0, dtype=torch.float64), build(TINY, 0, dtype=torch.float64)
    ref = torch.optim.Adam(a.parameters(), lr=3e-3, betas=(0.8, 0.95), eps=1e-8)
    bsi = optim.BSIAdam(b.parameters(), lr=3e-3, betas=(0.8, 0.95), eps=1e-8, clip=clip)
    for x, y in _batches(splits, 12, 4):
        for net, opt in ((a, ref), (b, bsi)):
            opt.zero_grad()
            net(x, y)[1].backward()
            if clip and opt is ref:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(q, p, rtol=1e-12, atol=1e-15)


def test_bsi_adam_differs_from_adam_with_microbatches(splits):
    """κ = 4: v from the mean of squares, not the square of the mean (so not Adam on the mean)."""
    a, b = build(TINY, 0, dtype=torch.float64), build(TINY, 0, dtype=torch.float64)
    ref = torch.optim.Adam(a.parameters(), lr=3e-3)
    bsi = optim.BSIAdam(b.parameters(), lr=3e-3)
    micro = _batches(splits, 4, 2)
    for x, y in micro:
        (a(x, y)[1] / 4).backward()
        b(x, y)[1].backward()
        bsi.accumulate()
    ref.step(), bsi.step()
    sq = bsi.state[next(b.parameters())]
    g_mean = next(a.parameters()).grad
    # v after one step is (1 − β2)·mean_j g_j², which exceeds (1 − β2)·(mean_j g_j)² somewhere
    assert float((sq["v"] - (1 - 0.999) * g_mean ** 2).min()) >= -1e-18
    assert float((sq["v"] - (1 - 0.999) * g_mean ** 2).max()) > 0
    diff = max(float((p - q).detach().abs().max()) for p, q in zip(a.parameters(), b.parameters()))
    assert diff > 1e-6


def test_theorem1_on_the_network(splits):
    """Wang & Aitchison Theorem 1: ‖Δstate‖/δ ∝ δ for BSI-Adam (slope ≈ 1) but → const for Adam."""
    from experiments._lm_cells import theorem1_gap
    from experiments.lm_bsi import fitted_slope
    model = build(TINY, 0, dtype=torch.float64)
    micro = _batches(splits, 3, 2, seed=4)
    deltas = [0.01, 0.0025, 0.000625]
    bsi = [theorem1_gap(model, micro, d, merged="bsi") for d in deltas]
    adam = [theorem1_gap(model, micro, d, merged="adam") for d in deltas]
    assert fitted_slope(deltas, bsi) == pytest.approx(1.0, abs=0.05)
    assert abs(fitted_slope(deltas, adam)) < 0.1
    assert adam[-1] > 50 * bsi[-1]


def test_signum_rule(splits):
    net = build(TINY, 0, dtype=torch.float64)
    w0 = [p.detach().clone() for p in net.parameters()]
    opt = optim.Signum(net.parameters(), lr=1e-3, beta=0.5)
    x, y = _batches(splits, 1, 4)[0]
    net(x, y)[1].backward()
    g = [p.grad.clone() for p in net.parameters()]
    opt.step()
    for p, w, gi in zip(net.parameters(), w0, g):      # m = 0.5·g, w ← w − η·sign(m)
        torch.testing.assert_close(p.detach(), w - 1e-3 * torch.sign(gi))


def test_make_validates_every_hyperparameter():
    params = list(build(TINY, 0).parameters())
    with pytest.raises(ValueError, match=r"lr=0.0 is outside the allowed range \(0.0, inf\]"):
        optim.make("adam", params, lr=0)
    with pytest.raises(ValueError, match="momentum=1.0 is outside"):
        optim.make("sgd", params, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="optimizer='rmsprop' is not one of"):
        optim.make("rmsprop", params, lr=0.1)
    with pytest.raises(ValueError, match="clip=-1.0 is outside"):
        optim.make("bsi_adam", params, lr=0.1, clip=-1)
    with pytest.raises(ValueError, match="ratio=.* is outside"):
        optim.scaled_bsi_hyper(1e-3, 0.1, 0.5, ratio=4.0)


# ------------------------------------------------------------------ two-batch estimator on the LM

@pytest.fixture(scope="module")
def per_sample(splits):
    """Per-window gradients of N = 48 windows at a briefly trained tiny model: the exact |G|², trΣ."""
    from simlab.lm import TrainConfig, train
    _, model = train(TINY, TrainConfig(lr=1e-2, batch_size=8, steps=30, eval_windows=8), splits)
    x, y = data.random_batch(splits.train, TINY.block_size, 48, data.stream_key(9, 0), 0)
    grads = torch.stack([measure.flat_grad(model, x[i:i + 1], y[i:i + 1])[0].detach() for i in range(48)]).double()
    return model, x, y, grads.numpy()


def test_probe_equals_mean_of_per_sample_gradients(per_sample):
    model, x, y, g = per_sample
    idx = [3, 7, 7, 20, 1, 5]
    probe = measure.gradient_probe(model, [(x[idx[:3]], y[idx[:3]]), (x[idx[3:]], y[idx[3:]])])
    small = np.mean([np.sum(g[idx[:3]].mean(0) ** 2), np.sum(g[idx[3:]].mean(0) ** 2)])
    assert probe["small"] == pytest.approx(small, rel=1e-4)
    assert probe["big"] == pytest.approx(np.sum(g[idx].mean(0) ** 2), rel=1e-4)


@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.slow
def test_two_batch_estimator_is_unbiased_on_lm_gradients(per_sample, replace):
    """Monte Carlo over 4000 probes (b = 2, κ = 4): estimates of |G|² and trΣ within 4 standard errors
    of the exact values over the N = 48 windows; without replacement with the finite-population
    factors (n_samples = N)."""
    _, _, _, g = per_sample
    n, b, kappa = len(g), 2, 4
    full = g.mean(0)
    grad_sq, trace = float(full @ full), float(((g - full) ** 2).sum(1).mean())
    rng = np.random.default_rng(0)
    probes = []
    for _ in range(4000):
        idx = rng.choice(n, size=b * kappa, replace=replace)
        micro = g[idx].reshape(kappa, b, -1).mean(1)
        probes.append({"small": float((micro ** 2).sum(1).mean()), "big": float((micro.mean(0) ** 2).sum())})
    est = measure.noise_scale_estimate(probes, b, kappa, None if replace else n)
    assert abs(est["grad_sq"] - grad_sq) < 4 * est["grad_sq_se"]
    assert abs(est["trace_cov"] - trace) < 4 * est["trace_cov_se"]
    if not replace:    # the test has power: ignoring the finite population is a detectable bias
        naive = measure.noise_scale_estimate(probes, b, kappa, None)
        assert abs(naive["trace_cov"] - trace) > 4 * naive["trace_cov_se"]


def test_weighted_estimator_accepts_negative_curvature():
    probes = [{"small": 1.0, "big": 0.5, "small_h": -0.2, "big_h": -0.5}, {"small": 1.2, "big": 0.4,
              "small_h": 0.3, "big_h": -0.1}]
    est = measure.noise_scale_estimate(probes, 2, 4, weighted=True)
    c_s, c_b = 1 / 2, 1 / 8
    small, big = np.array([-0.2, 0.3]), np.array([-0.5, -0.1])
    assert est["trace_cov"] == pytest.approx(np.mean((small - big) / (c_s - c_b)))
    assert est["grad_sq"] == pytest.approx(np.mean((c_s * big - c_b * small) / (c_s - c_b)))


@pytest.mark.parametrize("weighted", [False, True])
def test_a_noise_scale_with_a_denominator_estimate_at_or_below_zero_is_undefined(weighted):
    """|G|² (or GᵀHG) estimated ≤ 0 — noise larger than the signal — gives NaN, never +inf (a
    finite-looking "infinitely large" noise scale); a positive estimate gives the ratio."""
    keys = ("small_h", "big_h") if weighted else ("small", "big")
    noisy = [dict(zip(keys, (1.0, 0.1))), dict(zip(keys, (1.2, 0.1)))]    # |G|² est. = (b·0.1−…)<0
    est = measure.noise_scale_estimate(noisy, 2, 4, weighted=weighted)
    assert est["grad_sq"] < 0 and np.isnan(est["simple_noise_scale"])
    clear = [dict(zip(keys, (1.0, 0.8))), dict(zip(keys, (1.1, 0.9)))]
    est = measure.noise_scale_estimate(clear, 2, 4, weighted=weighted)
    assert est["grad_sq"] > 0
    assert est["simple_noise_scale"] == pytest.approx(est["trace_cov"] / est["grad_sq"])
