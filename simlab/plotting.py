"""Shared figure style, statistics bands in log space, theory overlays and atomic figure saving.

Losses here span many decades and occasionally blow up, so bands are computed in log space:
``log_mean_band`` gives exp(mean log L ± 2 std log L) (a geometric mean with a 2σ band), and
``median_iqr`` the median with its 25–75 % quantiles (what the reference notebook plots).
Non-finite values (diverged runs) are excluded and should be counted separately by the caller.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"sgd": "#1f77b4", "sgd_momentum": "#1f77b4", "adam": "#d62728", "signum": "#2ca02c",
          "signsgd": "#2ca02c", "rmsprop": "#9467bd", "bsi_adam": "#ff7f0e",
          "clipped_momentum": "#8c564b", "theory": "#000000"}


def style():
    plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3,
                         "axes.spines.top": False, "axes.spines.right": False,
                         "legend.frameon": False, "font.size": 9})


def _finite_log(values, axis):
    v = np.asarray(values, dtype=float)
    return np.where(np.isfinite(v) & (v > 0), np.log(np.where(v > 0, v, 1.0)), np.nan)


def log_mean_band(values, axis=0, k: float = 2.0):
    """(center, lower, upper) = exp(mean ± k·std) of log values along ``axis``, ignoring non-finite."""
    logs = _finite_log(values, axis)
    with np.errstate(invalid="ignore"), _quiet():
        mu = np.nanmean(logs, axis=axis)
        sd = np.nanstd(logs, axis=axis)
    return np.exp(mu), np.exp(mu - k * sd), np.exp(mu + k * sd)


def median_iqr(values, axis=0):
    """(median, q25, q75) along ``axis``, ignoring non-finite values."""
    v = np.asarray(values, dtype=float)
    v = np.where(np.isfinite(v), v, np.nan)
    with _quiet():
        q = np.nanquantile(v, [0.5, 0.25, 0.75], axis=axis)
    return q[0], q[1], q[2]


class _quiet:
    """Silence all-NaN slice warnings (a cell where every run diverged is simply NaN)."""

    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def band(ax, x, center, lower, upper, color=None, label=None, **kw):
    """A line with a shaded band."""
    line, = ax.plot(x, center, color=color, label=label, **kw)
    ax.fill_between(x, lower, upper, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def save_figure(fig, out_dir, name: str) -> list[Path]:
    """Write ``name.png`` and ``name.pdf`` into ``out_dir`` atomically; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = out_dir / f"{name}.{ext}"
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".{ext}", dir=out_dir)
        os.close(fd)
        try:
            fig.savefig(tmp, format=ext, bbox_inches="tight")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        paths.append(path)
    plt.close(fig)
    return paths
