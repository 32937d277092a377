"""How a simulation runs: ``numpy`` (the reference), ``numba`` (fused CPU kernels), ``cupy``.

A backend is a function ``run(spec: RunSpec) -> RawResult`` (see ``spec.py`` for the semantics).
"""
from __future__ import annotations

from functools import partial

BACKENDS = ("numpy", "numba", "cupy")


def get_backend(name: str):
    """The ``run`` function of backend ``name``; a ValueError for unknown or unavailable ones."""
    if name not in BACKENDS:
        raise ValueError(f"backend={name!r} is not one of {', '.join(map(repr, BACKENDS))}")
    if name == "numpy":
        from .reference import run
        return run
    if name == "numba":
        from .numba_backend import run
        return run
    try:
        import cupy
    except ImportError:
        raise ValueError("backend='cupy' needs cupy, which is not installed; "
                         "use backend='numba' or 'numpy'") from None
    from .reference import run
    return partial(run, xp=cupy)
