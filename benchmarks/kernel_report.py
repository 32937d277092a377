"""What the CUDA kernels cost, read from the compiler without a GPU, and what an H100 should do with them.

    python benchmarks/kernel_report.py [--markdown docs/backends.md] [--cc 90] [--quick]

For every kernel the benchmarks and experiments launch on the toy (d = 9 heterogeneous quadratic,
sampling with replacement; Adam (0.95, 0.95, no bias correction: the benchmark's), SGD with
momentum, Signum, RMSprop; B = 1, 8, 64; thread and block layouts; float64) and on the
benchmark's d = 256 data quadratic (B = 64), it prints one row:

* **resources** — compiled as the backend compiles them (``cuda_backend.kernel_ptx``: ``-fma=0``,
  ``optsize``, the kernel's ``fixed_choices``), assembled by ptxas for sm_90: registers a thread,
  spill bytes, stack frame (local memory), static shared memory, constant bank bytes (ptxas -v);
  the theoretical occupancy on an H100 from them (``simlab.backends.occupancy``);
* **the work of one run-step** — the engine's own source run for one run in Python on counting
  numbers and arrays (``count_step``: FP64 additions, multiplications, divisions, square roots,
  splitmix64 hashes, global loads and stores with their bytes, per step, averaged over 10 steps),
  each operation priced in SASS instructions read from the SASS of that operation compiled the
  same way (``sass_costs``: a division is 1 MUFU.RCP64H + 7 DFMA + 1 DMUL — the DFMAs of
  IEEE division are the division's own, not contractions —, a square root 1 MUFU.RSQ64H + 5 DFMA
  + 3 DMUL, a hash so many integer instructions). Loops run in the counted source exactly as
  often as in the kernel; what the count does not see is the compiler's overhead around them
  (address arithmetic, loop control), which the static SASS mix of the whole kernel shows;
* **a predicted rate on an H100 SXM** — a model, not a measurement (``predict``): the minimum of
  (1) the FP64 issue bound, (2) a latency bound by Little's law — resident threads / time of one
  thread's step, each FP64 instruction and each global load waiting the full latency of the one
  before (no overlap inside a thread: the optsize kernel does not unroll) — and (3) the memory
  bound with every load and store going to HBM. The constants are in ``H100_MODEL`` with their
  sources; they are assumptions until ``benchmarks/gpu_check.py`` measures the rates.

``--markdown FILE`` replaces the block between ``<!-- kernel_report -->`` and
``<!-- /kernel_report -->`` in FILE with the table (how ``docs/backends.md`` gets it).
Needs numba-cuda with libNVVM (``pip install 'simlab[cuda]'``) and ptxas
(``nvidia-cuda-nvcc``); the static SASS mix needs nvdisasm (``nvidia-cuda-nvdisasm``), found on
PATH, beside ptxas, or in ``$SIMLAB_NVDISASM``, and is left out without it.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["NUMBA_ENABLE_CUDASIM"] = "0"          # the real compiler, before numba.cuda loads

import simlab  # noqa: E402
from simlab import optim, problems  # noqa: E402
from simlab.backends.occupancy import H100, blocks_per_sm  # noqa: E402

MARK_BEGIN, MARK_END = "<!-- kernel_report -->", "<!-- /kernel_report -->"


class Model(NamedTuple):
    """The H100 SXM numbers of the prediction (assumptions, sources in the comments)."""
    sms: int = 132                   # H100 SXM5: 132 SMs (NVIDIA H100 Tensor Core GPU datasheet)
    clock_hz: float = 1.98e9         # boost clock (datasheet: 67 TFLOP/s FP64 = 132·64·2·1.98e9)
    fp64_per_clock: int = 64         # FP64 instructions an SM issues per clock (non-tensor)
    mufu64_per_clock: int = 16       # assumed: MUFU.RCP64H/RSQ64H at a quarter of the FP64 rate
    fp64_latency: float = 8.0        # cycles, assumed for DADD/DMUL/DFMA on sm_90
    mufu_latency: float = 20.0       # cycles, assumed
    load_latency: float = 250.0      # cycles, assumed L2-hit latency (the toy's state fits L2)
    int_latency: float = 4.0         # cycles, assumed for IMAD/LOP3/IADD3 (the hashes)
    hbm_bytes_per_s: float = 3.35e12  # HBM3 bandwidth (datasheet)
    threads_per_block: int = 128     # cuda_backend.BLOCK


H100_MODEL = Model()


class Kernel(NamedTuple):
    label: str
    problem: object
    optimizer: object
    batch_size: int
    layout: str


def toy():
    return problems.block_quadratic("heterogeneous", seed=0)


def big():
    """The d = 256 data quadratic of benchmarks/simulate_cuda.py."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from simulate_cuda import big_problem
    return big_problem()


def kernels(quick: bool = False) -> list:
    opts = {"Adam": optim.adam(0.95, 0.95, 1e-8, bias_correction=False),
            "SGD-m": optim.sgd(momentum=0.9), "Signum": optim.signum(0.9),
            "RMSprop": optim.rmsprop(0.99, 1e-8)}
    if quick:
        opts = {"Adam": opts["Adam"]}
    out = []
    t = toy()
    for name, opt in opts.items():
        for b in ((1, 64) if quick else (1, 8, 64)):
            for layout in (("thread",) if quick else ("thread", "block")):
                out.append(Kernel(f"toy {name} B={b}", t, opt, b, layout))
    if not quick:
        d256 = big()
        for layout in ("block", "thread"):
            out.append(Kernel("d=256 Adam B=64", d256, opts["Adam"], 64, layout))
    return out


def spec_of(k: Kernel, steps: int = 10, seeds: int = 4):
    return simlab.make_spec(k.problem, k.optimizer, [1e-3, 1e-2], k.batch_size, steps, seeds,
                            sampling="with_replacement", record_every=steps, backend="cuda")


# ------------------------------------------------------------------------------------------------
# The compiler's view: ptxas resources and the SASS
# ------------------------------------------------------------------------------------------------

def tool(name: str, env: str | None = None) -> str | None:
    """Path of an NVIDIA tool: $env, the nvidia wheels' bin folders (the version of the wheels'
    libNVVM, whose PTX an older ptxas rejects), or PATH."""
    if env and os.environ.get(env):
        return os.environ[env]
    import site
    for base in site.getsitepackages() + [site.getusersitepackages()]:
        for candidate in sorted(Path(base).glob(f"nvidia/*/bin/{name}")):
            return str(candidate)
    return shutil.which(name)


class Resources(NamedTuple):
    registers: int
    spill_stores: int
    spill_loads: int
    stack: int
    shared: int
    constant: int


def assemble(ptx: str, cc: int, workdir: str, max_registers: int | None = None) -> tuple:
    """(Resources, cubin path) of ``ptx`` assembled by ptxas -v for sm_<cc>; ``max_registers``:
    capped with ``-maxrregcount`` (what a register budget forced on the kernel would cost)."""
    ptxas = tool("ptxas", "SIMLAB_PTXAS")
    if ptxas is None:
        raise SystemExit("ptxas not found: pip install nvidia-cuda-nvcc (or set SIMLAB_PTXAS)")
    cap = [] if max_registers is None else [f"-maxrregcount={int(max_registers)}"]
    src = Path(workdir, "k.ptx")
    cubin = Path(workdir, f"k{abs(hash(ptx))}{'' if max_registers is None else max_registers}.cubin")
    src.write_text(ptx)
    done = subprocess.run([ptxas, f"-arch=sm_{cc}", "-v", *cap, "-o", str(cubin), str(src)],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    log = done.stderr
    entry = log[log.index("Compiling entry function"):] if "Compiling entry" in log else log

    def first(pattern, default=0):
        m = re.search(pattern, entry)
        return int(m.group(1)) if m else default
    return Resources(first(r"Used (\d+) registers"), first(r"(\d+) bytes spill stores"),
                     first(r"(\d+) bytes spill loads"), first(r"(\d+) bytes stack frame"),
                     first(r"(\d+) bytes smem"), first(r"(\d+) bytes cmem\[0\]")), cubin


SASS_LINE = re.compile(r"^\s*/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P[T\d]+\s+)?([A-Z][A-Z0-9_.]*)")


def sass_opcodes(cubin: Path, main_path_only: bool = False) -> list:
    """The opcodes of the SASS of ``cubin`` (nvdisasm); ``main_path_only``: up to the first EXIT
    (leaves out the out-of-line slow paths of division and square root)."""
    nvdisasm = tool("nvdisasm", "SIMLAB_NVDISASM")
    if nvdisasm is None:
        return []
    text = subprocess.run([nvdisasm, "-c", str(cubin)], capture_output=True, text=True,
                          check=True).stdout
    ops = []
    for line in text.splitlines():
        m = SASS_LINE.match(line)
        if m:
            ops.append(m.group(1))
            if main_path_only and m.group(1) == "EXIT":
                break
    return ops


def sass_mix(ops: list) -> dict:
    """Instruction classes of a list of SASS opcodes; loads/stores with their bytes."""
    mix = Counter()
    for op in ops:
        base = op.split(".")[0]
        if base in ("DADD", "DMUL", "DFMA", "DSETP", "MUFU", "IMAD", "NOP"):
            mix[op if base == "MUFU" else base] += 1
        elif base in ("LDG", "STG"):
            width = next((int(p) for p in op.split(".")[1:] if p.isdigit()), 32)
            mix[base] += 1
            mix[base + "_bytes"] += width // 8
        elif base in ("LOP3", "IADD3", "SHF", "ISETP", "LEA", "IMAD", "VIADD", "SEL"):
            mix["INT"] += 1
    mix["total"] = sum(1 for op in ops if op != "NOP")
    return dict(mix)


def sass_costs(cc: int, workdir: str) -> dict:
    """SASS instructions (main path) of one division, square root and splitmix64 hash compiled
    as the kernels are: the instructions of ``out[0] = a[0] OP a[1]`` minus those of
    ``out[0] = a[0] + a[1]`` (plus the one DADD)."""
    from numba.cuda import compile_ptx
    from numba.cuda import types as T

    from simlab import random as rnd
    from simlab.backends.cuda_compile import DeviceCompiler, compiling_for, device_codegen
    compiler = DeviceCompiler({})
    hash_fn = compiler(rnd.splitmix64)

    def k_add(a, out):
        out[0] = a[0] + a[1]

    def k_div(a, out):
        out[0] = a[0] / a[1]

    def k_sqrt(a, out):
        out[0] = math.sqrt(a[0]) + a[1]

    def k_hash(a, out):
        out[0] = a[0] + a[1] + np.float64(hash_fn(np.uint64(a[0] * 8.0)) >> np.uint64(40))

    def k_hash0(a, out):
        out[0] = a[0] + a[1] + np.float64(np.uint64(a[0] * 8.0) >> np.uint64(40))

    mixes = {}
    sig = (T.float64[::1], T.float64[::1])
    for name, func in (("add", k_add), ("div", k_div), ("sqrt", k_sqrt), ("hash", k_hash),
                       ("hash0", k_hash0)):
        with compiling_for((cc // 10, cc % 10)), device_codegen():
            ptx, _ = compile_ptx(func, sig, cc=(cc // 10, cc % 10))
        _, cubin = assemble(ptx, cc, workdir)
        mixes[name] = Counter(sass_mix(sass_opcodes(cubin, main_path_only=True)))
    if not mixes["add"]:
        return {}
    costs = {}
    for name, base in (("div", "add"), ("sqrt", "add"), ("hash", "hash0")):
        diff = Counter(mixes[name])
        diff.subtract(mixes[base])
        if name != "hash":
            diff["DADD"] += 1
        costs[name] = {key: value for key, value in diff.items()
                       if value > 0 and not key.endswith("bytes") and key not in ("LDG", "STG")}
    return costs


# ------------------------------------------------------------------------------------------------
# The source's view: the operations of one run-step, counted
# ------------------------------------------------------------------------------------------------

class _Tally:
    ops = Counter()


class CountingFloat(float):
    """A float that counts the FP64 operations made with it (``_Tally.ops``)."""

    def _op(self, other, kind, result):
        _Tally.ops[kind] += 1
        return CountingFloat(result)

    def __add__(self, o): return self._op(o, "add", float(self) + float(o))
    def __radd__(self, o): return self._op(o, "add", float(o) + float(self))
    def __sub__(self, o): return self._op(o, "add", float(self) - float(o))
    def __rsub__(self, o): return self._op(o, "add", float(o) - float(self))
    def __mul__(self, o): return self._op(o, "mul", float(self) * float(o))
    def __rmul__(self, o): return self._op(o, "mul", float(o) * float(self))

    def __truediv__(self, o):
        return self._op(o, "div", float(self) / float(o) if float(o) else
                        math.copysign(math.inf, float(self)) if float(self) else math.nan)

    def __rtruediv__(self, o): return self._op(o, "div", float(o) / float(self))
    def __neg__(self): return CountingFloat(-float(self))
    def __abs__(self): return CountingFloat(abs(float(self)))


class CountingArray(np.ndarray):
    """An array whose element loads and stores are counted (with their bytes); float elements
    come out as ``CountingFloat``."""

    def __getitem__(self, index):
        value = super().__getitem__(index)
        if isinstance(value, np.ndarray):
            return value
        _Tally.ops["load"] += 1
        _Tally.ops["load_bytes"] += self.itemsize
        return CountingFloat(value) if self.dtype.kind == "f" else value

    def __setitem__(self, index, value):
        if np.ndim(super().__getitem__(index)) == 0:
            _Tally.ops["store"] += 1
            _Tally.ops["store_bytes"] += self.itemsize
        super().__setitem__(index, value)


def _counting(record):
    fields = []
    for value in record:
        if isinstance(value, np.ndarray):
            fields.append(np.ascontiguousarray(value).view(CountingArray))
        elif isinstance(value, tuple) and hasattr(value, "_fields"):
            fields.append(_counting(value))
        else:
            fields.append(value)
    return type(record)(*fields)


def _counted_run(k: Kernel, steps: int) -> Counter:
    """The operations of run 0 of ``k`` over ``steps`` steps (records at the first and last)."""
    from simlab import random as rnd
    from simlab import transforms
    from simlab.backends import per_run
    from simlab.backends.cuda_backend import Arrays, place
    spec = spec_of(k, steps=steps, seeds=1)
    device = place(spec, Arrays("host"), "float64", grid=(1, 1), layout="thread")
    P, D, plan, batching, out = (_counting(r) for r in (device.P, device.D, device.plan,
                                                         device.batching, device.out))
    work = _counting(device.work)
    scratch = per_run.Scratch(*(a[:, 0] for a in work))
    saved = transforms.sqrt, rnd.splitmix64

    def counting_sqrt(x):
        _Tally.ops["sqrt"] += 1
        return CountingFloat(math.sqrt(x))

    def counting_hash(x):
        _Tally.ops["hash"] += 1
        return saved[1](x)
    transforms.sqrt, rnd.splitmix64 = counting_sqrt, counting_hash
    _Tally.ops = Counter()
    try:
        with np.errstate(over="ignore"):               # the hashes wrap around, as intended
            per_run.run_one(0, P, D, plan, batching, out, scratch)
    finally:
        transforms.sqrt, rnd.splitmix64 = saved
    return _Tally.ops


def count_step(k: Kernel, steps: int = 10) -> dict:
    """The operations of one run-step of ``k`` (the difference of a (2 + steps)- and a 2-step
    run, divided by ``steps``)."""
    long, short = _counted_run(k, 2 + steps), _counted_run(k, 2)
    return {key: (long[key] - short[key]) / steps for key in set(long) | set(short)}


def step_mix(ops: dict, costs: dict) -> dict:
    """SASS instructions of one run-step: the counted operations × their SASS costs (additions
    and multiplications are one DADD/DMUL each under -fma=0)."""
    mix = Counter({"DADD": ops.get("add", 0.0), "DMUL": ops.get("mul", 0.0)})
    for op in ("div", "sqrt", "hash"):
        for cls, n in costs.get(op, {}).items():
            mix[cls] += ops.get(op, 0.0) * n
    for key in ("load", "store", "load_bytes", "store_bytes"):
        mix[key] = ops.get(key, 0.0)
    return dict(mix)


# ------------------------------------------------------------------------------------------------
# The model
# ------------------------------------------------------------------------------------------------

#: Issue 19's register budget a thread (≥ 31 % occupancy on an H100 at 128 threads a block).
BUDGET = 96


def over_budget_reason(pred: dict, capped: Resources | None) -> str | None:
    """Why a kernel above ``BUDGET`` registers is better left there, in the model's terms — its
    predicted rate is not limited by occupancy (the latency bound, the only one occupancy enters,
    lies above the bound that limits it) and the kernel capped at ``BUDGET`` spills (local-memory
    traffic the uncapped kernel does not have) — or None when the model does not say so."""
    if pred["limit"] == "latency" or capped is None or capped.spill_stores + capped.spill_loads == 0:
        return None
    return (f"{pred['limit']}-bound: latency bound {pred['latency']:.2g} ≥ "
            f"{pred[pred['limit']]:.2g} at {pred['occupancy']:.0%} occupancy; capped at {BUDGET} "
            f"it spills {capped.spill_stores}/{capped.spill_loads} B (st/ld)")

def predict(mix: dict, registers: int, shared: int, model: Model = H100_MODEL,
            threads_per_block: int | None = None, threads_per_run: int = 1,
            parallel: int = 1) -> dict:
    """Run-steps/s on the GPU of ``model``: min(FP64 issue, latency (Little's law), memory).
    ``threads_per_run`` > 1 (the block layout): the resident runs are the resident threads /
    ``threads_per_run``, and a step's work is split evenly over ``parallel`` of them."""
    threads = threads_per_block or model.threads_per_block
    fp64 = mix.get("DADD", 0) + mix.get("DMUL", 0) + mix.get("DFMA", 0)
    mufu = sum(v for key, v in mix.items() if key.startswith("MUFU"))
    integer = mix.get("INT", 0) + mix.get("IMAD", 0)
    blocks = blocks_per_sm(registers, threads, shared)
    resident = blocks * threads
    clock = model.sms * model.clock_hz
    issue = clock * min(model.fp64_per_clock / max(fp64, 1e-9),
                        model.mufu64_per_clock / max(mufu, 1e-9))
    step_cycles = (fp64 * model.fp64_latency + mufu * model.mufu_latency
                   + integer * model.int_latency + mix.get("load", 0) * model.load_latency)
    latency = clock * (resident // threads_per_run) * parallel / step_cycles
    traffic = mix.get("load_bytes", 0) + mix.get("store_bytes", 0)
    memory = model.hbm_bytes_per_s / traffic if traffic else math.inf
    bounds = {"FP64 issue": issue, "latency": latency, "memory": memory}
    limit = min(bounds, key=bounds.get)
    return {"rate": bounds[limit], "limit": limit, "occupancy": resident / H100.max_threads,
            "resident": resident, **bounds}


def kernel_prediction(k: Kernel, spec, mix: dict, res: Resources) -> dict:
    """``predict`` for kernel ``k`` as it is launched: 128 threads a block in the thread layout;
    in the block layout a block per run, its width from d and M, the step split over
    min(width, max(d, B)) of its threads."""
    from simlab.backends.cuda_backend import block_threads
    if k.layout != "block":
        return predict(mix, res.registers, res.shared)
    threads = block_threads(max(spec.dim, spec.microbatch))
    return predict(mix, res.registers, res.shared, threads_per_block=threads,
                   threads_per_run=threads, parallel=min(threads, max(spec.dim, k.batch_size)))


# ------------------------------------------------------------------------------------------------

def report(cc: int = 90, quick: bool = False, progress=print) -> tuple:
    """(rows, costs, static mixes): one row per kernel of ``kernels()``."""
    from simlab.backends.cuda_backend import kernel_ptx
    from simlab.backends.kernel_inputs import kernel_records
    rows, compiled, counted = [], {}, {}
    with tempfile.TemporaryDirectory() as workdir:
        costs = sass_costs(cc, workdir)
        for k in kernels(quick):
            spec = spec_of(k)
            counts_rows = kernel_records(spec)[3].use_counts
            family = (id(k.problem), id(k.optimizer), k.layout, counts_rows)
            if family not in compiled:         # B = 1 and 8 (< n) compile to the same kernel
                ptx = kernel_ptx(spec, cc=(cc // 10, cc % 10), layout=k.layout)
                res, cubin = assemble(ptx, cc, workdir)
                unsized = None
                if k.layout == "thread" and k.problem.dim <= 16:
                    plain = kernel_ptx(spec, cc=(cc // 10, cc % 10), layout=k.layout,
                                       optsize=False)
                    unsized = assemble(plain, cc, workdir)[0].registers
                capped = (assemble(ptx, cc, workdir, max_registers=BUDGET)[0]
                          if res.registers > BUDGET else None)
                compiled[family] = (res, sass_mix(sass_opcodes(cubin)), unsized, capped)
            res, static, unsized, capped = compiled[family]
            key = (id(k.problem), id(k.optimizer), k.batch_size)
            if key not in counted:
                counted[key] = count_step(k, steps=10 if k.problem.dim <= 16 else 2)
            ops = counted[key]
            mix = step_mix(ops, costs)
            pred = kernel_prediction(k, spec, mix, res)
            rows.append({"kernel": k, "resources": res, "static": static, "ops": ops,
                         "registers_without_optsize": unsized, "capped": capped,
                         "mix": mix, "prediction": pred})
            progress(f"{k.label} {k.layout}: {res.registers} registers, "
                     f"{res.spill_stores} B spilled, {pred['rate']:.3g} run-steps/s predicted",
                     flush=True)
    return rows, costs


def markdown(rows: list, costs: dict, model: Model = H100_MODEL) -> str:
    def cost(op):
        c = costs.get(op, {})
        parts = " + ".join(f"{n} {cls}" for cls, n in sorted(c.items()) if cls != "total")
        return f"{c['total']} instructions ({parts})" if c else "n/a (no nvdisasm)"
    lines = [
        "Compiled for sm_90 without a GPU (`python benchmarks/kernel_report.py --markdown "
        "docs/backends.md` writes this block). **Predicted rates are a model, not a "
        "measurement.**",
        "",
        "| kernel | layout | regs | regs without optsize | spill B (st/ld) | stack B | smem B | occupancy H100 | "
        "static SASS: instr / DADD / DMUL / DFMA / MUFU | per step: DADD / DMUL / DFMA / MUFU | "
        "per step: loads / stores (bytes) | bounds: FP64 issue / latency / memory | "
        "predicted run-steps/s | bound |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        k, res, st, mix, pred = (row["kernel"], row["resources"], row["static"], row["mix"],
                                 row["prediction"])
        mufu_static = sum(v for key, v in st.items() if key.startswith("MUFU"))
        mufu = sum(v for key, v in mix.items() if key.startswith("MUFU"))
        static = (f"{st.get('total', 0)} / {st.get('DADD', 0)} / {st.get('DMUL', 0)} / "
                  f"{st.get('DFMA', 0)} / {mufu_static}" if st.get("total") else "n/a")
        lines.append(
            f"| {k.label} | {k.layout} | {res.registers} | "
            f"{row['registers_without_optsize'] or '—'} | "
            f"{res.spill_stores}/{res.spill_loads} | "
            f"{res.stack} | {res.shared} | {pred['occupancy']:.1%} | {static} | "
            f"{mix.get('DADD', 0):.0f} / {mix.get('DMUL', 0):.0f} / {mix.get('DFMA', 0):.0f} / "
            f"{mufu:.1f} | {mix.get('load', 0):.0f} ({mix.get('load_bytes', 0):.0f}) / "
            f"{mix.get('store', 0):.0f} ({mix.get('store_bytes', 0):.0f}) | "
            f"{pred['FP64 issue']:.2g} / {pred['latency']:.2g} / {pred['memory']:.2g} | "
            f"**{pred['rate']:.2g}** | {pred['limit']} |")
    over = [row for row in rows if row["resources"].registers > BUDGET]
    if over:
        lines += ["", f"Above the budget of {BUDGET} registers (issue 19 item 3), and why the "
                  "model keeps them there:"]
        for row in over:
            why = over_budget_reason(row["prediction"], row["capped"])
            lines.append(f"- {row['kernel'].label} ({row['kernel'].layout}, "
                         f"{row['resources'].registers} registers): "
                         + (why or "**the model does not justify it**"))
    lines += [
        "",
        f"SASS cost of one operation (main path, measured here): division = {cost('div')}; "
        f"square root = {cost('sqrt')}; splitmix64 hash = {cost('hash')}. The DFMAs are those "
        "of IEEE division and square root (correctly rounded), not contractions: `-fma=0` "
        "leaves no DFMA elsewhere.",
        "",
        f"Model (assumptions): H100 SXM, {model.sms} SMs at {model.clock_hz / 1e9:.2f} GHz; "
        f"FP64 issue {model.fp64_per_clock}/clock/SM (datasheet 67 TFLOP/s FP64 = "
        f"{model.sms}·{model.fp64_per_clock}·2·{model.clock_hz / 1e9:.2f} GHz), MUFU 64-bit "
        f"{model.mufu64_per_clock}/clock/SM; occupancy from registers and shared memory "
        f"(65536 registers, 2048 threads, 32 blocks, 228 KiB per SM, 256-register allocation "
        f"unit per warp; {model.threads_per_block} threads a block, 128 or 256 in the block "
        f"layout); latency bound = resident threads × clock / (one step's instructions each "
        f"waiting its latency: FP64 {model.fp64_latency:g}, MUFU {model.mufu_latency:g}, "
        f"integer {model.int_latency:g}, global load {model.load_latency:g} cycles — no "
        f"overlap inside a thread); memory bound = {model.hbm_bytes_per_s / 1e12:.2f} TB/s / "
        "(loads + stores) bytes per step (every access to HBM: pessimistic where L1/L2 hit). "
        "Per-step counts come from the engine's source run on counting numbers (integer index "
        "arithmetic and loop control other than the hashes are not counted). Block layout: a "
        "block runs one run, its step's work split evenly over min(threads, max(d, B)) threads "
        "(an upper bound: thread 0 alone draws the batch and reduces the loss).",
    ]
    return "\n".join(lines)


def write_markdown(path: Path, block: str) -> None:
    text = path.read_text()
    if MARK_BEGIN not in text or MARK_END not in text:
        raise SystemExit(f"{path} has no {MARK_BEGIN} … {MARK_END} block to replace")
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(f"{head}{MARK_BEGIN}\n{block}\n{MARK_END}{tail}")
    tmp.replace(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", type=int, default=90, help="compute capability (default 90)")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="replace the kernel_report block of this Markdown file")
    parser.add_argument("--quick", action="store_true", help="Adam B = 1, 64 thread only")
    args = parser.parse_args(argv)
    if args.cc not in (80, 86, 89, 90):
        print(f"--cc={args.cc} must be one of 80, 86, 89, 90", file=sys.stderr)
        return 2
    rows, costs = report(args.cc, args.quick)
    block = markdown(rows, costs)
    print(block)
    if args.markdown:
        write_markdown(args.markdown, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
