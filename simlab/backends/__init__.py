"""How a simulation runs: ``numpy`` (the reference), ``numba`` (fused CPU kernels), ``cuda``.

A backend is a function ``run(spec: RunSpec) -> RawResult`` (see ``spec.py`` for the semantics).
``auto`` is numba when it can be imported, else numpy.
"""
from __future__ import annotations

from .interface import BACKENDS, resolve  # noqa: F401  (the backend names, below every backend)


def require_backend(name: str) -> str:
    """``resolve(name)``, and for ``cuda`` the check that numba-cuda and a device (or the CUDA
    simulator) are there: one ValueError naming what to install, before any work."""
    name = resolve(name)
    if name == "cuda":
        from .cuda_backend import require_device
        require_device()
    return name


def get_backend(name: str):
    """The ``run`` function of backend ``name``; a ValueError for unknown or unavailable ones."""
    name = resolve(name)
    if name == "numpy":
        from .reference import run
        return run
    if name == "numba":
        from .numba_layouts import run
        return run
    from .cuda_backend import run
    return run
