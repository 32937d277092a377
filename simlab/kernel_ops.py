"""The per-run operations that compiled backends call, registered by the type of a record.

A problem (what is optimized) or a dynamics (how the iterate moves: an optimizer, an SDE) hands a
compiled backend a *record* — a NamedTuple of arrays and numbers whose type names what it is —
and registers, for that record type, plain scalar Python functions that operate on one run:

problem operations (``register_problem``), ``P`` the problem's record, ``w`` one run's iterate:
    ``loss(P, w) -> float``                                 the full-batch loss
    ``gradient(P, w, out)``                                 out[:] = ∇L(w)
    data problems (a finite sample set; per-sample losses ℓ_i with L = (1/n) Σ ℓ_i):
    ``n_samples(P) -> int``
    ``add_sample_gradient(P, w, i, weight, out)``           out += weight · ∇ℓ_i(w)
    ``add_sample_gradients(P, w, idx, start, stop, out)``   out += Σ_{b∈[start,stop)} ∇ℓ_{idx[b]}(w)
    ``add_weighted_sample_gradients(P, w, rows, weights, count, out)``
                                                        out += Σ_{c<count} weights[c] ∇ℓ_{rows[c]}(w)
        (the last two optional: fast paths; the defaults loop over ``add_sample_gradient``)
    ``add_lane_sample_gradients(P, w, idx, start, stop, out, dots, rows)``   optional, for the
        lockstep layout (``backends/lockstep.py``): w, out (d, L) hold L runs as lanes, idx (B, L)
        their batches, dots (4, L) float64 and rows (4, d, L) of w's dtype scratch; out[:, l] +=
        what ``add_sample_gradients`` adds for lane l, bit for bit, with the lanes innermost
    Gaussian-noise problems (g = ∇L(w) + L z/√B, z ~ N(0, I)):
    ``noise(P, z, out)``                                    out[:] = L z
    ``noise_variance(P, out)``                              out[:] = diag(L Lᵀ)

dynamics operations (``register_dynamics``), ``D`` the dynamics' record:
    ``step(D, P, batching, seed, key, k, lr, w, state, scratch)``  advance run (…, seed) by
        optimizer step k at learning rate ``lr`` (= η·s_k), in place on w and the state slots
        (``state[j]``, a (slots, d) array: an optimizer's chain slots, an SDE's M and V).

and an optimizer's chain of transforms (``simlab.transforms``) through ``chain_per_step(chain, t,
lr)`` and ``chain_update(chain, s, u, gsq, w, state, i)`` (the chain unrolled for its record types
by ``transforms.kernel_chain``).

The functions are written with ``math`` and arithmetic only (no numpy calls, no allocation), so
numba compiles them for the CPU and numba.cuda for the device from the same source. They call
each other through the generic functions below (``problem_loss(P, w)`` …), which dispatch on the
record's type: at compile time in the numba backend (an overload per generic function), at run
time when called from Python. Adding a problem or a dynamics is one module that defines its
record, its functions and registers them; no backend needs to change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

PROBLEM_OPS: dict[type, "ProblemOps"] = {}
DYNAMICS_OPS: dict[type, "DynamicsOps"] = {}


@dataclass(frozen=True)
class ProblemOps:
    loss: Callable
    gradient: Callable
    n_samples: Callable | None = None
    add_sample_gradient: Callable | None = None
    add_sample_gradients: Callable | None = None
    add_weighted_sample_gradients: Callable | None = None
    add_lane_sample_gradients: Callable | None = None
    noise: Callable | None = None
    noise_variance: Callable | None = None

    @property
    def has_samples(self) -> bool:
        return self.add_sample_gradient is not None


@dataclass(frozen=True)
class DynamicsOps:
    step: Callable


def register_problem(record_type: type, **ops) -> None:
    """Register the scalar operations of a problem record type (see the module docstring)."""
    entry = ProblemOps(**ops)
    if entry.has_samples == (entry.noise is not None):
        raise ValueError(f"{record_type.__name__}: give add_sample_gradient (data problems) or "
                         "noise and noise_variance (Gaussian-noise problems), not both or neither")
    if entry.has_samples and entry.n_samples is None:
        raise ValueError(f"{record_type.__name__}: a data problem needs n_samples")
    PROBLEM_OPS[record_type] = entry


def register_dynamics(record_type: type, step: Callable) -> None:
    """Register the step function of a dynamics record type (see the module docstring)."""
    DYNAMICS_OPS[record_type] = DynamicsOps(step)


def problem_ops(record) -> ProblemOps:
    try:
        return PROBLEM_OPS[type(record)]
    except KeyError:
        raise ValueError(f"no problem operations registered for {type(record).__name__}") from None


def dynamics_ops(record) -> DynamicsOps:
    try:
        return DYNAMICS_OPS[type(record)]
    except KeyError:
        raise ValueError(f"no dynamics registered for {type(record).__name__}") from None


# ------------------------------------------------------------------------------------------------
# Generic functions (run-time dispatch from Python; compiled backends overload them)
# ------------------------------------------------------------------------------------------------

def problem_loss(P, w):
    return problem_ops(P).loss(P, w)


def problem_gradient(P, w, out):
    problem_ops(P).gradient(P, w, out)


def problem_has_samples(P):
    return problem_ops(P).has_samples


def problem_n_samples(P):
    ops = problem_ops(P)
    return ops.n_samples(P) if ops.has_samples else 0


def problem_add_sample_gradient(P, w, i, weight, out):
    problem_ops(P).add_sample_gradient(P, w, i, weight, out)


def problem_add_sample_gradients(P, w, idx, start, stop, out):
    ops = problem_ops(P)
    if ops.add_sample_gradients is not None:
        ops.add_sample_gradients(P, w, idx, start, stop, out)
    else:
        default_add_sample_gradients(P, w, idx, start, stop, out)


def default_add_sample_gradients(P, w, idx, start, stop, out):
    """Σ over the batch of ``add_sample_gradient`` with weight 1, in the order of the batch."""
    for b in range(start, stop):
        problem_add_sample_gradient(P, w, idx[b], 1.0, out)


def problem_add_weighted_sample_gradients(P, w, rows, weights, count, out):
    ops = problem_ops(P)
    if ops.add_weighted_sample_gradients is not None:
        ops.add_weighted_sample_gradients(P, w, rows, weights, count, out)
    else:
        default_add_weighted_sample_gradients(P, w, rows, weights, count, out)


def default_add_weighted_sample_gradients(P, w, rows, weights, count, out):
    """Σ_c weights[c]·∇ℓ_{rows[c]}(w) by ``add_sample_gradient``, in the order of c."""
    for c in range(count):
        problem_add_sample_gradient(P, w, rows[c], weights[c], out)


def problem_noise(P, z, out):
    problem_ops(P).noise(P, z, out)


def problem_noise_variance(P, out):
    problem_ops(P).noise_variance(P, out)


def dynamics_step(D, P, batching, seed, key, k, lr, w, state, scratch):
    dynamics_ops(D).step(D, P, batching, seed, key, k, lr, w, state, scratch)


def chain_types(chain) -> tuple:
    return tuple(type(h) for h in chain)


def chain_per_step(chain, t, lr):
    """Every transform's per-step scalars of ``chain`` (a tuple of ``simlab.transforms`` records)."""
    from .transforms import kernel_chain
    return kernel_chain(chain_types(chain))[0](chain, t, lr)


def chain_update(chain, s, u, gsq, w, state, i):
    """The step of coordinate i: ``chain`` applied to (u, gsq, w) and the slots state[:, i]
    (updated in place), for scalars."""
    from .transforms import kernel_chain
    return kernel_chain(chain_types(chain))[1](chain, s, u, gsq, w, state, i)


#: The generic functions a compiled backend must provide (each overloads one of them).
GENERIC = (problem_loss, problem_gradient, problem_has_samples, problem_n_samples,
           problem_add_sample_gradient, problem_add_sample_gradients,
           problem_add_weighted_sample_gradients, problem_noise,
           problem_noise_variance, dynamics_step, chain_per_step, chain_update)
