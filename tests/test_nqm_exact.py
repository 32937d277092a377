"""The exact expected-loss recursion (simlab.theory.nqm_exact) against the simulator and closed forms.

Monte Carlo: the mean over R = 10⁴ simulated runs must lie within 4 standard errors of the exact
expected loss at every recorded step (and the mean final iterate within 4 SE per coordinate).
Step 0 (and full-batch runs) are deterministic, so there the SE is 0 and only float rounding is
allowed (1e-10 relative).
"""
import numpy as np
import pytest

import simlab
from simlab import optim, problems, schedules
from simlab.theory.nqm_exact import expected_iterate, expected_loss

RUNS = 10_000
STEPS = 60
RECORD_EVERY = 5
ROUNDING = 1e-10


# The numpy reference backend: the numba backend agrees with it bit for bit on given batches (its
# own tests), and at these sizes it was measured no faster while its first call JIT-compiles for
# about a minute (kernels not cacheable), which would dominate this file's runtime.
BACKEND = "numpy"

HET = problems.block_quadratic("heterogeneous", seed=0)
HOM = problems.block_quadratic("homogeneous", seed=1)
HET_X2 = problems.block_quadratic("heterogeneous", seed=0, replicate=2)
NQM = problems.nqm(dim=10, seed=3)

# (optimizer, lr on the 9-d toy, lr on the NQM): well inside the mean-square stability region.
OPTIMIZERS = {
    "sgd": (optim.sgd(), 2e-5, 0.5),
    "heavy_ball": (optim.sgd(momentum=0.9), 2e-6, 0.05),
    "ema": (optim.sgd(momentum=0.9, ema=True), 3e-5, 0.5),
    "nesterov": (optim.sgd(momentum=0.8, nesterov=True), 3e-6, 0.1),
}
SAMPLINGS = {
    "without_replacement": (HET, 2, "without_replacement"),
    "with_replacement": (HET, 3, "with_replacement"),
    "replicate2": (HET_X2, 4, "without_replacement"),
}
WARMUP_COSINE = schedules.warmup_cosine(warmup=0.1)

CASES = [pytest.param(OPTIMIZERS[o][0], OPTIMIZERS[o][1], *SAMPLINGS[s],
                      WARMUP_COSINE if o == "sgd" else None, id=f"het-{o}-{s}")
         for o in OPTIMIZERS for s in SAMPLINGS]
CASES += [
    pytest.param(optim.sgd(), 2e-5, HOM, 1, "without_replacement", None, id="hom-sgd-B1"),
    pytest.param(optim.sgd(momentum=0.9), 2e-6, HOM, 5, "with_replacement", WARMUP_COSINE,
                 id="hom-heavy_ball-B5-with"),
]
CASES += [pytest.param(OPTIMIZERS[o][0], OPTIMIZERS[o][2], NQM, 2, "with_replacement",
                       WARMUP_COSINE if o == "heavy_ball" else None, id=f"nqm-{o}")
          for o in OPTIMIZERS]


def _within_4_se(samples, exact, axis=0):
    mean = samples.mean(axis=axis)
    se = samples.std(axis=axis, ddof=1) / np.sqrt(samples.shape[axis])
    allowed = 4.0 * se + ROUNDING * np.abs(exact)
    return np.abs(mean - exact) / np.maximum(se, 1e-300), np.abs(mean - exact) <= allowed


@pytest.mark.parametrize("opt, lr, problem, batch_size, sampling, schedule", CASES)
def test_monte_carlo_mean_matches_exact_recursion(opt, lr, problem, batch_size, sampling,
                                                  schedule):
    kwargs = dict(schedule=schedule, sampling=sampling, record_every=RECORD_EVERY)
    res = simlab.simulate(problem, opt, lr, batch_size, STEPS, seeds=RUNS, backend=BACKEND,
                          **kwargs)
    assert not res.diverged.any()
    exact = expected_loss(problem, opt, lr, batch_size, STEPS, **kwargs)
    np.testing.assert_array_equal(exact.step.values, res.step.values)
    loss = res.loss.isel(lr_index=0).values                                        # (runs, records)
    z, ok = _within_4_se(loss, exact.values)
    assert ok.all(), f"|z| per record step: {np.round(z, 2)}"
    # the loss must actually move, otherwise the comparison says little
    assert exact.values[-1] < 0.5 * exact.values[0]

    mean_w = expected_iterate(problem, opt, lr, batch_size, STEPS, **kwargs).isel(step=-1).values
    z_w, ok_w = _within_4_se(res.w_final.isel(lr_index=0).values, mean_w)
    assert ok_w.all(), f"|z| of E w_T per coordinate: {np.round(z_w, 2)}"


@pytest.mark.parametrize("problem", [HET, HOM, HET_X2], ids=["het", "hom", "het-replicate2"])
@pytest.mark.parametrize("opt", [optim.sgd(), optim.sgd(momentum=0.9, nesterov=True),
                                 optim.sgd(momentum=0.9, ema=True)], ids=["sgd", "nesterov", "ema"])
def test_full_batch_without_replacement_is_the_deterministic_run(problem, opt):
    n = problem.n_samples
    kwargs = dict(schedule=schedules.warmup_cosine(), record_every=1)
    res = simlab.simulate(problem, opt, 2e-4, n, 100, seeds=1, **kwargs)
    exact = expected_loss(problem, opt, 2e-4, n, 100, **kwargs)
    np.testing.assert_allclose(exact.values, res.loss.isel(lr_index=0, seed=0).values, rtol=1e-12)
    w_exact = expected_iterate(problem, opt, 2e-4, n, 100, **kwargs).isel(step=-1).values
    np.testing.assert_allclose(w_exact, res.w_final.isel(lr_index=0, seed=0).values, rtol=1e-12,
                               atol=1e-14)


def test_nqm_sgd_matches_the_closed_form_of_zhang_2019():
    """gap_quadratic.md §3.2 with p = 0: s_t = s* + (1 − αh)^{2t}(s_0 − s*),
    s* = (α² h/B)/(1 − (1 − αh)²), E L_t = ½ Σ_i h_i s_{i,t}."""
    prob = problems.nqm(dim=300, seed=0)
    alpha, batch, steps = 0.7, 4, 200
    h = np.diag(prob.hessian)
    s0 = prob.w0 ** 2
    s_star = (alpha ** 2 * h / batch) / (1.0 - (1.0 - alpha * h) ** 2)
    t = np.arange(steps + 1)[:, None]
    closed = 0.5 * np.sum(h * (s_star + (1.0 - alpha * h) ** (2 * t) * (s0 - s_star)), axis=1)
    exact = expected_loss(prob, optim.sgd(), [alpha, 0.1], batch, steps,
                          sampling="with_replacement")
    np.testing.assert_allclose(exact.sel(lr=alpha).values, closed, rtol=1e-10)
    assert exact.dims == ("lr", "step")


def test_nqm_heavy_ball_matches_zhang_2019_eq21():
    """Zhang et al. 2019 eq. 21 (gap_quadratic.md §3.2): v ← βv − αg, x ← x + v, per coordinate
    (x², v², xv) evolves by a 3×3 matrix plus q(1, 1, 1), a = αh, q = α² h/B. simlab's heavy ball
    m ← βm + g, w ← w − αm is the same with v = −αm."""
    prob = problems.nqm(dim=50, seed=2)
    alpha, beta, batch, steps = 0.3, 0.8, 3, 80
    h = np.diag(prob.hessian)
    a, q = alpha * h, alpha ** 2 * h / batch
    mats = np.array([[(1 - a) ** 2, beta ** 2 + 0 * a, 2 * (1 - a) * beta],
                     [a ** 2, beta ** 2 + 0 * a, -2 * a * beta],
                     [-(1 - a) * a, beta ** 2 + 0 * a, (1 - 2 * a) * beta]])        # (3, 3, d)
    state = np.stack([prob.w0 ** 2, np.zeros_like(h), np.zeros_like(h)])        # (3, d)
    losses = [0.5 * np.sum(h * state[0])]
    for _ in range(steps):
        state = np.einsum("ijd,jd->id", mats, state) + q
        losses.append(0.5 * np.sum(h * state[0]))
    exact = expected_loss(prob, optim.sgd(momentum=beta), alpha, batch, steps,
                          sampling="with_replacement")
    np.testing.assert_allclose(exact.values, losses, rtol=1e-10)


@pytest.mark.parametrize("opt", [optim.sgd(), optim.sgd(momentum=0.7),
                                 optim.sgd(momentum=0.7, ema=True, nesterov=True)],
                         ids=["sgd", "heavy_ball", "ema-nesterov"])
def test_dense_path_equals_diagonal_path_on_a_rotated_nqm(opt):
    """The loss is rotation invariant: H → QHQᵀ, C → QCQᵀ, w0 → Qw0 leaves E L_k unchanged, so the
    dense 2d × 2d recursion on the rotated problem must equal the per-coordinate 2 × 2 path."""
    prob = problems.nqm(dim=12, seed=5, noise_scale=2.0)
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((12, 12)))
    rotated = problems.gaussian_quadratic(q @ prob.hessian @ q.T, q @ prob.noise_cov @ q.T,
                                          q @ prob.w0)
    assert prob.diagonal and not rotated.diagonal
    kwargs = dict(batch_size=3, steps=40, schedule=schedules.wsd(), record_every=4)
    diag = expected_loss(prob, opt, [0.2, 0.9], **kwargs)
    dense = expected_loss(rotated, opt, [0.2, 0.9], **kwargs)
    np.testing.assert_allclose(dense.values, diag.values, rtol=1e-9)
    mean_diag = expected_iterate(prob, opt, 0.2, **kwargs).values
    mean_dense = expected_iterate(rotated, opt, 0.2, **kwargs).values
    np.testing.assert_allclose(mean_dense, mean_diag @ q.T, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "signsgd", "signum", "clipped_momentum",
                                  "bsi_adam"])
def test_nonlinear_optimizers_are_rejected(name):
    with pytest.raises(ValueError, match="optimizer=.*not linear"):
        expected_loss(HET, optim.FACTORIES[name](), 1e-3, 2, 10)


def test_bad_input_is_rejected_before_work():
    with pytest.raises(ValueError, match="batch_size=10"):
        expected_loss(HET, optim.sgd(), 1e-3, 10, 10)
    with pytest.raises(ValueError, match="lr=-0.1"):
        expected_loss(HET, optim.sgd(), -0.1, 2, 10)
    with pytest.raises(ValueError, match="steps=0"):
        expected_loss(HET, optim.sgd(), 1e-3, 2, 0)
    with pytest.raises(ValueError, match="sampling="):
        expected_loss(HET, optim.sgd(), 1e-3, 2, 10, sampling="poisson")
