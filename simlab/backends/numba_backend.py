"""The numba backend: the engine of ``per_run.py`` compiled into one CPU kernel, parallel over runs.

``simulate_block`` walks a block of runs r = (l, s) through the compiled ``per_run.run_one``;
``run`` spreads the blocks over a thread pool (the compiled code releases the GIL). Nothing here restates an update rule, a problem or an
SDE: every scalar function is compiled from its own source by ``compiled`` (numba.njit of the
function's code with the simlab functions it calls compiled the same way and ``sqrt`` bound to
``math.sqrt``), and the generic functions of ``simlab.kernel_ops`` are overloaded to dispatch on the
*type* of the records they receive; an optimizer's chain of transforms is unrolled for its tuple
of record types (``transforms.kernel_chain``). Each combination of record types (problem kind ×
dynamics × chain) is therefore compiled into its own specialized, branch-free machine code, and
cached on disk per type signature; ``_numba_cache`` stamps each cached specialization with the
source it was compiled from (the engine's modules, and the functions registered for its record
types), so an edit recompiles exactly the specializations that contain the edited code.

Semantics: those of the reference backend (``spec.py``); batches and noise are bit-for-bit the
same draws, and nothing depends on which thread runs which run.
"""
from __future__ import annotations

import math
import types
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba.core.errors import TypingError
from numba.extending import overload

from .. import kernel_ops, transforms
from . import _numba_cache, lockstep, per_run
from .kernel_inputs import kernel_inputs, raw_result
from .per_run import Scratch

#: numpy's floating-point semantics (x/0 is ±inf or NaN, as in the reference backend, instead of
#: Python's ZeroDivisionError); it also drops the zero-divisor branch that blocks vectorization.
JIT = dict(fastmath=False, error_model="numpy")
#: How every scalar function is compiled: LLVM ``alwaysinline`` (numba's ``forceinline``), so that
#: a step is one function LLVM optimizes as a whole — a call between numba functions passes every
#: field of every record as a separate argument, which costs more than the arithmetic — and no
#: reference counting (none of them allocates; every array they see outlives the call). Inlining
#: in LLVM rather than in numba's IR (``inline="always"``) compiles ~5× faster.
INLINED = dict(JIT, forceinline=True, _nrt=False)
#: Big functions that run rarely (per record step, per epoch, or only when clipping): not inlined.
COLD = frozenset({"heap_sort", "sift_down", "clip_top_fraction_into", "epoch_permutation_into",
                  "data_loss", "gaussian_loss", "half_quadratic_form"})
_MATH = {"sqrt": math.sqrt}
_GENERIC = frozenset(kernel_ops.GENERIC) | frozenset(lockstep.GENERIC)
_COMPILED: dict = {}


def compiled(func):
    """numba.njit of ``func``'s own code; every simlab function it calls by a global name is
    compiled the same way (recursively), ``sqrt`` means ``math.sqrt`` and the generic functions of
    ``kernel_ops`` stay as they are (they are overloaded below). Memoized."""
    if func in _COMPILED:
        return _COMPILED[func]
    scope = dict(func.__globals__)
    for name in func.__code__.co_names:
        if name in _MATH:
            scope[name] = _MATH[name]
            continue
        obj = scope.get(name)
        if (isinstance(obj, types.FunctionType) and obj not in _GENERIC and obj is not func
                and getattr(obj, "__module__", "").startswith("simlab")):
            scope[name] = compiled(obj)
    clone = types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__,
                               func.__closure__)
    options = dict(INLINED, forceinline=func.__name__ not in COLD)
    _COMPILED[func] = numba.njit(clone, **options)
    return _COMPILED[func]


# ------------------------------------------------------------------------------------------------
# Dispatch on record types (compile time)
# ------------------------------------------------------------------------------------------------

def _record_class(numba_type, kind):
    cls = getattr(numba_type, "instance_class", None)
    if cls is None:
        raise TypingError(f"{kind} record must be a NamedTuple, got {numba_type}")
    return cls


def _problem(P):
    cls = _record_class(P, "problem")
    if cls not in kernel_ops.PROBLEM_OPS:
        raise TypingError(f"no problem operations registered for {cls.__name__}")
    return kernel_ops.PROBLEM_OPS[cls]


def _nan_fill(out):
    """For an operation a problem kind does not have: its branch is never taken (the callers
    test ``problem_has_samples``), but numba types it; it writes NaN so that a mistake shows."""
    for i in range(out.shape[0]):
        out[i] = math.nan


_nan_fill_c = numba.njit(_nan_fill, **INLINED)


@overload(kernel_ops.problem_loss, jit_options=INLINED)
def _ov_problem_loss(P, w):
    fn = compiled(_problem(P).loss)
    return lambda P, w: fn(P, w)


@overload(kernel_ops.problem_gradient, jit_options=INLINED)
def _ov_problem_gradient(P, w, out):
    fn = compiled(_problem(P).gradient)
    return lambda P, w, out: fn(P, w, out)


@overload(kernel_ops.problem_has_samples, jit_options=INLINED)
def _ov_problem_has_samples(P):
    if _problem(P).has_samples:
        return lambda P: True
    return lambda P: False


@overload(kernel_ops.problem_n_samples, jit_options=INLINED)
def _ov_problem_n_samples(P):
    ops = _problem(P)
    if not ops.has_samples:
        return lambda P: 0
    fn = compiled(ops.n_samples)
    return lambda P: fn(P)


@overload(kernel_ops.problem_add_sample_gradient, jit_options=INLINED)
def _ov_add_sample_gradient(P, w, i, weight, out):
    ops = _problem(P)
    if not ops.has_samples:
        return lambda P, w, i, weight, out: _nan_fill_c(out)
    fn = compiled(ops.add_sample_gradient)
    return lambda P, w, i, weight, out: fn(P, w, i, weight, out)


@overload(kernel_ops.problem_add_sample_gradients, jit_options=INLINED)
def _ov_add_sample_gradients(P, w, idx, start, stop, out):
    ops = _problem(P)
    if not ops.has_samples:
        return lambda P, w, idx, start, stop, out: _nan_fill_c(out)
    fn = compiled(ops.add_sample_gradients or kernel_ops.default_add_sample_gradients)
    return lambda P, w, idx, start, stop, out: fn(P, w, idx, start, stop, out)


@overload(kernel_ops.problem_add_weighted_sample_gradients, jit_options=INLINED)
def _ov_add_weighted_sample_gradients(P, w, rows, weights, count, out):
    ops = _problem(P)
    if not ops.has_samples:
        return lambda P, w, rows, weights, count, out: _nan_fill_c(out)
    fn = compiled(ops.add_weighted_sample_gradients
                  or kernel_ops.default_add_weighted_sample_gradients)
    return lambda P, w, rows, weights, count, out: fn(P, w, rows, weights, count, out)


@overload(kernel_ops.problem_noise, jit_options=INLINED)
def _ov_problem_noise(P, z, out):
    ops = _problem(P)
    if ops.noise is None:
        return lambda P, z, out: _nan_fill_c(out)
    fn = compiled(ops.noise)
    return lambda P, z, out: fn(P, z, out)


@overload(kernel_ops.problem_noise_variance, jit_options=INLINED)
def _ov_problem_noise_variance(P, out):
    ops = _problem(P)
    if ops.noise_variance is None:
        return lambda P, out: _nan_fill_c(out)
    fn = compiled(ops.noise_variance)
    return lambda P, out: fn(P, out)


@overload(kernel_ops.dynamics_step, jit_options=INLINED)
def _ov_dynamics_step(D, P, batching, seed, key, k, lr, w, state, scratch):
    cls = _record_class(D, "dynamics")
    if cls not in kernel_ops.DYNAMICS_OPS:
        raise TypingError(f"no dynamics registered for {cls.__name__}")
    fn = compiled(kernel_ops.DYNAMICS_OPS[cls].step)
    return (lambda D, P, batching, seed, key, k, lr, w, state, scratch:
            fn(D, P, batching, seed, key, k, lr, w, state, scratch))


def _chain(chain):
    """The unrolled (per_step, update) of a chain type (``transforms.kernel_chain``), compiled."""
    members = getattr(chain, "types", None)
    if members is None:
        raise TypingError(f"an optimizer's chain must be a tuple of transform records, got {chain}")
    classes = tuple(_record_class(ty, "transform") for ty in members)
    for cls in classes:
        if cls not in transforms.TRANSFORMS:
            raise TypingError(f"{cls.__name__} has no entry in simlab.transforms.TRANSFORMS")
    per_step, update = transforms.kernel_chain(classes)
    return compiled(per_step), compiled(update)


@overload(kernel_ops.chain_per_step, jit_options=INLINED)
def _ov_chain_per_step(chain, t, lr):
    fn = _chain(chain)[0]
    return lambda chain, t, lr: fn(chain, t, lr)


@overload(kernel_ops.chain_update, jit_options=INLINED)
def _ov_chain_update(chain, s, u, gsq, w, state, i):
    fn = _chain(chain)[1]
    return lambda chain, s, u, gsq, w, state, i: fn(chain, s, u, gsq, w, state, i)


# ------------------------------------------------------------------------------------------------
# The kernel
# ------------------------------------------------------------------------------------------------

@numba.njit(_nrt=True, **JIT)
def new_scratch(d, dtype, batch_capacity, sample_capacity):
    """One run's scratch buffers (``per_run.Scratch``), the d-vectors in ``dtype``."""
    return Scratch(np.empty(d, dtype), np.empty(d, dtype), np.empty(d, dtype), np.empty(d, dtype),
                   np.empty(d, dtype), np.empty(batch_capacity, dtype=np.int64),
                   np.empty(sample_capacity, dtype=np.int64),
                   np.empty(sample_capacity, dtype=np.int64),
                   np.empty(sample_capacity, dtype=np.int64),
                   np.empty(sample_capacity),
                   np.empty(1, dtype=np.int64), np.empty(d, dtype))


# One run: every callee inlined into it, no reference counting (see INLINED); not itself inlined.
_run_one = numba.njit(compiled(per_run.run_one).py_func, _nrt=False, **JIT)


@_numba_cache.cache_kernel
@numba.njit(nogil=True, **JIT)
def simulate_block(first, last, P, D, plan, batching, out, batch_capacity, sample_capacity):
    """Runs r = first .. last − 1, one after the other, sharing one set of scratch buffers (each
    run overwrites them before reading); fills ``out``. Releases the GIL."""
    d = out.w.shape[2]
    scratch = new_scratch(d, out.w.dtype, batch_capacity, sample_capacity)
    for r in range(first, last):
        _run_one(r, P, D, plan, batching, out, scratch)


_POOL: dict = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    if threads not in _POOL:
        _POOL[threads] = ThreadPoolExecutor(threads, thread_name_prefix="simlab-numba")
    return _POOL[threads]


DTYPES = ("float64", "float32")


def _single(record):
    """``record`` (a NamedTuple, nested ones included) with its floating arrays as float32."""
    fields = []
    for value in record:
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            value = np.ascontiguousarray(value, dtype=np.float32)
        elif isinstance(value, tuple) and hasattr(value, "_fields"):
            value = _single(value)
        fields.append(value)
    return type(record)(*fields)


def inputs(spec, dtype="float64"):
    """``kernel_inputs(spec)``; for ``dtype="float32"`` the problem's arrays, the iterate, the
    state and the loss records stored in float32 (the plan — learning rates, schedule,
    threshold — and the per-step scalars stay float64). ValueError for another dtype."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not one of {', '.join(map(repr, DTYPES))}")
    P, D, plan, batching, out, capacities = kernel_inputs(spec)
    if dtype == "float32":
        P, out = _single(P), _single(out)
    return P, D, plan, batching, out, capacities


def result(out):
    """The raw result, float64 whatever the storage."""
    as64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    return raw_result(type(out)(as64(out.loss), out.diverged_step, as64(out.w), as64(out.state)))


def run(spec, dtype="float64"):
    """Simulate every (lr, seed) run of ``spec`` (semantics: ``spec.py``) in the per-run layout
    (``numba_layouts.run`` chooses between it and the lockstep layout).

    Runs are split into contiguous blocks, a few per thread, each simulated by ``simulate_block``
    in a thread of a pool (the compiled code releases the GIL); ``numba.get_num_threads()``
    threads (``NUMBA_NUM_THREADS``). Each run depends on its own key only, so the results do not
    depend on the number of threads or the block boundaries.

    ``dtype``: ``"float64"`` (the default; the reference's numbers) or ``"float32"`` (storage in
    float32, see ``inputs``: what the arithmetic is typed to in either layout, as on the CUDA
    backend; both layouts give the same bits)."""
    P, D, plan, batching, out, capacities = inputs(spec, dtype)
    n_runs = out.w.shape[0] * out.w.shape[1]
    spread(simulate_block, n_runs, (P, D, plan, batching, out) + tuple(capacities))
    return result(out)


def spread(kernel, count: int, args: tuple) -> None:
    """``kernel(first, last, *args)`` over [0, count) — runs, or blocks of runs — split into up to
    4 chunks a thread over ``numba.get_num_threads()`` threads (each item depends on its own key
    only, so the split does not change a bit); in the calling thread when one is enough."""
    threads = max(1, min(numba.get_num_threads(), count))
    if threads == 1:
        kernel(0, count, *args)
        return
    bounds = np.linspace(0, count, min(count, 4 * threads) + 1).astype(np.int64)
    chunks = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    list(_pool(threads).map(lambda chunk: kernel(chunk[0], chunk[1], *args), chunks))
