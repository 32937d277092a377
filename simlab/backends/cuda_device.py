"""Where CUDA kernels run: numba.cuda on a device, or numba's CUDA simulator; arrays there.

The lowest of the CUDA modules (``cuda_compile``, ``cuda_block``, ``cuda_sign_model`` and
``cuda_backend`` import from it, it imports none of them): whether numba-cuda and a device are
there (``require_device``, ``simulator``), allocation and transfers on CuPy, numba.cuda device
arrays or host arrays under the simulator (``Arrays``), the launch grid of a thread per item
(``grid``), and ``bind_cuda``, which puts numba.cuda into a kernel module's globals on first use
(so that importing a kernel module needs neither numba-cuda nor a device, and simulator or device
is chosen by the environment then).
"""
from __future__ import annotations

import math

import numpy as np

INSTALL = ("pip install 'simlab[cuda]' (numba-cuda) on a machine with an NVIDIA GPU and driver "
           "(CuPy, e.g. cupy-cuda13x, is optional); or set NUMBA_ENABLE_CUDASIM=1 to run the "
           "kernels in numba's CUDA simulator (slow, for testing)")
#: Threads per block of a thread-per-item kernel on a device; under the simulator (one Python
#: thread per CUDA thread) a single small block.
BLOCK = 128
SIM_THREADS = 8


# ------------------------------------------------------------------------------------------------
# Availability
# ------------------------------------------------------------------------------------------------

def numba_cuda():
    try:
        from numba import cuda
    except ImportError as exc:
        raise ValueError(f"backend='cuda' needs numba-cuda, which cannot be imported ({exc}): "
                         f"{INSTALL}") from None
    return cuda


def simulator() -> bool:
    """True when numba.cuda is numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` when numba.cuda
    was imported). Asked of the module itself: the configuration value can change afterwards
    (numba re-reads the environment when it compiles), the module cannot."""
    from numba import cuda
    return cuda.is_available.__module__.endswith("simulator_init")


def require_device():
    """numba.cuda, or one ValueError naming what to install when it or a device is missing."""
    cuda = numba_cuda()
    if simulator():
        return cuda
    if not cuda.is_available():
        raise ValueError("backend='cuda' found no usable CUDA device (numba.cuda.is_available() is "
                         f"False: no NVIDIA GPU, driver or CUDA runtime here): {INSTALL}; or use "
                         "backend='numba' or 'numpy'")
    return cuda


# ------------------------------------------------------------------------------------------------
# Arrays: CuPy, numba.cuda device arrays, or host arrays under the simulator
# ------------------------------------------------------------------------------------------------

class Arrays:
    """Allocation and transfers on one array module (``kind``: "cupy", "numba" or "host")."""

    def __init__(self, kind: str | None = None):
        if kind is None:
            kind = "host" if simulator() else ("cupy" if _has_cupy() else "numba")
        self.kind = kind
        if kind == "cupy":
            import cupy
            self.cupy = cupy
        if kind == "numba":
            from numba import cuda
            self.cuda = cuda

    def to_device(self, host: np.ndarray):
        host = np.ascontiguousarray(host)
        if self.kind == "cupy":
            return self.cupy.asarray(host)
        if self.kind == "numba":
            return self.cuda.to_device(host)
        return host.copy()

    def empty(self, shape, dtype):
        if self.kind == "cupy":
            return self.cupy.empty(shape, dtype=dtype)
        if self.kind == "numba":
            return self.cuda.device_array(shape, dtype=dtype)
        return np.empty(shape, dtype=dtype)

    def full(self, shape, value, dtype):
        if self.kind == "cupy":
            return self.cupy.full(shape, value, dtype=dtype)
        return self.to_device(np.full(shape, value, dtype=dtype))

    def zeros(self, shape, dtype):
        return self.full(shape, 0, dtype)

    def to_host(self, array) -> np.ndarray:
        if hasattr(array, "copy_to_host"):          # a numba.cuda device array (a kernel_arg)
            return array.copy_to_host()
        if self.kind == "cupy":
            return self.cupy.asnumpy(array)
        if self.kind == "numba":
            return array.copy_to_host()
        return np.array(array)

    def kernel_arg(self, array):
        """What a kernel receives: numba device arrays for CuPy arrays (inside records)."""
        if self.kind == "cupy":
            return self.cuda_view(array)
        return array

    def cuda_view(self, array):
        from numba import cuda
        return cuda.as_cuda_array(array)

    def permuted(self, base, axes):
        """A view of ``base`` with its axes permuted (no copy): the run-minor layouts."""
        if self.kind == "numba":
            from numba.cuda.cudadrv.devicearray import DeviceNDArray
            shape = tuple(base.shape[a] for a in axes)
            strides = tuple(base.strides[a] for a in axes)
            return DeviceNDArray(shape, strides, base.dtype, gpu_data=base.gpu_data)
        return base.transpose(axes)

    def synchronize(self):
        """Wait for the kernels (launched by numba on the default stream) and CuPy's work."""
        if self.kind == "cupy":
            self.cupy.cuda.get_current_stream().synchronize()
        if self.kind != "host":
            from numba import cuda
            cuda.synchronize()


def _has_cupy() -> bool:
    try:
        import cupy  # noqa: F401
    except Exception:          # ImportError, or a CuPy build that cannot find its CUDA libraries
        return False
    return True


def grid(n_runs: int, blocks_per_sm: int | None = None):
    """(blocks, threads per block) of a grid-stride kernel over ``n_runs`` items: G = blocks ×
    threads ≤ what the device keeps resident — ``blocks_per_sm`` blocks of ``BLOCK`` threads per
    SM (the compiled kernel's occupancy, ``occupancy.blocks_per_sm``: the simulation kernels), or,
    when not given, as many as the SM's thread limit allows."""
    if simulator():
        threads = min(SIM_THREADS, n_runs)
        return 1, threads
    from numba import cuda
    device = cuda.get_current_device()
    if blocks_per_sm is None:
        blocks_per_sm = device.MAX_THREADS_PER_MULTIPROCESSOR // BLOCK
    resident = device.MULTIPROCESSOR_COUNT * blocks_per_sm
    blocks = max(1, min(math.ceil(n_runs / BLOCK), resident))
    return blocks, BLOCK


def bind_cuda(scope: dict):
    """Put numba.cuda (and the numba types of shared arrays, float64 and int64) into ``scope``, the
    globals of a module whose kernels name them; returns numba.cuda."""
    cuda = numba_cuda()
    if scope.get("cuda") is not cuda:
        scope["cuda"] = cuda
        scope["float64"] = np.float64
        scope["int64"] = np.int64
    return cuda
