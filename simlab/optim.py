"""How one step is taken: the ONE table of optimizers, as (init, update) pairs over an explicit state.

Every optimizer here is *coordinate-wise*: one step is

    s = per_step(t, lr, hyper)                       # the step's scalars, once per step
    step, m, v = rule(g, gsq, m, v, s, hyper)        # elementwise, for every coordinate

of the gradient ``g`` (and ``gsq``, the squared gradient that adaptive methods average: ``g*g``
normally, the mean of squared micro-batch gradients for batch-size-invariant Adam), the two state
slots ``m`` and ``v``, the 1-based step count ``t``, the learning rate ``lr`` and a record of named
hyper-parameters (a NamedTuple, booleans as booleans). The new iterate is ``w + step``. The split
keeps the per-coordinate work branch-free (Adam's bias correction is a per-step factor).

``RULES`` is the table: hyper-parameter record type → ``Rule(per_step, rule)``. It is the only
place an update rule is written. The rules are plain scalar Python with ``sqrt`` (``math.sqrt``) and the branch-free
``sign`` below, so the very same source runs

* on numpy arrays in ``Optimizer.update`` and the reference backend (``sqrt`` rebound to
  ``numpy.sqrt`` by ``array_rule``),
* compiled for float64 scalars by the numba backend and, unchanged, by numba.cuda.

Every backend dispatches on the type of the hyper-parameter record, so a rule is selected by the
table and nothing else (no index to keep in step, no fall-through branch).

Only adaptive momentum clipping has a per-run (non-elementwise) part: the clipping threshold is a
quantile over the coordinates of each run (``clip_top_fraction``).

Style follows optax: ``opt.init(w0) -> state``, ``opt.update(g, state, lr) -> (step, state)``;
variants are parameters, not subclasses. To add an optimizer: a hyper-parameter record, its
per-step and elementwise functions, a row in ``RULES`` and a factory in ``FACTORIES`` — all in
this file.
"""
from __future__ import annotations

import math
import types
from dataclasses import dataclass, field, replace
from math import sqrt
from numbers import Real
from typing import Callable, NamedTuple

import numpy as np

from . import _checks


class OptState(NamedTuple):
    """Optimizer state: step count and two coordinate-wise slots (momentum ``m``, second moment ``v``)."""
    count: int
    m: object
    v: object


def sign(x):
    """sign(x) ∈ {−1, 0, 1} without a branch (0 for x = 0, and for NaN)."""
    return 1.0 * (x > 0.0) - 1.0 * (x < 0.0)


# ------------------------------------------------------------------------------------------------
# Hyper-parameter records and their elementwise rules
# ------------------------------------------------------------------------------------------------

class SGDHyper(NamedTuple):
    momentum: float
    ema: bool
    nesterov: bool


def learning_rate_only(t, lr, h):
    """The per-step scalars of rules that need only the learning rate: (η_t,)."""
    return (lr,)


def sgd_rule(g, gsq, m, v, s, h: SGDHyper):
    """SGD with optional momentum (Sutskever et al. 2013; torch.optim.SGD).

    m_t = β m_{t-1} + c g_t,  c = 1 (heavy ball) or 1 − β (``ema``);
    step = −η m_t, or with Nesterov −η (c g_t + β m_t).  β = 0 is plain SGD: step = −η g_t.
    """
    c = 1.0 - h.momentum if h.ema else 1.0
    m = h.momentum * m + c * g
    direction = c * g + h.momentum * m if h.nesterov else m
    return -s[0] * direction, m, v


class AdamHyper(NamedTuple):
    b1: float
    b2: float
    eps: float
    bias_correction: bool


def adam_per_step(t, lr, h: AdamHyper):
    """(η/c₁, 1/√c₂) with c_i = 1 − β_i^t, or (η, 1) without bias correction."""
    if h.bias_correction:
        return (lr / (1.0 - h.b1 ** t), 1.0 / sqrt(1.0 - h.b2 ** t))
    return (lr, 1.0)


def adam_rule(g, gsq, m, v, s, h: AdamHyper):
    """Adam (Kingma & Ba 2015, Alg. 1), ε outside the square root as in torch.optim.Adam.

    m_t = β1 m_{t-1} + (1 − β1) g_t,   v_t = β2 v_{t-1} + (1 − β2) gsq_t,
    with bias correction  m̂ = m_t/(1 − β1^t),  v̂ = v_t/(1 − β2^t);  step = −η m̂/(√v̂ + ε),
    evaluated as torch does, −(η/c₁) m_t/(√v_t/√c₂ + ε), with c_i = 1 − β_i^t (1 without bias
    correction) computed once per step by ``adam_per_step``.
    gsq_t = g_t² for Adam; the mean of squared micro-batch gradients for batch-size-invariant
    Adam (Wang & Aitchison, Alg. 2). With β1 = β2 = β, no bias correction and zero init this is
    the "variance form" of Orvieto & Gower (2025, Prop. 1) used in the toy of Srećković et al.
    """
    m = h.b1 * m + (1.0 - h.b1) * g
    v = h.b2 * v + (1.0 - h.b2) * gsq
    return -s[0] * m / (sqrt(v) * s[1] + h.eps), m, v


class RMSpropHyper(NamedTuple):
    beta: float
    eps: float


def rmsprop_rule(g, gsq, m, v, s, h: RMSpropHyper):
    """RMSprop (Tieleman & Hinton 2012; torch.optim.RMSprop with alpha = β, centered=False).

    v_t = β v_{t-1} + (1 − β) gsq_t;  step = −η g_t/(√v_t + ε).
    """
    v = h.beta * v + (1.0 - h.beta) * gsq
    return -s[0] * g / (sqrt(v) + h.eps), m, v


class SignumHyper(NamedTuple):
    beta: float


def signum_rule(g, gsq, m, v, s, h: SignumHyper):
    """Signum (Bernstein et al. 2018): m_t = β m_{t-1} + (1 − β) g_t; step = −η sign(m_t).

    β = 0 is SignSGD: step = −η sign(g_t). sign(0) = 0.
    """
    m = h.beta * m + (1.0 - h.beta) * g
    return -s[0] * sign(m), m, v


class Rule(NamedTuple):
    """One row of the table: the per-step scalars and the elementwise update."""
    per_step: Callable
    update: Callable


#: THE optimizer table: hyper-parameter record type → its rule.
RULES: dict[type, Rule] = {
    SGDHyper: Rule(learning_rate_only, sgd_rule),
    AdamHyper: Rule(adam_per_step, adam_rule),
    RMSpropHyper: Rule(learning_rate_only, rmsprop_rule),
    SignumHyper: Rule(learning_rate_only, signum_rule),
}


def _rebind(func, **names):
    """``func``'s own code with some global names bound to other objects."""
    scope = dict(func.__globals__)
    scope.update(names)
    return types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__,
                              func.__closure__)


_ARRAY_RULES = {cls: Rule(_rebind(r.per_step, sqrt=np.sqrt), _rebind(r.update, sqrt=np.sqrt))
                for cls, r in RULES.items()}


def array_rule(hyper) -> Rule:
    """The rule of ``hyper``'s type for numpy (or cupy) arrays: the table's source with ``sqrt``
    = ``numpy.sqrt``."""
    return _ARRAY_RULES[type(hyper)]


def clip_top_fraction(step, fraction):
    """Adaptive momentum clipping (Srećković et al. 2025, Alg. 1), per run over the last axis.

    τ = (1 − p)-quantile of |step| (numpy's linear interpolation); step ← sign(step)·min(|step|, τ).
    Since step = −η m_t with one η per run, clipping the step equals clipping the momentum.
    """
    a = np.abs(step)
    tau = np.quantile(a, 1.0 - fraction, axis=-1, keepdims=True)
    return np.sign(step) * np.minimum(a, tau)


def clip_by_global_norm(g, gsq, max_norm):
    """Global-norm clipping (Pascanu et al. 2013; optax.clip_by_global_norm), per run over the
    last axis: g ← g·min(1, c/|g|) (``torch.nn.utils.clip_grad_norm_`` divides by |g| + 1e-6);
    a given ``gsq`` (the micro-batch mean of squares of batch-size-invariant Adam) scales by the
    square of the same factor."""
    norm = np.sqrt((g * g).sum(axis=-1, keepdims=True))
    with np.errstate(divide="ignore"):
        factor = np.minimum(1.0, max_norm / norm)
    return g * factor, (None if gsq is None else gsq * (factor * factor))


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: a hyper-parameter record (whose type selects the rule in ``RULES``).

    ``clip_fraction > 0`` adds the per-run clipping of adaptive momentum clipping;
    ``max_grad_norm > 0`` clips each run's gradient to that global norm before the rule
    (``clip_by_global_norm``);
    ``squares_microbatches`` marks batch-size-invariant variants, whose ``gsq`` is the mean of the
    squared micro-batch gradients rather than the square of the mean gradient. ``params`` are the
    factory's arguments (for labels, results and cache keys).
    """
    name: str
    hyper: NamedTuple
    params: dict = field(default_factory=dict)
    clip_fraction: float = 0.0
    squares_microbatches: bool = False
    max_grad_norm: float = 0.0

    def __post_init__(self):
        if type(self.hyper) not in RULES:
            raise ValueError(f"hyper={self.hyper!r} has no rule in simlab.optim.RULES (allowed "
                             f"record types: {', '.join(t.__name__ for t in RULES)})")

    @property
    def rule(self) -> Rule:
        """The rule (scalar source, see ``RULES``)."""
        return RULES[type(self.hyper)]

    def init(self, w0) -> OptState:
        """Zero slots shaped like ``w0`` (leading axes are independent runs)."""
        zeros = w0 * 0.0
        return OptState(0, zeros, zeros.copy() if hasattr(zeros, "copy") else zeros)

    def update(self, g, state: OptState, lr, gsq=None):
        """One step: returns ``(step, new_state)``; the new iterate is ``w + step``.

        ``lr`` is a scalar ≥ 0 or an array broadcastable against ``g`` (e.g. shape (runs, 1)).
        ``gsq`` defaults to ``g*g``; pass the micro-batch mean of squares for BSI variants.
        """
        if np.isscalar(lr) or getattr(lr, "ndim", 1) == 0:
            lr = _checks.in_range("lr", lr, 0.0)
        t = state.count + 1
        if self.max_grad_norm > 0.0:
            g, gsq = clip_by_global_norm(g, gsq, self.max_grad_norm)
        if gsq is None:
            gsq = g * g
        rule = array_rule(self.hyper)
        scalars = rule.per_step(float(t), lr, self.hyper)
        step, m, v = rule.update(g, gsq, state.m, state.v, scalars, self.hyper)
        if self.clip_fraction > 0.0:
            step = clip_top_fraction(step, self.clip_fraction)
        return step, OptState(t, m, v)

    def config(self) -> dict:
        """Resolved, hashable description (used for cache keys and result attributes)."""
        return {"name": self.name, **self.params}

    @property
    def label(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({inner})"


# ------------------------------------------------------------------------------------------------
# Factories
# ------------------------------------------------------------------------------------------------

def sgd(momentum: float = 0.0, nesterov: bool = False, ema: bool = False) -> Optimizer:
    """SGD; ``momentum`` β ∈ [0, 1); heavy ball m ← βm + g, or ``ema=True``: m ← βm + (1 − β)g."""
    beta = _checks.beta("momentum", momentum)
    nesterov = _checks.boolean("nesterov", nesterov)
    ema = _checks.boolean("ema", ema)
    if nesterov and beta == 0.0:
        raise ValueError("nesterov=True needs momentum > 0 (got momentum=0.0)")
    name = "sgd" if beta == 0.0 else "sgd_momentum"
    return Optimizer(name, SGDHyper(beta, ema, nesterov),
                     {"momentum": beta, "nesterov": nesterov, "ema": ema})


def adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         bias_correction: bool = True) -> Optimizer:
    """Adam with β1, β2 ∈ [0, 1), ε ≥ 0 and optional bias correction (see ``adam_rule``)."""
    b1 = _checks.beta("b1", b1)
    b2 = _checks.beta("b2", b2)
    eps = _checks.nonnegative("eps", eps)
    bias_correction = _checks.boolean("bias_correction", bias_correction)
    return Optimizer("adam", AdamHyper(b1, b2, eps, bias_correction),
                     {"b1": b1, "b2": b2, "eps": eps, "bias_correction": bias_correction})


def rmsprop(beta: float = 0.99, eps: float = 1e-8) -> Optimizer:
    """RMSprop with averaging coefficient β ∈ [0, 1) and ε ≥ 0 (see ``rmsprop_rule``)."""
    beta = _checks.beta("beta", beta)
    eps = _checks.nonnegative("eps", eps)
    return Optimizer("rmsprop", RMSpropHyper(beta, eps), {"beta": beta, "eps": eps})


def signsgd() -> Optimizer:
    """SignSGD: step = −η sign(g) (Bernstein et al. 2018)."""
    return Optimizer("signsgd", SignumHyper(0.0), {})


def signum(beta: float = 0.9) -> Optimizer:
    """Signum: the sign of an EMA of gradients, β ∈ [0, 1) (see ``signum_rule``)."""
    beta = _checks.beta("beta", beta)
    return Optimizer("signum", SignumHyper(beta), {"beta": beta})


def clipped_momentum(beta: float = 0.9, frac: float = 0.1) -> Optimizer:
    """SGD with adaptive momentum clipping (Srećković et al. 2025, Algorithm 1).

    m_t = β m_{t-1} + g_t;  τ_t = (1 − p)-quantile of |m_t|;  step = −η sign(m_t) min(|m_t|, τ_t),
    with p = ``frac`` ∈ (0, 1) the fraction of coordinates clipped.
    """
    beta = _checks.beta("beta", beta)
    frac = _checks.in_range("frac", frac, 0.0, 1.0, lo_closed=False, hi_closed=False)
    return Optimizer("clipped_momentum", SGDHyper(beta, False, False),
                     {"beta": beta, "frac": frac}, clip_fraction=frac)


def bsi_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
             bias_correction: bool = True) -> Optimizer:
    """Batch-size-invariant Adam (Wang & Aitchison, Alg. 2): Adam whose second moment averages
    the *squared micro-batch gradients* instead of squaring the mini-batch mean.

    With one micro-batch per mini-batch (κ = 1) it is Adam exactly. The micro-batch size is a
    property of the run, given to ``simulate(..., microbatch=M)``; the scaling rules η ∝ B,
    1 − β ∝ B (the paper's Eq 11, 13) are the caller's choice of ``lr``, ``b1``, ``b2``.
    """
    base = adam(b1, b2, eps, bias_correction)
    return Optimizer("bsi_adam", base.hyper, base.params, squares_microbatches=True)


def with_global_norm_clipping(optimizer: Optimizer, max_norm: float) -> Optimizer:
    """``optimizer`` with its gradient clipped to global norm ``max_norm`` > 0 before every step
    (``clip_by_global_norm``), as ``torch.nn.utils.clip_grad_norm_`` before ``opt.step()``."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer={optimizer!r} must be an Optimizer")
    max_norm = _checks.positive("max_norm", max_norm)
    return replace(optimizer, max_grad_norm=max_norm,
                   params={**optimizer.params, "max_grad_norm": max_norm})


#: Name → factory, for CLIs and table-driven tests.
FACTORIES = {
    "sgd": sgd, "adam": adam, "rmsprop": rmsprop, "signsgd": signsgd, "signum": signum,
    "clipped_momentum": clipped_momentum, "bsi_adam": bsi_adam,
}


def lr_array(lr, name: str = "lr") -> np.ndarray:
    """Validate learning rates: real numbers (not strings or booleans), finite and ≥ 0 (0 is
    allowed, e.g. a schedule's first step); a scalar or a non-empty 1-d list."""
    values = np.atleast_1d(np.asarray(lr, dtype=object))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a scalar or a non-empty 1-d list, got shape {values.shape}")
    out = np.empty(values.size)
    for i, value in enumerate(values.tolist()):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.integer, np.floating)):
            raise ValueError(f"{name}={value!r} must be a finite real number")
        out[i] = float(value)
        if not math.isfinite(out[i]) or out[i] < 0:
            raise ValueError(f"{name}={value!r} is outside the allowed range [0, inf) (finite)")
    if out.size > 1 and np.unique(out).size != out.size:
        raise ValueError(f"{name}={out.tolist()} has repeated values (each lr labels one row of "
                         "the results)")
    return out

