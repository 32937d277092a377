"""Seed bootstrap: resampling indices and percentile intervals.

* ``bootstrap_indices(n, draws, seed)``: resamples of n seeds with replacement. Every quantity of
  one resample is computed from the *same* resampled seeds, so correlations between learning rates,
  settings and batch sizes (common random numbers) are kept, as they are in the estimate itself.
* ``percentile_interval(samples, level)``: the equal-tailed percentile interval of the finite
  samples, and the fraction of resamples that gave no estimate (nan) — reported, never hidden.

Used by ``simlab.verdict`` (the verdict rule) and, through ``experiments._peaks``, by the
experiments' own intervals.
"""
from __future__ import annotations

import numpy as np


def bootstrap_indices(n: int, draws: int, seed: int = 0) -> np.ndarray:
    """(draws, n) seed indices drawn with replacement (numpy Generator from ``seed``)."""
    if n < 2:
        raise ValueError(f"n={n} seeds is outside the allowed range [2, inf) for a bootstrap")
    if draws < 1:
        raise ValueError(f"draws={draws} is outside the allowed range [1, inf)")
    return np.random.default_rng(seed).integers(0, n, size=(draws, n))


def percentile_interval(samples, level: float = 0.9) -> tuple[float, float, float]:
    """(lower, upper, fraction of nan samples) of the equal-tailed ``level`` interval."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level} is outside the allowed range (0, 1)")
    s = np.asarray(samples, float).ravel()
    finite = s[np.isfinite(s)]
    missing = 1.0 - finite.size / max(s.size, 1)
    if finite.size == 0:
        return np.nan, np.nan, missing
    lo, hi = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi), float(missing)
