"""Optimizers (simlab.optim), table-driven over every factory in ``optim.FACTORIES``."""
import math

import numpy as np
import pytest

from simlab import optim

# name → (factory kwargs, first step from zero state as a function of (g, lr)), by hand.
B1, B2, BETA, EPS = 0.8, 0.9, 0.7, 1e-3
FIRST_STEP = {
    "sgd": ({}, lambda g, lr: -lr * g),
    "sgd_heavy_ball": ({"momentum": BETA}, lambda g, lr: -lr * g),
    "sgd_ema": ({"momentum": BETA, "ema": True}, lambda g, lr: -lr * (1 - BETA) * g),
    "sgd_nesterov": ({"momentum": BETA, "nesterov": True}, lambda g, lr: -lr * (1 + BETA) * g),
    "adam": ({"b1": B1, "b2": B2, "eps": EPS}, lambda g, lr: -lr * g / (np.abs(g) + EPS)),
    "adam_no_bias_correction": (
        {"b1": B1, "b2": B2, "eps": EPS, "bias_correction": False},
        lambda g, lr: -lr * (1 - B1) * g / (np.sqrt(1 - B2) * np.abs(g) + EPS)),
    "rmsprop": ({"beta": BETA, "eps": EPS},
                lambda g, lr: -lr * g / (np.sqrt(1 - BETA) * np.abs(g) + EPS)),
    "signsgd": ({}, lambda g, lr: -lr * np.sign(g)),
    "signum": ({"beta": BETA}, lambda g, lr: -lr * np.sign(g)),
    "bsi_adam": ({"b1": B1, "b2": B2, "eps": EPS}, lambda g, lr: -lr * g / (np.abs(g) + EPS)),
}
FACTORY_OF = {name: name.split("_")[0] if name.startswith(("sgd", "adam")) else name
              for name in FIRST_STEP}


def make(name):
    kwargs, _ = FIRST_STEP[name]
    return optim.FACTORIES[FACTORY_OF[name]](**kwargs)


ALL_DEFAULT = {name: factory() for name, factory in optim.FACTORIES.items()}


def test_table_covers_every_factory():
    assert set(FACTORY_OF.values()) | {"clipped_momentum"} == set(optim.FACTORIES)


@pytest.mark.parametrize("name", list(FIRST_STEP))
def test_hand_computed_first_step(name):
    g = np.array([[0.5, -2.0, 3e-4, 7.0], [-1e-2, 4.0, -0.3, 1.0]])
    lr = 0.1
    opt = make(name)
    step, state = opt.update(g, opt.init(np.zeros_like(g)), lr)
    _, expected = FIRST_STEP[name]
    np.testing.assert_allclose(step, expected(g, lr), rtol=1e-14, atol=0)
    assert state.count == 1


def test_clipped_momentum_first_step():
    g = np.array([1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0, 9.0, -10.0, 11.0])
    lr = 0.1
    opt = optim.clipped_momentum(beta=0.9, frac=0.2)
    step, _ = opt.update(g, opt.init(np.zeros_like(g)), lr)
    tau = lr * 9.0             # quantile 0.8 of |m| over 11 coordinates = the 9th smallest
    np.testing.assert_allclose(step, -np.sign(g) * np.minimum(lr * np.abs(g), tau), rtol=1e-14)


@pytest.mark.parametrize("name", list(optim.FACTORIES))
def test_shapes_with_leading_run_axes_and_lr_broadcasting(name):
    opt = ALL_DEFAULT[name]
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4, 6))
    state = opt.init(w0)
    assert state.m.shape == w0.shape and state.v.shape == w0.shape and state.count == 0
    lrs = np.array([1e-3, 1e-2, 1e-1]).reshape(3, 1, 1)
    states = [state] + [opt.init(w0[i]) for i in range(3)]
    for _ in range(3):
        g = rng.standard_normal(w0.shape)
        step, states[0] = opt.update(g, states[0], lrs)
        assert step.shape == w0.shape
        for i in range(3):
            single, states[i + 1] = opt.update(g[i], states[i + 1], float(lrs[i, 0, 0]))
            np.testing.assert_allclose(step[i], single, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", list(optim.FACTORIES))
def test_init_and_update_are_pure(name):
    opt = ALL_DEFAULT[name]
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((2, 5))
    w0_copy = w0.copy()
    state = opt.init(w0)
    _, state = opt.update(rng.standard_normal(w0.shape), state, 0.1)      # non-zero slots
    g = rng.standard_normal(w0.shape)
    lr = np.full((2, 1), 0.1)
    saved = (state.count, state.m.copy(), state.v.copy(), g.copy(), lr.copy())
    step1, new1 = opt.update(g, state, lr)
    step2, new2 = opt.update(g, state, lr)
    np.testing.assert_array_equal(w0, w0_copy)
    assert state.count == saved[0]
    np.testing.assert_array_equal(state.m, saved[1])
    np.testing.assert_array_equal(state.v, saved[2])
    np.testing.assert_array_equal(g, saved[3])
    np.testing.assert_array_equal(lr, saved[4])
    np.testing.assert_array_equal(step1, step2)
    assert new1.count == state.count + 1


@pytest.mark.parametrize("opt", [optim.signsgd(), optim.signum(beta=0.9)], ids=["signsgd", "signum"])
def test_sign_of_zero_is_zero(opt):
    g = np.array([0.0, 1.0, -2.0, 0.0])
    step, _ = opt.update(g, opt.init(np.zeros(4)), 0.5)
    np.testing.assert_array_equal(step, [0.0, -0.5, 0.5, 0.0])


@pytest.mark.parametrize("frac, d", [(0.1, 11), (0.25, 9), (0.5, 21)])
def test_clipped_momentum_clips_exactly_the_top_fraction(frac, d):
    """τ is numpy's linear-interpolation (1−p)-quantile; when p(d−1) is an integer it is an
    order statistic, and exactly the p(d−1) largest |m| (per run) are clipped to τ."""
    rng = np.random.default_rng(2)
    m = rng.permuted(np.arange(1.0, d + 1.0)) * rng.choice([-1.0, 1.0], size=d)
    m = np.stack([m, 3.0 * m[::-1]])                                 # two runs, own thresholds
    opt = optim.clipped_momentum(beta=0.0, frac=frac)
    step, _ = opt.update(m, opt.init(np.zeros_like(m)), 1.0)
    n_clip = round(frac * (d - 1))
    for run in range(2):
        order = np.argsort(np.abs(m[run]))
        top, rest = order[d - n_clip:], order[:d - n_clip]
        tau = np.abs(m[run, order[d - n_clip - 1]])
        np.testing.assert_allclose(-step[run, top], np.sign(m[run, top]) * tau, rtol=1e-14)
        np.testing.assert_allclose(-step[run, rest], m[run, rest], rtol=1e-14)


def test_clipped_momentum_accumulates_heavy_ball():
    opt = optim.clipped_momentum(beta=0.5, frac=0.5)
    g = np.array([1.0, 2.0, 3.0])
    state = opt.init(np.zeros(3))
    _, state = opt.update(g, state, 1.0)
    _, state = opt.update(g, state, 1.0)
    np.testing.assert_allclose(state.m, 1.5 * g)


def test_adam_bias_correction_uses_the_step_count():
    opt = optim.adam(b1=0.9, b2=0.99, eps=0.0)
    g = np.array([2.0, -3.0])
    state = opt.init(np.zeros(2))
    for _ in range(5):
        step, state = opt.update(g, state, 1.0)
    np.testing.assert_allclose(step, -np.sign(g), rtol=1e-13)      # constant g: m̂/√v̂ = sign g


# (factory, bad kwargs, the argument name the message must contain)
INVALID = [
    ("sgd", {"momentum": 1.0}, "momentum"), ("sgd", {"momentum": -0.1}, "momentum"),
    ("sgd", {"momentum": math.nan}, "momentum"), ("sgd", {"nesterov": True}, "nesterov"),
    ("adam", {"b1": 1.0}, "b1"), ("adam", {"b2": 1.5}, "b2"), ("adam", {"b1": math.nan}, "b1"),
    ("adam", {"eps": -1e-8}, "eps"), ("adam", {"eps": math.nan}, "eps"),
    ("rmsprop", {"beta": 1.0}, "beta"), ("rmsprop", {"eps": -1.0}, "eps"),
    ("signum", {"beta": -0.5}, "beta"), ("signum", {"beta": math.inf}, "beta"),
    ("clipped_momentum", {"beta": 1.0}, "beta"), ("clipped_momentum", {"frac": 0.0}, "frac"),
    ("clipped_momentum", {"frac": 1.0}, "frac"), ("clipped_momentum", {"frac": math.nan}, "frac"),
    ("bsi_adam", {"b2": 1.0}, "b2"), ("bsi_adam", {"eps": -1.0}, "eps"),
]


@pytest.mark.parametrize("factory, kwargs, arg", INVALID,
                         ids=[f"{f}-{k}" for f, k, _ in INVALID])
def test_invalid_hyper_parameters_raise(factory, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        optim.FACTORIES[factory](**kwargs)


@pytest.mark.parametrize("bad", [-1e-3, math.nan, math.inf, [1e-3, -1.0]])
def test_lr_array_rejects_negative_and_non_finite(bad):
    with pytest.raises(ValueError, match="lr="):
        optim.lr_array(bad)
