"""Elementwise gradient transformations: the pieces every optimizer of ``simlab.optim`` is a chain of.

An optimizer is a *chain* of transforms, as in optax (``optax.chain``): the gradient g enters as
the running update u, each transform maps u to a new u, and the last u is the step, w ← w + u.
Every transform is *coordinate-wise* and may keep any number of per-coordinate state slots and
read the iterate w. One transform is a hyper-parameter record (a NamedTuple whose type names the
transform, booleans as booleans) registered in ``TRANSFORMS`` with

    slots                             the names of its per-coordinate state slots (zero or more)
    per_step(h, t, lr) -> tuple       its scalars of step t (1-based) at learning rate lr, once per step
    update(h, s, u, gsq, w, *slots) -> (u', *slots')                  elementwise, every coordinate

with ``gsq`` the squared-gradient estimate (g² normally; the mean of squared micro-batch gradients
for batch-size-invariant Adam) and ``w`` the iterate before the step. The split keeps the
per-coordinate work branch-free (Adam's bias correction is a per-step factor). The functions are
plain scalar Python with ``sqrt`` (``math.sqrt``), the branch-free ``sign`` below and the
arithmetic-only powers, exponentials and logarithms of ``simlab.portable_math`` (no libm call, whose
last bit differs between CPU, GPU and Python), so
the very same source runs on numpy arrays (``Optimizer.update``, the reference backend: ``sqrt``
rebound to ``numpy.sqrt``), compiled by numba for the CPU and by numba.cuda for the device. A
compiled backend unrolls a chain at compile time: ``kernel_chain`` writes, for the tuple of record
types, straight-line code calling each transform's functions in order on its own slots (one
function per chain type, compiled and inlined like every other scalar function).

The learning rate. A chain ends in the step, −η·(…): ``scale_by_learning_rate``, or an adaptive
transform that folds −η into its numerator as torch does, −(η/c₁) m/(√v/√c₂ + ε) (rounding makes
(η m)/d and η (m/d) differ in the last bit, and the optimizers kept their numbers bit for bit when
they became chains). Transforms placed after it add terms already scaled by η (decoupled weight
decay, −η λ w); transforms before it act on the raw gradient scale (``add_decayed_weights``).

Adding a transform is this file only: a record, its functions, a ``register_transform`` call and a
factory (a lower-case function returning the record). Non-elementwise stages (global-norm
clipping, the quantile of adaptive momentum clipping) are reductions over the coordinates of a run
and are not transforms; see ``simlab.optim.Optimizer`` and ``docs/optimizers.md``.
"""
from __future__ import annotations

import types
from math import sqrt
from typing import Callable, NamedTuple

import numpy as np

from .portable_math import exp, int_power, log


def sign(x):
    """sign(x) ∈ {−1, 0, 1} without a branch (0 for x = 0, and for NaN)."""
    return 1.0 * (x > 0.0) - 1.0 * (x < 0.0)


class Transform(NamedTuple):
    """One row of ``TRANSFORMS``: slot names, per-step scalars, elementwise update (module doc),
    and whether the update reads the iterate w (``Optimizer.update`` then needs ``params``)."""
    slots: tuple
    per_step: Callable
    update: Callable
    reads_w: bool


#: THE transform table: record type → its functions. A compiled backend dispatches on the record
#: type (``transform_functions`` lists the scalar functions compiled for it).
TRANSFORMS: dict[type, Transform] = {}
_ARRAY: dict[type, Transform] = {}


def _rebind(func, **names):
    """``func``'s own code with some global names bound to other objects."""
    scope = dict(func.__globals__)
    scope.update(names)
    return types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__,
                              func.__closure__)


def register_transform(record_type: type, update: Callable, per_step: Callable,
                       slots: tuple = (), reads_w: bool = False) -> None:
    """Register transform ``record_type`` (see the module docstring)."""
    if not (isinstance(record_type, type) and issubclass(record_type, tuple)
            and hasattr(record_type, "_fields")):
        raise ValueError(f"record_type={record_type!r} must be a NamedTuple class")
    slots = tuple(str(s) for s in slots)
    TRANSFORMS[record_type] = Transform(slots, per_step, update, bool(reads_w))
    _ARRAY[record_type] = Transform(slots, _rebind(per_step, sqrt=np.sqrt),
                                    _rebind(update, sqrt=np.sqrt), bool(reads_w))


def transform_functions(record_type: type) -> tuple:
    """The scalar functions a compiled backend compiles for ``record_type`` (per_step, update)."""
    entry = TRANSFORMS[record_type]
    return entry.per_step, entry.update


def learning_rate_only(h, t, lr):
    """The per-step scalars of transforms that need only the learning rate: (η_t,)."""
    return (lr,)


def no_scalars(h, t, lr):
    """The per-step scalars of transforms that need none."""
    return ()


# ------------------------------------------------------------------------------------------------
# The transforms
# ------------------------------------------------------------------------------------------------

class Trace(NamedTuple):
    momentum: float
    ema: bool
    nesterov: bool


def trace_update(h: Trace, s, u, gsq, w, m):
    """Momentum (Sutskever et al. 2013; torch.optim.SGD; optax.trace): m ← β m + c u, c = 1 (heavy
    ball) or 1 − β (``ema``); u ← m, or with Nesterov c u + β m."""
    c = 1.0 - h.momentum if h.ema else 1.0
    m = h.momentum * m + c * u
    direction = c * u + h.momentum * m if h.nesterov else m
    return direction, m


def trace(momentum: float, ema: bool = False, nesterov: bool = False) -> Trace:
    return Trace(float(momentum), bool(ema), bool(nesterov))


class ScaleByLearningRate(NamedTuple):
    pass


def scale_by_learning_rate_update(h, s, u, gsq, w):
    """u ← −η_t u (the step of a descent direction)."""
    return (-s[0] * u,)


def scale_by_learning_rate() -> ScaleByLearningRate:
    return ScaleByLearningRate()


class ScaleBySign(NamedTuple):
    pass


def scale_by_sign_update(h, s, u, gsq, w):
    """u ← sign(u), sign(0) = 0 (Bernstein et al. 2018)."""
    return (sign(u),)


def scale_by_sign() -> ScaleBySign:
    return ScaleBySign()


class ScaleByAdam(NamedTuple):
    b1: float
    b2: float
    eps: float
    bias_correction: bool


def scale_by_adam_per_step(h: ScaleByAdam, t, lr):
    """(η/c₁, 1/√c₂) with c_i = 1 − β_i^t (``int_power``: the same bits on every backend), or
    (η, 1) without bias correction."""
    if h.bias_correction:
        return (lr / (1.0 - int_power(h.b1, t)), 1.0 / sqrt(1.0 - int_power(h.b2, t)))
    return (lr, 1.0)


def scale_by_adam_update(h: ScaleByAdam, s, u, gsq, w, m, v):
    """Adam's step (Kingma & Ba 2015, Alg. 1), ε outside the square root as in torch.optim.Adam.

    m ← β1 m + (1 − β1) u,  v ← β2 v + (1 − β2) gsq;  with bias correction m̂ = m/(1 − β1^t),
    v̂ = v/(1 − β2^t);  u ← −η m̂/(√v̂ + ε), evaluated as torch does, −(η/c₁) m/(√v/√c₂ + ε)
    (c_i = 1 − β_i^t, 1 without bias correction). gsq = g² for Adam; the mean of squared
    micro-batch gradients for batch-size-invariant Adam (Wang & Aitchison, Alg. 2). With
    β1 = β2 = β, no bias correction and zero init this is the "variance form" of Orvieto & Gower
    (2025, Prop. 1) used in the toy of Srećković et al.
    """
    m = h.b1 * m + (1.0 - h.b1) * u
    v = h.b2 * v + (1.0 - h.b2) * gsq
    return -s[0] * m / (sqrt(v) * s[1] + h.eps), m, v


def scale_by_adam(b1: float, b2: float, eps: float, bias_correction: bool = True) -> ScaleByAdam:
    return ScaleByAdam(float(b1), float(b2), float(eps), bool(bias_correction))


class ScaleByRMS(NamedTuple):
    beta: float
    eps: float


def scale_by_rms_update(h: ScaleByRMS, s, u, gsq, w, v):
    """RMSprop's step (Tieleman & Hinton 2012; torch.optim.RMSprop, alpha = β, centered=False):
    v ← β v + (1 − β) gsq;  u ← −η u/(√v + ε)."""
    v = h.beta * v + (1.0 - h.beta) * gsq
    return -s[0] * u / (sqrt(v) + h.eps), v


def scale_by_rms(beta: float, eps: float) -> ScaleByRMS:
    return ScaleByRMS(float(beta), float(eps))


class ScaleByLion(NamedTuple):
    b1: float
    b2: float


def scale_by_lion_update(h: ScaleByLion, s, u, gsq, w, m):
    """Lion's direction (Chen et al. 2023, Alg. 2): c = β1 m + (1 − β1) u;  u ← sign(c);  then
    m ← β2 m + (1 − β2) u (the interpolation uses the *old* m)."""
    c = h.b1 * m + (1.0 - h.b1) * u
    m = h.b2 * m + (1.0 - h.b2) * u
    return sign(c), m


def scale_by_lion(b1: float, b2: float) -> ScaleByLion:
    return ScaleByLion(float(b1), float(b2))


class ScaleByAdEMAMix(NamedTuple):
    b1: float
    b2: float
    b3: float
    alpha: float
    eps: float
    warmup: int


def scale_by_ademamix_per_step(h: ScaleByAdEMAMix, t, lr):
    """(η, 1/c₁, 1/√c₂, α_t, β3_t), c_i = 1 − β_i^t, with the schedulers of Pagliardini et al.
    (2024, Alg. 1 and Eq. 2–3) over T = ``warmup`` steps (T = 0: α, β3 constant):
    α_t = min(tα/T, α),  β3_t = min(exp(ln β1 ln β3 / ((1 − t/T) ln β3 + (t/T) ln β1)), β3)
    (exp, ln and β^t of ``simlab.portable_math``)."""
    alpha = h.alpha
    b3 = h.b3
    if h.warmup > 0:
        frac = t / h.warmup
        alpha = min(frac * h.alpha, h.alpha)
        if h.b1 > 0.0 and h.b3 > 0.0:
            lb1 = log(h.b1)
            lb3 = log(h.b3)
            b3 = min(exp(lb1 * lb3 / ((1.0 - frac) * lb3 + frac * lb1)), h.b3)
    return (lr, 1.0 / (1.0 - int_power(h.b1, t)), 1.0 / sqrt(1.0 - int_power(h.b2, t)), alpha,
            b3)


def scale_by_ademamix_update(h: ScaleByAdEMAMix, s, u, gsq, w, m1, m2, v):
    """AdEMAMix's step (Pagliardini et al. 2024, Alg. 1): a fast and a slow EMA of the gradient
    and Adam's second moment,

        m1 ← β1 m1 + (1 − β1) u,  m2 ← β3_t m2 + (1 − β3_t) u,  v ← β2 v + (1 − β2) gsq,
        u ← −η (m1/c₁ + α_t m2)/(√(v/c₂) + ε)      (the slow EMA m2 is not bias-corrected),

    evaluated as −η (m1/c₁ + α_t m2)/(√v/√c₂ + ε)."""
    m1 = h.b1 * m1 + (1.0 - h.b1) * u
    m2 = s[4] * m2 + (1.0 - s[4]) * u
    v = h.b2 * v + (1.0 - h.b2) * gsq
    return -s[0] * (m1 * s[1] + s[3] * m2) / (sqrt(v) * s[2] + h.eps), m1, m2, v


def scale_by_ademamix(b1: float, b2: float, b3: float, alpha: float, eps: float,
                      warmup: int = 0) -> ScaleByAdEMAMix:
    return ScaleByAdEMAMix(float(b1), float(b2), float(b3), float(alpha), float(eps), int(warmup))


class AddDecayedWeights(NamedTuple):
    weight_decay: float


def add_decayed_weights_update(h: AddDecayedWeights, s, u, gsq, w):
    """u ← u + λ w (optax.add_decayed_weights): before the learning rate, −η(u + λw) is the
    decoupled decay of Lion (Chen et al. 2023, Alg. 2) and of optax's AdamW."""
    return (u + h.weight_decay * w,)


def add_decayed_weights(weight_decay: float) -> AddDecayedWeights:
    return AddDecayedWeights(float(weight_decay))


class DecoupledWeightDecay(NamedTuple):
    weight_decay: float


def decoupled_weight_decay_update(h: DecoupledWeightDecay, s, u, gsq, w):
    """u ← u − η λ w, after a step that already holds −η (Loshchilov & Hutter 2019, Alg. 2 with
    the schedule multiplier in η; torch.optim.AdamW's w ← w(1 − ηλ) before its Adam step)."""
    return (u - s[0] * h.weight_decay * w,)


def decoupled_weight_decay(weight_decay: float) -> DecoupledWeightDecay:
    return DecoupledWeightDecay(float(weight_decay))


class EMAOfIterates(NamedTuple):
    decay: float


def ema_of_iterates_update(h: EMAOfIterates, s, u, gsq, w, average):
    """Iterate averaging (Polyak & Juditsky 1992, exponential form), last in a chain: the slot
    tracks  ā ← β ā + (1 − β)(w + u),  an EMA of the new iterates; the step u is unchanged."""
    return u, h.decay * average + (1.0 - h.decay) * (w + u)


def ema_of_iterates(decay: float) -> EMAOfIterates:
    return EMAOfIterates(float(decay))


register_transform(Trace, trace_update, no_scalars, ("m",))
register_transform(ScaleByLearningRate, scale_by_learning_rate_update, learning_rate_only)
register_transform(ScaleBySign, scale_by_sign_update, no_scalars)
register_transform(ScaleByAdam, scale_by_adam_update, scale_by_adam_per_step, ("m", "v"))
register_transform(ScaleByRMS, scale_by_rms_update, learning_rate_only, ("v",))
register_transform(ScaleByLion, scale_by_lion_update, no_scalars, ("m",))
register_transform(ScaleByAdEMAMix, scale_by_ademamix_update, scale_by_ademamix_per_step,
                   ("m1", "m2", "v"))
register_transform(AddDecayedWeights, add_decayed_weights_update, no_scalars, reads_w=True)
register_transform(DecoupledWeightDecay, decoupled_weight_decay_update, learning_rate_only,
                   reads_w=True)
register_transform(EMAOfIterates, ema_of_iterates_update, no_scalars, ("average",), reads_w=True)


# ------------------------------------------------------------------------------------------------
# Chains
# ------------------------------------------------------------------------------------------------

def check_chain(chain) -> tuple:
    """``chain`` as a tuple of registered transform records; ValueError otherwise."""
    if not isinstance(chain, tuple) or hasattr(chain, "_fields") or not chain:
        raise ValueError(f"chain={chain!r} must be a non-empty tuple of transform records")
    for record in chain:
        if type(record) not in TRANSFORMS:
            raise ValueError(f"{record!r} has no entry in simlab.transforms.TRANSFORMS (allowed "
                             f"record types: {', '.join(t.__name__ for t in TRANSFORMS)})")
    return chain


def chain_slots(chain) -> tuple:
    """The chain's slot names, in state order: each transform's own names ("m", "v", …), prefixed
    by the transform's position ("0.m") where two transforms name a slot alike."""
    names = [(i, name) for i, h in enumerate(chain) for name in TRANSFORMS[type(h)].slots]
    plain = [name for _, name in names]
    return tuple(name if plain.count(name) == 1 else f"{i}.{name}" for i, name in names)


def per_step_arrays(chain, t, lr) -> tuple:
    """Every transform's per-step scalars (``lr`` may be an array broadcastable to the runs)."""
    return tuple(_ARRAY[type(h)].per_step(h, t, lr) for h in chain)


def update_arrays(chain, scalars, g, gsq, w, slots):
    """(step, new slots): the chain applied to arrays, transform after transform (the
    definition the compiled code unrolls)."""
    u = g
    new = []
    first = 0
    for h, s in zip(chain, scalars):
        entry = _ARRAY[type(h)]
        count = len(entry.slots)
        result = entry.update(h, s, u, gsq, w, *slots[first:first + count])
        u = result[0]
        new.extend(result[1:])
        first += count
    return u, tuple(new)


_KERNEL_CHAINS: dict = {}


def kernel_chain(record_types: tuple):
    """(per_step, update) for a chain of these record types as straight-line scalar code:

        per_step(chain, t, lr) -> (s_0, s_1, …)
        update(chain, s, u, gsq, w, state, i) -> step     (state[j, i] = slot j, updated in place)

    calling every transform's own functions in turn (generated once per tuple of types, so that a
    compiler sees no loop over the chain and no dispatch). Memoized."""
    record_types = tuple(record_types)
    if record_types in _KERNEL_CHAINS:
        return _KERNEL_CHAINS[record_types]
    scope = {"__name__": __name__}
    steps = []
    lines = []
    slot = 0
    for j, cls in enumerate(record_types):
        if cls not in TRANSFORMS:
            raise ValueError(f"{cls.__name__} has no entry in simlab.transforms.TRANSFORMS")
        entry = TRANSFORMS[cls]
        scope[f"per_step_{j}"] = entry.per_step
        scope[f"update_{j}"] = entry.update
        steps.append(f"per_step_{j}(chain[{j}], t, lr)")
        cells = [f"state[{slot + q}, i]" for q in range(len(entry.slots))]
        slot += len(entry.slots)
        call = f"update_{j}(chain[{j}], s[{j}], u, gsq, w{''.join(', ' + c for c in cells)})"
        lines.append(f"    u, {', '.join(cells)} = {call}" if cells else f"    u = {call}[0]")
    source = ("def chain_per_step(chain, t, lr):\n"
              f"    return ({''.join(s + ', ' for s in steps)})\n\n\n"
              "def chain_update(chain, s, u, gsq, w, state, i):\n"
              + "\n".join(lines) + "\n    return u\n")
    code = compile(source, f"<simlab chain {'+'.join(c.__name__ for c in record_types)}>", "exec")
    exec(code, scope)
    _KERNEL_CHAINS[record_types] = (scope["chain_per_step"], scope["chain_update"])
    return _KERNEL_CHAINS[record_types]
