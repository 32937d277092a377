"""The CUDA kernels' register budget (compile-only, no GPU), the occupancy rules and the kernel
report's counts (``benchmarks/kernel_report.py``)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import simlab
from simlab import optim, problems
from simlab.backends.occupancy import H100, SM, blocks_per_sm, occupancy

ROOT = Path(simlab.__file__).resolve().parents[1]


@pytest.mark.parametrize("registers, threads, shared, blocks", [
    (254, 128, 0, 2),            # the toy kernels before issue 19: 12.5 % occupancy
    (128, 128, 0, 4),
    (96, 128, 0, 5),             # the budget: 5 × 128 = 640 threads, 31.25 %
    (64, 128, 0, 8),             # 8 × 4 warps = 32 warps = half the SM
    (32, 256, 0, 8),             # thread limit: 2048 / 256
    (16, 32, 0, 32),             # block limit
    (32, 128, 100 * 1024, 2),    # shared memory: 228 KiB / (100 KiB + 1 KiB reserved)
    (33, 128, 0, 12),            # 33 regs → 1280 a warp after rounding to 256: 51 warps → 12 blocks
])
def test_blocks_per_sm_follow_the_occupancy_rules(registers, threads, shared, blocks):
    assert blocks_per_sm(registers, threads, shared) == blocks
    assert occupancy(registers, threads, shared) == pytest.approx(blocks * threads / 2048)


def test_blocks_per_sm_rejects_bad_input_and_reads_other_limits():
    with pytest.raises(ValueError, match="registers=0"):
        blocks_per_sm(0, 128)
    half = SM(registers=H100.registers // 2)
    assert blocks_per_sm(96, 128, sm=half) == 2


def _report_module():
    spec = importlib.util.spec_from_file_location("kernel_report",
                                                  ROOT / "benchmarks" / "kernel_report.py")
    module = importlib.util.module_from_spec(spec)
    saved = os.environ.get("NUMBA_ENABLE_CUDASIM")
    spec.loader.exec_module(module)                 # sets NUMBA_ENABLE_CUDASIM=0 for itself
    if saved is None:
        os.environ.pop("NUMBA_ENABLE_CUDASIM", None)
    else:
        os.environ["NUMBA_ENABLE_CUDASIM"] = saved
    return module


@pytest.mark.parametrize("name, batch_size, hashes, sqrt, div", [
    ("adam", 1, 2, 9, 9),        # one index: uniform = 2 splitmix64; √ and ÷ per coordinate
    ("adam", 8, 16, 9, 18),      # + the mean over the batch: one ÷ per coordinate
    ("sgd", 8, 16, 0, 9),        # SGD with momentum: only the mean's ÷
])
def test_step_counts_are_the_engines_operations(name, batch_size, hashes, sqrt, div):
    """The per-step counts of the report come from the engine's source: 2 hashes per drawn
    index, one √ and one ÷ per coordinate for Adam, one ÷ per coordinate for the batch mean."""
    report = _report_module()
    opt = (optim.adam(0.95, 0.95, 1e-8, bias_correction=False) if name == "adam"
           else optim.sgd(momentum=0.9))
    kernel = report.Kernel("toy", problems.block_quadratic("heterogeneous", seed=0), opt,
                           batch_size, "thread")
    ops = report.count_step(kernel, steps=4)
    assert ops["hash"] == hashes
    assert ops.get("sqrt", 0) == sqrt
    assert ops.get("div", 0) == div
    assert ops["load"] > 9 and ops["store"] >= 9 * (2 if name == "adam" else 1)


def test_markdown_block_is_replaced_in_place(tmp_path):
    report = _report_module()
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{report.MARK_BEGIN}\nold\n{report.MARK_END}\nafter\n")
    report.write_markdown(doc, "new table")
    assert doc.read_text() == f"before\n{report.MARK_BEGIN}\nnew table\n{report.MARK_END}\nafter\n"


BUDGET_SCRIPT = r"""
import json, re, subprocess, sys, tempfile
sys.path.insert(0, sys.argv[1] + "/benchmarks")
import kernel_report as kr
import simlab
from simlab import optim, problems
from simlab.backends import cuda_backend as cb
try:
    from numba.cuda.cudadrv.nvvm import NVVM
    NVVM()
    assert kr.tool("ptxas") is not None, "ptxas not found"
except Exception as exc:
    print(json.dumps({"skip": f"libNVVM/ptxas not usable here ({type(exc).__name__}: {exc})"}))
    sys.exit(0)
toy = problems.block_quadratic("heterogeneous", seed=0)
opts = {"adam": optim.adam(0.95, 0.95, 1e-8, bias_correction=False),
        "sgdm": optim.sgd(momentum=0.9), "signum": optim.signum(0.9),
        "rmsprop": optim.rmsprop(0.99, 1e-8)}
out = {}
with tempfile.TemporaryDirectory() as tmp:
    costs = None
    for case in sys.argv[2:]:
        name, b, layout, optsize = case.split(":")
        spec = simlab.make_spec(toy, opts[name], [1e-3, 1e-2], int(b), 10, 4,
                                sampling="with_replacement", backend="cuda")
        ptx = cb.kernel_ptx(spec, cc=(9, 0), layout=layout, optsize=optsize == "1")
        res = kr.assemble(ptx, 90, tmp)[0]
        out[case] = res._asdict()
        if optsize == "1" and res.registers > kr.BUDGET:     # the model's view, as the report's
            costs = kr.sass_costs(90, tmp) if costs is None else costs
            capped = kr.assemble(ptx, 90, tmp, max_registers=kr.BUDGET)[0]
            kernel = kr.Kernel(case, toy, opts[name], int(b), layout)
            mix = kr.step_mix(kr.count_step(kernel), costs)
            pred = kr.kernel_prediction(kernel, spec, mix, res)
            out[case].update(capped=capped._asdict(), limit=pred["limit"],
                             reason=kr.over_budget_reason(pred, capped))
print(json.dumps(out))
"""

CASES = [f"{n}:{b}:{layout}:1" for n in ("adam", "sgdm", "signum", "rmsprop") for b in (1, 64)
         for layout in ("thread", "block")]
#: Counted rows (B ≥ n = 9 with replacement) in the thread layout hold more: 110 registers
#: (docs/backends.md), the exception issue 19 allows where its model shows the higher count is
#: faster. (The block layout's fit since its row counting is compiled out of line.)
OVER_BUDGET = {"adam:64:thread:1", "sgdm:64:thread:1", "signum:64:thread:1",
               "rmsprop:64:thread:1"}


@pytest.fixture(scope="module")
def budget():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", BUDGET_SCRIPT, str(ROOT), *CASES,
                           "adam:1:thread:0"], capture_output=True, text=True, env=env,
                          timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in result:
        _skip_unless_required(result["skip"])
    return result


def _skip_unless_required(why: str):
    """Skip a compile-only check where the compilers are missing — a failure in CI, which sets
    ``SIMLAB_REQUIRE_CUDA_COMPILE=1`` (a check that skips there proves nothing)."""
    if os.environ.get("SIMLAB_REQUIRE_CUDA_COMPILE") == "1":
        pytest.fail(f"SIMLAB_REQUIRE_CUDA_COMPILE=1 but {why}")
    pytest.skip(why)


SASS_SCRIPT = r"""
import json, sys, tempfile
sys.path.insert(0, sys.argv[1] + "/benchmarks")
import kernel_report as kr
try:
    from numba.cuda.cudadrv.nvvm import NVVM
    NVVM()
    for name in ("ptxas", "nvdisasm"):
        assert kr.tool(name) is not None, f"{name} not found"
except Exception as exc:
    print(json.dumps({"skip": f"libNVVM/ptxas/nvdisasm not usable here ({type(exc).__name__}: {exc})"}))
    sys.exit(0)
with tempfile.TemporaryDirectory() as tmp:
    print(json.dumps(kr.sass_costs(90, tmp)))
"""


def test_sass_costs_are_read_from_the_disassembly():
    """The report prices a division, a square root and a splitmix64 hash from nvdisasm's SASS of
    each compiled as the kernels are: IEEE division is a reciprocal seed (MUFU.RCP64H) refined by
    DFMAs, the square root a reciprocal-square-root seed refined the same way, the hash integer
    multiplies, shifts and logic."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SASS_SCRIPT, str(ROOT)], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    costs = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in costs:
        _skip_unless_required(costs["skip"])
    assert costs["div"].get("MUFU.RCP64H") == 1 and costs["div"].get("DFMA", 0) >= 4, costs
    assert costs["sqrt"].get("MUFU.RSQ64H") == 1 and costs["sqrt"].get("DFMA", 0) >= 4, costs
    assert costs["hash"].get("IMAD", 0) + costs["hash"].get("INT", 0) >= 10, costs
    assert not any(key.startswith("MUFU") for key in costs["hash"]), costs


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_toy_kernels_fit_the_register_budget(budget, case):
    """Issue 19: toy kernels (d ≤ 16) at ≤ 96 registers a thread (≥ 31 % occupancy on an H100)
    and no spills, as ptxas assembles them for sm_90 — except the counted-rows kernels, which
    stay above only while the report's model says the higher count is faster: their predicted
    rate is not occupancy-bound (latency bound above the bound that limits them) and capping
    them at 96 spills (``kernel_report.over_budget_reason``). A counted kernel that fits fails
    here too: then it leaves ``OVER_BUDGET``."""
    res = budget[case]
    assert res["spill_stores"] == 0 and res["spill_loads"] == 0, res
    if case in OVER_BUDGET:
        assert res["registers"] > 96, res
        assert res["reason"] is not None, res
        assert res["capped"]["spill_stores"] > 0, res
        return
    assert res["registers"] <= 96, res
    assert occupancy(res["registers"], 128, res["shared"]) >= 0.31


@pytest.mark.slow
def test_without_optsize_the_budget_is_exceeded(budget):
    """The check can fail: the same Adam kernel without ``optsize`` (NVVM unrolls the d and B
    loops) needs more than 96 registers."""
    assert budget["adam:1:thread:0"]["registers"] > 96
