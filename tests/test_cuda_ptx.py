"""The real device kernels compile to PTX without a GPU (libNVVM only), the normal draws carry no
fused multiply-add, and no kernel compiled with ``-fma=0`` calls a libdevice function or holds an
``fma`` instruction: Adam's β^t, AdEMAMix's β3 schedule and the adaptive SDEs' bias correction
are ``simlab.portable_math``'s arithmetic, so they round as on the CPU.

Runs in a subprocess with ``NUMBA_ENABLE_CUDASIM=0`` (``test_cuda.py`` puts this process's
numba.cuda into simulator mode, and numba.cuda picks its mode once per process). The compilers
come with the ``cuda-compile`` extra (in ``dev``: numba-cuda[cu13] brings libNVVM and NVRTC);
skipped, with the reason, where numba-cuda, libNVVM or NVRTC cannot be found — a failure where
``SIMLAB_REQUIRE_CUDA_COMPILE=1`` (CI).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import simlab

pytest.importorskip("numba.cuda", reason="numba-cuda is not installed (pip install -e '.[dev]')")

SCRIPT = r"""
import json, re, sys
import simlab
from simlab import optim, problems
from simlab import random as rnd
from simlab.backends import cuda_backend as cb
from numba.cuda import types as T
try:
    from numba.cuda.cudadrv.nvvm import NVVM
    NVVM()
    from numba.cuda.cudadrv import nvrtc
    nvrtc.get_supported_ccs()
except Exception as exc:
    print(json.dumps({"skip": f"libNVVM/NVRTC not usable here ({type(exc).__name__}: {exc}); "
                      "with libNVVM installed, pip install \"nvidia-cuda-nvrtc==13.0.*\" enables it"}))
    sys.exit(0)

CALL = re.compile(r"\bcall(?:\.uni)?\s*(?:\([^)]*\)\s*,)?\s*([A-Za-z_$][\w$]*)")


def counts(ptx):
    return {"libdevice": sorted(set(re.findall(r"__nv_\w+|__internal_\w+", ptx))),
            "calls": sorted(set(CALL.findall(ptx))),
            "any_fma": len(re.findall(r"\bfma\.", ptx)),
            "fma": ptx.count("fma.rn.f64"), "mul_rn": ptx.count("mul.rn.f64"),
            "add_rn": ptx.count("add.rn.f64"), "plain_mul": ptx.count("\tmul.f64"),
            "plain_add": ptx.count("\tadd.f64"), "entry": ptx.count(".entry"),
            "target": [l for l in ptx.splitlines() if l.startswith(".target")],
            "local": ptx.count(".local"), "syncs": ptx.count("bar.sync"),
            "warp": ptx.count("shfl.") + ptx.count("vote.")}

out = {}
sig = (T.uint64, T.uint64, T.uint64)
out["normal"] = counts(cb.device_function_ptx(rnd.standard_normal, sig, cc=(9, 0)))
def libm_power(x, t):
    return x ** t
out["libm_power"] = counts(cb.device_function_ptx(libm_power, (T.float64, T.float64), cc=(9, 0)))
from simlab import portable_math
out["portable_power"] = counts(cb.device_function_ptx(portable_math.int_power,
                                                      (T.float64, T.float64), cc=(9, 0)))
out["normal_default"] = counts(cb.device_function_ptx(rnd.standard_normal, sig, cc=(9, 0), fma=True))
gauss = problems.nqm(dim=6)
spec = simlab.make_spec(gauss, optim.sgd(momentum=0.9), [1e-3, 1e-2], 3, 10, 4, backend="cuda")
out["sgd_gaussian"] = counts(cb.kernel_ptx(spec, cc=(9, 0)))
out["sgd_gaussian_default"] = counts(cb.kernel_ptx(spec, cc=(9, 0), fma=True))
data = problems.block_quadratic("heterogeneous")
spec = simlab.make_spec(data, optim.adam(), [1e-3, 1e-2], 8, 10, 4, sampling="with_replacement",
                        backend="cuda")
out["adam_data"] = counts(cb.kernel_ptx(spec, cc=(9, 0)))
out["adam_data_float32"] = counts(cb.kernel_ptx(spec, cc=(9, 0), dtype="float32"))
out["adam_data_block"] = counts(cb.kernel_ptx(spec, cc=(9, 0), layout="block"))
out["adam_data_default"] = counts(cb.kernel_ptx(spec, cc=(9, 0), fma=True))
spec = simlab.make_spec(data, optim.ademamix(warmup=5), [1e-3], 4, 10, 2, backend="cuda")
out["ademamix_warmup"] = counts(cb.kernel_ptx(spec, cc=(9, 0)))
from simlab import sde
spec = simlab.make_spec(gauss, sde.adaptive_sde(gauss, "compagnoni", "adam", 4, substeps=2),
                        [1e-3], steps=10, seeds=2, backend="cuda")
out["adam_sde"] = counts(cb.kernel_ptx(spec, cc=(9, 0)))
for name, ptx in cb.helper_kernels_ptx(cc=(9, 0)).items():
    out[name] = counts(ptx)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def ptx_counts():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0",
           "PYTHONPATH": os.path.dirname(os.path.dirname(simlab.__file__))}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in result:
        if os.environ.get("SIMLAB_REQUIRE_CUDA_COMPILE") == "1":      # CI: compilers required
            pytest.fail(result["skip"])
        pytest.skip(result["skip"])
    return result


def test_normal_draws_have_no_fma(ptx_counts):
    """The Box–Muller transform compiled as run compiles it: every multiply and add carries an
    explicit rounding mode (ptxas never fuses those) and none is fused; NVVM's default fuses
    dozens (so the check can fail)."""
    fused, default = ptx_counts["normal"], ptx_counts["normal_default"]
    assert fused["fma"] == 0 and fused["plain_mul"] == 0 and fused["plain_add"] == 0
    assert fused["mul_rn"] > 20 and fused["add_rn"] > 20
    assert default["fma"] > 20


def test_kernels_compile_for_sm90(ptx_counts):
    for name in ("sgd_gaussian", "adam_data"):
        c = ptx_counts[name]
        assert c["entry"] == 1 and c["target"] == [".target sm_90"], c
        assert c["plain_mul"] == 0 and c["plain_add"] == 0          # nothing ptxas may fuse
    # a whole kernel with the noise draws, the gradient and the rule: no FMA at all with -fma=0
    assert ptx_counts["sgd_gaussian"]["fma"] == 0
    assert ptx_counts["sgd_gaussian_default"]["fma"] > 50
    assert ptx_counts["adam_data"]["fma"] == 0


#: Every kernel compiled with -fma=0 (the ``*_default`` ones are NVVM's default contraction).
EXACT = ("normal", "portable_power", "sgd_gaussian", "adam_data", "adam_data_float32",
         "adam_data_block", "ademamix_warmup", "adam_sde", "moments", "histogram", "quantiles",
         "sign_draws", "sign_sum")


@pytest.mark.parametrize("name", EXACT)
def test_no_libdevice_call_and_no_fma(ptx_counts, name):
    """No libdevice or internal math function (``__nv_pow``, ``__internal_accurate_pow`` …: their
    rounding differs from the CPU's), no call to anything but simlab's own functions, and no
    ``fma`` instruction of any type: β^t, exp and ln are ``simlab.portable_math``'s arithmetic."""
    c = ptx_counts[name]
    assert c["libdevice"] == [], c["libdevice"]
    assert [f for f in c["calls"] if not f.startswith("_Z")] == [], c["calls"]
    assert c["any_fma"] == 0


def test_the_check_can_fail(ptx_counts):
    """What the checks look for is found where it is: ``x ** t`` compiles to libdevice's pow,
    with its own FMAs even under -fma=0; NVVM's default contraction fuses the Adam kernel."""
    power = ptx_counts["libm_power"]
    assert power["libdevice"] and power["any_fma"] > 0, power
    assert ptx_counts["adam_data_default"]["any_fma"] > 0


def test_block_layout_kernel_compiles(ptx_counts):
    """The block-per-run kernel: shared memory and barriers, no warp-level operations."""
    c = ptx_counts["adam_data_block"]
    assert c["entry"] == 1 and c["target"] == [".target sm_90"], c
    assert c["syncs"] >= 4 and c["warp"] == 0
    assert c["plain_mul"] == 0 and c["plain_add"] == 0


def test_reduction_and_sign_model_kernels_compile(ptx_counts):
    """The reductions over seeds (shared-memory trees, atomics) and the sign-model Monte Carlo
    compile for sm_90; the tree reductions synchronize with bar.sync (no warp shuffles)."""
    for name in ("moments", "histogram", "quantiles", "sign_draws", "sign_sum"):
        c = ptx_counts[name]
        assert c["entry"] == 1 and c["target"] == [".target sm_90"], (name, c)
    assert ptx_counts["moments"]["syncs"] >= 3 and ptx_counts["sign_sum"]["syncs"] >= 2
    assert ptx_counts["sign_draws"]["fma"] == 0
    assert all(c["warp"] == 0 for c in ptx_counts.values())          # the simulator can run all
