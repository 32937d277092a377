"""Tests that can tell optimizers apart: every optimizer of ``optim.FACTORIES``, at several
hyper-parameter settings, follows its independent reference along a 60-step trajectory that starts
from a NON-zero state (step count, momentum and second moments) on a gradient oracle that depends
on the iterate (a noisy ill-conditioned quadratic) with a learning rate that changes every step.

The reference is ``torch.optim`` where torch has the optimizer (SGD in its heavy-ball, EMA —
``dampening = momentum`` — and Nesterov forms, Adam, AdamW, RMSprop), and otherwise a numpy
implementation written here from the paper, independently of ``simlab.transforms``. The last tests
build deliberately wrong variants (Lion with the interpolation and the momentum update swapped,
AdamW with coupled L2 decay, AdEMAMix with a bias-corrected slow EMA, Signum with the sign of the
gradient) and assert that the same check rejects them.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from simlab import optim, transforms

torch = pytest.importorskip("torch", reason="torch is not installed; the torch references need it")

STEPS = 60
COUNT0 = 7                        # the state's step count on entry (bias corrections use it)
DIM = 12
LR = 2e-2
TOL = 1e-10                       # max |w − w_ref| / max |w_ref| over the trajectory


# ------------------------------------------------------------------------------------------------
# The problem: g(w, t) = H (w − w*) + ξ_t, learning rate η_t = η (0.5 + t/T)
# ------------------------------------------------------------------------------------------------

_RNG = np.random.default_rng(20)
H = np.diag(np.logspace(-2, 1, DIM))
W_STAR = _RNG.standard_normal(DIM)
NOISE = 0.3 * _RNG.standard_normal((STEPS, DIM))
W0 = W_STAR + 2.0 * _RNG.standard_normal(DIM)


def gradient(w, t):
    return H @ (w - W_STAR) + NOISE[t]


def learning_rate(t):
    return LR * (0.5 + t / STEPS)


def initial_slots(names, seed=3):
    """Non-zero slots: first moments of either sign, second moments ("v") positive."""
    rng = np.random.default_rng(seed)
    return {name: (0.5 * rng.random(DIM) + 0.1 if name == "v" else 0.3 * rng.standard_normal(DIM))
            for name in names}


def simlab_trajectory(opt, slots0):
    state = optim.OptState(COUNT0, tuple(slots0[name] for name in opt.slots))
    w, out = W0.copy(), []
    for t in range(STEPS):
        step, state = opt.update(gradient(w, t), state, learning_rate(t), params=w)
        w = w + step
        out.append(w)
    return np.array(out)


def relative_error(got, want):
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


# ------------------------------------------------------------------------------------------------
# torch references (their state set to the same non-zero values)
# ------------------------------------------------------------------------------------------------

def torch_trajectory(make, state_of, slots0):
    p = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    opt = make([p])
    opt.state[p] = {key: (torch.tensor(value, dtype=torch.float64) if np.ndim(value)
                          else torch.tensor(float(value), dtype=torch.float64))
                    for key, value in state_of(slots0).items()}
    out = []
    for t in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = learning_rate(t)
        p.grad = torch.tensor(gradient(p.detach().numpy(), t), dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def torch_sgd(momentum=0.0, nesterov=False, ema=False):
    make = lambda ps: torch.optim.SGD(ps, lr=LR, momentum=momentum, nesterov=nesterov,  # noqa: E731
                                      dampening=momentum if ema else 0.0)
    return lambda s: torch_trajectory(make, lambda s: {"momentum_buffer": s["m"]}, s)


def torch_adam(b1=0.9, b2=0.999, eps=1e-8, weight_decay=None, **_):
    if weight_decay is None:
        make = lambda ps: torch.optim.Adam(ps, lr=LR, betas=(b1, b2), eps=eps)  # noqa: E731
    else:
        make = lambda ps: torch.optim.AdamW(ps, lr=LR, betas=(b1, b2), eps=eps,  # noqa: E731
                                            weight_decay=weight_decay)
    state = lambda s: {"step": COUNT0, "exp_avg": s["m"], "exp_avg_sq": s["v"]}  # noqa: E731
    return lambda s: torch_trajectory(make, state, s)


def torch_rmsprop(beta=0.99, eps=1e-8):
    make = lambda ps: torch.optim.RMSprop(ps, lr=LR, alpha=beta, eps=eps)  # noqa: E731
    return lambda s: torch_trajectory(make, lambda s: {"step": COUNT0, "square_avg": s["v"]}, s)


# ------------------------------------------------------------------------------------------------
# numpy references from the papers
# ------------------------------------------------------------------------------------------------

def numpy_trajectory(step_fn, slots0):
    """w_{t+1} = step_fn(w_t, g_t, η_t, t_count, slots) (slots updated in place)."""
    slots = {k: v.copy() for k, v in slots0.items()}
    w, out = W0.copy(), []
    for t in range(STEPS):
        w = step_fn(w, gradient(w, t), learning_rate(t), COUNT0 + t + 1, slots)
        out.append(w)
    return np.array(out)


def lion_reference(b1=0.9, b2=0.99, weight_decay=0.0):
    """Lion, Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms", Algorithm 2:

        c_t = β1 m_{t−1} + (1 − β1) g_t
        θ_t = θ_{t−1} − η_t (sign(c_t) + λ θ_{t−1})
        m_t = β2 m_{t−1} + (1 − β2) g_t
    """
    def step(w, g, lr, t, s):
        c = b1 * s["m"] + (1 - b1) * g
        s["m"] = b2 * s["m"] + (1 - b2) * g
        return w - lr * (np.sign(c) + weight_decay * w)
    return lambda s: numpy_trajectory(step, s)


def ademamix_reference(b1=0.9, b2=0.999, b3=0.9999, alpha=5.0, eps=1e-8, weight_decay=0.0,
                       warmup=0):
    """AdEMAMix, Pagliardini, Ablin & Grangier (2024), "The AdEMAMix Optimizer: Better, Faster,
    Older", Algorithm 1 (with the schedulers of its §3 for T_{α,β3} = ``warmup`` > 0):

        α_t = min(t α / T, α),   β3_t = min(exp(ln β1 ln β3 / ((1 − t/T) ln β3 + (t/T) ln β1)), β3)
        m1 = β1 m1 + (1 − β1) g,   m2 = β3_t m2 + (1 − β3_t) g,   ν = β2 ν + (1 − β2) g²
        m̂1 = m1 / (1 − β1^t),   ν̂ = ν / (1 − β2^t)
        θ = θ − η ((m̂1 + α_t m2) / (√ν̂ + ε) + λ θ)
    """
    def step(w, g, lr, t, s):
        a, beta3 = alpha, b3
        if warmup:
            a = min(t * alpha / warmup, alpha)
            x = t / warmup
            beta3 = min(np.exp(np.log(b1) * np.log(b3) / ((1 - x) * np.log(b3) + x * np.log(b1))),
                        b3)
        s["m1"] = b1 * s["m1"] + (1 - b1) * g
        s["m2"] = beta3 * s["m2"] + (1 - beta3) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        m_hat = s["m1"] / (1 - b1 ** t)
        v_hat = s["v"] / (1 - b2 ** t)
        return w - lr * ((m_hat + a * s["m2"]) / (np.sqrt(v_hat) + eps) + weight_decay * w)
    return lambda s: numpy_trajectory(step, s)


def signum_reference(beta=0.9):
    """Signum, Bernstein et al. (2018), "signSGD: Compressed Optimisation for Non-Convex
    Problems" (signSGD with momentum): m = β m + (1 − β) g;  θ = θ − η sign(m); β = 0 is signSGD."""
    def step(w, g, lr, t, s):
        s["m"] = beta * s["m"] + (1 - beta) * g
        return w - lr * np.sign(s["m"])
    return lambda s: numpy_trajectory(step, s)


def clipped_momentum_reference(beta=0.9, frac=0.1):
    """Adaptive momentum clipping, Srećković et al. (2025), Algorithm 1: m = β m + g;
    τ = the (1 − p)-quantile of |m|;  θ = θ − η sign(m) min(|m|, τ)."""
    def step(w, g, lr, t, s):
        s["m"] = beta * s["m"] + g
        tau = np.quantile(np.abs(s["m"]), 1 - frac)
        return w - lr * np.sign(s["m"]) * np.minimum(np.abs(s["m"]), tau)
    return lambda s: numpy_trajectory(step, s)


def adam_no_bias_correction_reference(b1, b2, eps):
    """Adam without bias correction (Kingma & Ba 2015, Alg. 1 with m̂ = m, v̂ = v): the form of
    the toy of Srećković et al.; torch always bias-corrects."""
    def step(w, g, lr, t, s):
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        return w - lr * s["m"] / (np.sqrt(s["v"]) + eps)
    return lambda s: numpy_trajectory(step, s)


def nesterov_ema_reference(momentum):
    """SGD with EMA momentum and Nesterov's look-ahead (torch's Nesterov with dampening would use
    g, not (1 − β) g): m = β m + (1 − β) g;  θ = θ − η ((1 − β) g + β m)."""
    def step(w, g, lr, t, s):
        s["m"] = momentum * s["m"] + (1 - momentum) * g
        return w - lr * ((1 - momentum) * g + momentum * s["m"])
    return lambda s: numpy_trajectory(step, s)


# ------------------------------------------------------------------------------------------------
# The table: optimizer → settings → (factory kwargs, reference, its name)
# ------------------------------------------------------------------------------------------------

def _adam_case(kwargs, factory_kwargs=None):
    if kwargs.get("bias_correction", True):
        return torch_adam(**kwargs), "torch.optim.Adam"
    return (adam_no_bias_correction_reference(kwargs["b1"], kwargs["b2"], kwargs["eps"]),
            "numpy (Kingma & Ba Alg. 1, no bias correction)")


def _sgd_case(kwargs):
    if kwargs.get("nesterov") and kwargs.get("ema"):
        return nesterov_ema_reference(kwargs["momentum"]), "numpy (EMA + Nesterov)"
    return torch_sgd(**kwargs), "torch.optim.SGD"


SETTINGS = {
    "sgd": [{"momentum": 0.0}, {"momentum": 0.9}, {"momentum": 0.8, "ema": True},
            {"momentum": 0.7, "nesterov": True}, {"momentum": 0.6, "nesterov": True, "ema": True}],
    "adam": [{"b1": 0.9, "b2": 0.999, "eps": 1e-8}, {"b1": 0.5, "b2": 0.9, "eps": 1e-3},
             {"b1": 0.95, "b2": 0.95, "eps": 1e-8, "bias_correction": False}],
    "bsi_adam": [{"b1": 0.9, "b2": 0.99, "eps": 1e-8}, {"b1": 0.7, "b2": 0.8, "eps": 1e-4}],
    "adamw": [{"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
              {"b1": 0.8, "b2": 0.95, "eps": 1e-6, "weight_decay": 0.3},
              {"b1": 0.9, "b2": 0.99, "eps": 1e-8, "weight_decay": 0.0}],
    "rmsprop": [{"beta": 0.99, "eps": 1e-8}, {"beta": 0.5, "eps": 1e-3}],
    "signsgd": [{}],
    "signum": [{"beta": 0.9}, {"beta": 0.5}, {"beta": 0.0}],
    "lion": [{"b1": 0.9, "b2": 0.99, "weight_decay": 0.0}, {"b1": 0.95, "b2": 0.98,
                                                             "weight_decay": 0.5},
             {"b1": 0.5, "b2": 0.9, "weight_decay": 0.1}],
    "ademamix": [{"b1": 0.9, "b2": 0.999, "b3": 0.9999, "alpha": 5.0, "eps": 1e-8},
                 {"b1": 0.8, "b2": 0.95, "b3": 0.99, "alpha": 2.0, "eps": 1e-6,
                  "weight_decay": 0.2},
                 {"b1": 0.9, "b2": 0.99, "b3": 0.999, "alpha": 8.0, "eps": 1e-8,
                  "weight_decay": 0.05, "warmup": 40}],
    "clipped_momentum": [{"beta": 0.9, "frac": 0.1}, {"beta": 0.5, "frac": 0.3}],
}


def reference(name, kwargs):
    """(trajectory function of the initial slots, the reference's name)."""
    if name == "sgd":
        return _sgd_case(kwargs)
    if name in ("adam", "bsi_adam"):
        return _adam_case(kwargs)
    if name == "adamw":
        return torch_adam(**kwargs), "torch.optim.AdamW"
    if name == "rmsprop":
        return torch_rmsprop(**kwargs), "torch.optim.RMSprop"
    if name == "signsgd":
        return signum_reference(0.0), "numpy (Bernstein et al. 2018)"
    if name == "signum":
        return signum_reference(**kwargs), "numpy (Bernstein et al. 2018)"
    if name == "lion":
        return lion_reference(**kwargs), "numpy (Chen et al. 2023, Alg. 2)"
    if name == "ademamix":
        return ademamix_reference(**kwargs), "numpy (Pagliardini et al. 2024, Alg. 1)"
    if name == "clipped_momentum":
        return clipped_momentum_reference(**kwargs), "numpy (Srećković et al. 2025, Alg. 1)"
    raise KeyError(name)


CASES = [(name, i) for name, settings in SETTINGS.items() for i in range(len(settings))]


def trajectory_error(opt, name, kwargs):
    """max relative difference between ``opt``'s trajectory and the reference of (name, kwargs)."""
    slots0 = initial_slots(opt.slots)
    ref, _ = reference(name, kwargs)
    return relative_error(simlab_trajectory(opt, slots0), ref(slots0))


def test_every_optimizer_has_references_at_several_settings():
    assert set(SETTINGS) == set(optim.FACTORIES)
    for name, settings in SETTINGS.items():
        assert len(settings) >= (1 if name == "signsgd" else 2), name


@pytest.mark.parametrize("name,index", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_trajectory_matches_reference_from_a_nonzero_state(name, index):
    kwargs = SETTINGS[name][index]
    opt = optim.FACTORIES[name](**kwargs)
    slots0 = initial_slots(opt.slots)
    ref, _ = reference(name, kwargs)
    want = ref(slots0)
    got = simlab_trajectory(opt, slots0)
    assert np.all(np.isfinite(want)) and relative_error(want[-1], W0) > 1e-3    # it moved
    assert relative_error(got, want) <= TOL


# ------------------------------------------------------------------------------------------------
# Deliberately wrong variants are rejected by the same check
# ------------------------------------------------------------------------------------------------

class SwappedLion(NamedTuple):
    b1: float
    b2: float


def swapped_lion_update(h, s, u, gsq, w, m):
    """WRONG on purpose: the momentum is updated before the interpolation."""
    m = h.b2 * m + (1.0 - h.b2) * u
    c = h.b1 * m + (1.0 - h.b1) * u
    return transforms.sign(c), m


@pytest.fixture
def swapped_lion_registered(monkeypatch):
    """``SwappedLion`` in (copies of) the transform tables, for one test only."""
    monkeypatch.setattr(transforms, "TRANSFORMS", dict(transforms.TRANSFORMS))
    monkeypatch.setattr(transforms, "_ARRAY", dict(transforms._ARRAY))
    transforms.register_transform(SwappedLion, swapped_lion_update, transforms.no_scalars, ("m",))


WRONG = {
    "lion with interpolation and momentum update swapped": (
        "lion", {"b1": 0.9, "b2": 0.99, "weight_decay": 0.1},
        lambda k: [SwappedLion(k["b1"], k["b2"]), transforms.add_decayed_weights(k["weight_decay"]),
                   transforms.scale_by_learning_rate()]),
    "adamw with coupled L2 decay": (
        "adamw", {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.1},
        lambda k: [transforms.add_decayed_weights(k["weight_decay"]),
                   transforms.scale_by_adam(k["b1"], k["b2"], k["eps"], True)]),
    "adamw with the decay outside the learning rate": (
        "adamw", {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.1},
        lambda k: [transforms.scale_by_adam(k["b1"], k["b2"], k["eps"], True),
                   transforms.scale_by_learning_rate(),         # −η (−η m̂/…): wrong on purpose
                   transforms.decoupled_weight_decay(k["weight_decay"])]),
    "ademamix without its slow EMA": (
        "ademamix", {"b1": 0.9, "b2": 0.99, "b3": 0.999, "alpha": 5.0, "eps": 1e-8},
        lambda k: [transforms.scale_by_ademamix(k["b1"], k["b2"], k["b3"], 0.0, k["eps"]),
                   transforms.decoupled_weight_decay(0.0)]),
    "signum with the sign of the gradient": (
        "signum", {"beta": 0.9},
        lambda k: [transforms.scale_by_sign(), transforms.trace(k["beta"], ema=True),
                   transforms.scale_by_learning_rate()]),
}


@pytest.mark.parametrize("label", list(WRONG))
def test_a_wrong_variant_is_rejected(label, swapped_lion_registered):
    name, kwargs, build = WRONG[label]
    right = optim.FACTORIES[name](**kwargs)
    wrong = optim.Optimizer(name, tuple(build(kwargs)), {})
    assert trajectory_error(right, name, kwargs) <= TOL
    assert trajectory_error(wrong, name, kwargs) > 1e3 * TOL, label
