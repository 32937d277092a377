"""Batch-size-invariant Adam: the core's micro-batch oracle vs Wang & Aitchison Alg. 3, κ = 1
identity, Theorems 1–2 measured (δ → 0 slopes), bad input."""
import subprocess
import sys

import numpy as np
import pytest

from experiments.bsi_adam import fitted_slope, state_gap
from simlab import optim, problems, simulate


@pytest.mark.parametrize("prob", [problems.block_quadratic("heterogeneous"), problems.nqm(dim=6)])
@pytest.mark.parametrize("sampling", ["without_replacement", "with_replacement"])
def test_bsi_adam_with_one_microbatch_is_adam_bitwise(prob, sampling):
    kw = dict(lr=[1e-3, 1e-2], batch_size=3, steps=30, seeds=4, sampling=sampling)
    a = simulate(prob, optim.adam(0.9, 0.99), **kw)
    b = simulate(prob, optim.bsi_adam(0.9, 0.99), microbatch=3, **kw)
    assert np.array_equal(a.loss.values, b.loss.values)
    assert np.array_equal(a.w_final.values, b.w_final.values)


def test_simulator_microbatches_follow_algorithm_3():
    """Two steps with given indices: m, v and w updated with the mean gradient and the mean of the
    squared micro-batch gradients (Wang & Aitchison Alg. 3), micro-batches split in order."""
    prob = problems.block_quadratic("homogeneous", replicate=2)
    idx = np.array([[[0, 5, 9, 17]], [[3, 4, 11, 12]]])              # (T=2, S=1, B=4), M=2
    opt = optim.bsi_adam(0.8, 0.9, eps=1e-8)
    res = simulate(prob, opt, 1e-2, 4, 2, 1, microbatch=2, batch_indices=idx)
    x = prob.samples
    w = prob.w0.copy()
    state = opt.init(w)
    for k in range(2):
        micro = [np.mean([x[:, i] * (x[:, i] @ w) for i in idx[k, 0, j:j + 2]], axis=0)
                 for j in (0, 2)]
        g = np.mean(micro, axis=0)
        gsq = np.mean([mg * mg for mg in micro], axis=0)
        step, state = opt.update(g, state, 1e-2, gsq)
        w = w + step
    np.testing.assert_allclose(res.w_final.values[0, 0], w, rtol=1e-12)


def test_theorem1_bsi_gap_vanishes_linearly_adam_does_not():
    prob = problems.block_quadratic("heterogeneous")
    deltas = 2.0 ** -np.arange(6, 11)
    bsi = [state_gap(prob, d, 1, 4, merged="bsi") for d in deltas]
    adam = [state_gap(prob, d, 1, 4, merged="adam") for d in deltas]
    assert abs(fitted_slope(deltas, bsi) - 1.0) <= 0.1
    assert abs(fitted_slope(deltas, adam)) <= 0.1 and adam[-1] > 0.1


def test_theorem2_two_minibatch_sizes():
    prob = problems.nqm(dim=5)
    deltas = 2.0 ** -np.arange(6, 11)
    bsi = [state_gap(prob, d, 2, 4, microbatch=3, merged="bsi") for d in deltas]
    adam = [state_gap(prob, d, 2, 4, microbatch=3, merged="adam") for d in deltas]
    assert abs(fitted_slope(deltas, bsi) - 1.0) <= 0.1
    assert abs(fitted_slope(deltas, adam)) <= 0.1 and adam[-1] > 1e-3


def test_bad_input_names_the_argument():
    prob = problems.nqm(dim=4)
    with pytest.raises(ValueError, match="microbatch"):
        simulate(prob, optim.bsi_adam(), 1e-3, 6, 5, microbatch=4)        # 4 does not divide 6
    with pytest.raises(ValueError, match="kappa"):
        state_gap(prob, 0.01, 0, 4)
    with pytest.raises(ValueError, match="delta"):
        state_gap(prob, 0.0, 1, 4)
    with pytest.raises(ValueError, match="eta_bar"):
        state_gap(prob, 0.01, 1, 4, eta_bar=-1.0)
    with pytest.raises(ValueError, match="lr"):
        simulate(prob, optim.bsi_adam(), -1e-3, 4, 5, microbatch=2)


def test_cli_bad_flag_is_one_line_exit_2():
    out = subprocess.run([sys.executable, "-m", "experiments.bsi_adam", "--seeds", "0"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
