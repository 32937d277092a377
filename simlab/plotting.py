"""Shared figure style, statistics bands in log space, theory overlays and atomic figure saving.

Figures are written at ``DPI`` (≥ 120) as PNG and PDF, atomically and with mode 0644. Log axes use
``log_ticks``: one tick format everywhere (10⁻³, 10⁰, 10⁶ — never "1e+06" beside "1e4"). A cell
whose runs all diverged has no band to draw; ``mark_all_diverged`` puts a marker at the top of the
axes instead, so an optimizer never silently vanishes from a panel.

Losses here span many decades and occasionally blow up, so bands are computed in log space:
``log_mean_band`` gives exp(mean log L ± 2 std log L) (a geometric mean with a 2σ band), and
``median_iqr`` the median with its 25–75 % quantiles (what the reference notebook plots).
Non-finite values (diverged runs) are excluded and should be counted separately by the caller.
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator  # noqa: E402

from .cache import write_atomic  # noqa: E402

DPI = 130

COLORS = {"sgd": "#1f77b4", "sgd_momentum": "#1f77b4", "adam": "#d62728", "signum": "#2ca02c",
          "signsgd": "#2ca02c", "rmsprop": "#9467bd", "bsi_adam": "#ff7f0e",
          "clipped_momentum": "#8c564b", "theory": "#000000"}


def style():
    plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "axes.grid": True, "grid.alpha": 0.3,
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


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def decade_label(value: float, _pos=None) -> str:
    """10ᵏ as plain text with superscript digits ('10⁻³'); '' off the decades."""
    if value <= 0 or not np.isfinite(value):
        return ""
    k = np.log10(value)
    if abs(k - round(k)) > 1e-9:
        return ""
    return "10" + str(int(round(k))).translate(_SUPERSCRIPT)


class LogLabels(FuncFormatter):
    """Tick labels of a log axis in one format per axis: plain numbers (0.05, 2, 500) when every
    labelled tick lies in [0.01, 10⁴], else powers of ten (10⁻³, 2·10⁵). Decades are always
    labelled; on a ``minor`` formatter, 2·10ᵏ and 5·10ᵏ are labelled when the view spans less
    than two decades (so a narrow axis is never left without numbers)."""

    def __init__(self, minor: bool = False):
        self.minor = minor
        super().__init__(self._label)

    def _view(self):
        if self.axis is None:
            return 1e-300, 1e300
        lo, hi = sorted(self.axis.get_view_interval())
        return max(lo, 1e-300), max(hi, 1e-300)

    def _labelled(self, value) -> bool:
        k = np.floor(np.log10(value) + 1e-9)
        m = value / 10.0 ** k
        if abs(m - 1) < 1e-6:
            return not self.minor
        lo, hi = self._view()
        return self.minor and np.log10(hi / lo) < 2 and any(abs(m - w) < 1e-6 * w for w in (2, 5))

    def _plain(self) -> bool:
        lo, hi = self._view()
        k_lo, k_hi = np.ceil(np.log10(lo) - 1e-9), np.floor(np.log10(hi) + 1e-9)
        span_lo = 10.0 ** k_lo if k_lo <= k_hi else lo
        span_hi = 10.0 ** k_hi if k_lo <= k_hi else hi
        return span_lo >= 1e-2 * (1 - 1e-9) and span_hi <= 1e4 * (1 + 1e-9)

    def _label(self, value, _pos=None):
        if value <= 0 or not np.isfinite(value) or not self._labelled(value):
            return ""
        if self._plain():
            return f"{value:g}"
        k = int(np.floor(np.log10(value) + 1e-9))
        m = round(value / 10.0 ** k)
        return decade_label(10.0 ** k) if m == 1 else f"{m}·{decade_label(10.0 ** k)}"


def log_ticks(ax, axis: str = "y", numticks: int = 8) -> None:
    """A log ``axis`` ('x', 'y' or 'both') labelled by ``LogLabels`` (one format per axis)."""
    for name in ("x", "y") if axis == "both" else (axis,):
        getattr(ax, f"set_{name}scale")("log")
        target = ax.xaxis if name == "x" else ax.yaxis
        target.set_major_locator(LogLocator(base=10, numticks=numticks))
        target.set_major_formatter(LogLabels())
        target.set_minor_locator(LogLocator(base=10, subs=np.arange(2.0, 10.0),
                                            numticks=numticks * 10))
        target.set_minor_formatter(LogLabels(minor=True))


def mark_all_diverged(ax, x, center, all_diverged, color=None, label="all runs diverged"):
    """A cross at the top of ``ax`` above every x where ``all_diverged`` (a boolean array) holds
    and ``center`` is NaN, so a cell with no finite run is shown rather than left blank."""
    x = np.asarray(x)
    mask = np.asarray(all_diverged, bool) & ~np.isfinite(np.asarray(center, float))
    if not mask.any():
        return None
    return ax.plot(x[mask], np.full(mask.sum(), 0.97), "x", color=color, ms=7, mew=2,
                   transform=ax.get_xaxis_transform(), clip_on=False, label=label)[0]


#: PNG text key naming the results file a figure was drawn from: "<stem> <checksum>".
RESULTS_KEY = "simlab-results"
_STAMP: ContextVar[str | None] = ContextVar("simlab_results_stamp", default=None)


@contextmanager
def results_stamp(stem: str, checksum: str):
    """Every PNG saved inside this block records the results file it was drawn from (its stem and
    its variables checksum, ``simlab.cache.variables_checksum``) under ``RESULTS_KEY``;
    ``python -m experiments.verdicts --check`` compares it with ``results/<stem>.nc``."""
    token = _STAMP.set(f"{stem} {checksum}")
    try:
        yield
    finally:
        _STAMP.reset(token)


def png_metadata() -> dict:
    """The PNG text chunks of the current ``results_stamp`` ({} outside one)."""
    stamp = _STAMP.get()
    return {RESULTS_KEY: stamp} if stamp else {}


def figure_stamp(path) -> tuple[str, str] | None:
    """(stem, checksum) recorded in the PNG at ``path``, or None when it records none."""
    from PIL import Image
    with Image.open(path) as image:
        text = getattr(image, "text", {}) or image.info
        stamp = text.get(RESULTS_KEY)
    if not stamp or " " not in stamp:
        return None
    stem, checksum = stamp.split(" ", 1)
    return stem, checksum


def _png_bytes(fig, dpi: int) -> bytes:
    """The figure as a 256-colour PNG: indistinguishable from the RGBA one for line plots with
    light bands, at a third of the size (keeps README figures under 400 KB)."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=dpi)
    from PIL.PngImagePlugin import PngInfo

    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    info = PngInfo()
    for key, value in png_metadata().items():
        info.add_text(key, value)
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(
        out, format="PNG", optimize=True, dpi=(dpi, dpi), pnginfo=info)
    return out.getvalue()


def save_figure(fig, out_dir, name: str, dpi: int = DPI) -> list[Path]:
    """Write ``name.png`` and ``name.pdf`` into ``out_dir`` atomically (mode 0644) at ``dpi``;
    returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf", bbox_inches="tight", dpi=dpi, metadata={"CreationDate": None})
    paths = [write_atomic(out_dir / f"{name}.png", _png_bytes(fig, dpi)),
             write_atomic(out_dir / f"{name}.pdf", pdf.getvalue())]
    plt.close(fig)
    return paths
