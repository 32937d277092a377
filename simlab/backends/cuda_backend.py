"""The CUDA backend: the engine of ``per_run.py`` compiled into one numba.cuda kernel, a thread per run.

``run(spec)`` (``simulate(..., backend="cuda")``) walks every run r = (l, s) through
``per_run.run_one`` compiled for the device by ``cuda_compile.DeviceCompiler`` — the same source the
numba backend compiles for the CPU: the run loop, the record/divergence rule, the samplers and the
counter-based draws of ``simlab.random``, the transforms of ``simlab.transforms`` (an optimizer's
chain unrolled by ``transforms.kernel_chain``), the problems' and the SDE models' registered
operations. One kernel is built per (problem record, dynamics record, chain, dtype) type
combination, with the generic functions of ``simlab.kernel_ops`` bound to the concrete
functions of those types, and compiled with ``-fma=0`` (``cuda_compile.no_fma``): every operation
rounds as on the CPU, so batches and noise are bit for bit those of numpy and numba.

Layout (see ``docs/backends.md``): a grid-stride loop of G threads over the runs, G = min(R, what the
GPU keeps resident), one run at a time per thread. A run's iterate and slots live in global memory
in a run-minor layout, (d, L, S) viewed as (L, S, d) (the K state slots (K, d, L, S) viewed as
(L, S, K, d)) — coordinate i of adjacent runs is adjacent,
so the accesses of a warp coalesce —, its scratch buffers likewise in (size, G) arrays (column t
for thread t) and the loss records in (R, L, S). Arrays are CuPy arrays where CuPy is installed,
numba.cuda device arrays otherwise, and host numpy arrays under numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), which runs the same kernel code in Python threads.

``simulate_on_device`` adds what ``simulate`` does not ask of a backend: ``dtype="float32"`` (data,
state, scratch and records stored in float32) and reductions over seeds computed on the device
(mean and standard deviation of the finite losses, exact quantiles, histograms), for ensembles too
large to bring back. ``kernel_ptx`` compiles the kernel of a spec to PTX without a GPU.
"""
from __future__ import annotations

import json
import math
from typing import NamedTuple

import numpy as np

from .cuda_compile import kernel_key
from .cuda_device import (BLOCK, INSTALL, SIM_THREADS, Arrays, bind_cuda,  # noqa: F401
                          require_device, simulator)
from .cuda_device import grid as _grid
from .per_run import Batching, Discrete, Outputs, Scratch, heap_sort, run_one
from .spec import RawResult, RunSpec

DTYPES = ("float64", "float32")
REDUCTIONS = ("mean", "quantiles", "histogram")


def _place(record, arrays: Arrays, float_dtype):
    """``record`` (a NamedTuple, nested ones included) with its arrays on the device; floating
    arrays cast to ``float_dtype`` (None: kept)."""
    fields = []
    for value in record:
        if isinstance(value, np.ndarray):
            if float_dtype is not None and value.dtype.kind == "f":
                value = value.astype(float_dtype)
            fields.append(arrays.kernel_arg(arrays.to_device(value)))
        elif isinstance(value, tuple) and hasattr(value, "_fields"):
            fields.append(_place(value, arrays, float_dtype))
        else:
            fields.append(value)
    return type(record)(*fields)


# ------------------------------------------------------------------------------------------------
# The kernel
# ------------------------------------------------------------------------------------------------

def simulate_runs(P, D, plan, batching, out, work, n_runs):
    """Thread t runs r = t, t + G, t + 2G, … < n_runs (G threads) with scratch column t."""
    t = cuda.grid(1)
    width = cuda.gridsize(1)
    if t >= work.g.shape[1]:
        return
    scratch = Scratch(work.g[:, t], work.gsq[:, t], work.micro[:, t], work.aux[:, t],
                      work.z[:, t], work.idx[:, t], work.perm[:, t], work.counts[:, t],
                      work.rows[:, t], work.weights[:, t], work.epoch[:, t], work.sort[:, t])
    D, batching = fixed_records(D, batching)  # noqa: F821  (bound per kernel: ``fixed_records``)
    r = t
    while r < n_runs:
        run_one(r, P, D, plan, batching, out, scratch)
        r += width


_KERNELS: dict = {}
LAYOUTS = ("auto", "thread", "block")
#: ``layout="auto"`` runs a block per run from this dimension on (where the block layout applies).
BLOCK_MIN_DIM = 32


def fixed_choices(D, batching) -> tuple:
    """What a kernel fixes when it is compiled besides the record types: the sampling mode,
    whether rows are counted, and for an optimizer whether it clips adaptively and by the global
    norm. These are record fields that select code paths; a kernel compiled for one value has
    none of the others' code, which would hold registers (the most any path needs) without
    running (``docs/backends.md``, "Registers")."""
    discrete = isinstance(D, Discrete)
    return (int(batching.mode), bool(batching.use_counts),
            discrete and D.clip_fraction > 0.0, discrete and D.max_grad_norm > 0.0)


def fixed_records_function(choices):
    """``fixed_records(D, batching)``: the records with the fields of ``fixed_choices`` replaced by
    compile-time constants (closure variables, which numba freezes), so that the compiler drops
    the branches not taken; every other field passes through."""
    mode, use_counts, clips, norm_clips = choices

    def fixed_records_discrete(D, batching):
        return (Discrete(D.chain, D.clip_fraction if clips else 0.0, D.squares_microbatches,
                         D.max_grad_norm if norm_clips else 0.0),
                Batching(mode, batching.batch_size, batching.microbatch, use_counts,
                         batching.given, batching.given_start))

    def fixed_records_other(D, batching):
        return D, Batching(mode, batching.batch_size, batching.microbatch, use_counts,
                           batching.given, batching.given_start)

    return fixed_records_discrete, fixed_records_other


def _compiler(P, D, layout, choices):
    from . import cuda_block
    from .cuda_compile import DeviceCompiler, generic_bindings
    _bind_cuda()
    if layout == "block":
        cuda_block.bind_cuda()
        bound = cuda_block.bindings(P, D)
    else:
        bound = generic_bindings(*kernel_key(P, D))
    discrete, other = fixed_records_function(choices)
    bound["fixed_records"] = discrete if isinstance(D, Discrete) else other
    return DeviceCompiler(bound)


def _kernel_function(layout):
    from . import cuda_block
    return cuda_block.simulate_blocks if layout == "block" else simulate_runs


def simulation_kernel(P, D, batching, layout="thread"):
    """The kernel for these record types, ``fixed_choices`` and layout (memoized per process:
    CUDA compiles per process)."""
    choices = fixed_choices(D, batching)
    key = kernel_key(P, D) + (choices, layout)
    if key not in _KERNELS:
        _KERNELS[key] = _compiler(P, D, layout, choices).kernel(_kernel_function(layout))
    return _KERNELS[key]


def resolve_layout(spec: RunSpec, layout: str) -> str:
    """``layout`` ("auto", "thread", "block") resolved for ``spec``; a ValueError when the block
    layout is asked for what it does not cover (``cuda_block.supported``)."""
    from . import cuda_block
    from .kernel_inputs import dynamics_record
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r} is not one of {', '.join(map(repr, LAYOUTS))}")
    ok = cuda_block.supported(spec.problem.kernel_record(), dynamics_record(spec.dynamics))
    if layout == "block" and not ok:
        raise ValueError("layout='block' covers data problems with the optimizers of "
                         "simlab.optim without clipping (adaptive momentum or global-norm); "
                         "use layout='thread' (or 'auto')")
    if layout == "auto":
        return "block" if ok and spec.dim >= BLOCK_MIN_DIM else "thread"
    return layout


class Device(NamedTuple):
    """Where the arrays of one simulation live: the record inputs, outputs and scratch on the
    device, and the base arrays of the run-minor views (for the transfer back)."""
    P: tuple
    D: tuple
    plan: tuple
    batching: tuple
    out: Outputs
    work: Scratch
    loss_base: object           # (R, L, S)
    state_base: tuple           # w (d, L, S), state slots (K, d, L, S)
    threads: int
    blocks: int
    layout: str
    partials: object            # block layout: (blocks, threads, d); else a placeholder


def block_threads(width: int) -> int:
    """Threads per block of the block layout for max(d, M) = ``width``."""
    from .cuda_block import MAX_THREADS
    return 128 if width <= 128 else MAX_THREADS


def _block_grid(n_runs: int, width: int, blocks_per_sm: int | None = None):
    """(blocks, threads) of the block layout: a block per run, at most what stays resident
    (``blocks_per_sm`` as in ``_grid``)."""
    if simulator():
        return min(n_runs, 2), 4
    from numba import cuda
    device = cuda.get_current_device()
    threads = block_threads(width)
    if blocks_per_sm is None:
        blocks_per_sm = device.MAX_THREADS_PER_MULTIPROCESSOR // threads
    resident = device.MULTIPROCESSOR_COUNT * blocks_per_sm
    return max(1, min(n_runs, resident)), threads


def resident_blocks_per_sm(kernel, args, threads: int) -> tuple:
    """(blocks per SM, registers per thread, shared bytes per block) of ``kernel`` compiled for
    ``args`` (as the launch compiles it) on the current device."""
    from numba import cuda

    from .cuda_compile import launching
    from .occupancy import blocks_per_sm, device_sm
    with launching():
        compiled = kernel.compile(tuple(kernel.typeof_pyval(a) for a in args))
    registers, shared = compiled.regs_per_thread, compiled.shared_mem_per_block
    sm = device_sm(cuda.get_current_device())
    return max(1, blocks_per_sm(registers, threads, shared, sm)), registers, shared


def place(spec: RunSpec, arrays: Arrays, dtype: str = "float64", grid=None,
          layout: str = "thread") -> Device:
    """Every input, output and scratch buffer of ``spec`` on the device (run-minor layouts), for a
    launch of ``grid`` = (blocks, threads) in ``layout`` "thread" (scratch per thread) or "block"
    (scratch per block). Default grid: as many blocks as stay resident given the compiled kernel's
    registers and shared memory (``resident_blocks_per_sm``; under the simulator one small block)."""
    from .kernel_inputs import kernel_records
    P, D, plan, batching, (batch_capacity, sample_capacity) = kernel_records(spec)
    float_dtype = np.dtype(dtype)
    n_lr, n_seed = spec.shape
    n_runs, d, n_rec = n_lr * n_seed, spec.dim, spec.record_steps.shape[0]

    loss_base = arrays.full((n_rec, n_lr, n_seed), np.inf, float_dtype)
    state_base = (arrays.to_device(np.asarray(spec.init_w, dtype=float_dtype).transpose(2, 0, 1)),
                  arrays.to_device(np.asarray(spec.init_state, dtype=float_dtype)
                                   .transpose(2, 3, 0, 1)))
    k = arrays.kernel_arg
    out = Outputs(k(arrays.permuted(loss_base, (1, 2, 0))),
                  k(arrays.to_device(np.asarray(spec.init_diverged_step, dtype=np.int64))),
                  k(arrays.permuted(state_base[0], (1, 2, 0))),
                  k(arrays.permuted(state_base[1], (2, 3, 0, 1))))
    # Per-sample buffers only where they are used: epochs (the permutation), counted rows.
    per_sample = sample_capacity if (batching.use_counts or spec.sampling == "epoch") else 1

    def buffers(blocks, threads):
        width = blocks if layout == "block" else blocks * threads

        def column(size, kind):
            return k(arrays.empty((size, width), kind))

        work = Scratch(column(d, float_dtype), column(d, float_dtype), column(d, float_dtype),
                       column(d, float_dtype), column(d, float_dtype),
                       column(batch_capacity, np.int64),
                       column(per_sample if spec.sampling == "epoch" else 1, np.int64),
                       column(per_sample if batching.use_counts else 1, np.int64),
                       column(per_sample if batching.use_counts else 1, np.int64),
                       column(per_sample if batching.use_counts else 1, float_dtype),
                       column(2, np.int64), column(d, float_dtype))
        partials = k(arrays.empty((blocks, threads, d) if layout == "block" else (1, 1, 1),
                                  float_dtype))
        return work, partials

    records = (_place(P, arrays, float_dtype), _place(D, arrays, float_dtype),
               _place(plan, arrays, None), _place(batching, arrays, None))
    width = max(d, spec.microbatch)
    if grid is None and simulator():
        grid = _block_grid(n_runs, width) if layout == "block" else _grid(n_runs)
    if grid is None:
        # the kernel's registers decide how many threads stay resident: compile it for these
        # argument types (one-column scratch buffers have the types of the real ones) first
        threads = block_threads(width) if layout == "block" else BLOCK
        work, partials = buffers(1, threads)
        probe = Device(*records, out, work, loss_base, state_base, threads, 1, layout, partials)
        kernel = simulation_kernel(probe.P, probe.D, probe.batching, layout)
        per_sm, _, _ = resident_blocks_per_sm(kernel, _kernel_args(spec, probe), threads)
        grid = (_block_grid(n_runs, width, per_sm) if layout == "block"
                else _grid(n_runs, per_sm))
    blocks, threads = grid
    work, partials = buffers(blocks, threads)
    return Device(*records, out, work, loss_base, state_base, threads, blocks, layout, partials)


def _kernel_args(spec, device):
    args = (device.P, device.D, device.plan, device.batching, device.out, device.work)
    if device.layout == "block":
        args = args + (device.partials,)
    return args + (spec.shape[0] * spec.shape[1],)


def launch(spec: RunSpec, device: Device):
    """Run the kernel of ``spec`` on the placed arrays (compiling it with ``-fma=0`` first)."""
    from .cuda_compile import launching
    kernel = simulation_kernel(device.P, device.D, device.batching, device.layout)
    with launching(barriers=device.layout == "block"):
        kernel[device.blocks, device.threads](*_kernel_args(spec, device))


def fetch(device: Device, arrays: Arrays) -> RawResult:
    """The raw result on the host, float64, in the (L, S, …) layout ``simulate`` assembles."""
    loss = arrays.to_host(device.loss_base).transpose(1, 2, 0)
    w = arrays.to_host(device.state_base[0]).transpose(1, 2, 0)
    state = arrays.to_host(device.state_base[1]).transpose(2, 3, 0, 1)
    as64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    return RawResult(as64(loss), arrays.to_host(device.out.diverged_step).astype(np.int64),
                     as64(w), as64(state))


def run(spec: RunSpec, dtype: str = "float64", layout: str = "auto") -> RawResult:
    """Simulate every (lr, seed) run of ``spec`` on the GPU (semantics: ``spec.py``); ``layout``
    "thread" (a thread per run), "block" (a block per run: data problems, optimizers without
    clipping; ``cuda_block``) or "auto" (block from d = ``BLOCK_MIN_DIM`` on where it applies)."""
    require_device()
    _check_dtype(dtype)
    layout = resolve_layout(spec, layout)
    arrays = Arrays()
    device = place(spec, arrays, dtype, layout=layout)
    launch(spec, device)
    arrays.synchronize()
    return fetch(device, arrays)


def _check_dtype(dtype):
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not one of {', '.join(map(repr, DTYPES))}")


# ------------------------------------------------------------------------------------------------
# Reductions over seeds, on the device
# ------------------------------------------------------------------------------------------------

REDUCE_BLOCK = 64


def moments_kernel(loss, count, mean, std):
    """Block b = (record i, lr l): the number, mean and standard deviation (1/n, two passes) of
    the finite losses loss[i, l, :], by a shared-memory tree reduction in a fixed order."""
    block = cuda.blockIdx.x
    n_lr = loss.shape[1]
    i = block // n_lr
    l = block - i * n_lr
    tid = cuda.threadIdx.x
    width = cuda.blockDim.x
    n_seed = loss.shape[2]
    sums = cuda.shared.array(REDUCE_BLOCK, float64)
    counts = cuda.shared.array(REDUCE_BLOCK, int64)
    total = 0.0
    finite = 0
    for s in range(tid, n_seed, width):
        value = loss[i, l, s]
        if value < math.inf:
            total += value
            finite += 1
    sums[tid] = total
    counts[tid] = finite
    cuda.syncthreads()
    half = width // 2
    while half > 0:
        if tid < half:
            sums[tid] += sums[tid + half]
            counts[tid] += counts[tid + half]
        cuda.syncthreads()
        half //= 2
    n = counts[0]
    centre = sums[0] / n if n > 0 else math.nan
    cuda.syncthreads()
    total = 0.0
    for s in range(tid, n_seed, width):
        value = loss[i, l, s]
        if value < math.inf:
            total += (value - centre) * (value - centre)
    sums[tid] = total
    cuda.syncthreads()
    half = width // 2
    while half > 0:
        if tid < half:
            sums[tid] += sums[tid + half]
        cuda.syncthreads()
        half //= 2
    if tid == 0:
        count[l, i] = n
        mean[l, i] = centre
        std[l, i] = math.sqrt(sums[0] / n) if n > 0 else math.nan


def histogram_kernel(loss, edges, counts):
    """counts[l, i, 0] += #(loss < edges[0]); counts[l, i, 1 + j] += #(edges[j] ≤ loss <
    edges[j + 1]) (the last bin closed, as ``numpy.histogram``); counts[l, i, n_bins + 1] +=
    #(loss > edges[-1]), +inf (diverged runs) included. One thread per loss (grid-stride)."""
    n_rec = loss.shape[0]
    n_lr = loss.shape[1]
    n_seed = loss.shape[2]
    n_edges = edges.shape[0]
    total = n_rec * n_lr * n_seed
    e = cuda.grid(1)
    while e < total:
        i = e // (n_lr * n_seed)
        rest = e - i * n_lr * n_seed
        l = rest // n_seed
        s = rest - l * n_seed
        value = loss[i, l, s]
        if value < edges[0]:
            slot = 0
        elif value > edges[n_edges - 1]:
            slot = n_edges
        elif value == edges[n_edges - 1]:
            slot = n_edges - 1
        else:
            lo = 0
            hi = n_edges - 1                # edges[lo] ≤ value < edges[hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if edges[mid] <= value:
                    lo = mid
                else:
                    hi = mid
            slot = lo + 1
        cuda.atomic.add(counts, (l, i, slot), 1)
        e += cuda.gridsize(1)


def quantile_of_sorted(values, n, q):
    """The q-quantile of the sorted values[:n] by ``numpy.quantile``'s default (linear) method:
    i = (n − 1)q, a = values[⌊i⌋], b = values[⌊i⌋ + 1], γ = i − ⌊i⌋, b − (b − a)(1 − γ) if
    γ ≥ ½ else a + (b − a)γ — except that a = b or γ = 0 gives a (numpy gives NaN there when
    a is +inf, from ∞ − ∞ or ∞·0: diverged runs' records are +inf)."""
    virtual = (n - 1) * q
    lower = math.floor(virtual)
    j = int(lower)
    if j >= n - 1:
        return values[n - 1]
    a = values[j]
    b = values[j + 1]
    gamma = virtual - lower
    if a == b or gamma == 0.0:
        return a
    diff = b - a
    return b - diff * (1.0 - gamma) if gamma >= 0.5 else a + diff * gamma


def quantiles_kernel(loss, qs, buffer, out):
    """Thread (i, l): out[l, k, i] = the qs[k]-quantile over seeds of loss[i, l, :] (a copy in
    buffer[i·L + l] sorted by ``per_run.heap_sort``)."""
    n_rec = loss.shape[0]
    n_lr = loss.shape[1]
    n_seed = loss.shape[2]
    t = cuda.grid(1)
    if t >= n_rec * n_lr:
        return
    i = t // n_lr
    l = t - i * n_lr
    row = buffer[t]
    for s in range(n_seed):
        row[s] = loss[i, l, s]
    heap_sort(row, n_seed)
    for k in range(qs.shape[0]):
        out[l, k, i] = quantile_of_sorted(row, n_seed, qs[k])


_REDUCERS: dict = {}


def _reducer(func):
    """A reduction kernel, compiled once (its callees from simlab's source like the simulation
    kernel's)."""
    if func not in _REDUCERS:
        from .cuda_compile import DeviceCompiler
        _bind_cuda()
        _REDUCERS[func] = DeviceCompiler({}).kernel(func)
    return _REDUCERS[func]


def reduce_records(device: Device, arrays: Arrays, reduce, quantiles, edges) -> dict:
    """The reductions over seeds of the records of ``device`` (computed there); host arrays."""
    from .cuda_compile import launching
    loss = device.loss_base
    n_rec, n_lr, n_seed = loss.shape
    k = arrays.kernel_arg
    result = {}
    if "mean" in reduce:
        count = arrays.empty((n_lr, n_rec), np.int64)
        mean = arrays.empty((n_lr, n_rec), np.float64)
        std = arrays.empty((n_lr, n_rec), np.float64)
        threads = SIM_THREADS if simulator() else REDUCE_BLOCK
        with launching(barriers=True):
            _reducer(moments_kernel)[n_rec * n_lr, threads](k(loss), k(count), k(mean), k(std))
        result.update(n_finite=count, mean=mean, std=std)
    if "histogram" in reduce:
        edges_d = arrays.to_device(np.asarray(edges, dtype=loss.dtype))
        counts = arrays.zeros((n_lr, n_rec, len(edges) + 1), np.int64)
        blocks, threads = _grid(n_rec * n_lr * n_seed)
        with launching():
            _reducer(histogram_kernel)[blocks, threads](k(loss), k(edges_d), k(counts))
        result["histogram"] = counts
    if "quantiles" in reduce:
        qs = arrays.to_device(np.asarray(quantiles, dtype=np.float64))
        buffer = arrays.empty((n_rec * n_lr, n_seed), loss.dtype)
        out = arrays.empty((n_lr, len(quantiles), n_rec), np.float64)
        threads = min(SIM_THREADS if simulator() else BLOCK, n_rec * n_lr)
        blocks = math.ceil(n_rec * n_lr / threads)
        with launching():
            _reducer(quantiles_kernel)[blocks, threads](k(loss), k(qs), k(buffer), k(out))
        result["quantiles"] = out
    arrays.synchronize()
    return {name: arrays.to_host(value) for name, value in result.items()}


# ------------------------------------------------------------------------------------------------
# simulate with the device's own options
# ------------------------------------------------------------------------------------------------

def _check_reduce(reduce, quantiles, bins):
    if reduce is None:
        return None, None, None
    if isinstance(reduce, str):
        reduce = (reduce,)
    reduce = tuple(reduce)
    bad = [r for r in reduce if r not in REDUCTIONS]
    if bad or not reduce:
        raise ValueError(f"reduce={reduce!r} must be None or a non-empty selection of "
                         f"{', '.join(map(repr, REDUCTIONS))}")
    qs = None
    if "quantiles" in reduce:
        qs = np.asarray(quantiles, dtype=float).ravel()
        if qs.size == 0 or not np.all((qs >= 0) & (qs <= 1)):
            raise ValueError(f"quantiles={quantiles!r} must be a non-empty list of numbers in the "
                             "allowed range [0, 1]")
    edges = None
    if "histogram" in reduce:
        if bins is None:
            raise ValueError("reduce='histogram' needs bins: an ascending array of >= 2 finite "
                             "bin edges (e.g. numpy.logspace(-6, 2, 33))")
        edges = np.asarray(bins, dtype=float).ravel()
        if edges.size < 2 or not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0):
            raise ValueError(f"bins={bins!r} must be a strictly ascending array of >= 2 finite "
                             "bin edges")
    return reduce, qs, edges


def simulate_on_device(problem, optimizer, lr, batch_size=None, steps=None, seeds=1, *,
                       dtype: str = "float64", reduce=None, quantiles=(0.1, 0.25, 0.5, 0.75, 0.9),
                       bins=None, layout: str = "auto", **options):
    """``simlab.simulate(..., backend="cuda")`` with the device's own options.

    dtype: ``"float64"`` (the default: the numbers of the CPU backends) or ``"float32"``: the
    problem's data, the state, the scratch buffers and the loss records are stored in float32 on
    the device (half the memory and traffic); the arithmetic is what numba types the same source
    to (float64 wherever a float64 constant or draw enters an expression), rounded to float32 at
    every store. Same draws; results agree with float64 statistically (``docs/backends.md``).
    reduce: None (return ``simulate``'s Dataset), or any of ``"mean"``, ``"quantiles"``,
    ``"histogram"``: the records stay on the device and only their reductions over seeds come
    back, per (lr_index, step): ``n_finite`` (runs not diverged at that record), ``loss_mean`` and
    ``loss_std`` of those; ``loss_quantile`` (lr_index, quantile, step) over all seeds, diverged runs
    counted as +inf (``quantile_of_sorted``); ``loss_histogram`` (lr_index, step, bin) with bins
    [edges[j], edges[j + 1]) (the last closed) plus an underflow bin first and an overflow bin
    (+inf included) last. ``diverged`` (lr_index) counts the diverged runs.
    layout: "auto", "thread" or "block" (see ``run``).
    options: every keyword argument of ``simlab.simulate`` except ``backend``.
    """
    from .interface import assemble, make_spec, run_config
    if "backend" in options:
        raise ValueError("simulate_on_device runs on backend='cuda'; do not pass backend")
    _check_dtype(dtype)
    reduce, qs, edges = _check_reduce(reduce, quantiles, bins)
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r} is not one of {', '.join(map(repr, LAYOUTS))}")
    require_device()
    spec = make_spec(problem, optimizer, lr, batch_size, steps, seeds, backend="cuda", **options)
    if reduce is None and dtype == "float64" and layout == "auto":      # simulate(backend="cuda")
        return assemble(spec, run(spec), run_config(problem, optimizer, spec, "cuda", **options),
                        optimizer.label)
    layout = resolve_layout(spec, layout)
    arrays = Arrays()
    device = place(spec, arrays, dtype, layout=layout)
    launch(spec, device)
    arrays.synchronize()
    label = getattr(optimizer, "label", type(optimizer).__name__)
    config = {"problem": problem.config(), "dynamics": optimizer.config(),
              "batch_size": spec.batch_size, "steps": spec.steps, "start_step": spec.start_step,
              "seeds": int(spec.keys.shape[0]), "backend": "cuda", "dtype": dtype,
              "layout": layout,
              "reduce": list(reduce) if reduce else None,
              "options": {key: repr(value) for key, value in sorted(options.items())}}
    if reduce is None:
        ds = assemble(spec, fetch(device, arrays), config, label)
        ds.attrs["config"] = json.dumps(config, sort_keys=True)
        return ds
    return _reduced_dataset(spec, device, arrays, reduce, qs, edges, config, label)


def _reduced_dataset(spec, device, arrays, reduce, qs, edges, config, label):
    import xarray as xr

    from .interface import lr_coords
    stats = reduce_records(device, arrays, reduce, qs, edges)
    diverged = arrays.to_host(device.out.diverged_step)
    data = {"diverged": (("lr_index",), (diverged >= 0).sum(axis=1))}
    coords = {**lr_coords(spec.lrs), "step": spec.record_steps}
    if "mean" in reduce:
        data["n_finite"] = (("lr_index", "step"), stats["n_finite"])
        data["loss_mean"] = (("lr_index", "step"), stats["mean"])
        data["loss_std"] = (("lr_index", "step"), stats["std"])
    if "quantiles" in reduce:
        data["loss_quantile"] = (("lr_index", "quantile", "step"), stats["quantiles"])
        coords["quantile"] = qs
    if "histogram" in reduce:
        data["loss_histogram"] = (("lr_index", "step", "bin"), stats["histogram"])
        lower = np.concatenate([[-np.inf], edges])
        upper = np.concatenate([edges, [np.inf]])
        coords["bin_lower"] = (("bin",), lower)
        coords["bin_upper"] = (("bin",), upper)
    return xr.Dataset(data, coords=coords,
                      attrs={"config": json.dumps(config, sort_keys=True), "optimizer": label,
                             "problem": spec.problem.name, "start_step": int(spec.start_step),
                             "final_step": int(spec.stop), "seeds": int(spec.keys.shape[0])})


# ------------------------------------------------------------------------------------------------
# PTX without a GPU
# ------------------------------------------------------------------------------------------------

def kernel_ptx(spec: RunSpec, cc=(9, 0), dtype: str = "float64", fma: bool = False,
               layout: str = "thread", optsize: bool = True) -> str:
    """The PTX of ``spec``'s simulation kernel for compute capability ``cc``, compiled as ``run``
    compiles it (``fma=False``: ``-fma=0``) from host arrays laid out as on the device; needs
    libNVVM (and NVRTC, which numba-cuda asks for the supported architectures), not a GPU.
    ``fma=True`` compiles with NVVM's default contraction instead, ``optsize=False`` without
    ``cuda_compile.size_optimized`` (for comparison)."""
    from numba.cuda import compile_ptx
    from numba.cuda.typing.typeof import typeof
    from .cuda_compile import compiling_for, device_codegen
    layout = resolve_layout(spec, layout)
    device = place(spec, Arrays("host"), dtype, grid=(1, 2), layout=layout)
    signature = tuple(typeof(a) for a in _kernel_args(spec, device))
    compiler = _compiler(device.P, device.D, layout, fixed_choices(device.D, device.batching))
    with compiling_for(cc), device_codegen(fma=fma, optsize=optsize):
        ptx, _ = compile_ptx(compiler.clone(_kernel_function(layout)), signature, cc=tuple(cc))
    return ptx


def device_function_ptx(func, signature, cc=(9, 0), fma: bool = False) -> str:
    """The PTX of one simlab scalar function compiled as a device function (for inspection, e.g.
    ``random.standard_normal``); ``fma`` as in ``kernel_ptx``."""
    from numba.cuda import compile_ptx
    from .cuda_compile import DeviceCompiler, compiling_for, no_fma
    compiler = DeviceCompiler({})
    with compiling_for(cc), (no_fma() if not fma else _nothing()):
        ptx, _ = compile_ptx(compiler.clone(func), signature, device=True, cc=tuple(cc))
    return ptx


def helper_kernels_ptx(cc=(9, 0)) -> dict:
    """PTX of the reduction kernels and of the sign-model Monte Carlo kernels (name → PTX),
    compiled for float64 records as ``reduce_records`` and ``cuda_sign_model`` launch them."""
    from numba.cuda import compile_ptx
    from numba.cuda import types as T
    from . import cuda_sign_model
    from .cuda_compile import DeviceCompiler, compiling_for, device_codegen
    _bind_cuda()
    cuda_sign_model.globals_for_kernels()
    f1, f2, f3 = T.float64[::1], T.float64[:, ::1], T.float64[:, :, ::1]
    i3 = T.int64[:, :, ::1]
    i2 = T.int64[:, ::1]
    kernels = {
        "moments": (moments_kernel, (f3, i2, f2, f2)),
        "histogram": (histogram_kernel, (f3, f1, i3)),
        "quantiles": (quantiles_kernel, (f3, f1, f2, f3)),
        "sign_draws": (cuda_sign_model.draws_kernel, (f1, f1, f2, T.float64, T.uint64, f2, f1)),
        "sign_sum": (cuda_sign_model.sum_kernel, (f1, f1)),
    }
    out = {}
    compiler = DeviceCompiler({})
    with compiling_for(cc), device_codegen():
        for name, (func, signature) in kernels.items():
            out[name], _ = compile_ptx(compiler.clone(func), signature, cc=tuple(cc))
    return out


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _bind_cuda():
    """numba.cuda (and the shared arrays' dtypes) into this module's globals, which the kernels
    above name (``cuda_device.bind_cuda``)."""
    return bind_cuda(globals())
