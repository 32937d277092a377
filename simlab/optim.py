"""How one step is taken: the ONE table of optimizers, as (init, update) pairs over an explicit state.

Every optimizer here is a *chain* of elementwise transforms (``simlab.transforms``, as in optax):
the gradient g enters as the running update u, each transform maps u, its own per-coordinate
state slots and the iterate w (read only) to a new u and new slots, and the last u is the step,
w ← w + u. One step is

    s_j = per_step_j(h_j, t, lr)                                # every transform's scalars, once
    u = g;  u, slots_j = update_j(h_j, s_j, u, gsq, w, *slots_j)  # elementwise, for j in order

with ``gsq`` the squared gradient that adaptive transforms average (``g*g`` normally, the mean of
squared micro-batch gradients for batch-size-invariant Adam), ``t`` the 1-based step count and
``h_j`` the transform's hyper-parameter record (a NamedTuple, booleans as booleans). The state is
sized from the chain: one slot per slot name of every transform (``Optimizer.slots``).

``FACTORIES`` is the table of optimizers: name → factory returning an ``Optimizer`` (its chain,
its parameters for labels and cache keys). Every backend — numpy (``Optimizer.update``, the
reference), numba and numba.cuda — runs the transforms' own scalar source and dispatches on their
record types, the compiled ones with the chain unrolled at compile time
(``transforms.kernel_chain``).

Two stages are not elementwise and stay options of ``Optimizer``: global-norm clipping of the
gradient (a norm over a run's coordinates) and the clipping quantile of adaptive momentum clipping
(``clip_top_fraction``).

Style follows optax: ``opt.init(w0) -> state``, ``opt.update(g, state, lr, params=w) ->
(step, state)``, on arrays or dicts of arrays; variants are parameters, not subclasses. To add an
optimizer that chains existing transforms: a factory and a row in ``FACTORIES``, in this file. To
add a transform: ``simlab/transforms.py`` (see there). ``docs/optimizers.md`` walks through both.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from numbers import Real
from typing import NamedTuple

import numpy as np

from . import _checks, transforms
from .transforms import sign  # noqa: F401  (re-exported: the branch-free sign of the rules)


class OptState(NamedTuple):
    """Optimizer state: the step count and the chain's per-coordinate slots (a tuple, one array —
    or one dict of arrays — per slot, in the order of ``Optimizer.slots``)."""
    count: int
    slots: tuple


def _tree_keys(tree):
    return list(tree) if isinstance(tree, dict) else None


def _flatten(tree, keys):
    """A dict of arrays as one 1-d vector (keys in order), and the shapes to split it back."""
    parts = [np.asarray(tree[k], dtype=float) for k in keys]
    return np.concatenate([p.ravel() for p in parts]), [p.shape for p in parts]


def _unflatten(vector, keys, shapes):
    out, first = {}, 0
    for key, shape in zip(keys, shapes):
        size = int(np.prod(shape))
        out[key] = vector[first:first + size].reshape(shape)
        first += size
    return out


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
    """An optimizer: a chain of elementwise transforms (``simlab.transforms``), applied in order.

    ``clip_fraction > 0`` adds the per-run clipping of adaptive momentum clipping after the chain
    (``clip_top_fraction``); ``max_grad_norm > 0`` clips each run's gradient to that global norm
    before it (``clip_by_global_norm``). Both are reductions over the coordinates of a run — the
    norm, a quantile — so they cannot be transforms, which see one coordinate at a time.
    ``squares_microbatches`` marks batch-size-invariant variants, whose ``gsq`` is the mean of the
    squared micro-batch gradients rather than the square of the mean gradient. ``params`` are the
    factory's arguments (for labels, results and cache keys).
    """
    name: str
    chain: tuple
    params: dict = field(default_factory=dict)
    clip_fraction: float = 0.0
    squares_microbatches: bool = False
    max_grad_norm: float = 0.0

    def __post_init__(self):
        transforms.check_chain(self.chain)

    @property
    def slots(self) -> tuple:
        """Names of the per-coordinate state slots, sized from the chain."""
        return transforms.chain_slots(self.chain)

    @property
    def n_slots(self) -> int:
        return len(self.slots)

    @property
    def reads_params(self) -> bool:
        """Whether a transform of the chain reads the iterate (``update`` then needs ``params``)."""
        return any(transforms.TRANSFORMS[type(h)].reads_w for h in self.chain)

    def init(self, w0) -> OptState:
        """Zero slots shaped like ``w0``: an array (leading axes are independent runs) or a dict
        of arrays (optax's pytrees, one level)."""
        keys = _tree_keys(w0)
        if keys is not None:
            return OptState(0, tuple({k: np.zeros_like(np.asarray(w0[k], dtype=float))
                                      for k in keys} for _ in range(self.n_slots)))
        return OptState(0, tuple(w0 * 0.0 for _ in range(self.n_slots)))

    def update(self, g, state: OptState, lr, gsq=None, params=None):
        """One step: returns ``(step, new_state)``; the new iterate is ``w + step``.

        ``g`` is an array (leading axes: runs) or a dict of arrays (then one run: the global norm
        and the clipping quantile are taken over all its entries, as optax does); ``lr`` a scalar
        ≥ 0 or an array broadcastable against ``g`` (e.g. shape (runs, 1)); ``gsq`` defaults to
        ``g*g`` (pass the micro-batch mean of squares for BSI variants); ``params`` is the iterate
        w, needed by chains that read it (weight decay, iterate averaging).
        """
        if np.isscalar(lr) or getattr(lr, "ndim", 1) == 0:
            lr = _checks.in_range("lr", lr, 0.0)
        if params is None and self.reads_params:
            raise ValueError(f"params=None: {self.label} reads the iterate (weight decay or "
                             "averaging); call update(g, state, lr, params=w)")
        keys = _tree_keys(g)
        if keys is None:
            return self._update(g, state, lr, gsq, params)
        if not np.isscalar(lr) and getattr(lr, "ndim", 1) != 0:
            raise ValueError(f"lr={lr!r} must be a scalar when g is a dict of arrays")
        flat_g, shapes = _flatten(g, keys)
        flat = lambda tree: None if tree is None else _flatten(tree, keys)[0]  # noqa: E731
        slots = tuple(flat(slot) for slot in state.slots)
        step, new = self._update(flat_g, OptState(state.count, slots), lr, flat(gsq), flat(params))
        return (_unflatten(step, keys, shapes),
                OptState(new.count, tuple(_unflatten(s, keys, shapes) for s in new.slots)))

    def _update(self, g, state, lr, gsq, params):
        t = state.count + 1
        if self.max_grad_norm > 0.0:
            g, gsq = clip_by_global_norm(g, gsq, self.max_grad_norm)
        if gsq is None:
            gsq = g * g
        w = 0.0 if params is None else params
        scalars = transforms.per_step_arrays(self.chain, float(t), lr)
        step, slots = transforms.update_arrays(self.chain, scalars, g, gsq, w, state.slots)
        if self.clip_fraction > 0.0:
            step = clip_top_fraction(step, self.clip_fraction)
        return step, OptState(t, slots)

    def config(self) -> dict:
        """Resolved, hashable description (used for cache keys and result attributes)."""
        return {"name": self.name, **self.params}

    @property
    def label(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({inner})"


# ------------------------------------------------------------------------------------------------
# Factories: each optimizer is a chain of the transforms of ``simlab.transforms``
# ------------------------------------------------------------------------------------------------

def chain(*records, name: str = "chain") -> Optimizer:
    """An optimizer from any transform records, applied in order (``optax.chain``), e.g.
    ``chain(transforms.scale_by_lion(0.9, 0.99), transforms.scale_by_learning_rate())``."""
    records = transforms.check_chain(tuple(records))
    return Optimizer(str(name), records, {"chain": repr(records)})


def sgd(momentum: float = 0.0, nesterov: bool = False, ema: bool = False) -> Optimizer:
    """SGD; ``momentum`` β ∈ [0, 1); heavy ball m ← βm + g, or ``ema=True``: m ← βm + (1 − β)g;
    step = −η m (or −η(c g + β m) with Nesterov). β = 0 is plain SGD: step = −η g.
    Chain: trace → scale_by_learning_rate."""
    beta = _checks.beta("momentum", momentum)
    nesterov = _checks.boolean("nesterov", nesterov)
    ema = _checks.boolean("ema", ema)
    if nesterov and beta == 0.0:
        raise ValueError("nesterov=True needs momentum > 0 (got momentum=0.0)")
    name = "sgd" if beta == 0.0 else "sgd_momentum"
    return Optimizer(name, (transforms.trace(beta, ema, nesterov),
                            transforms.scale_by_learning_rate()),
                     {"momentum": beta, "nesterov": nesterov, "ema": ema})


def adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         bias_correction: bool = True) -> Optimizer:
    """Adam with β1, β2 ∈ [0, 1), ε ≥ 0 and optional bias correction (``scale_by_adam``)."""
    b1 = _checks.beta("b1", b1)
    b2 = _checks.beta("b2", b2)
    eps = _checks.nonnegative("eps", eps)
    bias_correction = _checks.boolean("bias_correction", bias_correction)
    return Optimizer("adam", (transforms.scale_by_adam(b1, b2, eps, bias_correction),),
                     {"b1": b1, "b2": b2, "eps": eps, "bias_correction": bias_correction})


def adamw(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          weight_decay: float = 0.01) -> Optimizer:
    """AdamW (Loshchilov & Hutter 2019, Alg. 2, in torch.optim.AdamW's form): Adam's bias-corrected
    step plus the decoupled decay −η λ w. Chain: scale_by_adam → decoupled_weight_decay."""
    b1 = _checks.beta("b1", b1)
    b2 = _checks.beta("b2", b2)
    eps = _checks.nonnegative("eps", eps)
    weight_decay = _checks.nonnegative("weight_decay", weight_decay)
    return Optimizer("adamw", (transforms.scale_by_adam(b1, b2, eps, True),
                               transforms.decoupled_weight_decay(weight_decay)),
                     {"b1": b1, "b2": b2, "eps": eps, "weight_decay": weight_decay})


def rmsprop(beta: float = 0.99, eps: float = 1e-8) -> Optimizer:
    """RMSprop with averaging coefficient β ∈ [0, 1) and ε ≥ 0 (``scale_by_rms``)."""
    beta = _checks.beta("beta", beta)
    eps = _checks.nonnegative("eps", eps)
    return Optimizer("rmsprop", (transforms.scale_by_rms(beta, eps),), {"beta": beta, "eps": eps})


def _sign_chain(beta):
    return (transforms.trace(beta, ema=True), transforms.scale_by_sign(),
            transforms.scale_by_learning_rate())


def signsgd() -> Optimizer:
    """SignSGD: step = −η sign(g) (Bernstein et al. 2018): Signum with β = 0."""
    return Optimizer("signsgd", _sign_chain(0.0), {})


def signum(beta: float = 0.9) -> Optimizer:
    """Signum (Bernstein et al. 2018): m ← β m + (1 − β) g; step = −η sign(m), β ∈ [0, 1).
    Chain: trace(ema) → scale_by_sign → scale_by_learning_rate."""
    beta = _checks.beta("beta", beta)
    return Optimizer("signum", _sign_chain(beta), {"beta": beta})


def lion(b1: float = 0.9, b2: float = 0.99, weight_decay: float = 0.0) -> Optimizer:
    """Lion (Chen et al. 2023, Alg. 2): step = −η(sign(β1 m + (1 − β1) g) + λ w), then
    m ← β2 m + (1 − β2) g. Chain: scale_by_lion → add_decayed_weights → scale_by_learning_rate."""
    b1 = _checks.beta("b1", b1)
    b2 = _checks.beta("b2", b2)
    weight_decay = _checks.nonnegative("weight_decay", weight_decay)
    return Optimizer("lion", (transforms.scale_by_lion(b1, b2),
                              transforms.add_decayed_weights(weight_decay),
                              transforms.scale_by_learning_rate()),
                     {"b1": b1, "b2": b2, "weight_decay": weight_decay})


def ademamix(b1: float = 0.9, b2: float = 0.999, b3: float = 0.9999, alpha: float = 5.0,
             eps: float = 1e-8, weight_decay: float = 0.0, warmup: int = 0) -> Optimizer:
    """AdEMAMix (Pagliardini et al. 2024, Alg. 1): Adam's fast EMA m1 (β1, bias-corrected) mixed
    with a slow one m2 (β3, weight α), over Adam's second moment (β2), plus decoupled weight decay
    −η λ w; three slots. ``warmup`` T > 0 ramps α and β3 over T steps (the paper's schedulers);
    T = 0 keeps them constant. Chain: scale_by_ademamix → decoupled_weight_decay."""
    b1 = _checks.beta("b1", b1)
    b2 = _checks.beta("b2", b2)
    b3 = _checks.beta("b3", b3)
    alpha = _checks.nonnegative("alpha", alpha)
    eps = _checks.nonnegative("eps", eps)
    weight_decay = _checks.nonnegative("weight_decay", weight_decay)
    warmup = _checks.integer("warmup", warmup, lo=0)
    return Optimizer("ademamix", (transforms.scale_by_ademamix(b1, b2, b3, alpha, eps, warmup),
                                  transforms.decoupled_weight_decay(weight_decay)),
                     {"b1": b1, "b2": b2, "b3": b3, "alpha": alpha, "eps": eps,
                      "weight_decay": weight_decay, "warmup": warmup})


def clipped_momentum(beta: float = 0.9, frac: float = 0.1) -> Optimizer:
    """SGD with adaptive momentum clipping (Srećković et al. 2025, Algorithm 1).

    m_t = β m_{t-1} + g_t;  τ_t = (1 − p)-quantile of |m_t|;  step = −η sign(m_t) min(|m_t|, τ_t),
    with p = ``frac`` ∈ (0, 1) the fraction of coordinates clipped.
    """
    beta = _checks.beta("beta", beta)
    frac = _checks.in_range("frac", frac, 0.0, 1.0, lo_closed=False, hi_closed=False)
    return Optimizer("clipped_momentum", (transforms.trace(beta), transforms.scale_by_learning_rate()),
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
    return Optimizer("bsi_adam", base.chain, base.params, squares_microbatches=True)


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
    "sgd": sgd, "adam": adam, "adamw": adamw, "rmsprop": rmsprop, "signsgd": signsgd,
    "signum": signum, "lion": lion, "ademamix": ademamix, "clipped_momentum": clipped_momentum,
    "bsi_adam": bsi_adam,
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

