"""Locating optima on grids, with bootstrap confidence intervals over seeds.

Used by the surge experiments (the optimal learning rate per batch size, and the batch size at
which that optimal lr peaks) and by ``quadratic_gap``'s seed intervals.

* ``log_parabola_argmin(x, y, space)``: the minimiser of y over a log-spaced grid x, refined by
  the parabola through the three points around the grid minimum, in log x (``space="log"``) or
  in x itself (``"linear"``: exact when y is quadratic in x, as the one-step expected loss is in
  the learning rate). nan when the minimum is on the edge of the grid (the optimum lies outside
  it) or a neighbour is not finite.
* ``log_parabola_argmax``: the same for a maximum of log y (a peak of ε_opt over B).
* ``bootstrap_indices`` / ``percentile_interval``: re-exported from ``simlab.bootstrap`` (the
  verdict rule uses them too).
* ``fit_curve`` / ``small_batch_slope``: least-squares fits of an optimal-lr curve by Li et al.'s
  Eq 2 or Eq 24 (in log ε), and the log-log slope over the small batch sizes (Eq 3/4).
* ``parabola_argmin_rows``: ``log_parabola_argmin`` for many rows at once (bootstrap resamples);
  ``surge_drop``: how far an optimal-lr curve falls after its peak by the largest batch size.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from simlab.bootstrap import bootstrap_indices, percentile_interval  # noqa: F401 (re-exported)


def _refine(logx, y, i):
    a, b, _ = np.polyfit(logx[i - 1:i + 2], y[i - 1:i + 2], 2)
    return a, b


def log_parabola_argmin(x, y, space: str = "log") -> float:
    """argmin of y over the grid x, refined with a parabola in log x or in x (nan at an edge):
    ``parabola_argmin_rows`` for one row."""
    return float(parabola_argmin_rows(x, y, space))


def log_parabola_argmax(x, y) -> tuple[float, bool]:
    """(x at the maximum of y over the log grid x, interior?): a parabola through log y in log x
    around the grid maximum refines an interior maximum; an edge maximum is returned unrefined."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(y) & (y > 0)
    if not np.any(ok):
        return np.nan, False
    i = int(np.nanargmax(np.where(ok, y, np.nan)))
    if i == 0 or i == x.size - 1 or not np.all(ok[i - 1:i + 2]):
        return float(x[i]), False
    a, b = _refine(np.log(x), np.log(y), i)
    return (float(np.exp(-b / (2 * a))) if a < 0 else float(x[i])), True


def bootstrap_median_interval(values, draws: int = 2000, level: float = 0.9, seed: int = 0):
    """Percentile bootstrap interval of the median over the last axis (non-finite values are
    dropped per resample, as the medians of the report drop diverged runs)."""
    v = np.asarray(values, float)
    idx = bootstrap_indices(v.shape[-1], draws, seed)
    res = np.where(np.isfinite(v[..., idx]), v[..., idx], np.nan)       # (..., draws, n)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(res, axis=-1)
    q = [(1 - level) / 2, (1 + level) / 2]
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanquantile(med, q, axis=-1)
    return lo, hi


def fit_curve(bs, eps, form: str, alpha: float | None = None):
    """Least squares in log ε of Eq 2 (``form="eq2"``) or ε_max/(1 + B_n/B)^α (``"eq24"``) over
    the finite points; returns (ε_max, B_noise, rms residual of log ε)."""
    bs = np.asarray(bs, float)
    eps = np.asarray(eps, float)
    ok = np.isfinite(eps) & (eps > 0)
    if ok.sum() < 3:
        return np.nan, np.nan, np.nan
    x, y = bs[ok], np.log(eps[ok])

    def model(p):
        emax, bn = np.exp(p)
        if form == "eq2":
            return np.log(emax) - np.log(0.5 * (np.sqrt(bn / x) + np.sqrt(x / bn)))
        return np.log(emax) - alpha * np.log1p(bn / x)
    starts = [np.log([np.exp(y.max()), b]) for b in (x.min(), np.sqrt(x.min() * x.max()), x.max())]
    best = min((least_squares(lambda p: model(p) - y, p0) for p0 in starts), key=lambda r: r.cost)
    emax, bn = np.exp(best.x)
    return float(emax), float(bn), float(np.sqrt(np.mean(best.fun ** 2)))


def small_batch_slope(bs, eps, limit):
    """Slope of log ε_opt against log B over the B ≤ ``limit`` (nan with fewer than 3 points)."""
    bs = np.asarray(bs, float)
    eps = np.asarray(eps, float)
    ok = np.isfinite(eps) & (eps > 0) & (bs <= limit)
    if ok.sum() < 3:
        return np.nan
    return float(np.polyfit(np.log(bs[ok]), np.log(eps[ok]), 1)[0])


def parabola_argmin_rows(x, y, space: str = "log") -> np.ndarray:
    """``log_parabola_argmin`` along the last axis of ``y`` for every leading index at once (the
    bootstrap resamples): the grid argmin refined by the parabola through it and its two
    neighbours, in log x or in x; nan at an edge, with a non-finite neighbour or no finite value."""
    if space not in ("log", "linear"):
        raise ValueError(f"space={space!r} is not one of 'log', 'linear'")
    y = np.asarray(y, float)
    t = np.broadcast_to(np.log(np.asarray(x, float)) if space == "log" else
                        np.asarray(x, float), y.shape)
    n = y.shape[-1]
    finite = np.isfinite(y)
    i = np.argmin(np.where(finite, y, np.inf), axis=-1)
    ic = np.clip(i, 1, n - 2)[..., None]
    (t0, t1, t2), (y0, y1, y2) = ([np.take_along_axis(a, ic + s, -1)[..., 0] for s in (-1, 0, 1)]
                                  for a in (t, y))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        d0 = (y1 - y0) / (t1 - t0)
        a = ((y2 - y1) / (t2 - t1) - d0) / (t2 - t0)
        b = d0 - a * (t0 + t1)
        vertex = np.where(a > 0, -b / (2 * a), t1)
    bad = ((i == 0) | (i == n - 1) | ~finite.any(-1)
           | ~(np.isfinite(y0) & np.isfinite(y1) & np.isfinite(y2)))
    out = np.exp(vertex) if space == "log" else vertex
    return np.where(bad, np.nan, out)


def surge_drop(best, at=None) -> np.ndarray:
    """log10(ε_opt(B*)/ε_opt(B_max)) — how far the optimal lr falls after its peak B* (the grid
    argmax of ``best``, or the index ``at``) by the largest B; ``best`` (..., B). nan where either
    is not finite. With ``at`` fixed from the point estimate, a bootstrap replicate can be < 0, so
    an interval above 0 shows a fall that the seeds resolve."""
    best = np.asarray(best, float)
    if at is None:
        at = np.argmax(np.where(np.isfinite(best), best, -np.inf), axis=-1)
    top = np.take_along_axis(best, np.asarray(at)[..., None] + np.zeros(best.shape[:-1] + (1,),
                                                                         int), -1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log10(top / best[..., -1])
