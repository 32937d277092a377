"""The numba backend against the numpy reference (the definition): same batches and noise draws
bit for bit, losses and iterates to 1e-12 relative, identical divergence flags, and results that
do not depend on the number of threads. Table-driven over every optimizer of ``optim.FACTORIES``."""
from __future__ import annotations

import numba
import numpy as np
import pytest

import simlab
from simlab import kernel_ops, optim, problems, schedules
from simlab import random as rnd
from simlab.backends import numba_backend as nb
from simlab.backends import per_run
from simlab.problems.examples import curvature

RTOL = 1e-12


PROBLEMS = {name: make() for name, make in problems.EXAMPLES.items()}


def _lrs(problem, name):
    """Two learning rates in each optimizer's working range for this problem's curvature."""
    top = curvature(problem)
    if name == "sgd":
        return [0.05 / top, 0.5 / top]
    if name == "clipped_momentum":                  # heavy ball: an effective lr of η/(1 − β)
        return [0.005 / top, 0.05 / top]
    return [1e-3, 1e-2]


def _both(problem, name, sampling="with_replacement", batch_size=3, **kwargs):
    opt = optim.FACTORIES[name]()
    args = dict(lr=kwargs.pop("lr", _lrs(problem, name)), batch_size=batch_size,
                steps=kwargs.pop("steps", 40), seeds=3, sampling=sampling,
                schedule=schedules.warmup_cosine(0.1, 0.05), **kwargs)
    ref = simlab.simulate(problem, opt, backend="numpy", **args)
    fast = simlab.simulate(problem, opt, backend="numba", **args)
    return ref, fast


def _assert_agree(ref, fast):
    np.testing.assert_array_equal(fast.diverged_step.values, ref.diverged_step.values)
    np.testing.assert_allclose(fast.loss.values, ref.loss.values, rtol=RTOL, atol=0)
    w_ref, w_fast = ref.w_final.values, fast.w_final.values
    scale = np.max(np.abs(w_ref), axis=-1, keepdims=True)
    assert np.all(np.abs(w_fast - w_ref) <= RTOL * scale), np.max(np.abs(w_fast - w_ref) / scale)


#: Every registered example problem × every optimizer (data problems: two samplings).
CASES = [(kind, name, sampling) for kind, problem in PROBLEMS.items() for name in optim.FACTORIES
         for sampling in (("with_replacement", "without_replacement")
                          if problem.n_samples is not None else ("with_replacement",))]


def test_every_problem_kind_has_an_example():
    """A problem record type registered for the compiled backends is in the tables below."""
    kinds = {type(problem.kernel_record()) for problem in PROBLEMS.values()}
    assert kinds == set(kernel_ops.PROBLEM_OPS)


@pytest.mark.parametrize("problem_name,opt_name,sampling", CASES)
def test_numba_matches_reference(problem_name, opt_name, sampling):
    ref, fast = _both(PROBLEMS[problem_name], opt_name, sampling, record_every=3)
    assert np.isfinite(ref.loss.values).all()       # a meaningful comparison: nothing diverged
    assert not np.allclose(ref.loss.values[..., -1], ref.loss.values[..., 0])  # the runs moved
    _assert_agree(ref, fast)


@pytest.mark.parametrize("problem_name", list(PROBLEMS))
def test_microbatch_bsi_adam(problem_name):
    ref, fast = _both(PROBLEMS[problem_name], "bsi_adam", batch_size=6, microbatch=2)
    _assert_agree(ref, fast)
    whole, _ = _both(PROBLEMS[problem_name], "bsi_adam", batch_size=6)
    assert not np.allclose(whole.loss.values, ref.loss.values)   # gsq really differs


def test_given_batch_indices():
    problem = problems.block_quadratic("homogeneous", seed=0, replicate=2)
    idx = np.random.default_rng(5).integers(0, problem.n_samples, size=(30, 3, 4))
    ref, fast = _both(problem, "adam", steps=30, batch_size=4, batch_indices=idx)
    _assert_agree(ref, fast)
    drawn, _ = _both(problem, "adam", steps=30, batch_size=4)
    assert not np.allclose(drawn.loss.values, ref.loss.values)   # the given indices were used


@pytest.mark.parametrize("opt_name", ["sgd", "adam", "signum"])
def test_divergence_flags_identical(opt_name):
    problem = PROBLEMS["block_quadratic"]
    lrs = [_lrs(problem, opt_name)[0], 1e3]
    ref, fast = _both(problem, opt_name, lr=lrs, record_every=7)
    assert ref.diverged.values[1].all() and not ref.diverged.values[0].any()
    np.testing.assert_array_equal(fast.diverged_step.values, ref.diverged_step.values)
    _assert_agree(ref.isel(lr_index=[0]), fast.isel(lr_index=[0]))
    # A blowing-up run amplifies rounding differences (its loss grows ~1e7-fold per record), so
    # its records are compared up to the divergence record, which must exceed the threshold in
    # both backends, and must be +inf after it.
    threshold = 1e4 * float(problem.loss(problem.w0))
    steps = ref.step.values
    for s in range(3):
        at = int(np.searchsorted(steps, ref.diverged_step.values[1, s]))
        np.testing.assert_allclose(fast.loss.values[1, s, :at], ref.loss.values[1, s, :at],
                                   rtol=RTOL, atol=0)
        assert fast.loss.values[1, s, at] > threshold and ref.loss.values[1, s, at] > threshold
        assert np.isinf(fast.loss.values[1, s, at + 1:]).all()
        assert np.isinf(ref.loss.values[1, s, at + 1:]).all()


@pytest.mark.parametrize("sampling", ["with_replacement", "without_replacement"])
def test_per_run_samplers_bit_identical(sampling):
    """The compiled per-run samplers draw exactly the indices of the vectorized reference ones."""
    keys = rnd.run_keys(3, 5)
    into = nb.compiled(rnd.batch_with_replacement_into if sampling == "with_replacement"
                       else rnd.batch_without_replacement_into)
    draw = (rnd.batch_with_replacement if sampling == "with_replacement"
            else rnd.batch_without_replacement)
    for n, batch in [(9, 1), (9, 9), (9, 4), (1000, 37)]:
        for step in (0, 1, 12345):
            want = draw(keys, step, n, batch)
            got = np.empty_like(want)
            for s, key in enumerate(keys):
                into(got[s], 0, batch, key, step, n)
            np.testing.assert_array_equal(got, want)


def test_epoch_permutations_bit_identical():
    keys = rnd.run_keys(8, 4)
    into = nb.compiled(rnd.epoch_permutation_into)
    for n in (1, 2, 9, 257):
        for epoch in (0, 3, 70000):
            want = rnd.epoch_permutation(keys, epoch, n)
            assert all(np.array_equal(np.sort(row), np.arange(n)) for row in want)
            for s, key in enumerate(keys):
                got = np.empty(n, dtype=np.int64)
                into(got, key, epoch)
                np.testing.assert_array_equal(got, want[s])


def test_normal_draws_bit_identical():
    keys = rnd.run_keys(4, 3)
    slots = np.arange(50, dtype=np.uint64)
    normal = nb.compiled(rnd.standard_normal)
    for key in keys:
        want = rnd.standard_normal(key, np.uint64(7), slots)
        got = np.array([normal(key, np.uint64(7), slot) for slot in slots])
        np.testing.assert_array_equal(got, want)


def test_clipping_quantile_bit_identical():
    rng = np.random.default_rng(0)
    clip = nb.compiled(per_run.clip_top_fraction_into)
    for d in (1, 2, 9, 50):
        for fraction in (0.05, 0.1, 0.5, 0.9):
            step = rng.standard_normal(d) * rng.choice([1e-3, 1.0], size=d)
            step[: d // 3] = step[0]                    # ties
            want = optim.clip_top_fraction(step, fraction)
            got = step.copy()
            clip(got, fraction, np.empty(d))
            np.testing.assert_array_equal(got, want)


def test_thread_count_independence():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba sees a single thread on this machine")
    problem = PROBLEMS["block_quadratic"]
    opt = optim.adam(0.95, 0.95, bias_correction=False)
    args = dict(lr=np.logspace(-3, -1, 4), batch_size=3, steps=40, seeds=5, backend="numba")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simlab.simulate(problem, opt, **args)
        numba.set_num_threads(2)
        two = simlab.simulate(problem, opt, **args)
    finally:
        numba.set_num_threads(before)
    for name in ("loss", "diverged_step", "w_final"):
        np.testing.assert_array_equal(one[name].values, two[name].values)


def test_unknown_transform_is_a_clear_error():
    """A record that is not in the transform table is refused when the optimizer is built."""
    class Custom(tuple):
        pass
    with pytest.raises(ValueError, match="no entry in simlab.transforms.TRANSFORMS"):
        optim.Optimizer("custom", (Custom((0.0,)),))
