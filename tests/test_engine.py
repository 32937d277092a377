"""The one engine: continuation from a state, dispatch through the optimizer table, sampling
schemes, the multiplicity path, divergence at the optimum — on the reference and the numba backend."""
from __future__ import annotations

import math

import numpy as np
import pytest

import simlab
from simlab import optim, problems, schedules, transforms
from simlab import random as rnd
from simlab.backends import numba_backend as nb
from simlab.sde import adaptive_sde, sgd_sde, signsgd_sde, warm_start

BACKENDS = ("numpy", "numba")
TOY = problems.block_quadratic("heterogeneous", seed=0)
NQM = problems.nqm(dim=6, seed=1)
NET = problems.diagonal_net(width=12, n_train=8, n_test=20, seed=3)


def _split(problem, opt, lr, batch, t1, t2, backend, **kwargs):
    """(one run of t1 + t2 steps, the same as t1 steps + a continuation of t2 steps)."""
    horizon = t1 + t2
    whole = simlab.simulate(problem, opt, lr, batch, horizon, 3, backend=backend,
                            horizon=horizon, **kwargs)
    first = simlab.simulate(problem, opt, lr, batch, t1, 3, backend=backend, horizon=horizon,
                            **kwargs)
    second = simlab.simulate(problem, opt, lr, batch, t2, 3, backend=backend, horizon=horizon,
                             init_state=first, **kwargs)
    return whole, first, second


CONTINUATION = [
    ("toy adam warmup-cosine", TOY, optim.adam(0.9, 0.99), [1e-2, 3e-2], 3,
     dict(schedule=schedules.warmup_cosine(0.2), sampling="without_replacement")),
    ("toy sgd-ema epoch", TOY, optim.sgd(0.9, ema=True), [1e-4], 3, dict(sampling="epoch")),
    ("nqm rmsprop wsd", NQM, optim.rmsprop(0.9), [1e-2], 4,
     dict(schedule=schedules.wsd(0.1, 0.3))),
    ("replicated toy bsi-adam micro-batches", problems.block_quadratic("homogeneous", replicate=2),
     optim.bsi_adam(), [3e-3], 6, dict(microbatch=2)),
    ("toy clipped momentum with replacement B=20", TOY, optim.clipped_momentum(0.9, 0.2),
     [1e-5], 20, dict(sampling="with_replacement")),
    ("diagonal net signum", NET, optim.signum(0.9), [1e-2], 4, dict(sampling="epoch")),
    ("sgd sde data", TOY, sgd_sde(TOY, 3, substeps=2), [1e-5], None, {}),
    ("erf sign sde gaussian", NQM, signsgd_sde(NQM, 2, noise="gaussian", substeps=3), [1e-2],
     None, {}),
    ("adam sde malladi", NQM, adaptive_sde(NQM, "malladi", "adam", 4, 0.9, 0.99, substeps=2),
     [3e-2], None, {}),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CONTINUATION, ids=[c[0] for c in CONTINUATION])
def test_continuation_is_bit_identical(case, backend):
    """T1 steps, then a continuation of T2 steps from the state reached, is the T1 + T2 run."""
    _, problem, opt, lr, batch, kwargs = case
    whole, first, second = _split(problem, opt, lr, batch, 14, 9, backend, record_every=7,
                                  **kwargs)
    assert second.attrs["start_step"] == 14 and second.attrs["final_step"] == 23
    assert list(second.step.values) == [14, 21, 23]
    for name in ("w_final", "state_final", "diverged_step"):
        np.testing.assert_array_equal(second[name].values, whole[name].values)
    np.testing.assert_array_equal(first.loss.values, whole.loss.sel(step=[0, 7, 14]).values)
    np.testing.assert_array_equal(second.loss.values, whole.loss.sel(step=[14, 21, 23]).values)
    assert not np.allclose(second.w_final.values, first.w_final.values)     # it moved


@pytest.mark.parametrize("backend", BACKENDS)
def test_continuation_keeps_diverged_runs_frozen(backend):
    lrs = [1e-4, 3e-2]                                   # SGD at 3e-2 diverges on the toy
    whole, first, second = _split(TOY, optim.sgd(), lrs, 3, 12, 12, backend)
    assert first.diverged.values[1].all() and not first.diverged.values[0].any()
    np.testing.assert_array_equal(second.diverged_step.values, first.diverged_step.values)
    np.testing.assert_array_equal(second.w_final.values, whole.w_final.values)
    assert np.isinf(second.loss.values[1]).all()


def test_continuation_from_a_given_tuple_state():
    """A warm start given as (w, m, v) arrays; m and v really enter the step."""
    prob = problems.gaussian_quadratic(np.diag([1.0, 0.3]), np.diag([1.0, 0.5]), [1.0, -1.0])
    opt = optim.adam(0.9, 0.99, bias_correction=False)
    warm = simlab.simulate(prob, opt, 1e-2, 4, 20, 5, init_state=warm_start(prob, 4))
    cold = simlab.simulate(prob, opt, 1e-2, 4, 20, 5)
    assert not np.allclose(warm.loss.values[..., 1:], cold.loss.values[..., 1:])
    ref = simlab.simulate(prob, opt, 1e-2, 4, 20, 5, init_state=warm_start(prob, 4),
                          backend="numpy")
    np.testing.assert_allclose(warm.loss.values, ref.loss.values, rtol=1e-12)


def test_negative_second_moment_in_init_state_is_refused():
    """v is a second moment (Adam, RMSprop, the adaptive SDEs take √v): v < 0 would make every run
    NaN at its first step, reported as 'diverged at step 1' — refused before any work instead."""
    w0 = np.ones(TOY.dim)
    with pytest.raises(ValueError,
                       match=r"init_state v has 2 negative entries \(min -0.5\) .*\[0, inf\)"):
        simlab.simulate(TOY, optim.adam(), 1e-2, 3, 5, 2,
                        init_state=(w0, None, np.where(np.arange(TOY.dim) == 2, -0.5, 1.0)))
    ok = simlab.simulate(TOY, optim.adam(), 1e-2, 3, 5, 2, init_state=(w0, None, np.zeros(TOY.dim)))
    assert not ok.diverged.values.any()


def test_bad_init_state_is_a_clear_error():
    with pytest.raises(ValueError, match="init_state w has shape"):
        simlab.simulate(TOY, optim.adam(), 1e-2, 3, 5, 2, init_state=(np.ones(4), None, None))
    first = simlab.simulate(TOY, optim.adam(), [1e-2, 2e-2], 3, 5, 2)
    with pytest.raises(ValueError, match="init_state holds"):
        simlab.simulate(TOY, optim.adam(), 1e-2, 3, 5, 2, init_state=first)
    with pytest.raises(ValueError, match="init_state"):
        simlab.simulate(TOY, optim.adam(), 1e-2, 3, 5, 2, init_state="zeros")
    with pytest.raises(ValueError, match="horizon"):
        simlab.simulate(TOY, optim.adam(), 1e-2, 3, 5, 2, horizon=4)


# ------------------------------------------------------------------------------------------------
# One optimizer table: every compiled rule computes exactly its Python rule
# ------------------------------------------------------------------------------------------------

T = transforms
RECORDS = [
    T.trace(0.0), T.trace(0.9), T.trace(0.9, ema=True), T.trace(0.7, nesterov=True),
    T.trace(0.7, ema=True, nesterov=True),
    T.scale_by_adam(0.9, 0.999, 1e-8, True), T.scale_by_adam(0.95, 0.95, 1e-8, False),
    T.scale_by_adam(0.0, 0.0, 0.0, True),
    T.scale_by_rms(0.99, 1e-8), T.scale_by_rms(0.5, 0.0),
    T.scale_by_sign(), T.scale_by_learning_rate(),
    T.scale_by_lion(0.9, 0.99), T.scale_by_lion(0.0, 0.5),
    T.scale_by_ademamix(0.9, 0.999, 0.9999, 5.0, 1e-8, 0),
    T.scale_by_ademamix(0.8, 0.95, 0.99, 2.0, 1e-6, 30),
    T.add_decayed_weights(0.1), T.decoupled_weight_decay(0.01), T.ema_of_iterates(0.9),
]


def test_table_covers_every_transform_and_factory():
    assert {type(h) for h in RECORDS} == set(transforms.TRANSFORMS)
    used = {type(h) for f in optim.FACTORIES.values() for h in f().chain}
    assert used <= set(transforms.TRANSFORMS)


@pytest.mark.parametrize("record", RECORDS, ids=repr)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")       # 1e300² and 0/0 on purpose
def test_every_compiled_transform_is_exactly_its_python_transform(record):
    """The numba backend's compiled transform and the table's Python source (run on numpy
    scalars, ``sqrt`` = numpy.sqrt) give bit-identical per-step scalars, updates and slots."""
    entry = transforms.TRANSFORMS[type(record)]
    array = transforms._ARRAY[type(record)]
    per_step, update = nb.compiled(entry.per_step), nb.compiled(entry.update)
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.standard_normal(200) * 10.0 ** rng.integers(-8, 3, 200),
                             [0.0, -0.0, 1e-300, -1e300]])
    n_slots = len(entry.slots)
    for t in (1.0, 2.0, 17.0, 1000.0):
        for lr in (0.0, 1e-3, 0.3):
            want_s = array.per_step(record, t, lr)
            got_s = per_step(record, t, lr)
            assert tuple(float(x) for x in want_s) == tuple(got_s)
            columns = [values, rng.permutation(values)]
            columns += [np.abs(rng.permutation(values)) for _ in range(n_slots)]
            for g, w, *slots in zip(*columns):
                want = array.update(record, want_s, np.float64(g), np.float64(g * g),
                                    np.float64(w), *map(np.float64, slots))
                got = update(record, got_s, g, g * g, w, *slots)
                assert len(want) == len(got) == 1 + n_slots
                for a, b in zip(want, got):
                    assert (float(a) == b) or (math.isnan(a) and math.isnan(b)), (g, slots, a, b)


def test_generic_functions_dispatch_at_run_time_too():
    """The kernel_ops generic functions run in plain Python (the CUDA simulator relies on it) and
    give the compiled loss."""
    from simlab import kernel_ops
    for prob in (TOY, NQM, NET):
        record = prob.kernel_record()
        w = np.asarray(prob.w0, dtype=float) * 0.7 + 0.1
        compiled_loss = nb.compiled(kernel_ops.problem_ops(record).loss)
        assert kernel_ops.problem_loss(record, w) == pytest.approx(float(prob.loss(w)), rel=1e-13)
        assert compiled_loss(record, w) == kernel_ops.problem_loss(record, w)


# ------------------------------------------------------------------------------------------------
# Sampling schemes and the multiplicity path
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_epoch_sampling_visits_every_sample_once_per_epoch(backend):
    """Random reshuffling: with B | n, each epoch's batches partition the data set. Checked on
    a problem whose per-sample gradients identify the sample: after one epoch of SGD at η with
    x_i = e_i (H = I/n) each coordinate moved by exactly one gradient step."""
    n = 6
    prob = problems.data_quadratic(np.eye(n) * np.sqrt(1.0), np.ones(n))
    lr = 1e-3
    res = simlab.simulate(prob, optim.sgd(), lr, 2, n // 2, 4, sampling="epoch", backend=backend)
    # each sample i is seen once: w_i ← w_i − (η/B) w_i, independent of the order
    np.testing.assert_allclose(res.w_final.values, (1 - lr / 2), rtol=1e-15)
    perms = rnd.epoch_permutation(rnd.run_keys(0, 4), 0, n)
    assert not all(np.array_equal(p, perms[0]) for p in perms)     # runs see different orders


@pytest.mark.parametrize("batch,sampling", [(64, "with_replacement"), (27, "with_replacement"),
                                            (9, "with_replacement"), (4, "epoch")])
def test_numba_matches_reference_on_every_batching_path(batch, sampling):
    """B ≥ n with replacement takes the multiplicity path in numba (distinct rows weighted by
    their counts); it must still agree with the reference's B row passes."""
    opt = optim.adam(0.95, 0.95, bias_correction=False)
    args = dict(lr=[1e-2, 3e-2], batch_size=batch, steps=30, seeds=4, sampling=sampling,
                record_every=5)
    ref = simlab.simulate(TOY, opt, backend="numpy", **args)
    fast = simlab.simulate(TOY, opt, backend="numba", **args)
    np.testing.assert_allclose(fast.loss.values, ref.loss.values, rtol=1e-12)
    np.testing.assert_allclose(fast.w_final.values, ref.w_final.values, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------------------------------------
# Divergence, defaults
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_start_at_the_optimum_does_not_flag_divergence(backend):
    """L(w0) = 0 (the optimum of a Gaussian problem): the threshold uses the problem's loss
    scale (½ tr H), so noisy runs near the optimum are not flagged."""
    prob = problems.gaussian_quadratic(np.diag([1.0, 2.0]), np.eye(2), [0.0, 0.0])
    res = simlab.simulate(prob, optim.sgd(), 0.1, 1, 50, 8, backend=backend)
    assert not res.diverged.values.any()
    blown = simlab.simulate(prob, optim.sgd(), 1.5, 1, 50, 8, backend=backend)
    assert blown.diverged.values.all()                   # η > 2/λ_max still diverges


def test_auto_backend_is_numba_and_recorded():
    res = simlab.simulate(TOY, optim.adam(), 1e-2, 3, 5, 2)
    import json
    assert json.loads(res.attrs["config"])["backend"] == "numba"
    ref = simlab.simulate(TOY, optim.adam(), 1e-2, 3, 5, 2, backend="numpy")
    np.testing.assert_allclose(res.loss.values, ref.loss.values, rtol=1e-12)


def test_cuda_backend_without_a_device_is_a_clear_error():
    # In a fresh interpreter with the real numba.cuda: test_cuda.py puts this process's numba.cuda
    # into simulator mode (chosen once per process), where backend="cuda" runs.
    import os
    import subprocess
    import sys
    code = ("import simlab; from simlab import optim, problems\n"
            "try:\n    simlab.simulate(problems.block_quadratic('heterogeneous'), optim.adam(), "
            "1e-2, 3, 5, 2, backend='cuda')\nexcept ValueError as exc:\n    print('ValueError', exc)")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0",
           "PYTHONPATH": os.path.dirname(os.path.dirname(simlab.__file__))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    if done.returncode == 0 and not done.stdout.startswith("ValueError"):
        pytest.skip("a CUDA device is present: backend='cuda' ran")
    assert done.stdout.startswith("ValueError") and "cuda" in done.stdout, done.stdout + done.stderr


# ------------------------------------------------------------------------------------------------
# The non-quadratic problem
# ------------------------------------------------------------------------------------------------

def test_diagonal_net_gradient_and_hessian_match_finite_differences():
    rng = np.random.default_rng(4)
    w = NET.w0 + 0.4 * rng.standard_normal(NET.dim)
    eye = np.eye(NET.dim)
    h = 1e-6
    fd_grad = np.array([(NET.loss(w + h * e) - NET.loss(w - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(NET.gradient(w), fd_grad, rtol=1e-7, atol=1e-9)
    fd_hess = np.array([(NET.gradient(w + h * e) - NET.gradient(w - h * e)) / (2 * h)
                        for e in eye])
    np.testing.assert_allclose(NET.hessian(w), fd_hess, rtol=1e-6, atol=1e-8)
    v = rng.standard_normal(NET.dim)
    np.testing.assert_allclose(NET.hessian_vector(w, v), NET.hessian(w) @ v, rtol=1e-12,
                               atol=1e-12)
    per_sample = NET.sample_gradients(w[None, None], np.arange(NET.n_samples)[None])
    np.testing.assert_allclose(per_sample.mean(axis=2)[0, 0], NET.gradient(w), rtol=1e-12,
                               atol=1e-14)


def test_diagonal_net_minima_differ_in_sharpness():
    """Two global minima of the same interpolator β differ in sharpness as u² + v² grows."""
    beta = np.linalg.lstsq(NET.x, NET.y, rcond=None)[0]          # an interpolator (p > n)
    assert NET.loss(np.concatenate([np.sqrt(np.maximum(beta, 0)),
                                    np.sqrt(np.maximum(-beta, 0))])) < 1e-20
    sharp = []
    for c in (0.0, 0.5, 2.0):
        u = np.sqrt(np.maximum(beta, 0) + c)
        v = np.sqrt(np.maximum(-beta, 0) + c)
        w = np.concatenate([u, v])
        assert NET.loss(w) < 1e-20 and np.max(np.abs(NET.gradient(w))) < 1e-10
        sharp.append(float(NET.sharpness(w)))
    assert sharp[0] < sharp[1] < sharp[2]
    # and the exact value agrees with power iteration on Hessian-vector products
    rng = np.random.default_rng(0)
    vec = rng.standard_normal(NET.dim)
    for _ in range(3000):
        vec = NET.hessian_vector(w, vec)
        vec /= np.linalg.norm(vec)
    assert vec @ NET.hessian_vector(w, vec) == pytest.approx(sharp[2], rel=1e-8)


@pytest.mark.parametrize("name", sorted(optim.FACTORIES))
def test_diagonal_net_numba_matches_reference(name):
    opt = optim.FACTORIES[name]()
    lrs = [1e-2, 3e-2] if name == "sgd" else [1e-3, 1e-2]
    batch, micro = (4, 2) if name == "bsi_adam" else (4, None)
    args = dict(lr=lrs, batch_size=batch, steps=40, seeds=3, record_every=8, microbatch=micro)
    ref = simlab.simulate(NET, opt, backend="numpy", **args)
    fast = simlab.simulate(NET, opt, backend="numba", **args)
    assert np.isfinite(ref.loss.values).all()
    np.testing.assert_allclose(fast.loss.values, ref.loss.values, rtol=1e-12)
    np.testing.assert_allclose(fast.w_final.values, ref.w_final.values, rtol=1e-12, atol=1e-15)
    assert ref.loss.values[..., -1].mean() < ref.loss.values[..., 0].mean()    # it trains


@pytest.mark.parametrize("make", [lambda: sgd_sde(NET, 4), lambda: signsgd_sde(NET, 2),
                                  lambda: signsgd_sde(NET, 3, noise="gaussian")],
                         ids=["sgd_sde", "signsgd_exact", "signsgd_erf"])
def test_sde_models_run_on_the_non_quadratic_problem(make):
    model = make().with_substeps(2)
    kw = dict(lr=[1e-3], steps=20, seeds=3, record_every=5)
    ref = simlab.simulate(NET, model, backend="numpy", **kw)
    fast = simlab.simulate(NET, model, backend="numba", **kw)
    np.testing.assert_allclose(fast.loss.values, ref.loss.values, rtol=1e-12)
    np.testing.assert_allclose(fast.w_final.values, ref.w_final.values, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("base", [optim.sgd(0.9), optim.adam(0.9, 0.99), optim.bsi_adam()],
                         ids=["sgd", "adam", "bsi_adam"])
def test_global_norm_clipping_numba_matches_reference_and_clips(base):
    opt = optim.with_global_norm_clipping(base, 50.0)
    micro = 2 if opt.squares_microbatches else None
    args = dict(lr=[1e-4, 1e-3], batch_size=4, steps=30, seeds=3, record_every=5,
                microbatch=micro, sampling="with_replacement")
    ref = simlab.simulate(TOY, opt, backend="numpy", **args)
    fast = simlab.simulate(TOY, opt, backend="numba", **args)
    np.testing.assert_allclose(fast.loss.values, ref.loss.values, rtol=1e-12)
    unclipped = simlab.simulate(TOY, base, backend="numpy", **args)
    assert not np.allclose(unclipped.loss.values, ref.loss.values)     # |g| ≫ 50 on the toy
    with pytest.raises(ValueError, match="max_norm"):
        optim.with_global_norm_clipping(base, 0.0)


def test_global_norm_clipping_matches_torch():
    torch = pytest.importorskip("torch")
    g = np.array([3.0, -4.0, 12.0])                                  # |g| = 13
    opt = optim.with_global_norm_clipping(optim.sgd(0.9), 6.5)
    step, _ = opt.update(g, opt.init(np.zeros(3)), 0.1)
    p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_norm_([p], 6.5)
    torch.optim.SGD([p], lr=0.1, momentum=0.9).step()
    # torch divides by |g| + 1e-6 (its documented ε); simlab, like optax, by |g|
    np.testing.assert_allclose(step, p.detach().numpy() * (13.0 + 1e-6) / 13.0, rtol=1e-12)
