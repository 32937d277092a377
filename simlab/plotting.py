"""Shared figure style, statistics bands in log space, theory overlays and atomic figure saving.

Figures are written at ``DPI`` (≥ 120) as PNG and PDF, atomically and with mode 0644. Every figure
follows three rules, applied or checked by ``save_figure`` (``figure_problems`` lists breaches):

* its title names the paper and the figure or claim it reproduces (``paper_title``:
  "Srećković et al. 2025, Fig. 17: …");
* one tick format (``tick_format``, ``Ticks``): log-scale ticks as plain numbers when all of the
  figure's lie in [10⁻³, 10⁴], else as powers of ten (10⁻³, 2·10⁵) on every log axis — never
  "1e+06" beside "1e4", or "10" beside "10¹"; data-valued ticks (``value_ticks``) stay plain;
* an axes with ``LEGEND_FROM`` series or more has a legend: its own, the figure's, or another
  panel's that shows every one of its labels.

A cell whose runs all diverged has no band to draw; ``mark_all_diverged`` puts a marker at the top
of the axes instead, so an optimizer never silently vanishes from a panel.

Losses here span many decades and occasionally blow up, so bands are computed in log space:
``log_mean_band`` gives exp(mean log L ± 2 std log L) (a geometric mean with a 2σ band), and
``median_iqr`` the median with its 25–75 % quantiles (what the reference notebook plots).
Non-finite values (diverged runs) are excluded and should be counted separately by the caller.

Importing this module leaves matplotlib's backend alone (a notebook keeps its inline figures);
the experiments' command lines select Agg, since they only write files.
"""
from __future__ import annotations

import io
import re
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from matplotlib.ticker import (FixedFormatter, FixedLocator, Formatter, LogLocator, NullFormatter,
                               NullLocator)

from .cache import write_atomic


class _Pyplot:
    """``matplotlib.pyplot``, imported on first use: importing it costs ~0.4 s (a third of an
    experiment's ``--help``), and a module that only declares figures should not pay it."""

    def __getattr__(self, name):
        import matplotlib.pyplot
        return getattr(matplotlib.pyplot, name)


plt = _Pyplot()

DPI = 130

COLORS = {"sgd": "#1f77b4", "sgd_momentum": "#1f77b4", "adam": "#d62728", "signum": "#2ca02c",
          "signsgd": "#2ca02c", "rmsprop": "#9467bd", "bsi_adam": "#ff7f0e",
          "clipped_momentum": "#8c564b", "theory": "#000000"}


#: The papers the figures reproduce, by short key (``paper_title``).
PAPERS = {"sreckovic": "Srećković et al. 2025", "li": "Li et al. 2024",
          "cattaneo": "Cattaneo & Shigida 2026", "wang": "Wang & Aitchison"}

#: An axes with this many series or more needs a legend.
LEGEND_FROM = 4


class FigureContractWarning(UserWarning):
    """A figure breaks one of the rules in this module's docstring (the tests make it an error)."""


def style():
    """simlab's figure style (rcParams): light grid, no top/right spines, frameless legends with
    handles long enough to tell a dashed line from a solid one."""
    plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "axes.grid": True, "grid.alpha": 0.3,
                         "axes.spines.top": False, "axes.spines.right": False,
                         "legend.frameon": False, "legend.handlelength": 3.2, "font.size": 9})


def paper_title(fig, paper: str, reproduces: str, subject: str, fontsize: float = 10, **kw):
    """Title ``fig`` "<paper>, <reproduces>: <subject>" (e.g. "Srećković et al. 2025, Fig. 17:
    the Adam–SGD gap on 9-d quadratics"); ``paper`` is a key of ``PAPERS``."""
    if paper not in PAPERS:
        raise ValueError(f"paper={paper!r} is not one of {sorted(PAPERS)}")
    return fig.suptitle(f"{PAPERS[paper]}, {reproduces}: {subject}", fontsize=fontsize, **kw)


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
MINUS = "\u2212"

#: A figure writes its log-scale ticks as plain numbers when every one lies in this range.
PLAIN_RANGE = (1e-3, 1e4)

#: Scales whose ticks are decades (0 and negative decades too, for symlog/asinh).
LOG_SCALES = ("log", "symlog", "asinh")


def decade_label(value: float, _pos=None) -> str:
    """10ᵏ as plain text with superscript digits ('10⁻³'); '' off the decades."""
    if value <= 0 or not np.isfinite(value):
        return ""
    k = np.log10(value)
    if abs(k - round(k)) > 1e-9:
        return ""
    return "10" + str(int(round(k))).translate(_SUPERSCRIPT)


def power_label(value: float) -> str:
    """``value`` as m·10ᵏ in plain text ('10⁻³', '2·10⁵', '−5·10⁻²', '0')."""
    if value == 0:
        return "0"
    sign = MINUS if value < 0 else ""
    a = abs(float(value))
    k = int(np.floor(np.log10(a) + 1e-9))
    m = float(f"{a / 10.0 ** k:.3g}")
    if m >= 10:
        m, k = m / 10, k + 1
    power = "10" + str(k).translate(_SUPERSCRIPT)
    return sign + (power if m == 1 else f"{m:g}·{power}")


def plain_label(value: float, decimals: int | None = None) -> str:
    """``value`` as a decimal without exponent ('0.001', '2500', '−0.25'); ``decimals`` fixed
    when given, else as few as the value needs (6 significant digits at most)."""
    if decimals is None:
        text = np.format_float_positional(float(value), precision=6, unique=True,
                                          fractional=False, trim="-")
    else:
        text = f"{value:.{decimals}f}"
    text = text.lstrip("-") if float(text) == 0 else text
    return text.replace("-", MINUS)


def _in_plain_range(values) -> bool:
    a = np.abs(np.asarray([v for v in values if np.isfinite(v) and v != 0], float))
    lo, hi = PLAIN_RANGE
    return bool(np.all((a >= lo * (1 - 1e-9)) & (a <= hi * (1 + 1e-9))))


class Ticks(Formatter):
    """The one tick format of simlab's figures, decided per figure by ``tick_format``.

    * Log-scale axes (log, symlog, asinh): every major tick labelled, as plain numbers (0.01, 5,
      1000) when all log-scale ticks of the figure lie in ``PLAIN_RANGE``, else as powers of ten
      (10⁻³, 2·10⁵) on every log-scale axis of the figure (``powers``). A ``minor`` formatter labels
      2·10ᵏ and 5·10ᵏ when a log axis spans less than two decades, so it never lacks numbers.
    * Linear axes: decimals with one number of decimals per axis (0.00, 0.25, 0.50), never an
      offset or 'e' notation; an axis whose ticks leave ``PLAIN_RANGE`` uses m·10ᵏ.

    Ticks placed at data values with ``value_ticks`` (the batch sizes of a sweep) keep their
    plain labels."""

    def __init__(self, powers: bool = False, minor: bool = False):
        self.powers = powers
        self.minor = minor
        self._tick_values = []

    def set_locs(self, locs):
        self._tick_values = [float(v) for v in locs]

    def _scale(self) -> str:
        return self.axis.get_scale() if self.axis is not None else "linear"

    def __call__(self, value, pos=None):
        if not np.isfinite(value):
            return ""
        if self._scale() in LOG_SCALES:
            return self._log_label(float(value))
        return "" if self.minor else self._linear_label(float(value))

    def _log_label(self, value: float) -> str:
        if self.minor:
            if self._scale() != "log" or value <= 0:
                return ""
            lo, hi = sorted(self.axis.get_view_interval())
            k = np.floor(np.log10(value) + 1e-9)
            m = value / 10.0 ** k
            narrow = lo > 0 and np.log10(hi / lo) < 2
            if not (narrow and any(abs(m - w) < 1e-6 * w for w in (2, 5))):
                return ""
        return power_label(value) if self.powers else plain_label(value)

    def _linear_label(self, value: float) -> str:
        locs = [v for v in self._tick_values if np.isfinite(v)] or [value]
        if not _in_plain_range(locs):
            return power_label(value)
        for decimals in range(7):
            if all(abs(round(v, decimals) - v) <= 1e-9 * max(1.0, abs(v)) for v in locs):
                break
        return plain_label(value, decimals)


def _labelled_values(axis) -> list[float]:
    lo, hi = sorted(axis.get_view_interval())
    tol = 1e-9 * max(abs(lo), abs(hi), 1e-300)
    return [float(v) for v in axis.get_majorticklocs() if lo - tol <= v <= hi + tol]


def _numeric_axes(fig):
    """Every x/y axis of ``fig`` whose labels are numbers drawn by a formatter (not the fixed
    labels of ``value_ticks`` or hidden ones)."""
    seen = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not isinstance(axis.get_major_formatter(), (FixedFormatter, NullFormatter)):
                seen.append(axis)
    return seen


def tick_format(fig) -> bool:
    """Give every numeric axis of ``fig`` the ``Ticks`` format; powers of ten on the log-scale
    axes iff a log-scale tick of the figure lies outside ``PLAIN_RANGE``. Returns ``powers``.
    ``save_figure`` calls it, so every figure follows the rule."""
    axes = _numeric_axes(fig)
    powers = any(not _in_plain_range(_labelled_values(axis)) for axis in axes
                 if axis.get_scale() in LOG_SCALES)
    for axis in axes:
        axis.set_major_formatter(Ticks(powers))
        if axis.get_scale() in LOG_SCALES and not isinstance(axis.get_minor_formatter(),
                                                              NullFormatter):
            axis.set_minor_formatter(Ticks(powers, minor=True))
    return powers


def value_ticks(ax, values, axis: str = "x") -> None:
    """Ticks at the data ``values`` (e.g. the batch sizes of a sweep), labelled plainly ('1',
    '9', '81', '0.3') whatever the figure's log notation, and no minor ticks on that axis."""
    values = [float(v) for v in values]
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(values))
    target.set_major_formatter(FixedFormatter([plain_label(v) for v in values]))
    target.set_minor_locator(NullLocator())


def log_ticks(ax, axis: str = "y", numticks: int = 8) -> None:
    """A log ``axis`` ('x', 'y' or 'both') with a tick at every decade and minor ticks between
    (labels: ``Ticks``, decided for the whole figure when it is saved)."""
    for name in ("x", "y") if axis == "both" else (axis,):
        getattr(ax, f"set_{name}scale")("log")
        target = ax.xaxis if name == "x" else ax.yaxis
        target.set_major_locator(LogLocator(base=10, numticks=numticks))
        target.set_major_formatter(Ticks())
        target.set_minor_locator(LogLocator(base=10, subs=np.arange(2.0, 10.0),
                                            numticks=numticks * 10))
        target.set_minor_formatter(Ticks(minor=True))


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


def _series(ax) -> list[str]:
    """The labels of the data series drawn in ``ax`` ('' when unlabelled): lines of ≥ 2 points in
    data coordinates (not error-bar parts, not axhline/axvline markers) and error-bar containers."""
    from matplotlib.container import ErrorbarContainer
    labels = [ln.get_label() for ln in ax.get_lines() if ln.get_label() != "_nolegend_"
              and np.size(ln.get_xdata()) > 1 and ln.get_visible()
              and ln.get_transform() == ax.transData]
    labels += [c.get_label() for c in ax.containers if isinstance(c, ErrorbarContainer)]
    return ["" if label is None or label.startswith("_") else label for label in labels]


def _legend_labels(fig) -> set[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return {t.get_text() for legend in legends for t in legend.get_texts()}


_E_NOTATION = re.compile(r"\d[eE][+\-\u2212]?\d|\$|×")


def figure_problems(fig) -> list[str]:
    """The ways ``fig`` breaks the rules of this module (empty when it follows them): a title
    that names none of ``PAPERS``, an axes of ``LEGEND_FROM`` series or more that no legend
    explains,
    a numeric axis outside the ``Ticks`` format or two notations in one figure, 'e' notation."""
    problems = []
    title = fig.get_suptitle() or " / ".join(ax.get_title() for ax in fig.axes if ax.get_title())
    if not any(name in title for name in PAPERS.values()):
        problems.append(f"title {title!r} names none of the papers {list(PAPERS.values())}")
    shown = _legend_labels(fig)
    for ax in fig.axes:
        labels = _series(ax)
        explained = ax.get_legend() is not None or fig.legends or all(
            label and label in shown for label in labels)
        if len(labels) >= LEGEND_FROM and not explained:
            problems.append(f"axes {ax.get_title()!r}: {len(labels)} series and no legend")
    notations = set()
    for axis in _numeric_axes(fig):
        formatter = axis.get_major_formatter()
        if not isinstance(formatter, Ticks):
            problems.append(f"axes {axis.axes.get_title()!r}: {axis.axis_name} ticks by "
                            f"{type(formatter).__name__}, not plotting.Ticks")
        elif axis.get_scale() in LOG_SCALES:
            notations.add(formatter.powers)
    if len(notations) > 1:
        problems.append("log axes in both plain and power-of-ten notation")
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            locs = _labelled_values(axis)
            labels = axis.get_major_formatter().format_ticks(locs) if locs else []
            bad = [t for t in labels if _E_NOTATION.search(t)]
            if bad:
                problems.append(f"axes {ax.get_title()!r}: {axis.axis_name} labels {bad}")
    return problems


def finish(fig) -> None:
    """Apply the tick rule (``tick_format``) and warn (``FigureContractWarning``) about any rule
    that ``fig`` breaks; ``save_figure`` calls it before writing."""
    tick_format(fig)
    problems = figure_problems(fig)
    if problems:
        warnings.warn("; ".join(problems), FigureContractWarning, stacklevel=3)


def save_figure(fig, out_dir, name: str, dpi: int = DPI) -> list[Path]:
    """Write ``name.png`` and ``name.pdf`` into ``out_dir`` atomically (mode 0644) at ``dpi``,
    after ``finish`` (one tick format, the rules checked); returns the paths."""
    finish(fig)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf", bbox_inches="tight", dpi=dpi, metadata={"CreationDate": None})
    paths = [write_atomic(out_dir / f"{name}.png", _png_bytes(fig, dpi)),
             write_atomic(out_dir / f"{name}.pdf", pdf.getvalue())]
    plt.close(fig)
    return paths
