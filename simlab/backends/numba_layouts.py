"""The numba backend's entry point: which layout runs a spec — one run per thread-chain
(``numba_backend``) or blocks of L runs in lockstep (``numba_lockstep``) — and the run.

It sits above both layouts (each imports only what lies below it), so ``simlab.backends`` reaches
the numba backend through here without an import circle."""
from __future__ import annotations

from . import numba_backend, numba_lockstep


def run(spec, layout: str = "auto", lanes=None, dtype: str = "float64"):
    """Simulate every (lr, seed) run of ``spec`` (semantics: ``spec.py``) on the CPU.

    ``layout``: ``"per_run"`` (``numba_backend.run``), ``"lockstep"`` (blocks of ``lanes`` runs
    advancing together, lanes innermost: ``numba_lockstep.run``; the same bits) or ``"auto"``
    (``numba_lockstep.resolve_layout``: lockstep at the (d, B) of ``numba_lockstep.AUTO_REGION``
    in calls large enough to pay for the lockstep kernel's compile, per run elsewhere).
    ``dtype``: ``"float64"`` or ``"float32"`` storage, as ``numba_backend.inputs``."""
    width = numba_lockstep.resolve_layout(spec, layout, lanes)
    if width > 1 or layout == "lockstep":
        return numba_lockstep.run(spec, width, dtype)
    return numba_backend.run(spec, dtype=dtype)
