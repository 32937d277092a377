"""Optimizers (simlab.optim), table-driven over every factory in ``optim.FACTORIES``."""
import math

import numpy as np
import pytest

from simlab import optim, transforms

# name → (factory kwargs, first step from zero state as a function of (g, lr)), by hand.
B1, B2, BETA, EPS = 0.8, 0.9, 0.7, 1e-3
B3, ALPHA, WD = 0.99, 3.0, 0.1
W = np.array([[1.0, -0.5, 2.0, 0.0], [0.3, 0.0, -4.0, 1.5]])        # the iterate (weight decay)
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
    "adamw": ({"b1": B1, "b2": B2, "eps": EPS, "weight_decay": WD},
              lambda g, lr: -lr * g / (np.abs(g) + EPS) - lr * WD * W),
    "lion": ({"b1": B1, "b2": B2, "weight_decay": WD}, lambda g, lr: -lr * (np.sign(g) + WD * W)),
    "ademamix": ({"b1": B1, "b2": B2, "b3": B3, "alpha": ALPHA, "eps": EPS, "weight_decay": WD},
                 lambda g, lr: -lr * (g + ALPHA * (1 - B3) * g) / (np.abs(g) + EPS) - lr * WD * W),
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
    step, state = opt.update(g, opt.init(np.zeros_like(g)), lr, params=W)
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
    assert len(state.slots) == opt.n_slots >= 1 and state.count == 0
    assert all(slot.shape == w0.shape for slot in state.slots)
    lrs = np.array([1e-3, 1e-2, 1e-1]).reshape(3, 1, 1)
    states = [state] + [opt.init(w0[i]) for i in range(3)]
    for _ in range(3):
        g = rng.standard_normal(w0.shape)
        step, states[0] = opt.update(g, states[0], lrs, params=w0)
        assert step.shape == w0.shape
        for i in range(3):
            single, states[i + 1] = opt.update(g[i], states[i + 1], float(lrs[i, 0, 0]),
                                               params=w0[i])
            np.testing.assert_allclose(step[i], single, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", list(optim.FACTORIES))
def test_init_and_update_are_pure(name):
    opt = ALL_DEFAULT[name]
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((2, 5))
    w0_copy = w0.copy()
    state = opt.init(w0)
    _, state = opt.update(rng.standard_normal(w0.shape), state, 0.1, params=w0)  # non-zero slots
    g = rng.standard_normal(w0.shape)
    lr = np.full((2, 1), 0.1)
    saved = (state.count, [s.copy() for s in state.slots], g.copy(), lr.copy())
    step1, new1 = opt.update(g, state, lr, params=w0)
    step2, new2 = opt.update(g, state, lr, params=w0)
    np.testing.assert_array_equal(w0, w0_copy)
    assert state.count == saved[0]
    for slot, kept in zip(state.slots, saved[1]):
        np.testing.assert_array_equal(slot, kept)
    np.testing.assert_array_equal(g, saved[2])
    np.testing.assert_array_equal(lr, saved[3])
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
    np.testing.assert_allclose(state.slots[0], 1.5 * g)


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


@pytest.mark.parametrize("name", list(optim.FACTORIES))
def test_dicts_of_arrays_as_optax_pytrees(name):
    """init/update on a dict of arrays (one level, as optax users pass parameters) equals the
    update of the flat vector of its entries; slots come back as dicts of the same shapes."""
    opt = optim.with_global_norm_clipping(ALL_DEFAULT[name], 2.0)
    rng = np.random.default_rng(4)
    params = {"a": rng.standard_normal((2, 3)), "b": rng.standard_normal(5)}
    flat_w = np.concatenate([params["a"].ravel(), params["b"]])
    state, flat_state = opt.init(params), opt.init(flat_w)
    assert all(set(slot) == {"a", "b"} and slot["a"].shape == (2, 3) for slot in state.slots)
    for _ in range(4):
        g = {"a": rng.standard_normal((2, 3)), "b": rng.standard_normal(5)}
        flat_g = np.concatenate([g["a"].ravel(), g["b"]])
        step, state = opt.update(g, state, 0.1, params=params)
        flat_step, flat_state = opt.update(flat_g, flat_state, 0.1, params=flat_w)
        np.testing.assert_array_equal(np.concatenate([step["a"].ravel(), step["b"]]), flat_step)
        params = {k: params[k] + step[k] for k in params}
        flat_w = flat_w + flat_step
    for slot, flat in zip(state.slots, flat_state.slots):
        np.testing.assert_array_equal(np.concatenate([slot["a"].ravel(), slot["b"]]), flat)


def test_weight_decay_needs_the_iterate():
    with pytest.raises(ValueError, match="params"):
        optim.adamw().update(np.ones(3), optim.adamw().init(np.zeros(3)), 0.1)


def test_state_is_sized_from_the_chain():
    assert optim.sgd().slots == ("m",) and optim.adam().slots == ("m", "v")
    assert optim.ademamix().slots == ("m1", "m2", "v") and optim.lion().slots == ("m",)
    two_traces = optim.chain(transforms.trace(0.9), transforms.trace(0.5, ema=True),
                             transforms.scale_by_learning_rate())
    assert two_traces.slots == ("0.m", "1.m")
    averaged = optim.chain(transforms.scale_by_adam(0.9, 0.99, 1e-8),
                           transforms.ema_of_iterates(0.9))
    step, state = averaged.update(np.ones(2), averaged.init(np.zeros(2)), 0.1, params=np.zeros(2))
    np.testing.assert_allclose(state.slots[2], 0.1 * step)      # ā = (1 − β)(w + step), w = 0
