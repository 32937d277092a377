"""The CUDA backend against the numpy reference, through numba's CUDA simulator.

The simulator (``NUMBA_ENABLE_CUDASIM=1``, set here unless the environment says otherwise before
numba.cuda is first imported) runs the real kernel code — ``per_run``, ``random``, the rules, the
problems and SDE models as compiled for the device — in Python threads, at ~10³ run-steps/s, so
the table below is the CPU table of ``test_backends.py`` at tiny R and T. Tests marked ``gpu``
repeat it at full size on a device (``NUMBA_ENABLE_CUDASIM=0 pytest -m gpu tests/test_cuda.py``)
and are skipped otherwise. The PTX of the real device kernels is checked in ``test_cuda_ptx.py``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numba.core.config  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# numba.cuda's configuration is numba's own, read from the environment when numba was first
# imported (by an earlier test module, before the line above): read it again, so that numba.cuda,
# imported just below, starts in the mode the environment now says.
numba.core.config.reload_config()

pytest.importorskip("numba.cuda", reason="numba-cuda is not installed (pip install -e '.[dev]')")

from numba import cuda  # noqa: E402

import simlab  # noqa: E402
from simlab import optim, problems, schedules  # noqa: E402
from simlab import random as rnd  # noqa: E402
from simlab.backends import cuda_backend as cb  # noqa: E402
from simlab.backends.cuda_compile import launching  # noqa: E402
from simlab.problems.examples import curvature  # noqa: E402
from simlab.sde import adaptive_sde, integrate, sgd_sde, signsgd_sde, warm_start  # noqa: E402

RTOL = 1e-12
SIM = cb.simulator()


def _device_present() -> bool:
    return not SIM and cuda.is_available()


if not SIM and not _device_present():
    pytest.skip("NUMBA_ENABLE_CUDASIM=0 and no CUDA device: nothing to run the kernels on",
                allow_module_level=True)

gpu = pytest.mark.gpu
needs_device = pytest.mark.skipif(not _device_present(), reason="needs a CUDA device "
                                  "(run with NUMBA_ENABLE_CUDASIM=0 on a GPU machine)")


@pytest.fixture(autouse=True)
def _quiet_simulator():
    """Under the simulator, numpy scalars carry the uint64 hash and warn on its (intended)
    wrap-around; the compiled kernels wrap silently."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        yield


PROBLEMS = {name: make() for name, make in problems.EXAMPLES.items()}


def _lrs(problem, name):
    top = curvature(problem)
    if name == "sgd":
        return [0.05 / top, 0.5 / top]
    if name == "clipped_momentum":
        return [0.005 / top, 0.05 / top]
    return [1e-3, 1e-2]


def _both(problem, name, sampling="with_replacement", batch_size=3, seeds=2, **kwargs):
    opt = optim.FACTORIES[name]()
    lr = kwargs.pop("lr", None)
    args = dict(lr=_lrs(problem, name) if lr is None else lr, batch_size=batch_size,
                steps=kwargs.pop("steps", 8), seeds=seeds, sampling=sampling,
                schedule=kwargs.pop("schedule", schedules.warmup_cosine(0.1, 0.05)), **kwargs)
    ref = simlab.simulate(problem, opt, backend="numpy", **args)
    dev = simlab.simulate(problem, opt, backend="cuda", **args)
    return ref, dev


def max_rel(dev, ref):
    """max |dev − ref| / |ref| over the finite records (0/0 counted as 0)."""
    a, b = dev.loss.values, ref.loss.values
    finite = np.isfinite(b)
    return float(np.max(np.abs(a[finite] - b[finite]) / np.maximum(np.abs(b[finite]), 1e-300)))


def _assert_agree(ref, dev):
    np.testing.assert_array_equal(dev.diverged_step.values, ref.diverged_step.values)
    np.testing.assert_allclose(dev.loss.values, ref.loss.values, rtol=RTOL, atol=0)
    for name in ("w_final", "state_final"):
        r, g = ref[name].values, dev[name].values
        scale = np.maximum(np.max(np.abs(r), axis=-1, keepdims=True), 1e-300)
        assert np.all(np.abs(g - r) <= RTOL * scale), (name, np.max(np.abs(g - r) / scale))


#: Every registered example problem (``problems.EXAMPLES``) × every optimizer.
CASES = [(kind, name, sampling) for kind, problem in PROBLEMS.items() for name in optim.FACTORIES
         for sampling in (("with_replacement", "without_replacement")
                          if problem.n_samples is not None else ("with_replacement",))]


@pytest.mark.parametrize("problem_name,opt_name,sampling", CASES)
def test_cuda_matches_reference(problem_name, opt_name, sampling):
    ref, dev = _both(PROBLEMS[problem_name], opt_name, sampling, record_every=3)
    assert np.isfinite(ref.loss.values).all()       # a meaningful comparison: nothing diverged
    assert not np.allclose(ref.loss.values[..., -1], ref.loss.values[..., 0])  # the runs moved
    _assert_agree(ref, dev)
    assert dev.attrs["config"] and '"backend": "cuda"' in dev.attrs["config"]


@pytest.mark.parametrize("problem_name", list(PROBLEMS))
def test_microbatch_bsi_adam(problem_name):
    ref, dev = _both(PROBLEMS[problem_name], "bsi_adam", batch_size=6, microbatch=2)
    _assert_agree(ref, dev)
    whole, _ = _both(PROBLEMS[problem_name], "bsi_adam", batch_size=6)
    assert not np.allclose(whole.loss.values, ref.loss.values)   # gsq really differs


def test_given_batch_indices_and_epochs():
    problem = problems.block_quadratic("homogeneous", seed=0, replicate=2)
    idx = np.random.default_rng(5).integers(0, problem.n_samples, size=(8, 2, 4))
    ref, dev = _both(problem, "adam", batch_size=4, batch_indices=idx)
    _assert_agree(ref, dev)
    ref, dev = _both(problem, "signum", sampling="epoch", batch_size=4, steps=10)
    _assert_agree(ref, dev)                          # 18 samples, 4 per step: epochs turn over


def test_with_replacement_counted_rows():
    """M ≥ n with replacement: the kernel sums distinct rows weighted by their counts."""
    problem = problems.block_quadratic("heterogeneous", seed=0)
    ref, dev = _both(problem, "rmsprop", batch_size=12)
    _assert_agree(ref, dev)


@pytest.mark.parametrize("opt_name", ["sgd", "adam", "signum"])
def test_divergence_flags_identical(opt_name):
    problem = PROBLEMS["block_quadratic"]
    ref, dev = _both(problem, opt_name, lr=[_lrs(problem, opt_name)[0], 1e3], steps=12,
                     record_every=2)
    assert ref.diverged.values[1].all() and not ref.diverged.values[0].any()
    np.testing.assert_array_equal(dev.diverged_step.values, ref.diverged_step.values)
    _assert_agree(ref.isel(lr_index=[0]), dev.isel(lr_index=[0]))
    steps = ref.step.values
    threshold = 1e4 * float(problem.loss(problem.w0))
    for s in range(2):
        at = int(np.searchsorted(steps, ref.diverged_step.values[1, s]))
        np.testing.assert_allclose(dev.loss.values[1, s, :at], ref.loss.values[1, s, :at],
                                   rtol=RTOL, atol=0)
        assert dev.loss.values[1, s, at] > threshold
        assert np.isinf(dev.loss.values[1, s, at + 1:]).all()
        # frozen: the final state is the state at divergence, as in the reference
        np.testing.assert_allclose(dev.w_final.values[1, s], ref.w_final.values[1, s], rtol=1e-9)


def test_continuation_is_bit_identical_and_keeps_frozen_runs():
    problem = PROBLEMS["gaussian_dense"]
    opt = optim.sgd(momentum=0.5)
    args = dict(lr=[0.05, 30.0], batch_size=2, seeds=2, record_every=2,
                schedule=schedules.wsd(0.2, 0.3), backend="cuda")
    whole = simlab.simulate(problem, opt, steps=10, horizon=10, **args)
    first = simlab.simulate(problem, opt, steps=4, horizon=10, **args)
    second = simlab.simulate(problem, opt, steps=6, horizon=10, init_state=first, **args)
    assert whole.diverged.values[1].any()                   # some runs arrive frozen
    for name in ("w_final", "state_final", "diverged_step"):
        np.testing.assert_array_equal(second[name].values, whole[name].values)
    np.testing.assert_array_equal(second.loss.sel(step=second.step.values[1:]).values,
                                  whole.loss.sel(step=second.step.values[1:]).values)
    ref = simlab.simulate(problem, opt, steps=6, horizon=10, init_state=first,
                          **{**args, "backend": "numpy"})
    np.testing.assert_array_equal(second.diverged_step.values, ref.diverged_step.values)
    alive = ~ref.diverged.values
    np.testing.assert_allclose(second.loss.values[alive], ref.loss.values[alive], rtol=RTOL)


@pytest.mark.parametrize("opt_name", ["sgd", "adam", "signum", "bsi_adam"])
def test_non_quadratic_problem_diagonal_net(opt_name):
    """The diagonal linear network (a data problem registered by its own module): its loss and
    per-sample gradients compiled for the device, and an SDE on it."""
    problem = problems.diagonal_net(width=6, n_train=4, n_test=3, init_scale=0.5, seed=1)
    extra = {"microbatch": 1} if opt_name == "bsi_adam" else {}
    ref, dev = _both(problem, opt_name, sampling="without_replacement", batch_size=2,
                     lr=[1e-3, 1e-2], **extra)
    assert not np.allclose(ref.loss.values[..., -1], ref.loss.values[..., 0])
    _assert_agree(ref, dev)
    if opt_name == "sgd":
        model = sgd_sde(problem, 2)
        kw = dict(lr=[1e-2], steps=4, paths=2, substeps=2)
        a = integrate(model, backend="numpy", **kw)
        b = integrate(model, backend="cuda", **kw)
        np.testing.assert_allclose(b.loss.values, a.loss.values, rtol=RTOL)


BLOCK_CASES = [(name, sampling, batch) for name in optim.FACTORIES if name != "clipped_momentum"
               for sampling, batch in [("with_replacement", 3), ("without_replacement", 6),
                                       ("epoch", 4)]]


@pytest.mark.parametrize("opt_name,sampling,batch_size", BLOCK_CASES)
def test_block_layout_matches_reference(opt_name, sampling, batch_size):
    """A block per run (4 threads under the simulator: several coordinates and rows per thread)."""
    problem = problems.block_quadratic("heterogeneous", seed=0, replicate=2)
    opt = optim.FACTORIES[opt_name]()
    args = dict(lr=_lrs(problem, opt_name), batch_size=batch_size, steps=6, seeds=2,
                sampling=sampling, record_every=2, schedule=schedules.warmup_cosine(0.1, 0.05))
    ref = simlab.simulate(problem, opt, backend="numpy", **args)
    dev = cb.simulate_on_device(problem, opt, layout="block", **args)
    assert '"layout": "block"' in dev.attrs["config"]
    _assert_agree(ref, dev)


def test_block_layout_counted_rows_microbatches_and_divergence():
    problem = problems.block_quadratic("heterogeneous", seed=0, replicate=2)     # n = 18
    for opt, extra in [(optim.rmsprop(), {"batch_size": 40}),                    # M ≥ n: counts
                       (optim.bsi_adam(), {"batch_size": 6, "microbatch": 2}),
                       (optim.sgd(), {"batch_size": 3, "lr": [1e-4, 1e3]})]:
        args = {"lr": [1e-3, 1e-2], "steps": 6, "seeds": 2, "record_every": 2,
                "sampling": "with_replacement", **extra}
        ref = simlab.simulate(problem, opt, backend="numpy", **args)
        dev = cb.simulate_on_device(problem, opt, layout="block", **args)
        np.testing.assert_array_equal(dev.diverged_step.values, ref.diverged_step.values)
        live = ~ref.diverged.values
        np.testing.assert_allclose(dev.loss.values[live], ref.loss.values[live], rtol=RTOL)
    assert ref.diverged.values[1].all()


@pytest.mark.parametrize("base", [optim.sgd(0.9), optim.bsi_adam()], ids=["sgd", "bsi_adam"])
def test_global_norm_clipping_matches_reference(base):
    """Global-norm clipping (a norm over the coordinates): thread layout, also under "auto" at
    large d, where the block layout does not apply."""
    opt = optim.with_global_norm_clipping(base, 50.0)
    micro = 2 if opt.squares_microbatches else None
    args = dict(lr=[1e-4, 1e-3], batch_size=4, steps=6, seeds=2, record_every=2,
                microbatch=micro, sampling="with_replacement")
    ref = simlab.simulate(PROBLEMS["block_quadratic"], opt, backend="numpy", **args)
    dev = simlab.simulate(PROBLEMS["block_quadratic"], opt, backend="cuda", **args)
    _assert_agree(ref, dev)
    unclipped = simlab.simulate(PROBLEMS["block_quadratic"], base, backend="numpy", **args)
    assert not np.allclose(unclipped.loss.values, ref.loss.values)      # it really clipped
    wide = problems.data_quadratic(np.random.default_rng(0).standard_normal((40, 50)),
                                   w0=np.ones(40))
    spec = simlab.make_spec(wide, opt, 1e-3, 4, 3, 2, microbatch=micro, backend="cuda")
    assert cb.resolve_layout(spec, "auto") == "thread"
    with pytest.raises(ValueError, match="global-norm"):
        cb.resolve_layout(spec, "block")


def test_layout_choice_and_refusal():
    wide = problems.data_quadratic(np.random.default_rng(0).standard_normal((40, 50)),
                                   w0=np.ones(40))
    spec = simlab.make_spec(wide, optim.adam(), 1e-3, 4, 3, 2, backend="cuda")
    assert cb.resolve_layout(spec, "auto") == "block"                    # d = 40 ≥ 32
    small = simlab.make_spec(PROBLEMS["block_quadratic"], optim.adam(), 1e-3, 4, 3, 2,
                             backend="cuda")
    assert cb.resolve_layout(small, "auto") == "thread"
    gauss = simlab.make_spec(problems.nqm(dim=40), optim.adam(), 1e-3, 4, 3, 2, backend="cuda")
    assert cb.resolve_layout(gauss, "auto") == "thread"                  # Gaussian noise
    clipped = simlab.make_spec(wide, optim.clipped_momentum(), 1e-3, 4, 3, 2, backend="cuda")
    assert cb.resolve_layout(clipped, "auto") == "thread"
    with pytest.raises(ValueError, match="layout='block' covers data problems"):
        cb.resolve_layout(clipped, "block")
    with pytest.raises(ValueError, match="layout='rows'"):
        cb.resolve_layout(spec, "rows")
    ref = simlab.simulate(wide, optim.adam(), [1e-3], 4, 3, 2, backend="numpy")
    dev = simlab.simulate(wide, optim.adam(), [1e-3], 4, 3, 2, backend="cuda")   # auto: block
    _assert_agree(ref, dev)


def _small_data():
    samples = np.array([[1.0, -0.5, 2.0, 0.3], [0.2, 1.5, -1.0, 0.7], [-0.4, 0.1, 0.6, -1.2]])
    return problems.data_quadratic(samples, w0=np.array([1.0, -1.0, 0.5]))


def _gauss3d():
    h = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])
    return problems.gaussian_quadratic(h, np.diag([1.0, 0.5, 0.2]), [1.0, -1.0, 0.5])


SDE_MODELS = {
    "sgd_sde_data": lambda: sgd_sde(problems.block_quadratic("heterogeneous"), 3),
    "sgd_sde_gauss": lambda: sgd_sde(_gauss3d(), 2),
    # 4 samples, B = 2: 16 enumerated atoms (the simulator's run time is heavy-tailed in the work
    # per thread; the 9-sample toy's 729 atoms took 1-4 min, see cuda_compile.SIM_SWITCH_INTERVAL)
    "signsgd_exact_data": lambda: signsgd_sde(_small_data(), 2),
    "signsgd_erf_data": lambda: signsgd_sde(problems.block_quadratic("heterogeneous"), 3,
                                            noise="gaussian"),
    "signsgd_exact_gauss": lambda: signsgd_sde(_gauss3d(), 2, mc_atoms=16),
}


@pytest.mark.parametrize("name", list(SDE_MODELS))
def test_sde_models_match_reference(name):
    model = SDE_MODELS[name]()
    lr = [1e-4, 5e-5] if model.kind == "sgd" and model.problem.samples is not None else [1e-2, 5e-3]
    kw = dict(lr=lr, steps=4, paths=2, substeps=2, record_every=2,
              schedule=schedules.warmup_cosine(0.25))
    a = integrate(model, backend="numpy", **kw)
    b = integrate(model, backend="cuda", **kw)
    assert not np.allclose(a.loss.values[..., -1], a.loss.values[..., 0])
    np.testing.assert_allclose(b.loss.values, a.loss.values, rtol=RTOL)
    np.testing.assert_allclose(b.w_final.values, a.w_final.values, rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize("family,opt_name,start", [("compagnoni", "adam", "zero"),
                                                   ("malladi", "rmsprop", "stationary")])
def test_adaptive_sdes_match_reference(family, opt_name, start):
    problem = _gauss3d()
    model = adaptive_sde(problem, family, opt_name, 4, start=start, substeps=2)
    init = warm_start(problem, 4, family) if start == "stationary" else None
    kw = dict(steps=4, seeds=2, init_state=init)
    a = simlab.simulate(problem, model, 1e-2, backend="numpy", **kw)
    b = simlab.simulate(problem, model, 1e-2, backend="cuda", **kw)
    np.testing.assert_allclose(b.loss.values, a.loss.values, rtol=RTOL)
    for name in ("w_final", "state_final"):
        np.testing.assert_allclose(b[name].values, a[name].values, rtol=RTOL, atol=1e-14)


def _draw_kernel():
    """A kernel drawing, per thread (key), the samplers' indices and the normals through the
    device-compiled ``simlab.random`` (the functions the simulation kernel calls)."""
    from simlab.backends.cuda_compile import DeviceCompiler
    compiler = DeviceCompiler({})
    with_r = compiler(rnd.batch_with_replacement_into)
    without_r = compiler(rnd.batch_without_replacement_into)
    perm_into = compiler(rnd.epoch_permutation_into)
    normal = compiler(rnd.standard_normal)

    @cuda.jit
    def draw(keys, step, n, with_out, without_out, perm_out, normals):
        t = cuda.grid(1)
        if t < keys.shape[0]:
            with_r(with_out[t], 0, with_out.shape[1], keys[t], step, n)
            without_r(without_out[t], 0, without_out.shape[1], keys[t], step, n)
            perm_into(perm_out[t], keys[t], step)
            for i in range(normals.shape[1]):
                normals[t, i] = normal(keys[t], np.uint64(step), np.uint64(i))
    return draw


def test_device_draws_bit_identical():
    keys = rnd.run_keys(3, 4)
    draw = _draw_kernel()
    for n, batch, step in [(9, 4, 0), (150, 37, 12345), (9, 9, 7)]:
        out = [np.zeros((4, batch), np.int64), np.zeros((4, batch), np.int64),
               np.zeros((4, n), np.int64), np.zeros((4, 20))]
        with launching():
            draw[1, 4](keys, step, n, *out)
        np.testing.assert_array_equal(out[0], rnd.batch_with_replacement(keys, step, n, batch))
        np.testing.assert_array_equal(out[1], rnd.batch_without_replacement(keys, step, n, batch))
        np.testing.assert_array_equal(out[2], rnd.epoch_permutation(keys, step, n))
        slots = np.arange(20, dtype=np.uint64)
        np.testing.assert_array_equal(
            out[3], rnd.standard_normal(keys[:, None], np.uint64(step), slots[None, :]))


# ------------------------------------------------------------------------------------------------
# float32 and reductions (simulate_on_device)
# ------------------------------------------------------------------------------------------------

def test_float32_agrees_statistically():
    """float32 storage: per-run losses within T·2⁻²³ relative of float64 after T = 12 steps (one
    float32 rounding of the state per step; measured ~2e-7), and the seed-mean within one
    standard error of float64's (documented in docs/backends.md)."""
    problem = PROBLEMS["nqm"]
    args = dict(lr=[1e-2], batch_size=2, steps=12, seeds=24, record_every=4)
    f64 = cb.simulate_on_device(problem, optim.adam(), **args)
    f32 = cb.simulate_on_device(problem, optim.adam(), dtype="float32", **args)
    a, b = f64.loss.values[0, :, -1], f32.loss.values[0, :, -1]
    rel = np.abs(b - a) / a
    assert 0 < rel.max() <= 12 * 2.0 ** -23            # float32 really ran, and is close
    se = a.std(ddof=1) / np.sqrt(a.size)
    assert abs(b.mean() - a.mean()) <= se
    assert '"dtype": "float32"' in f32.attrs["config"]


def test_reductions_match_numpy_on_the_records():
    problem = PROBLEMS["block_quadratic"]
    args = dict(lr=[1e-2, 1e3], batch_size=3, steps=6, seeds=10, record_every=2)
    full = simlab.simulate(problem, optim.adam(), backend="cuda", **args)
    edges = np.logspace(-3, 2, 6)
    qs = [0.0, 0.1, 0.5, 0.9, 1.0]
    red = cb.simulate_on_device(problem, optim.adam(), reduce=("mean", "quantiles", "histogram"),
                                quantiles=qs, bins=edges, **args)
    loss = full.loss.values                                     # (L, S, R)
    finite = np.isfinite(loss)
    np.testing.assert_array_equal(red.n_finite.values, finite.sum(axis=1))
    assert (red.n_finite.values[1] < 10).any()                 # lr = 1e3 diverges
    with np.errstate(invalid="ignore"):
        mean = np.where(finite, loss, 0).sum(axis=1) / finite.sum(axis=1)
        std = np.sqrt(np.where(finite, (loss - mean[:, None]) ** 2, 0).sum(axis=1)
                      / finite.sum(axis=1))
    np.testing.assert_allclose(red.loss_mean.values, mean, rtol=1e-12)
    # std of equal values (step 0) is 0 on the device; numpy's mean is an ulp off there
    got = red.loss_std.values
    assert np.array_equal(np.isnan(got), np.isnan(std))
    ok = np.isnan(std) | (np.abs(got - std) <= 1e-10 * std + 1e-12 * np.abs(mean))
    assert ok.all(), (got, std)
    want_q = np.quantile(loss[0], qs, axis=0)                   # lr 0: all finite, numpy's own
    np.testing.assert_array_equal(red.loss_quantile.values[0], want_q)
    sorted_runs = np.sort(loss[1], axis=0)                      # lr 1: order statistics with inf
    np.testing.assert_array_equal(red.loss_quantile.values[1, -1], sorted_runs[-1])
    np.testing.assert_array_equal(red.loss_quantile.values[1, 0], sorted_runs[0])
    for l in range(2):
        for i in range(loss.shape[2]):
            values = loss[l, :, i]
            inside, _ = np.histogram(values[np.isfinite(values)], bins=edges)
            want = [(values < edges[0]).sum(), *inside, (values > edges[-1]).sum()]
            np.testing.assert_array_equal(red.loss_histogram.values[l, i], want)
    np.testing.assert_array_equal(red.diverged.values, full.diverged.values.sum(axis=1))


def test_quantile_of_sorted_is_numpys_linear_method():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 50):
        values = np.sort(rng.standard_normal(n))
        values[: n // 3] = values[0]                            # ties
        for q in (0.0, 0.05, 0.25, 0.5, 0.6, 0.99, 1.0):
            assert cb.quantile_of_sorted(values, n, q) == np.quantile(values, q)
    assert cb.quantile_of_sorted(np.array([1.0, np.inf, np.inf]), 3, 0.9) == np.inf


def test_bad_input_is_a_value_error_before_any_work():
    problem = PROBLEMS["block_quadratic"]
    args = (problem, optim.adam(), 1e-3, 3, 4)
    for kwargs, words in [({"dtype": "float16"}, "dtype='float16'"),
                          ({"reduce": "median"}, "reduce="),
                          ({"reduce": "histogram"}, "needs bins"),
                          ({"reduce": "histogram", "bins": [1.0, 1.0]}, "bins="),
                          ({"reduce": "quantiles", "quantiles": [1.5]}, "range [0, 1]"),
                          ({"backend": "numba"}, "do not pass backend")]:
        with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("(", r"\(")):
            cb.simulate_on_device(*args, **kwargs)
    with pytest.raises(ValueError, match="dtype"):
        cb.run(simlab.make_spec(*args, backend="cuda"), dtype="int8")


_NO_DEVICE = """
import os, sys
{prelude}
import simlab
from simlab import optim, problems
try:
    simlab.simulate(problems.nqm(dim=3), optim.adam(), 1e-3, 2, 3, backend="cuda")
except ValueError as exc:
    print("ValueError:", exc)
"""

_BLOCK_NUMBA_CUDA = """
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "numba.cuda" or name.startswith("numba.cuda."):
            raise ImportError("No module named 'numba.cuda' (blocked: numba-cuda not installed)")
sys.meta_path.insert(0, Block())
"""


@pytest.mark.parametrize("case", ["no_device", "no_numba_cuda"])
def test_unavailable_cuda_is_one_clear_value_error(case):
    """Without a device (the real numba.cuda on this GPU-less machine) or without numba-cuda
    (imports of numba.cuda refused in a fresh interpreter): one ValueError naming the install."""
    if case == "no_device" and _device_present():
        pytest.skip("a CUDA device is present")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0",
           "PYTHONPATH": os.path.dirname(os.path.dirname(simlab.__file__))}
    code = _NO_DEVICE.format(prelude=_BLOCK_NUMBA_CUDA if case == "no_numba_cuda" else "")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("ValueError: backend='cuda'"), line
    assert "pip install 'simlab[cuda]'" in line and "numba-cuda" in line
    assert ("no usable CUDA device" if case == "no_device" else "cannot be imported") in line


# ------------------------------------------------------------------------------------------------
# The sign-model Monte Carlo (surge) on the device
# ------------------------------------------------------------------------------------------------

def test_sign_model_monte_carlo_on_device():
    from simlab.backends import cuda_sign_model
    from simlab.problems import sign_model as sm
    model = sm.sign_model([0.5, -0.2, 0.1], [1.0, 0.5, 2.0],
                          [[2.0, 0.3, 0.0], [0.3, 1.0, 0.0], [0.0, 0.0, 0.5]])
    mean, se, draws = cuda_sign_model.monte_carlo_improvement(model, 4, 0.1, 256, seed=3,
                                                              return_draws=True)
    host = cuda_sign_model.improvement_draws_host(model, 4, 0.1, 256, seed=3)
    np.testing.assert_array_equal(draws, host)                  # the same draws as the CPU
    exact = float(sm.expected_improvement(model, 4, 0.1))
    assert se > 0 and abs(mean - exact) <= 4 * se
    other, _ = cuda_sign_model.monte_carlo_improvement(model, 4, 0.1, 256, seed=4)
    assert other != mean


# ------------------------------------------------------------------------------------------------
# On a GPU: the table at full size
# ------------------------------------------------------------------------------------------------

@gpu
@needs_device
@pytest.mark.parametrize("problem_name,opt_name,sampling", CASES)
def test_gpu_full_size_table(problem_name, opt_name, sampling):
    problem = PROBLEMS[problem_name]
    opt = optim.FACTORIES[opt_name]()
    args = dict(lr=_lrs(problem, opt_name), batch_size=3, steps=200, seeds=500,
                sampling=sampling, record_every=20, schedule=schedules.warmup_cosine(0.1, 0.05))
    ref = simlab.simulate(problem, opt, backend="numba", **args)
    dev = simlab.simulate(problem, opt, backend="cuda", **args)
    _assert_agree(ref, dev)


@gpu
@needs_device
@pytest.mark.parametrize("layout", ["thread", "block"])
def test_gpu_large_d_layouts(layout):
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((256, 1024)) / np.sqrt(np.arange(1, 257))[:, None]
    problem = problems.data_quadratic(samples, w0=np.ones(256))
    args = dict(lr=[1e-3, 1e-2], batch_size=64, steps=100, seeds=32, record_every=10,
                sampling="with_replacement")
    ref = simlab.simulate(problem, optim.adam(), backend="numba", **args)
    dev = cb.simulate_on_device(problem, optim.adam(), layout=layout, **args)
    _assert_agree(ref, dev)
