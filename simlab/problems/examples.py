"""Small instances of every problem kind, by name: what the backend tests iterate over.

``EXAMPLES`` maps a name to a factory of a small problem (a few coordinates, a few samples) that
``tests/test_backends.py`` runs on numpy vs numba and ``tests/test_cuda.py`` on numpy vs numba's
CUDA simulator, with every optimizer of ``simlab.optim.FACTORIES`` — so a new problem kind is
checked on every backend by adding one line here (or one ``register_example`` call in its own
module), without writing a test. A test also checks that every problem record type registered with
``simlab.kernel_ops`` has an example.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .diagonal_net import diagonal_net
from .quadratic import block_quadratic, gaussian_quadratic, nqm

EXAMPLES: dict[str, Callable] = {}


def register_example(name: str, factory: Callable) -> None:
    """Add a small instance of a problem kind (``factory()`` returns it) to ``EXAMPLES``."""
    if not callable(factory):
        raise ValueError(f"factory={factory!r} must be callable (returning a Problem)")
    EXAMPLES[str(name)] = factory


def _gaussian_dense():
    """A dense 5-d Gaussian-noise quadratic (non-diagonal Hessian and noise covariance)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 5))
    b = rng.standard_normal((5, 5))
    return gaussian_quadratic(a @ a.T / 5 + 0.1 * np.eye(5), b @ b.T / 5, w0=rng.standard_normal(5))


register_example("block_quadratic", lambda: block_quadratic("heterogeneous", seed=0))
register_example("gaussian_dense", _gaussian_dense)
register_example("nqm", lambda: nqm(dim=6, seed=0))
register_example("diagonal_net",
                 lambda: diagonal_net(width=6, n_train=8, n_test=3, init_scale=0.5, seed=1))


def curvature(problem) -> float:
    """The largest Hessian eigenvalue at the problem's start (for choosing learning rates)."""
    hessian = problem.hessian(problem.w0) if callable(problem.hessian) else problem.hessian
    return float(np.linalg.eigvalsh(hessian)[-1])
