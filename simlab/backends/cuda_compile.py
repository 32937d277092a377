"""simlab's scalar engine source compiled for the device: numba.cuda device functions of the very
functions the numba backend compiles for the CPU (``per_run``, ``random``, the transforms of
``simlab.transforms``, the problems' and dynamics' registered operations), nothing rewritten.

``DeviceCompiler(bindings)`` returns, for a plain Python function, ``numba.cuda.jit(device=True)``
of a clone of its code whose global names are rebound:

* every simlab function it calls → that function compiled the same way (recursively, memoized);
* ``sqrt`` → ``math.sqrt`` (``optim``, ``random`` and the SDE modules bind it to ``numpy.sqrt``
  for their array versions);
* each generic function of ``simlab.kernel_ops`` (``problem_loss``, ``dynamics_step``,
  ``chain_update``, …) → the concrete function registered for the record types of this kernel
  (``generic_bindings``; a chain's unrolled code from ``transforms.kernel_chain``): the dispatch
  the numba backend does with ``@overload``s at compile time is done here once per (problem
  record, dynamics record, chain) type, when the kernel is built.

CUDA compiles per process (there is no on-disk cache to keep consistent), so a compiler per type
combination is cheap to keep: ``cuda_backend`` memoizes one per key.

Floating-point contraction: NVVM fuses a multiply and a dependent add into one FMA by default
(``-fma=1``), which rounds once instead of twice and so changes the bits of the normal draws'
polynomials (``random._log_one_minus``, ``_cos_two_pi``) and of every dot product. ``no_fma()``
compiles the whole compilation unit (the kernel and every device function linked into it) with
``-fma=0``: NVVM then emits ``mul.rn.f64`` / ``add.rn.f64``, which carry an explicit rounding mode
and which ptxas therefore never fuses either. Every operation then rounds as on the CPU (numba
does not contract), so the draws are bit-identical and the arithmetic is the CPU's operation for
operation. numba-cuda has no public option for it (its kernels pass NVVM only ``opt`` and
``fastmath``, and ``fastmath`` also flushes denormals and approximates division and square root);
``no_fma`` adds ``fma=0`` to the options of ``nvvm.compile_ir`` while it holds numba's global
compiler lock, so only compilations started inside it are affected.
"""
from __future__ import annotations

import contextlib
import math
import sys
import types

from .. import kernel_ops, transforms

_MATH = {"sqrt": math.sqrt}
GENERIC_NAMES = frozenset(f.__name__ for f in kernel_ops.GENERIC)
#: Large functions that run rarely (record steps, epochs, clipping): compiled as calls, not inlined.
COLD = frozenset({"heap_sort", "sift_down", "clip_top_fraction_into", "epoch_permutation_into",
                  "data_loss", "gaussian_loss", "half_quadratic_form", "count_rows"})
#: Functions LLVM must keep out of line (``noinline``; without it NVVM inlines a function called
#: once regardless): the row counting of the counted-rows path (B ≥ n), whose loops, inlined,
#: held registers through the rest of the step (the block layout's Adam kernel: 106 a thread,
#: 88 out of line with an 8-byte call frame and no spills). The same operations, the same bits.
#: Not every ``COLD`` function: out of line, the record-step losses and the rest took the B = 1
#: kernels from 96 to 120–124 registers, so ``noinline`` is kept for what measurably helps.
NOINLINE = frozenset({"count_rows"})


# ------------------------------------------------------------------------------------------------
# Dispatch on record types, resolved when a kernel is built
# ------------------------------------------------------------------------------------------------

def nan_fill(out):
    """For an operation a problem kind does not have: its branch is never taken (callers test
    ``problem_has_samples``), but it is compiled; it writes NaN so that a mistake shows."""
    for i in range(out.shape[0]):
        out[i] = math.nan


def has_samples_yes(P):
    return True


def has_samples_no(P):
    return False


def no_samples(P):
    return 0


def no_sample_gradient(P, w, i, weight, out):
    nan_fill(out)


def no_sample_gradients(P, w, idx, start, stop, out):
    nan_fill(out)


def no_weighted_sample_gradients(P, w, rows, weights, count, out):
    nan_fill(out)


def no_noise(P, z, out):
    nan_fill(out)


def no_noise_variance(P, out):
    nan_fill(out)


def kernel_key(P, D) -> tuple:
    """What a kernel is specialized for: (problem record type, dynamics record type, the tuple of
    the chain's transform record types, or None for a dynamics other than an optimizer)."""
    from .per_run import Discrete
    chain = tuple(type(h) for h in D.chain) if isinstance(D, Discrete) else None
    return type(P), type(D), chain


def generic_bindings(problem_type: type, dynamics_type: type, chain_types: tuple | None) -> dict:
    """Generic-function name → the plain Python function it stands for with these record types
    (the chain functions only for an optimizer, whose tuple of transform record types is
    given)."""
    try:
        ops = kernel_ops.PROBLEM_OPS[problem_type]
    except KeyError:
        raise ValueError(f"no problem operations registered for {problem_type.__name__}") from None
    try:
        step = kernel_ops.DYNAMICS_OPS[dynamics_type].step
    except KeyError:
        raise ValueError(f"no dynamics registered for {dynamics_type.__name__}") from None
    data = ops.has_samples
    bound = {
        "problem_loss": ops.loss,
        "problem_gradient": ops.gradient,
        "problem_has_samples": has_samples_yes if data else has_samples_no,
        "problem_n_samples": ops.n_samples if data else no_samples,
        "problem_add_sample_gradient": ops.add_sample_gradient if data else no_sample_gradient,
        "problem_add_sample_gradients": (
            (ops.add_sample_gradients or kernel_ops.default_add_sample_gradients) if data
            else no_sample_gradients),
        "problem_add_weighted_sample_gradients": (
            (ops.add_weighted_sample_gradients
             or kernel_ops.default_add_weighted_sample_gradients) if data
            else no_weighted_sample_gradients),
        "problem_noise": ops.noise or no_noise,
        "problem_noise_variance": ops.noise_variance or no_noise_variance,
        "dynamics_step": step,
    }
    if chain_types is not None:
        bound["chain_per_step"], bound["chain_update"] = transforms.kernel_chain(chain_types)
    missing = GENERIC_NAMES - set(bound) - ({"chain_per_step", "chain_update"}
                                            if chain_types is None else set())
    assert not missing, missing
    return bound


# ------------------------------------------------------------------------------------------------
# The compiler
# ------------------------------------------------------------------------------------------------

class DeviceCompiler:
    """numba.cuda device functions of simlab's scalar source with the generic functions bound to
    ``bindings`` (see the module docstring). ``compiler(func)`` is memoized per function."""

    def __init__(self, bindings: dict, inline: bool = True):
        from numba import cuda
        from .cuda_device import simulator
        self._cuda = cuda
        self.bindings = bindings
        self.inline = inline and not simulator()       # the simulator has no such option
        self._done: dict = {}

    def clone(self, func):
        """``func``'s code with its globals rebound (callees compiled as device functions)."""
        scope = dict(func.__globals__)
        for name in func.__code__.co_names:
            if name in _MATH:
                scope[name] = _MATH[name]
            elif name in self.bindings:
                scope[name] = self(self.bindings[name])
            else:
                obj = scope.get(name)
                if (isinstance(obj, types.FunctionType) and obj is not func
                        and getattr(obj, "__module__", "").startswith("simlab")):
                    scope[name] = self(obj)
        return types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__,
                                  func.__closure__)

    def __call__(self, func):
        if func not in self._done:
            self._done[func] = None                       # guards against recursion
            options = {"forceinline": func.__name__ not in COLD} if self.inline else {}
            self._done[func] = self._cuda.jit(device=True, **options)(self.clone(func))
        return self._done[func]

    def kernel(self, func, **options):
        """``numba.cuda.jit`` (a kernel) of ``func`` with its callees compiled by this compiler."""
        return self._cuda.jit(**options)(self.clone(func))


# ------------------------------------------------------------------------------------------------
# Compilation options
# ------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _compile_ir_wrapped(wrap):
    """Compile what is compiled inside through ``wrap(nvvm.compile_ir)``, holding numba-cuda's
    global compiler lock for its duration (no other thread's compilation sees the change); a no-op
    under the CUDA simulator (nothing is compiled there)."""
    from .cuda_device import simulator
    if simulator():
        yield
        return
    from numba.cuda.core.compiler_lock import global_compiler_lock
    from numba.cuda.cudadrv import nvvm
    with global_compiler_lock:
        original = nvvm.compile_ir
        nvvm.compile_ir = wrap(original)
        try:
            yield
        finally:
            nvvm.compile_ir = original


def no_fma():
    """Compile what is compiled inside with NVVM's ``-fma=0`` (see the module docstring)."""
    def wrap(original):
        def compile_ir(llvmir, **options):
            return original(llvmir, **{**options, "fma": False})
        return compile_ir
    return _compile_ir_wrapped(wrap)


def size_optimized_ir(llvmir: str) -> str:
    """``llvmir`` with the ``optsize`` attribute on every function it defines.

    NVVM's optimizer (``-opt=3``) unrolls loops with a run-time trip count — the loops over the
    d coordinates, the B batch entries, the sampler's hashes — and interleaves the copies, each
    copy holding its own doubles in registers (two 32-bit registers each): the toy kernels used
    254 registers a thread (12.5 % occupancy on an H100). Under ``optsize`` LLVM does not unroll
    partially or at run time (loops with a constant trip count are still unrolled) and otherwise
    optimizes as at ``-opt=3``; simlab's device functions are inlined regardless (``alwaysinline``).
    The arithmetic, and so every result bit, is unchanged: only how many iterations are in flight
    in one thread (and ``NOINLINE`` functions stay calls); the GPU hides latency across the
    extra resident threads instead (``benchmarks/kernel_report.py`` models the trade)."""
    lines = []
    for line in llvmir.splitlines():
        if line.startswith("define ") and " optsize" not in line:
            extra = " optsize noinline" if _defines_one_of(line, NOINLINE) else " optsize"
            line = (line[:-1].rstrip() + extra + " {") if line.endswith("{") else line + extra
        lines.append(line)
    return "\n".join(lines)


def _defines_one_of(define: str, names) -> bool:
    """Whether an LLVM ``define`` line defines one of the simlab functions ``names`` (numba's
    Itanium-mangled symbol holds each as <length><name>)."""
    symbol = define.split("@", 1)[1].split("(", 1)[0] if "@" in define else ""
    return any(f"{len(name)}{name}B" in symbol or symbol.endswith(f"{len(name)}{name}")
               for name in names)


def size_optimized():
    """Compile what is compiled inside with every function marked ``optsize``
    (``size_optimized_ir``)."""
    def wrap(original):
        def compile_ir(llvmir, **options):
            modules = [llvmir] if isinstance(llvmir, str) else list(llvmir)
            return original([size_optimized_ir(m) for m in modules], **options)
        return compile_ir
    return _compile_ir_wrapped(wrap)


@contextlib.contextmanager
def device_codegen(fma: bool = False, optsize: bool = True):
    """How every simlab kernel is compiled: ``no_fma()`` (unless ``fma``) and ``size_optimized()``
    (unless not ``optsize``); the options are for comparisons (``kernel_ptx``)."""
    with contextlib.ExitStack() as stack:
        if not fma:
            stack.enter_context(no_fma())
        if optsize:
            stack.enter_context(size_optimized())
        yield


#: Python's thread switch interval while a kernel runs under the CUDA simulator, for kernels without
#: and with ``syncthreads`` barriers. The simulator runs a block as one Python thread per CUDA thread
#: while the launching thread polls them in a loop that never sleeps, and at the default 5 ms the
#: GIL hand-offs dominate. Measured on the 2-core CI machine: a 24-run, 12-step thread-layout
#: kernel took 16-35 s at 5 ms, 1.5-2 s at 0.02-0.1 ms and 0.2 s at 50 ms; a block-layout kernel
#: (barriers: every thread waits for the poller to release it) 1.2-1.6 s at 5 ms, 11 s at 50 ms
#: and 0.2 s at 0.1 ms.
SIM_SWITCH_INTERVAL = 0.05
SIM_BARRIER_SWITCH_INTERVAL = 1e-4


@contextlib.contextmanager
def launching(barriers: bool = False):
    """The context every kernel launch runs in: on a device ``device_codegen()`` (the kernel
    compiles at its first launch); under the CUDA simulator the interpreter's switch interval set for the
    launch (``SIM_BARRIER_SWITCH_INTERVAL`` when the kernel has ``syncthreads`` barriers,
    ``SIM_SWITCH_INTERVAL`` otherwise) and restored after it — a process-wide setting, so other
    Python threads switch at that interval while a simulated kernel runs."""
    from .cuda_device import simulator
    if not simulator():
        with device_codegen():
            yield
        return
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SIM_BARRIER_SWITCH_INTERVAL if barriers else SIM_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class _TargetDevice:
    """What numba-cuda asks of ``get_current_device()`` while compiling device functions."""

    def __init__(self, cc):
        self.compute_capability = tuple(cc)


@contextlib.contextmanager
def compiling_for(cc):
    """Let device functions compile for compute capability ``cc`` without a GPU.

    numba-cuda compiles a device function, when a kernel calls it, for the compute capability of
    the *current device*; ``numba.cuda.compile_ptx(..., cc=cc)`` takes the kernel's from its
    argument but asks the driver for its callees'. Inside this context that question is answered
    with ``cc`` (nothing else is asked of the device), so the real kernels compile to PTX on a
    machine without a GPU or driver (libNVVM is enough). Holds numba-cuda's compiler lock."""
    from numba.cuda import dispatcher
    from numba.cuda.core.compiler_lock import global_compiler_lock
    with global_compiler_lock:
        original = dispatcher.get_current_device
        dispatcher.get_current_device = lambda: _TargetDevice(cc)
        try:
            yield
        finally:
            dispatcher.get_current_device = original
