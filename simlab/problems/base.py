"""What every problem offers the engine: a loss, a stochastic gradient oracle, a record for the
compiled backends.

A problem is either

* a **data problem** — a finite sample set, L(w) = (1/n) Σ_i ℓ_i(w); a mini-batch S gives
  g_S(w) = (1/|S|) Σ_{i∈S} ∇ℓ_i(w) (``sample_gradients``); or
* a **Gaussian-noise problem** — g = ∇L(w) + L z/√B with z ~ N(0, I) and a fixed per-sample
  noise factor L (``noise_sqrt``), an infinite population.

The numpy methods below are the reference definition (vectorized over leading "run" axes of w);
``kernel_record`` returns the NamedTuple whose type selects the problem's scalar operations in
``simlab.kernel_ops`` for the compiled backends. A subclass lives in one module: its numpy
methods, its record, its scalar operations and their registration.
"""
from __future__ import annotations

import numpy as np

from .. import _checks

#: ``without_replacement``: an independent uniform B-subset at every step (Floyd's algorithm);
#: ``with_replacement``: B i.i.d. uniform indices; ``epoch``: random reshuffling, B consecutive
#: entries of a fresh permutation each epoch of ⌊n/B⌋ steps (multi-epoch training).
SAMPLING_SCHEMES = ("without_replacement", "with_replacement", "epoch")


class Problem:
    """Base class: subclasses set ``name``, ``w0``, ``params`` and implement the methods."""

    name: str
    w0: np.ndarray
    params: dict

    # -- shape and kind -------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(np.shape(self.w0)[0])

    @property
    def n_samples(self) -> int | None:
        """n for a data problem, None for Gaussian noise (an infinite population)."""
        raise NotImplementedError

    @property
    def noise(self) -> str:
        return "gaussian" if self.n_samples is None else "data"

    # -- reference (numpy) definition ---------------------------------------------------------
    def loss(self, w):
        """Full-batch loss L(w) over the last axis of ``w`` (leading axes are runs)."""
        raise NotImplementedError

    def gradient(self, w):
        """Full-batch gradient ∇L(w), shaped like ``w``."""
        raise NotImplementedError

    def sample_gradients(self, w, idx):
        """Per-sample gradients ∇ℓ_i(w): ``w`` (L, S, d), ``idx`` (S, B) → (L, S, B, d)."""
        raise NotImplementedError(f"{self.name} is not a data problem")

    @property
    def noise_sqrt(self) -> np.ndarray | None:
        """L (d, d) with per-sample noise covariance C = LLᵀ, for Gaussian-noise problems."""
        return None

    @property
    def noise_is_diagonal(self) -> bool:
        """True when L is diagonal (the backends then skip O(d²) work)."""
        return False

    def loss_scale(self) -> float:
        """A natural positive scale of the loss, used with L(w0) for the divergence threshold (so a
        start at the optimum, L(w0) = 0, does not flag every run)."""
        raise NotImplementedError

    def kernel_record(self):
        """The NamedTuple the compiled backends receive (its type selects the operations)."""
        raise NotImplementedError

    def config(self) -> dict:
        return {"name": self.name, **self.params}

    def __repr__(self) -> str:
        """The configuration and sizes, never the arrays (``nqm()`` holds a 1000 × 1000 Hessian)."""
        return short_repr(type(self).__name__, {**self.config(), "dim": self.dim,
                                                "n_samples": self.n_samples})

    # -- mini-batches ---------------------------------------------------------------------------
    def check_batch_size(self, batch_size, sampling: str) -> int:
        """Validate B against the problem and the sampling scheme; returns B."""
        _checks.choice("sampling", sampling, SAMPLING_SCHEMES)
        batch_size = _checks.integer("batch_size", batch_size, lo=1)
        n = self.n_samples
        if n is None:
            if sampling == "epoch":
                raise ValueError("sampling='epoch' needs a data problem (finite samples); this "
                                 "problem has Gaussian noise")
            return batch_size
        if sampling != "with_replacement" and batch_size > n:
            raise ValueError(
                f"batch_size={batch_size} is outside the allowed range [1, {n}] for "
                f"sampling={sampling!r} from n={n} samples; use sampling='with_replacement' "
                "or a replicated data set (e.g. block_quadratic(..., replicate=m))")
        return batch_size


def short_repr(kind: str, fields: dict) -> str:
    """``kind(key=value, …)`` with every sequence of more than 6 entries shown by its length."""
    def show(value):
        if isinstance(value, (list, tuple, np.ndarray)) and len(value) > 6:
            return f"<{len(value)} values>"
        return repr(value)
    return f"{kind}({', '.join(f'{k}={show(v)}' for k, v in fields.items())})"
