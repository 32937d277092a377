"""Every public entry point of the core refuses bad input with simlab's own error, before any work:
one test per case found by trying simlab as a new user would (issue 9), then property tests that
random arguments either run (and give sane output) or raise ValueError — never another exception,
a hang or garbage."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simlab
from simlab import optim, problems, schedules
from simlab import random as rnd
from simlab.sde import integrate, sgd_sde, signsgd_sde
from simlab.theory import noise_scale, nqm_exact

TOY = problems.block_quadratic("heterogeneous", seed=0)


def run(**overrides):
    kwargs = dict(problem=TOY, optimizer=optim.adam(), lr=1e-2, batch_size=3, steps=5, seeds=2,
                  backend="numpy")
    kwargs.update(overrides)
    return simlab.simulate(**kwargs)


# ------------------------------------------------------------------------------------------------
# One test per case
# ------------------------------------------------------------------------------------------------

def test_numpy_scalars_are_accepted_and_recorded_as_plain_numbers():
    res = run(seed=np.int64(3), record_every=np.int64(2), divergence_factor=np.float64(1e3),
              seeds=np.int32(2), steps=np.int64(5), batch_size=np.int16(3))
    config = json.loads(res.attrs["config"])
    assert config["seed"] == 3 and config["record_every"] == 2 and config["seeds"] == 2
    assert res.loss.shape == (1, 2, 4)


@pytest.mark.parametrize("overrides,match", [
    (dict(seeds=10 ** 9), "needs about .* GB"),
    (dict(steps=10 ** 9), "needs about .* GB"),
    (dict(steps=5000, seeds=10 ** 6, lr=[1e-2]), "record less often"),
    (dict(steps=2 ** 33, record_every=2 ** 33), r"steps\)·substeps = .* random counter"),
])
def test_huge_requests_are_refused_up_front(overrides, match):
    with pytest.raises(ValueError, match=match):
        run(**overrides)


@pytest.mark.parametrize("factory,kwargs,name", [
    (optim.sgd, dict(momentum=0.9, nesterov="False"), "nesterov"),
    (optim.sgd, dict(momentum=0.9, ema=1), "ema"),
    (optim.adam, dict(bias_correction="no"), "bias_correction"),
    (optim.bsi_adam, dict(bias_correction=0.0), "bias_correction"),
])
def test_booleans_are_not_coerced(factory, kwargs, name):
    with pytest.raises(ValueError, match=f"{name}=.* must be a bool"):
        factory(**kwargs)


@pytest.mark.parametrize("lr", ["0.01", True, None, [1e-2, "x"], [], [[1e-2]], 1j])
def test_learning_rates_must_be_real_numbers(lr):
    with pytest.raises(ValueError, match="lr"):
        run(lr=lr)


def test_repeated_learning_rates_are_refused():
    with pytest.raises(ValueError, match="repeated"):
        run(lr=[1e-2, 1e-2])


def test_quadratic_problem_accepts_lists():
    h = [[2.0, 0.5], [0.5, 1.0]]
    listed = problems.QuadraticProblem("q", h, [1.0, -1.0], noise_cov=[[1.0, 0.0], [0.0, 1.0]])
    arrays = problems.QuadraticProblem("q", np.array(h), np.array([1.0, -1.0]),
                                       noise_cov=np.eye(2))
    assert listed.loss(listed.w0) == arrays.loss(arrays.w0)
    assert isinstance(listed.hessian, np.ndarray)


def test_samples_inconsistent_with_the_hessian_are_refused():
    x = np.array([[1.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="inconsistent with hessian"):
        problems.QuadraticProblem("q", np.eye(2), [1.0, 1.0], samples=x)


def test_empty_sample_set_is_refused():
    with pytest.raises(ValueError, match="at least one sample"):
        problems.QuadraticProblem("q", np.zeros((3, 3)), np.ones(3), samples=np.zeros((3, 0)))
    with pytest.raises(ValueError, match="samples"):
        problems.data_quadratic(np.zeros((3, 0)), np.ones(3))


def test_unknown_schedule_name_is_a_value_error():
    with pytest.raises(ValueError, match="schedule name='foo' is not one of"):
        schedules.Schedule("foo")


def test_negative_lr_in_update():
    opt = optim.adam()
    with pytest.raises(ValueError, match="lr=-1.0 is outside the allowed range"):
        opt.update(np.ones(3), opt.init(np.zeros(3)), -1)


@pytest.mark.parametrize("make,match", [
    (lambda: problems.nqm(dim=10 ** 7), r"nqm\(dim=10000000\) needs about"),
    (lambda: problems.block_quadratic("homogeneous", replicate=10 ** 12), "replicate"),
    (lambda: problems.diagonal_net(width=10 ** 6, n_train=10 ** 6), "needs about"),
])
def test_huge_problems_are_refused_up_front(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_hessian_seed_beyond_randomstate_is_simlabs_error_and_run_seeds_are_not_limited():
    with pytest.raises(ValueError, match=r"seed=4294967296 is outside the allowed range \[0, "):
        problems.block_quadratic("homogeneous", seed=2 ** 32)
    res = run(seed=2 ** 70)
    assert np.isfinite(res.loss.values).all()


def test_run_keys_are_validated_and_match_seedsequence():
    with pytest.raises(ValueError, match="n_runs"):
        rnd.run_keys(0, 0)
    with pytest.raises(ValueError, match="seed"):
        rnd.run_keys(-1, 3)
    for seed in (0, 5, 2 ** 40, 2 ** 130):
        want = [c.generate_state(1, np.uint64)[0] for c in np.random.SeedSequence(seed).spawn(7)]
        np.testing.assert_array_equal(rnd.run_keys(seed, 7), want)


# ------------------------------------------------------------------------------------------------
# Property tests: run, or raise ValueError
# ------------------------------------------------------------------------------------------------

ANY = st.one_of(st.integers(-3, 40), st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=3), st.booleans(), st.none(), st.just(np.int64(2)),
                st.just(np.float64(0.5)), st.lists(st.floats(-1, 1), max_size=3))
# derandomized: the same examples on every CI run (a red CI must be reproducible); widen by hand
# (max_examples=1500 and without derandomize, as done for v0.2) to look for new cases
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _sane(res):
    loss = res.loss.values
    assert loss.ndim == 3 and np.all((loss >= 0) | np.isinf(loss))
    assert res.w_final.shape[-1] == TOY.dim


@PROPERTY
@given(lr=st.one_of(ANY, st.floats(0, 1)), batch_size=ANY, steps=st.one_of(ANY, st.integers(1, 6)),
       seeds=st.one_of(ANY, st.integers(1, 3)), record_every=ANY, seed=ANY,
       sampling=st.sampled_from(["without_replacement", "with_replacement", "epoch", "x", 3]),
       divergence_factor=ANY, microbatch=st.one_of(st.none(), ANY))
def test_simulate_runs_or_raises_value_error(lr, batch_size, steps, seeds, record_every, seed,
                                             sampling, divergence_factor, microbatch):
    for size in (steps, seeds):
        if isinstance(size, int) and size > 6:
            return                                  # valid but slow: covered elsewhere
    try:
        res = simlab.simulate(TOY, optim.bsi_adam(), lr, batch_size, steps, seeds,
                              record_every=record_every, seed=seed, sampling=sampling,
                              divergence_factor=divergence_factor, microbatch=microbatch,
                              backend="numpy")
    except ValueError:
        return
    _sane(res)


@PROPERTY
@given(name=st.sampled_from(sorted(optim.FACTORIES)), a=ANY, b=ANY, c=ANY, d=ANY)
def test_optimizer_factories_build_or_raise_value_error(name, a, b, c, d):
    factory = optim.FACTORIES[name]
    n_args = factory.__code__.co_argcount
    try:
        opt = factory(*(a, b, c, d)[:n_args])
    except ValueError:
        return
    step, state = opt.update(np.array([[0.5, -1.0, 2.0]]), opt.init(np.zeros((1, 3))), 1e-2)
    assert np.all(np.isfinite(step)) and state.count == 1


@PROPERTY
@given(kind=st.sampled_from(["constant", "warmup_cosine", "wsd"]), a=ANY, b=ANY, c=ANY,
       steps=st.one_of(ANY, st.integers(1, 50)))
def test_schedules_build_or_raise_value_error(kind, a, b, c, steps):
    factory = getattr(schedules, kind)
    n_args = factory.__code__.co_argcount
    if isinstance(steps, (int, float)) and not isinstance(steps, bool) and 10_000 < steps < math.inf:
        steps = 10_000       # huge but allowed step counts would fill memory: see the next test
    try:
        values = factory(*(a, b, c)[:n_args])(steps)
    except ValueError:
        return
    assert values.shape == (int(steps),) and np.all((values >= 0) & (values <= 1))


def test_a_schedule_too_long_for_memory_is_refused_before_allocating():
    for steps in (10 ** 13, 5.8266968830931496e16):      # the second: found by hypothesis (OOM)
        with pytest.raises(ValueError, match=r"schedule 'warmup_cosine' over steps=\d+ needs about"):
            schedules.warmup_cosine()(steps)
    assert schedules.warmup_cosine()(1000).shape == (1000,)


@PROPERTY
@given(which=st.sampled_from(["nqm", "block", "net", "gauss", "data"]), a=ANY, b=ANY, c=ANY)
def test_problem_constructors_build_or_raise_value_error(which, a, b, c):
    try:
        if which == "nqm":
            prob = problems.nqm(a if not isinstance(a, int) or a < 200 else 3, b, c)
        elif which == "block":
            prob = problems.block_quadratic(a, b, c)
        elif which == "net":
            small = [x if not isinstance(x, int) or x < 30 else 3 for x in (a, b, c)]
            prob = problems.diagonal_net(*small)
        elif which == "gauss":
            prob = problems.gaussian_quadratic(np.atleast_2d(a) if not isinstance(a, str) else a,
                                               np.atleast_2d(b) if not isinstance(b, str) else b, c)
        else:
            prob = problems.data_quadratic(a, b)
    except ValueError:
        return
    w = np.asarray(prob.w0, dtype=float)
    assert np.isfinite(prob.loss(w)) and prob.loss_scale() > 0


@PROPERTY
@given(kind=st.sampled_from(["sgd", "exact", "erf"]), batch_size=ANY,
       sampling=st.sampled_from(["without_replacement", "with_replacement", "epoch", 1]),
       lr=ANY, steps=st.one_of(ANY, st.integers(1, 4)), paths=st.one_of(ANY, st.integers(1, 3)),
       substeps=ANY)
def test_sde_models_and_integrate_run_or_raise_value_error(kind, batch_size, sampling, lr, steps,
                                                           paths, substeps):
    for size in (steps, paths, substeps):
        if isinstance(size, int) and size > 4:
            return
    prob = problems.nqm(dim=3)
    try:
        model = (sgd_sde(prob, batch_size, sampling) if kind == "sgd" else
                 signsgd_sde(prob, batch_size, sampling, noise="exact" if kind == "exact"
                             else "gaussian", mc_atoms=16))
        res = integrate(model, lr, steps, paths, substeps=substeps, backend="numpy")
    except ValueError:
        return
    assert res.time.shape == (res.sizes["lr_index"], res.sizes["step"])


@PROPERTY
@given(lr=ANY, batch_size=ANY, steps=st.one_of(ANY, st.integers(1, 5)), momentum=ANY,
       sampling=st.sampled_from(["without_replacement", "with_replacement", "epoch"]))
def test_exact_twin_runs_or_raises_value_error(lr, batch_size, steps, momentum, sampling):
    if isinstance(steps, int) and steps > 5:
        return
    try:
        out = nqm_exact.expected_loss(TOY, optim.sgd(momentum), lr, batch_size, steps,
                                      sampling=sampling)
    except ValueError:
        return
    assert np.all((out.values >= 0) | ~np.isfinite(out.values))


@PROPERTY
@given(w=st.one_of(ANY, st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=9,
                                 max_size=9)))
def test_noise_scales_run_or_raise_value_error(w):
    try:
        simple = noise_scale.simple_noise_scale(TOY, w)
        full = noise_scale.noise_scale(TOY, w)
    except ValueError:
        return
    assert simple >= 0 and full >= 0
