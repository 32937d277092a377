"""What the implicit_bias experiment simulates and records, kept apart from what it concludes
(``experiments.implicit_bias``): the diagonal network, the B_simple reference run and one cell per
((β1, β2), b, lrs). Cached cells are keyed by this module's bytes, so editing the claims, report
or figure of the experiment does not recompute them.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from simlab import _checks, optim, problems, simulate
from simlab.theory.noise_scale import two_batch_estimate

EPS = 1e-8
PROBLEM = {"width": 400, "n_train": 200, "n_test": 1000, "sparsity": 10, "noise": 0.5,
           "init_scale": 0.1, "seed": 0}
CHECKPOINTS = 50          # at least this many log-spaced test-loss checkpoints per run


def problem(kwargs=None):
    """The diagonal network of ``PROBLEM``: N = 200 noisy training samples, p = 400 features, a
    10-sparse β*. N ≫ 2·B_simple (B_simple ≈ 35–150 along training) puts the predicted β2 flip
    (λ = 1/2) inside the batch-size grid; with noise, interpolation overfits and the test loss
    depends on which minimum is reached."""
    return problems.diagonal_net(**(PROBLEM if kwargs is None else kwargs))


def checkpoints(steps: int, count: int = CHECKPOINTS) -> np.ndarray:
    """At least ``count`` distinct log-spaced steps in [1, steps], ending at ``steps``."""
    steps = _checks.integer("steps", steps, lo=count)
    n = count
    while True:
        ck = np.unique(np.round(np.geomspace(1, steps, n)).astype(int))
        if ck.size >= count:
            return ck
        n += count - ck.size


def exact_b_simple(prob, w):
    """trΣ/|G|² at w from all N per-sample gradients (Σ with the 1/N normalisation)."""
    idx = np.arange(prob.n_samples)[None, :]
    g = prob.sample_gradients(np.asarray(w, float)[None, None], idx)[0, 0]    # (N, d)
    mean = g.mean(0)
    return float(((g - mean) ** 2).sum(1).mean() / (mean @ mean))


def b_simple_cell(spec: dict) -> xr.Dataset:
    """B_simple along a reference run (Adam (0.9, 0.999), b = 1, lr = ``lr``): two-batch estimates
    (``pairs`` paired draws of b_small and b_big samples without replacement) and exact values."""
    prob = problem(spec["problem"])
    n = prob.n_samples
    rng = np.random.default_rng(spec["seed"])
    est, se, exact, loss = [], [], [], []
    for epoch in spec["epochs"]:
        if epoch == 0:
            w = prob.w0
        else:
            res = simulate(prob, optim.adam(0.9, 0.999, EPS), spec["lr"], 1, epoch * n, 1,
                           sampling="epoch", backend=spec["backend"], record_every=epoch * n)
            w = res.w_final.values[0, 0]
        small, big = [], []
        for _ in range(spec["pairs"]):
            perm = rng.permutation(n)
            gs = prob.sample_gradients(w[None, None], perm[None, :spec["b_small"]])[0, 0].mean(0)
            gb = prob.sample_gradients(w[None, None], perm[None, :spec["b_big"]])[0, 0].mean(0)
            small.append(gs @ gs)
            big.append(gb @ gb)
        two = two_batch_estimate(np.array(small), np.array(big), spec["b_small"], spec["b_big"],
                                 n_samples=n)
        est.append(two["simple_noise_scale"])
        # delta method s.e. of the ratio of means
        t, g = two["trace_cov"], two["grad_sq"]
        se.append(abs(t / g) * np.hypot(two["trace_cov_se"] / t, two["grad_sq_se"] / g))
        exact.append(exact_b_simple(prob, w))
        loss.append(float(prob.loss(w)))
    return xr.Dataset({"bs_two_batch": ("bs_epoch", est), "bs_two_batch_se": ("bs_epoch", se),
                       "bs_exact": ("bs_epoch", exact), "bs_train_loss": ("bs_epoch", loss)},
                      coords={"bs_epoch": spec["epochs"]})


def run_cell(spec: dict) -> xr.Dataset:
    """One ((β1, β2), b, lrs): ``steps`` steps for every lr × seed, continued from checkpoint to
    checkpoint (``init_state``); per run the best test loss over w0 and the checkpoints, its
    step, the final test and train losses and the sharpness at the best checkpoint. A full batch
    (b = N) is deterministic: it runs one seed, broadcast to all."""
    prob = problem(spec["problem"])
    b = spec["batch_size"]
    seeds = 1 if b == prob.n_samples else spec["seeds"]
    opt = optim.adam(*spec["pair"], EPS)
    shape = (len(spec["lrs"]), seeds)
    best_w = np.broadcast_to(prob.w0, shape + prob.w0.shape).copy()
    best = np.full(shape, float(prob.test_loss(prob.w0)))
    best_step = np.zeros(shape, np.int64)
    state, done = None, 0
    for step in checkpoints(spec["steps"], spec["checkpoints"]):
        state = simulate(prob, opt, spec["lrs"], b, int(step - done), seeds, sampling="epoch",
                         record_every=int(step - done), backend=spec["backend"],
                         seed=spec["seed"], init_state=state)
        done = step
        w = state.w_final.values
        with np.errstate(all="ignore"):
            test = np.where(state.diverged.values, np.nan, prob.test_loss(w))
        better = test < best                                              # nan: never better
        best = np.where(better, test, best)
        best_step = np.where(better, step, best_step)
        best_w[better] = w[better]
    diverged = state.diverged.values
    final_test = test
    final_train = np.where(diverged, np.nan, state.loss.values[:, :, -1])
    sharp = prob.sharpness(best_w)
    out = {"best_test_loss": best, "best_step": best_step, "final_test_loss": final_test,
           "final_train_loss": final_train, "sharpness_at_best": sharp, "diverged": diverged}
    if seeds != spec["seeds"]:
        out = {k: np.repeat(v, spec["seeds"], axis=1) for k, v in out.items()}
    return xr.Dataset({k: (("lr", "seed"), v) for k, v in out.items()},
                      coords={"lr": spec["lrs"]})


def warmup(backend):
    prob = problems.diagonal_net()
    simulate(prob, optim.adam(0.9, 0.99, EPS), 0.01, 2, 4, 1, sampling="epoch", backend=backend)
