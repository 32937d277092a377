"""SDE models: backend agreement, measured weak orders, theory twins, bad input."""
import numpy as np
import pytest

from simlab import optim, problems, schedules, simulate
from simlab.sde import (fitted_order, integrate, sgd_discrete_loss, sgd_sde, sgd_sde_loss,
                        signsgd_discrete_loss, signsgd_sde, weak_error, weak_errors)
from simlab.sde.adaptive import adaptive_sde, adaptive_sde_loss, warm_start


def toy2d():
    x = np.array([[1.0, 0.3, -0.8, 0.5], [0.2, 1.0, 0.9, -0.6]])
    return problems.data_quadratic(x, [3.0, -2.0])


def gauss3d():
    h = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])
    return problems.gaussian_quadratic(h, np.diag([1.0, 0.5, 0.2]), [1.0, -1.0, 0.5])


MODELS = [
    lambda: sgd_sde(problems.block_quadratic("heterogeneous"), 3),
    lambda: sgd_sde(problems.block_quadratic("homogeneous"), 2, "with_replacement"),
    lambda: sgd_sde(gauss3d(), 2),
    lambda: signsgd_sde(problems.block_quadratic("heterogeneous"), 3),
    lambda: signsgd_sde(problems.block_quadratic("heterogeneous"), 3, noise="gaussian"),
    lambda: signsgd_sde(gauss3d(), 2, mc_atoms=64),
    lambda: signsgd_sde(gauss3d(), 2, noise="gaussian"),
]


@pytest.mark.parametrize("make", MODELS)
def test_numba_kernel_matches_numpy_reference(make):
    model = make()
    lr = [1e-4, 5e-5] if model.kind == "sgd" and model.problem.samples is not None else [1e-2, 5e-3]
    kw = dict(lr=lr, steps=12, paths=3, substeps=2, record_every=4,
              schedule=schedules.warmup_cosine(0.25))
    a = integrate(model, backend="numpy", **kw)
    b = integrate(model, backend="numba", **kw)
    np.testing.assert_allclose(b.loss.values, a.loss.values, rtol=1e-12)
    np.testing.assert_allclose(b.w_final.values, a.w_final.values, rtol=1e-12, atol=1e-14)
    # time reparametrization: t_k = η Σ_{j<k} s_j
    s = schedules.warmup_cosine(0.25)(12)
    np.testing.assert_allclose(a.time.values[0], lr[0] * np.concatenate([[0], np.cumsum(s)])[a.step.values])


@pytest.mark.parametrize("kind", ["heterogeneous", "homogeneous"])
def test_sgd_sde_weak_order_one_exact_moments(kind):
    """Both sides exact (no Monte Carlo): the fitted weak order is within 0.3 of 1."""
    prob = problems.block_quadratic(kind)
    lrs = 1e-5 * 2.0 ** -np.arange(5)
    errs = [weak_errors(sgd_discrete_loss(prob, lr, 3, round(0.002 / lr)),
                        sgd_sde_loss(prob, lr, 3, round(0.002 / lr))) for lr in lrs]
    assert np.all(np.diff(errs) < 0)
    assert abs(fitted_order(lrs, errs) - 1.0) <= 0.3


@pytest.mark.slow
def test_schedule_enters_through_time_reparametrization():
    """With a warmup-cosine schedule the SGD SDE on t_k = Σ η_j is still 1-weak (exact moments)."""
    prob = problems.block_quadratic("heterogeneous")
    sched = schedules.warmup_cosine(0.1, final=0.1)
    errs = []
    for lr in (1e-5, 5e-6, 2.5e-6):
        steps = round(0.001 / lr)
        errs.append(weak_errors(sgd_discrete_loss(prob, lr, 3, steps, schedule=sched),
                                sgd_sde_loss(prob, lr, 3, steps, schedule=sched)))
    assert abs(fitted_order([1e-5, 5e-6, 2.5e-6], errs) - 1.0) <= 0.3
    # and EM with dt = η_k reproduces the discrete recursion's mean (one record, MC error)
    em = integrate(sgd_sde(prob, 3), 1e-5, 200, 2000, schedule=sched, record_every=200).loss.values[0]
    exact = sgd_discrete_loss(prob, 1e-5, 3, 200, schedule=sched)[-1]
    assert abs(em[:, -1].mean() - exact) <= 4 * em[:, -1].std() / np.sqrt(2000)


def test_sgd_exact_recursion_matches_monte_carlo_and_em():
    """Theory twins: simulate's mean ≈ discrete recursion; EM with dt = η/8 ≈ the moment ODE."""
    prob = problems.block_quadratic("homogeneous")
    lr, steps, n = 2e-5, 150, 3000
    disc = simulate(prob, optim.sgd(), lr, 3, steps, n, record_every=50).loss.values[0]
    exact = sgd_discrete_loss(prob, lr, 3, steps)[[0, 50, 100, 150]]
    se = disc.std(0) / np.sqrt(n)
    assert np.all(np.abs(disc.mean(0) - exact) <= 4 * se + 1e-9 * exact)
    em = integrate(sgd_sde(prob, 3), lr, steps, n, substeps=8, record_every=50, seed=3).loss.values[0]
    ode = sgd_sde_loss(prob, lr, 3, steps)[[0, 50, 100, 150]]
    se = em.std(0) / np.sqrt(n)
    assert np.all(np.abs(em.mean(0) - ode) <= 4 * se + 1e-9 * ode)


def test_signsgd_lattice_enumeration_matches_simulate():
    prob, lr, steps, n = toy2d(), 0.1, 12, 20000
    exact = signsgd_discrete_loss(prob, lr, 2, steps)
    mc = simulate(prob, optim.signsgd(), lr, 2, steps, n).loss.values[0]
    # rounding: the lattice sums η·offsets, simulate accumulates steps
    assert np.all(np.abs(mc.mean(0) - exact) <= 4 * mc.std(0) / np.sqrt(n) + 1e-9 * exact)


def test_exact_signsgd_sde_weak_order_one():
    """Exact discrete law (lattice) vs Monte Carlo SDE paths; MC error below the measured bias."""
    prob = toy2d()
    model = signsgd_sde(prob, 2)
    lrs = 0.2 * 2.0 ** -np.arange(4)
    paths = 4000
    errs, ses = [], []
    for lr in lrs:
        steps = round(1.6 / lr)
        exact = signsgd_discrete_loss(prob, lr, 2, steps)
        sde = integrate(model, lr, steps, paths, substeps=4, seed=1).loss.values[0]
        err, se = weak_error(exact, sde)
        errs.append(err)
        ses.append(se)
    assert np.all(np.array(ses) < 0.5 * np.array(errs))
    assert abs(fitted_order(lrs, errs) - 1.0) <= 0.3


def test_exact_moment_drift_and_covariance_by_hand():
    prob = toy2d()
    w = np.array([0.7, -1.3])
    model = signsgd_sde(prob, 2)
    x = prob.samples
    signs = []
    for i in range(4):
        for j in range(i + 1, 4):
            a = 0.5 * (np.outer(x[:, i], x[:, i]) + np.outer(x[:, j], x[:, j]))
            signs.append(np.sign(a @ w))
    signs = np.array(signs)
    np.testing.assert_allclose(model.drift(w), signs.mean(0))
    # covariance of G z over z equals Cov(sign g_S)
    g = np.stack([model.noise(w, e) for e in np.eye(model.noise_dim)], axis=1)
    np.testing.assert_allclose(g @ g.T, np.cov(signs.T, bias=True), atol=1e-12)


def test_exact_moments_reduce_to_erf_for_diagonal_gaussian_noise():
    prob = problems.gaussian_quadratic(np.diag([1.0, 0.5]), np.diag([2.0, 1.0]), [0.3, -0.4])
    exact = signsgd_sde(prob, 4, mc_atoms=200_000, seed=2)
    erf = signsgd_sde(prob, 4, noise="gaussian")
    w = np.array([0.3, -0.4])
    np.testing.assert_allclose(exact.drift(w), erf.drift(w), atol=5e-3)


def test_adaptive_sdes_run_and_start_at_w0():
    prob = problems.gaussian_quadratic(np.diag([1.0, 0.3]), np.diag([1.0, 0.5]), [1.0, -1.0])
    for family in ("compagnoni", "malladi"):
        for opt in ("rmsprop", "adam"):
            out = adaptive_sde_loss(prob, family, opt, 0.05, 4, 10, 50, seed=1)
            assert out.shape == (50, 11)
            assert np.all(out[:, 0] == prob.loss(prob.w0))
            assert np.all(np.isfinite(out))


def test_compagnoni_adam_sde_weak_order_one_from_a_warm_start():
    """Inside its assumptions (warm m, v; 1 − β ∝ η) the [recalled] Compagnoni Adam SDE is 1-weak."""
    prob = problems.gaussian_quadratic(np.diag([1.0, 0.3]), np.diag([1.0, 0.5]), [1.0, -1.0])
    lrs = 0.1 * 2.0 ** -np.arange(3)
    paths = 4000
    errs, ses = [], []
    for lr in lrs:
        b1, b2 = 1 - lr, 1 - 0.1 * lr
        steps = round(2.0 / lr)
        disc = simulate(prob, optim.adam(b1, b2, 1e-8, bias_correction=False), lr, 4, steps,
                        paths, seed=5, init_state=warm_start(prob, 4)).loss.values[0]
        sde = adaptive_sde_loss(prob, "compagnoni", "adam", lr, 4, steps, paths, b1, b2,
                                substeps=2, seed=3, start="stationary")
        err, se = weak_error(disc, sde)
        errs.append(err)
        ses.append(se)
    assert np.all(np.array(errs) > 2 * np.array(ses))
    assert abs(fitted_order(lrs, errs) - 1.0) <= 0.3


def test_bad_input_names_the_argument():
    prob = problems.block_quadratic("heterogeneous")
    model = sgd_sde(prob, 3)
    with pytest.raises(ValueError, match="lr"):
        integrate(model, 0.0, 10)
    with pytest.raises(ValueError, match="lr"):
        integrate(model, -1e-3, 10)
    with pytest.raises(ValueError, match="substeps"):        # dt = η/substeps must be > 0
        integrate(model, 1e-4, 10, substeps=0)
    with pytest.raises(ValueError, match="paths"):
        integrate(model, 1e-4, 10, paths=0)
    with pytest.raises(ValueError, match="backend"):
        integrate(model, 1e-4, 10, backend="gpu")
    with pytest.raises(ValueError, match="batch_size"):
        signsgd_sde(prob, 10)
    with pytest.raises(ValueError, match="noise"):
        signsgd_sde(prob, 3, noise="laplace")
    with pytest.raises(ValueError, match="noise_cov"):
        problems.gaussian_quadratic(np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]]), [1.0, 1.0])
    with pytest.raises(ValueError, match="lr"):
        sgd_sde_loss(prob, 0.0, 3, 10)
    with pytest.raises(ValueError, match="steps"):
        signsgd_discrete_loss(prob, 0.1, 3, 50)        # 101^9 lattice states
    with pytest.raises(ValueError, match="start"):
        adaptive_sde_loss(problems.nqm(dim=3), "malladi", "adam", 0.1, 1, 10, 2, start="hot")
    with pytest.raises(ValueError, match="optimizer"):
        adaptive_sde(problems.nqm(dim=3), "malladi", "lion", 1)
    with pytest.raises(ValueError, match="family"):
        adaptive_sde_loss(problems.nqm(dim=3), "smith", "adam", 0.1, 1, 10, 2)


def test_weak_error_is_the_worst_record_and_its_standard_error():
    exact = np.array([1.0, 2.0, 3.0])
    paths = np.array([[1.0, 2.5, 3.0], [1.0, 1.5, 3.2]])          # means 1, 2, 3.1
    err, se = weak_error(exact, paths)
    assert err == pytest.approx(0.1) and se == pytest.approx(np.sqrt(0.01 / 2))
    err, se = weak_error(paths, paths + [0.0, 0.0, 1.0])          # both Monte Carlo: variances add
    assert err == pytest.approx(1.0) and se == pytest.approx(np.sqrt(2 * 0.01 / 2))
    err, se = weak_error(paths, exact + np.array([0.0, 1.0, 0.0]))  # k = 1 now
    assert err == pytest.approx(1.0) and se == pytest.approx(np.sqrt(0.25 / 2))


# -- the measure and outside functions of the SDE claims (experiments/claims.py) ----------------

@pytest.fixture(scope="module")
def weak_rows(tmp_path_factory):
    """Every weak-order row of ``experiments.sde`` at a tiny size, stored and reloaded."""
    from experiments import sde as exp
    spec = {"n_eta": 3, "n_eta_adapt": 2, "sign_paths": 300, "adapt_paths": 80,
            "warm_paths": 80, "backend": "numpy"}
    cells = [exp.weak_order_cell({"row": row, **spec}) for row in exp.WEAK_ROWS]
    path = tmp_path_factory.mktemp("sde") / "weak.nc"
    exp.weak_orders(cells, exp.WEAK_ROWS).to_netcdf(path, engine="scipy")
    import xarray as xr
    with xr.open_dataset(path, engine="scipy") as ds:
        return ds.load()


def test_weak_error_replicates_redraw_the_worst_record_at_its_standard_error():
    from experiments.sde import weak_error_replicates
    rng = np.random.default_rng(0)
    exact = np.array([1.0, 0.5, 0.25])
    paths = exact + 0.3 + rng.normal(0, 2.0, size=(4000, 3))   # bias 0.3, s.e. 2/sqrt(4000)
    err, se, reps = weak_error_replicates(exact, paths, draws=4000)
    assert se == pytest.approx(2.0 / np.sqrt(4000), rel=0.05)
    assert np.std(reps) == pytest.approx(se, rel=0.1)
    assert np.mean(reps) == pytest.approx(err, rel=0.02)
    _, se0, reps0 = weak_error_replicates(exact, exact + 0.1)       # both sides exact
    assert se0 == 0 and np.all(reps0 == pytest.approx(0.1))


def test_measure_weak_order_exact_rows_and_replicate_slopes(weak_rows):
    from experiments import sde as exp
    from simlab.verdict import Estimate, Exact
    exact = exp.measure_weak_order(weak_rows, "sgd_het_B3")
    assert isinstance(exact, Exact)
    assert exact.value == pytest.approx(float(weak_rows.weak_slope.sel(model="sgd_het_B3")))
    m = exp.measure_weak_order(weak_rows, "adam_compagnoni_warm")
    assert isinstance(m, Estimate) and m.samples.shape == (exp.REPLICATES,)
    assert m.n_seeds == 80                                    # the warm rows' paths per side
    lr = weak_rows.weak_lr.sel(model="adam_compagnoni_warm").values
    reps = weak_rows.weak_error_reps.sel(model="adam_compagnoni_warm").values
    ok = np.isfinite(lr)
    for j in (0, 7):                              # each replicate slope is the fitted order
        assert m.samples[j] == pytest.approx(fitted_order(lr[ok], reps[ok, j].astype(float)))


@pytest.mark.parametrize("row, needle", [
    ("signsgd_gaussian_gauss2d", None), ("signsgd_gaussian_toy2d", "not Gaussian"),
    ("signsgd_exact_toy2d", None), ("sgd_het_B3", None),
    ("adam_compagnoni", "zero start"), ("adam_compagnoni_warm", None),
    ("rmsprop_malladi", "zero start"), ("rmsprop_malladi_warm", None),
])
def test_sde_outside_check_reads_the_stored_row_facts(weak_rows, row, needle):
    from experiments.sde import check_sde_assumptions
    reason = check_sde_assumptions(weak_rows, row)
    assert (reason is None) if needle is None else (needle in reason)
