"""How a simulation runs: ``numpy`` (the reference), ``numba`` (fused CPU kernels), ``cuda``.

A backend is a function ``run(spec: RunSpec) -> RawResult`` (see ``spec.py`` for the semantics).
``auto`` is numba when it can be imported, else numpy.
"""
from __future__ import annotations

BACKENDS = ("auto", "numpy", "numba", "cuda")


def resolve(name: str) -> str:
    """The concrete backend ``name`` stands for (``auto`` → numba, or numpy without numba)."""
    if name not in BACKENDS:
        raise ValueError(f"backend={name!r} is not one of {', '.join(map(repr, BACKENDS))}")
    if name != "auto":
        return name
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numpy"
    return "numba"


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
        from .numba_backend import run
        return run
    from .cuda_backend import run
    return run
