"""How one step is taken: optimizers as (init, update) pairs over an explicit state.

Every optimizer here is *coordinate-wise*: one step is an elementwise ``rule``

    step, m, v = rule(g, gsq, m, v, t, lr, h0, h1, h2, h3)

applied to the gradient ``g`` (and ``gsq``, the squared gradient that adaptive methods average:
``g*g`` normally, the mean of squared micro-batch gradients for batch-size-invariant Adam), the two
state slots ``m`` and ``v``, the 1-based step count ``t`` and the learning rate ``lr``, with up to
four float hyper-parameters. The same rule function runs on numpy (or cupy) arrays in
``Optimizer.update`` and the reference backend, and is compiled for scalars by the numba backend,
so the update rules are written exactly once. The new iterate is ``w + step``.

Only adaptive momentum clipping has a per-run (non-elementwise) part: the clipping threshold is a
quantile over the coordinates of each run (``clip_top_fraction``).

Style follows optax: ``opt.init(w0) -> state``, ``opt.update(g, state, lr) -> (step, state)``;
variants are parameters, not subclasses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from . import _checks


class OptState(NamedTuple):
    """Optimizer state: step count and two coordinate-wise slots (momentum ``m``, second moment ``v``)."""
    count: int
    m: object
    v: object


# --------------------------------------------------------------------------------------------
# Elementwise rules. Written with arithmetic and np.sqrt/np.sign only, so that they work on
# numpy/cupy arrays and compile under numba.njit for float64 scalars.
# --------------------------------------------------------------------------------------------

def sgd_rule(g, gsq, m, v, t, lr, beta, grad_coef, nesterov, unused):
    """SGD with optional momentum.

    m_t = β m_{t-1} + c g_t,  c = 1 (heavy ball) or 1 − β (EMA form);
    step = −η m_t, or with Nesterov −η (c g_t + β m_t)  (Sutskever et al. 2013; torch.optim.SGD).
    β = 0 gives plain SGD: step = −η g_t.
    """
    m = beta * m + grad_coef * g
    direction = m + nesterov * (grad_coef * g + beta * m - m)
    return -lr * direction, m, v


def adam_rule(g, gsq, m, v, t, lr, beta1, beta2, eps, bias_correction):
    """Adam (Kingma & Ba 2015, Alg. 1), ε outside the square root as in torch.optim.Adam.

    m_t = β1 m_{t-1} + (1 − β1) g_t,   v_t = β2 v_{t-1} + (1 − β2) gsq_t,
    with bias correction  m̂ = m_t/(1 − β1^t),  v̂ = v_t/(1 − β2^t);  step = −η m̂/(√v̂ + ε).
    gsq_t = g_t² for Adam; the mean of squared micro-batch gradients for batch-size-invariant
    Adam (Wang & Aitchison, Alg. 2). With β1 = β2 = β, no bias correction and zero init this is
    the "variance form" of Orvieto & Gower (2025, Prop. 1) used in the toy of Srećković et al.
    """
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * gsq
    c1 = 1.0 - bias_correction * beta1 ** t
    c2 = 1.0 - bias_correction * beta2 ** t
    return -lr * (m / c1) / (np.sqrt(v / c2) + eps), m, v


def rmsprop_rule(g, gsq, m, v, t, lr, beta, eps, unused1, unused2):
    """RMSprop (Tieleman & Hinton 2012; torch.optim.RMSprop with alpha = β, centered=False).

    v_t = β v_{t-1} + (1 − β) gsq_t;  step = −η g_t/(√v_t + ε).
    """
    v = beta * v + (1.0 - beta) * gsq
    return -lr * g / (np.sqrt(v) + eps), m, v


def signum_rule(g, gsq, m, v, t, lr, beta, unused0, unused1, unused2):
    """Signum (Bernstein et al. 2018): m_t = β m_{t-1} + (1 − β) g_t; step = −η sign(m_t).

    β = 0 is SignSGD: step = −η sign(g_t). sign(0) = 0.
    """
    m = beta * m + (1.0 - beta) * g
    return -lr * np.sign(m), m, v


def clip_top_fraction(step, fraction):
    """Adaptive momentum clipping (Srećković et al. 2025, Alg. 1), per run over the last axis.

    τ = (1 − p)-quantile of |step| (numpy's linear interpolation); step ← sign(step)·min(|step|, τ).
    Since step = −η m_t with one η per run, clipping the step equals clipping the momentum.
    """
    a = np.abs(step)
    tau = np.quantile(a, 1.0 - fraction, axis=-1, keepdims=True)
    return np.sign(step) * np.minimum(a, tau)


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: an elementwise ``rule`` with its hyper-parameters (see module docstring).

    ``clip_fraction > 0`` adds the per-run clipping of adaptive momentum clipping;
    ``squares_microbatches`` marks batch-size-invariant variants, whose ``gsq`` is the mean of the
    squared micro-batch gradients rather than the square of the mean gradient.
    """
    name: str
    rule: Callable
    hyper: tuple
    params: dict = field(default_factory=dict)
    clip_fraction: float = 0.0
    squares_microbatches: bool = False

    def init(self, w0) -> OptState:
        """Zero slots shaped like ``w0`` (leading axes are independent runs)."""
        zeros = w0 * 0.0
        return OptState(0, zeros, zeros.copy() if hasattr(zeros, "copy") else zeros)

    def update(self, g, state: OptState, lr, gsq=None):
        """One step: returns ``(step, new_state)``; the new iterate is ``w + step``.

        ``lr`` is a scalar or an array broadcastable against ``g`` (e.g. shape (runs, 1)).
        ``gsq`` defaults to ``g*g``; pass the micro-batch mean of squares for BSI variants.
        """
        t = state.count + 1
        if gsq is None:
            gsq = g * g
        step, m, v = self.rule(g, gsq, state.m, state.v, float(t), lr, *self.hyper)
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


def sgd(momentum: float = 0.0, nesterov: bool = False, ema: bool = False) -> Optimizer:
    """SGD; ``momentum`` β ∈ [0, 1); heavy ball m ← βm + g, or ``ema=True``: m ← βm + (1 − β)g."""
    beta = _checks.beta("momentum", momentum)
    if nesterov and beta == 0.0:
        raise ValueError("nesterov=True needs momentum > 0 (got momentum=0.0)")
    grad_coef = 1.0 - beta if ema else 1.0
    name = "sgd" if beta == 0.0 else "sgd_momentum"
    return Optimizer(name, sgd_rule, (beta, grad_coef, float(bool(nesterov)), 0.0),
                     {"momentum": beta, "nesterov": bool(nesterov), "ema": bool(ema)})


def adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         bias_correction: bool = True) -> Optimizer:
    """Adam with β1, β2 ∈ [0, 1), ε ≥ 0 and optional bias correction (see ``adam_rule``)."""
    b1 = _checks.beta("b1", b1)
    b2 = _checks.beta("b2", b2)
    eps = _checks.nonnegative("eps", eps)
    return Optimizer("adam", adam_rule, (b1, b2, eps, float(bool(bias_correction))),
                     {"b1": b1, "b2": b2, "eps": eps, "bias_correction": bool(bias_correction)})


def rmsprop(beta: float = 0.99, eps: float = 1e-8) -> Optimizer:
    """RMSprop with averaging coefficient β ∈ [0, 1) and ε ≥ 0 (see ``rmsprop_rule``)."""
    beta = _checks.beta("beta", beta)
    eps = _checks.nonnegative("eps", eps)
    return Optimizer("rmsprop", rmsprop_rule, (beta, eps, 0.0, 0.0), {"beta": beta, "eps": eps})


def signsgd() -> Optimizer:
    """SignSGD: step = −η sign(g) (Bernstein et al. 2018)."""
    return Optimizer("signsgd", signum_rule, (0.0, 0.0, 0.0, 0.0), {})


def signum(beta: float = 0.9) -> Optimizer:
    """Signum: the sign of an EMA of gradients, β ∈ [0, 1) (see ``signum_rule``)."""
    beta = _checks.beta("beta", beta)
    return Optimizer("signum", signum_rule, (beta, 0.0, 0.0, 0.0), {"beta": beta})


def clipped_momentum(beta: float = 0.9, frac: float = 0.1) -> Optimizer:
    """SGD with adaptive momentum clipping (Srećković et al. 2025, Algorithm 1).

    m_t = β m_{t-1} + g_t;  τ_t = (1 − p)-quantile of |m_t|;  step = −η sign(m_t) min(|m_t|, τ_t),
    with p = ``frac`` ∈ (0, 1) the fraction of coordinates clipped.
    """
    beta = _checks.beta("beta", beta)
    frac = _checks.in_range("frac", frac, 0.0, 1.0, lo_closed=False, hi_closed=False)
    return Optimizer("clipped_momentum", sgd_rule, (beta, 1.0, 0.0, 0.0),
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
    return Optimizer("bsi_adam", adam_rule, base.hyper, base.params, squares_microbatches=True)


#: Name → factory, for CLIs and table-driven tests.
FACTORIES = {
    "sgd": sgd, "adam": adam, "rmsprop": rmsprop, "signsgd": signsgd, "signum": signum,
    "clipped_momentum": clipped_momentum, "bsi_adam": bsi_adam,
}


def lr_array(lr, name: str = "lr") -> np.ndarray:
    """Validate learning rates: finite and ≥ 0 (0 is allowed, e.g. a schedule's first step)."""
    arr = np.atleast_1d(np.asarray(lr, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a scalar or a non-empty 1-d list, got shape {arr.shape}")
    for value in arr.tolist():
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}={value!r} is outside the allowed range [0, inf) (finite)")
    return arr
